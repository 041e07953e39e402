from __future__ import annotations

import pytest

from incident_lib.errors import UnknownNameError
from incident_lib.scenarios import SCENARIOS, Scenario, build_store, get_scenario, register


def test_lookup_by_name():
    assert get_scenario("lambda_errors").alert_type == "lambda_errors"


def test_unknown_name_lists_valid_ones():
    with pytest.raises(UnknownNameError) as err:
        get_scenario("nope")
    assert "lambda_errors" in str(err.value)
    assert err.value.exit_code == 2


def test_register_and_build_a_scenario(tmp_path):
    def generate(writer, rng):
        return {"ground_truth": {"draw": int(rng.integers(0, 1000))}}

    register(Scenario("tiny", "generic", "nothing happens", generate))
    try:
        store = build_store("tiny", tmp_path / "s", seed=3)
        again = build_store("tiny", tmp_path / "t", seed=3)
        assert store.descriptor.scenario["name"] == "tiny"
        assert store.descriptor.scenario["seed"] == 3
        assert store.ground_truth == again.ground_truth
    finally:
        SCENARIOS.pop("tiny")


def test_failed_generation_leaves_no_store(tmp_path):
    def generate(writer, rng):
        raise RuntimeError("boom")

    register(Scenario("broken", "generic", "fails", generate))
    try:
        with pytest.raises(RuntimeError):
            build_store("broken", tmp_path / "s")
        assert not (tmp_path / "s").exists()
    finally:
        SCENARIOS.pop("broken")


def test_demo_list_prints_every_scenario_with_its_description(capsys):
    from incident_lib.cli import main

    assert main(["demo", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == sorted(SCENARIOS)
    for name in ("lambda_flapping", "lambda_slow_ramp", "lambda_clean_deploy", "lambda_downstream"):
        (line,) = [x for x in lines if x.startswith(name + " ")]
        assert SCENARIOS[name].description in line and "lambda_errors" in line
