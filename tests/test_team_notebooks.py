"""A team's own runbook notebook, written with the product's verbs and kept outside the
package, runs through ``--notebook`` and through the team's catalogue file, with the same
parameters, report, findings and exit codes as the package's notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from incident_lib.cli import main
from incident_lib.demo import alarm_event, demo_store

pytestmark = pytest.mark.notebooks

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEAM_NOTEBOOK = FIXTURES / "notebooks" / "team" / "checkout_errors.ipynb"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return demo_store(root=tmp_path_factory.mktemp("stores"))


@pytest.fixture(scope="module")
def event(store, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("event") / "event.json"
    path.write_text(json.dumps(alarm_event(store, "eventbridge")))
    return path


def _findings(out: Path) -> dict:
    (folder,) = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return json.loads((folder / "findings.json").read_text())


def test_a_team_notebook_runs_through_the_notebook_option(store, event, tmp_path, capsys):
    code = main(
        [
            "investigate",
            str(event),
            "--source",
            str(store.path),
            "--out",
            str(tmp_path),
            "--notebook",
            str(TEAM_NOTEBOOK),
            "--quiet",
        ]
    )
    assert code == 0, capsys.readouterr().err
    doc = _findings(tmp_path)
    assert [s["name"] for s in doc["sections"]] == [
        "Errors against traffic",
        "Top errors",
        "History and changes",
        "Findings",
    ]
    assert {f["kind"] for f in doc["findings"]} >= {"onset", "impact"}
    asked = [(q["section"], q["operation"]) for q in doc["queries"]]
    assert asked[0] == ("Errors against traffic", "GetMetricData")
    # The onset step reads the alarm's history too (a flapping alarm's first burst).
    assert ("Errors against traffic", "DescribeAlarmHistory") in asked
    assert ("Top errors", "StartQuery") in asked


def test_a_team_notebook_runs_through_its_catalogue_file(store, event, tmp_path, capsys):
    config = FIXTURES / "alarms" / "catalog" / "team_lambda_runbook.toml"
    code = main(
        [
            "investigate",
            str(event),
            "--source",
            str(store.path),
            "--out",
            str(tmp_path),
            "--config",
            str(config),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "(team_checkout_errors)" in err
    folder = next(p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith("."))
    meta = json.loads((folder / "notebook.ipynb").read_text())["metadata"]["incident"]
    assert meta["alert_type"] == "team_checkout_errors"
    assert meta["parameters"]["function_name"] == "checkout-api"


def test_a_missing_team_notebook_is_bad_input(store, event, tmp_path, capsys):
    code = main(
        [
            "investigate",
            str(event),
            "--source",
            str(store.path),
            "--out",
            str(tmp_path),
            "--notebook",
            str(tmp_path / "nope.ipynb"),
        ]
    )
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_a_catalogue_naming_a_missing_notebook_is_bad_input(store, event, tmp_path, capsys):
    config = tmp_path / "catalog.toml"
    config.write_text(
        '[[alert_type]]\nname = "team_x"\nnotebook = "nope.ipynb"\n'
        '[[override]]\nalarm_name = "*"\nalert_type = "team_x"\n'
    )
    out = tmp_path / "out"
    code = main(
        [
            "investigate",
            str(event),
            "--source",
            str(store.path),
            "--out",
            str(out),
            "--config",
            str(config),
        ]
    )
    assert code == 2
    assert f"{tmp_path / 'nope.ipynb'} does not exist" in capsys.readouterr().err


def test_a_relative_store_path_is_taken_from_the_current_folder(
    store, event, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(store.path.parent)
    code = main(
        ["investigate", str(event), "--source", store.path.name, "--out", str(tmp_path), "--quiet"]
    )
    assert code == 0, capsys.readouterr().err
