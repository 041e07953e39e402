"""import-logs: both input shapes, bad lines with their numbers, nothing written on error,
appending to an existing store, and the ``incident store`` commands."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from incident_lib.cli import main
from incident_lib.errors import BadInputError
from incident_lib.store import open_store
from incident_lib.store.importer import MAX_REPORTED_ERRORS, import_logs, read_log_events


def test_json_lines_shape(fixtures: Path) -> None:
    frame = read_log_events(fixtures / "events_jsonl_filter_log_events_shape.jsonl")
    assert len(frame) == 3
    assert frame["timestamp"].tolist() == [
        pd.Timestamp("2026-01-01T00:00:00Z"),
        pd.Timestamp("2026-01-01T00:00:01.5Z"),
        pd.Timestamp("2026-01-01T00:00:59.999Z"),
    ]
    assert str(frame["timestamp"].dtype) == "datetime64[us, UTC]"
    assert frame["log_stream"].tolist()[-1] == "2026/01/01/[$LATEST]def"  # logStream spelling
    assert frame["ingestion_time"].tolist()[0] == pd.Timestamp("2026-01-01T00:00:00.4Z")
    assert frame["ingestion_time"].tolist()[2] == frame["timestamp"].tolist()[2]  # defaulted
    assert pd.isna(frame["event_id"][2])
    assert frame["message"][1].startswith('{"level":"ERROR"')


def test_cli_output_shape(fixtures: Path) -> None:
    frame = read_log_events(fixtures / "filter_log_events_cli_output.json")
    assert frame["message"].tolist() == ["GET /health 200", "GET /checkout 502"]
    assert frame["log_stream"].tolist() == ["web-1", "web-2"]
    assert frame["event_id"].tolist()[1].startswith("38")


def test_stream_input() -> None:
    text = '{"timestamp": 1767225600000, "message": "a", "logStreamName": "s"}\n'
    assert read_log_events(io.StringIO(text))["message"].tolist() == ["a"]


def test_bad_lines_are_all_reported_with_numbers(fixtures: Path) -> None:
    with pytest.raises(BadInputError) as info:
        read_log_events(fixtures / "events_with_bad_lines.jsonl")
    text = str(info.value)
    assert "6 bad log event(s), nothing imported" in text
    assert "line 2: 'timestamp' must be epoch milliseconds, found '2026-01-01T00:00:01Z'" in text
    assert "line 4: 'message' must be a string" in text
    assert "line 5: no 'logStreamName' (or 'logStream')" in text
    assert "line 6: not JSON" in text
    assert "line 7: expected a JSON object, found list" in text
    assert "line 8: 'ingestionTime' must be epoch milliseconds, found True" in text
    assert "line 1:" not in text and "line 3:" not in text
    assert info.value.exit_code == 2


def test_bad_event_in_cli_output_is_numbered(fixtures: Path) -> None:
    with pytest.raises(BadInputError, match="event 2: no 'timestamp'"):
        read_log_events(fixtures / "filter_log_events_cli_output_bad_event.json")


def test_error_list_is_capped() -> None:
    lines = "\n".join("nope" for _ in range(MAX_REPORTED_ERRORS + 5))
    with pytest.raises(BadInputError) as info:
        read_log_events(io.StringIO(lines))
    text = str(info.value)
    assert f"line {MAX_REPORTED_ERRORS}:" in text
    assert f"line {MAX_REPORTED_ERRORS + 1}:" not in text
    assert "... and 5 more" in text


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="cannot read"):
        read_log_events(tmp_path / "absent.jsonl")


def test_import_creates_a_store(tmp_path: Path, fixtures: Path) -> None:
    store = import_logs(
        tmp_path / "s",
        "/aws/lambda/checkout",
        fixtures / "events_jsonl_filter_log_events_shape.jsonl",
    )
    logs = store.read("logs")
    assert logs["log_group"].unique().tolist() == ["/aws/lambda/checkout"]
    assert store.descriptor.tables["logs"].rows == 3
    assert store.time_range == (
        pd.Timestamp("2026-01-01T00:00:00Z"),
        pd.Timestamp("2026-01-01T00:00:59.999Z"),
    )
    ids = logs["event_id"].tolist()
    assert ids[0].startswith("37") and len(set(ids)) == 3  # given ids kept, the missing made


def test_import_appends_to_an_existing_store(sample_store: Path, fixtures: Path) -> None:
    before = open_store(sample_store)
    store = import_logs(sample_store, "web", fixtures / "filter_log_events_cli_output.json")
    rows = {n: t.rows for n, t in store.descriptor.tables.items()}
    assert rows["logs"] == 3
    assert {n: r for n, r in rows.items() if n != "logs"} == {
        n: t.rows for n, t in before.descriptor.tables.items() if n != "logs"
    }
    assert store.descriptor.scenario == before.descriptor.scenario
    assert store.descriptor.account_id == "111122223333"
    assert store.time_range[1] == pd.Timestamp("2026-01-01T01:01:00Z")
    groups = store.read("logs")["log_group"].tolist()
    assert groups == ["/aws/lambda/checkout", "web", "web"]
    assert sorted(p.name for p in sample_store.parent.iterdir()) == ["store"]


def test_nothing_written_on_error(tmp_path: Path, sample_store: Path, fixtures: Path) -> None:
    bad = fixtures / "events_with_bad_lines.jsonl"
    with pytest.raises(BadInputError):
        import_logs(tmp_path / "new", "g", bad)
    assert not (tmp_path / "new").exists()
    snapshot = {p.name: p.read_bytes() for p in sample_store.iterdir()}
    with pytest.raises(BadInputError):
        import_logs(sample_store, "g", bad)
    assert {p.name: p.read_bytes() for p in sample_store.iterdir()} == snapshot


# -- the command line --------------------------------------------------------------------------


def test_cli_import_logs_and_info(tmp_path: Path, fixtures: Path, capsys) -> None:
    target = tmp_path / "s"
    code = main(
        [
            "store",
            "import-logs",
            str(target),
            "--log-group",
            "web",
            str(fixtures / "filter_log_events_cli_output.json"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "imported 2 events" in out
    assert "2026-01-01T01:00:00.000Z .. 2026-01-01T01:01:00.000Z" in out
    code = main(["store", "info", str(target)])
    out = capsys.readouterr().out
    assert code == 0
    assert "logs" in out and "2 rows" in out and "scenario:   -" in out


def test_cli_reads_stdin(tmp_path: Path, fixtures: Path, monkeypatch, capsys) -> None:
    text = (fixtures / "events_jsonl_filter_log_events_shape.jsonl").read_text()
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    code = main(["store", "import-logs", str(tmp_path / "s"), "--log-group", "g", "-"])
    assert code == 0
    assert "imported 3 events" in capsys.readouterr().out


def test_cli_bad_input_exits_2(tmp_path: Path, fixtures: Path, capsys) -> None:
    code = main(
        [
            "store",
            "import-logs",
            str(tmp_path / "s"),
            "--log-group",
            "g",
            str(fixtures / "events_with_bad_lines.jsonl"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "line 2:" in err and "line 8:" in err
    assert not (tmp_path / "s").exists()


def test_cli_info_shows_scenario(sample_store: Path, capsys) -> None:
    assert main(["store", "info", str(sample_store)]) == 0
    out = capsys.readouterr().out
    assert "scenario:   lambda_errors" in out
    assert "111122223333 (eu-west-1)" in out
    assert "2025-12-31T23:50:00.000Z .. 2026-01-01T00:01:00.000Z" in out


def test_cli_info_on_a_broken_store_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["store", "info", str(tmp_path)]) == 2
    assert "no store.json" in capsys.readouterr().err
