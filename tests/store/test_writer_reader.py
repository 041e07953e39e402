"""StoreWriter and open_store: round trip, validation errors that name file and column,
atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from incident_lib.errors import StoreError
from incident_lib.store import TABLES, StoreWriter, open_store

T0 = pd.Timestamp("2026-01-01T00:00:00Z")


def test_round_trip(sample_store: Path) -> None:
    store = open_store(sample_store)
    d = store.descriptor
    assert (d.format, d.version, d.account_id, d.region) == (
        "incident-telemetry-store",
        1,
        "111122223333",
        "eu-west-1",
    )
    assert {n: t.rows for n, t in d.tables.items()} == {
        "metrics": 2,
        "logs": 1,
        "alarms": 1,
        "alarm_history": 1,
        "changes": 1,
        "aws_calls": 0,
        "prometheus_samples": 0,
    }
    assert store.time_range == (T0 - pd.Timedelta(minutes=10), T0 + pd.Timedelta(minutes=1))
    assert store.ground_truth == {"cause": "bad deploy", "onset": "2026-01-01T00:00:00+00:00"}
    assert d.scenario["name"] == "lambda_errors"

    metrics = store.read("metrics")
    assert list(metrics["dimensions"]) == [
        '{"Alias":"live","FunctionName":"checkout"}',
        '{"FunctionName":"checkout"}',
    ]
    assert str(metrics["timestamp"].dtype) == "datetime64[us, UTC]"
    assert metrics["value"].isna().tolist() == [False, True]
    assert metrics.loc[1, ["sample_count", "sum", "minimum", "maximum"]].tolist() == [
        10.0,
        2000.0,
        50.0,
        900.0,
    ]

    logs = store.read("logs")
    assert logs.loc[0, "message"] == "ERROR boom"
    assert logs.loc[0, "ingestion_time"] == logs.loc[0, "timestamp"]
    assert logs.loc[0, "event_id"] == "0" * 20
    alarm = json.loads(store.read("alarms").loc[0, "definition"])
    assert alarm["Threshold"] == 1.0
    history = store.read("alarm_history")
    assert json.loads(history.loc[0, "history_data"]) == {"newState": {"stateValue": "ALARM"}}
    change = store.read("changes").iloc[0]
    assert not bool(change["read_only"])
    assert json.loads(change["request_parameters"]) == {"functionName": "checkout"}

    con = store.connect()
    assert con.execute("select count(*) from logs").fetchone() == (1,)
    con.close()


def test_existing_path_is_refused_without_overwrite(sample_store: Path) -> None:
    with pytest.raises(StoreError, match="already exists") as info:
        StoreWriter(sample_store)
    assert info.value.path == str(sample_store)


def test_naive_timestamps_are_refused_on_write(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info, StoreWriter(tmp_path / "s") as w:
        w.add_log_events(
            [{"timestamp": pd.Timestamp("2026-01-01"), "message": "x", "log_stream": "s"}],
            log_group="g",
        )
    assert info.value.column == "timestamp"
    assert "logs.parquet" in str(info.value)
    assert not (tmp_path / "s").exists()


# -- validation on open ------------------------------------------------------------------------


def _rewrite(store: Path, table: str, new: pa.Table) -> Path:
    path = store / f"{table}.parquet"
    pq.write_table(new, path)
    return path


def test_missing_table_file(sample_store: Path) -> None:
    (sample_store / "changes.parquet").unlink()
    with pytest.raises(StoreError, match="missing table 'changes'") as info:
        open_store(sample_store)
    assert info.value.path.endswith("changes.parquet")
    assert "changes.parquet" in str(info.value)


def test_table_missing_from_descriptor(sample_store: Path) -> None:
    desc = json.loads((sample_store / "store.json").read_text())
    del desc["tables"]["alarms"]
    (sample_store / "store.json").write_text(json.dumps(desc))
    with pytest.raises(StoreError, match="missing table 'alarms'"):
        open_store(sample_store)


def test_missing_column_names_file_and_column(sample_store: Path) -> None:
    logs = pq.read_table(sample_store / "logs.parquet").drop_columns(["message"])
    path = _rewrite(sample_store, "logs", logs)
    with pytest.raises(StoreError, match="missing column") as info:
        open_store(sample_store)
    assert info.value.path == str(path) and info.value.column == "message"
    assert f"file: {path}" in str(info.value) and "column: message" in str(info.value)


def test_naive_timestamp_column_is_a_wrong_type(sample_store: Path) -> None:
    logs = pq.read_table(sample_store / "logs.parquet")
    idx = logs.schema.get_field_index("timestamp")
    naive = logs.set_column(idx, "timestamp", logs["timestamp"].cast(pa.timestamp("us")))
    path = _rewrite(sample_store, "logs", naive)
    with pytest.raises(StoreError, match="wrong type") as info:
        open_store(sample_store)
    assert info.value.path == str(path) and info.value.column == "timestamp"
    assert "logs.parquet" in str(info.value) and "column: timestamp" in str(info.value)


def test_int_message_is_a_wrong_type(sample_store: Path) -> None:
    logs = pq.read_table(sample_store / "logs.parquet")
    idx = logs.schema.get_field_index("message")
    bad = logs.set_column(idx, "message", pa.array([42], type=pa.int64()))
    path = _rewrite(sample_store, "logs", bad)
    with pytest.raises(StoreError, match="expected string, found int64") as info:
        open_store(sample_store)
    assert info.value.path == str(path) and info.value.column == "message"


def test_other_timestamp_units_are_accepted(sample_store: Path) -> None:
    metrics = pq.read_table(sample_store / "metrics.parquet")
    idx = metrics.schema.get_field_index("timestamp")
    ms = metrics.set_column(
        idx, "timestamp", metrics["timestamp"].cast(pa.timestamp("ms", tz="UTC"))
    )
    _rewrite(sample_store, "metrics", ms)
    assert open_store(sample_store).descriptor.tables["metrics"].rows == 2


def test_damaged_parquet_file(sample_store: Path) -> None:
    (sample_store / "alarms.parquet").write_bytes(b"not parquet")
    with pytest.raises(StoreError, match="not a readable Parquet file") as info:
        open_store(sample_store)
    assert info.value.path.endswith("alarms.parquet")


@pytest.mark.parametrize(
    ("change", "needle", "column"),
    [
        (lambda d: d.pop("created"), "bad descriptor", "created"),
        (
            lambda d: d["time_range"].update(start="2026-01-01T00:00:00"),
            "must carry a UTC offset",
            "time_range.start",
        ),
        (lambda d: d.update(created="2026-01-01T00:00:00"), "must carry a UTC offset", "created"),
        (lambda d: d["tables"]["logs"].update(rows=-1), "bad descriptor", "tables.logs.rows"),
        (lambda d: d.update(colour="blue"), "bad descriptor", "colour"),
        (lambda d: d.update(format="something-else"), "unknown format", None),
        (lambda d: d.update(version=99), "newer than this program", None),
    ],
    ids=[
        "no-created",
        "naive-time-range",
        "naive-created",
        "negative-rows",
        "extra-field",
        "format",
        "version",
    ],
)
def test_bad_descriptor(sample_store: Path, change, needle: str, column: str | None) -> None:
    desc_path = sample_store / "store.json"
    desc = json.loads(desc_path.read_text())
    change(desc)
    desc_path.write_text(json.dumps(desc))
    with pytest.raises(StoreError, match=needle) as info:
        open_store(sample_store)
    assert info.value.path == str(desc_path)
    assert "store.json" in str(info.value)
    if column:
        assert info.value.field == column and f"field: {column}" in str(info.value)


def test_descriptor_not_json(sample_store: Path) -> None:
    (sample_store / "store.json").write_text("{not json")
    with pytest.raises(StoreError, match="cannot read descriptor") as info:
        open_store(sample_store)
    assert info.value.path.endswith("store.json")


def test_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such folder"):
        open_store(tmp_path / "nowhere")
    with pytest.raises(StoreError, match=r"no store\.json"):
        open_store(tmp_path)


# -- atomic writes -----------------------------------------------------------------------------


def test_exception_inside_writer_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "s"
    with pytest.raises(RuntimeError), StoreWriter(target) as w:
        w.add_log_events([{"timestamp": T0, "message": "x", "log_stream": "s"}], log_group="g")
        raise RuntimeError("fails half way")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder either


def test_failed_rewrite_keeps_the_old_store(sample_store: Path) -> None:
    before = {p.name: p.read_bytes() for p in sample_store.iterdir()}
    with pytest.raises(RuntimeError), StoreWriter(sample_store, overwrite=True) as w:
        w.add_log_events([{"timestamp": T0, "message": "new", "log_stream": "s"}], log_group="g")
        raise RuntimeError("boom")
    assert {p.name: p.read_bytes() for p in sample_store.iterdir()} == before
    assert sorted(p.name for p in sample_store.parent.iterdir()) == ["store"]


def test_overwrite_replaces_the_store(sample_store: Path) -> None:
    with StoreWriter(sample_store, overwrite=True):
        pass
    store = open_store(sample_store)
    assert all(t.rows == 0 for t in store.descriptor.tables.values())
    assert store.time_range is None
    assert sorted(p.name for p in sample_store.parent.iterdir()) == ["store"]


def test_empty_store_has_every_table(tmp_path: Path) -> None:
    with StoreWriter(tmp_path / "s"):
        pass
    store = open_store(tmp_path / "s")
    for name, schema in TABLES.items():
        assert store.read(name).columns.tolist() == schema.names


def test_a_store_written_before_recorded_calls_existed_still_opens(tmp_path) -> None:
    """``aws_calls`` came after version 1 shipped: a store without it reads it as empty."""
    with StoreWriter(tmp_path / "s") as w:
        w.add_aws_calls(
            [{"service": "ecs", "operation": "DescribeServices", "parameters": {}, "response": {}}]
        )
    desc = tmp_path / "s" / "store.json"
    raw = json.loads(desc.read_text())
    del raw["tables"]["aws_calls"]
    (tmp_path / "s" / "aws_calls.parquet").unlink()
    desc.write_text(json.dumps(raw))
    store = open_store(tmp_path / "s")
    assert store.read("aws_calls").empty
    assert store.connect().sql("select count(*) from aws_calls").fetchall() == [(0,)]
