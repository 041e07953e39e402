"""``incident logs filter-log-events`` end to end through ``incident_lib.cli.main``."""

from __future__ import annotations

import json

import pytest

from incident_lib.cli import main
from tests.filterpattern.conftest import EVENTS, build_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return str(build_store(tmp_path_factory.mktemp("cli") / "store", EVENTS))


def run(store, *extra):
    return main(
        ["logs", "filter-log-events", "--store", store, "--log-group-name", "/app/api", *extra]
    )


def test_prints_the_aws_cli_document(store, capsys):
    assert run(store, "--filter-pattern", "{ $.level = ERROR }") == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "events": [
            {
                "logStreamName": "b/1",
                "timestamp": 1704067202000,
                "message": '{"level": "ERROR", "latency": 1200}',
                "ingestionTime": 1704067202000,
                "eventId": "e002",
            }
        ],
        "searchedLogStreams": [],
    }


def test_default_window_is_the_whole_store(store, capsys):
    assert run(store, "--filter-pattern", "ERROR") == 0
    messages = [e["message"] for e in json.loads(capsys.readouterr().out)["events"]]
    assert messages[-1] == "ERROR late"


def test_window_in_iso_or_epoch_ms(store, capsys):
    assert (
        run(
            store,
            "--filter-pattern",
            "ERROR",
            "--start-time",
            "2024-01-01T00:00:02Z",
            "--end-time",
            "1704067500000",
        )
        == 0
    )
    events = json.loads(capsys.readouterr().out)["events"]
    assert [e["timestamp"] for e in events] == [1704067202000]


def test_limit_and_truncation_note(store, capsys):
    assert run(store, "--limit", "1", "--log-stream-name-prefix", "a/") == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)["events"]) == 1
    assert "more matched" in captured.err


def test_malformed_pattern_exits_2_with_caret(store, capsys):
    assert run(store, "--filter-pattern", "[a, b = 1 && c > 2]") == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("incident logs: error: the condition names field 'c'")
    assert err[0].endswith("at line 1, column 14")
    assert err[1] == "  [a, b = 1 && c > 2]"
    assert err[2] == "               ^"


def test_missing_store_exits_2(tmp_path, capsys):
    assert run(str(tmp_path / "nope")) == 2


def test_pattern_starting_with_minus_after_equals(store, capsys):
    assert run(store, "--filter-pattern=-ERROR", "--log-stream-name-prefix", "b/") == 0
    events = json.loads(capsys.readouterr().out)["events"]
    assert [e["message"] for e in events] == ['{"level": "INFO", "latency": 20}']
