"""Shared helpers: fixture files of (events, query, expected rows) run through the engine."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from incident_lib.store import StoreWriter, open_store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "insights"


def load_cases(name: str) -> list[Any]:
    """``pytest.param`` per case of ``tests/fixtures/insights/<name>.yaml``."""
    doc = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
    return [pytest.param(doc, case, id=case["name"]) for case in doc["cases"]]


def build_store(path: Path, events: list[dict[str, Any]]) -> Path:
    """Write ``events`` (``t``, ``msg``, optional ``group``, ``stream``, ``ingest``) to a store."""
    rows = []
    for i, ev in enumerate(events):
        ts = pd.Timestamp(ev["t"])
        rows.append(
            {
                "log_group": ev.get("group", "/app/api"),
                "log_stream": ev.get("stream", "s1"),
                "timestamp": ts,
                "ingestion_time": pd.Timestamp(ev["ingest"]) if "ingest" in ev else ts,
                "message": ev["msg"],
                "event_id": ev.get("ptr", f"ptr{i:03d}"),
            }
        )
    with StoreWriter(path) as writer:
        writer.add_log_events(pd.DataFrame(rows))
    return path


_stores: dict[int, Path] = {}


@pytest.fixture
def store_for(tmp_path_factory):
    """A function: fixture document -> connection on a store holding its events (cached)."""

    def get(doc: dict[str, Any]):
        key = id(doc)
        if key not in _stores:
            _stores[key] = build_store(tmp_path_factory.mktemp("insights") / "store", doc["events"])
        return open_store(_stores[key]).connect()

    return get


def normalise(value: Any) -> Any:
    """A frame cell as a plain comparable value (timestamps as AWS prints them)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        assert value.tzinfo is not None, "naive timestamp in a result"
        return value.tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return value
    return value


def rows_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: normalise(v) for k, v in rec.items()} for rec in frame.to_dict("records")]


def assert_rows(actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert len(actual) == len(expected), f"{len(actual)} rows, expected {len(expected)}:\n{actual}"
    for got, want in zip(actual, expected, strict=True):
        for key, value in want.items():
            assert key in got, f"no column {key!r} in {list(got)}"
            if isinstance(value, float) and isinstance(got[key], int | float):
                assert got[key] == pytest.approx(value, rel=1e-9), f"{key}: {got} vs {want}"
            else:
                assert got[key] == value, f"{key}: {got[key]!r} != {value!r}\nrow {got}"
