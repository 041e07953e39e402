"""Helpers for the metric tests: samples in a DuckDB relation with the store's metrics schema."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from incident_lib.sources.base import MetricQuery
from incident_lib.store.schema import TABLES
from incident_lib.store.writer import canonical_dimensions

DAY = "2026-01-01"
DEFAULT_METRIC = {"namespace": "Test", "metric_name": "Latency", "dimensions": {"Service": "api"}}


def at(text: str) -> pd.Timestamp:
    """``"00:01:30"`` (on :data:`DAY`, UTC) or a full ISO time with an offset."""
    if "T" in str(text):
        return pd.Timestamp(text).tz_convert("UTC")
    return pd.Timestamp(f"{DAY}T{text}Z")


def metrics_table(samples: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Rows in the store's metrics schema; ``t`` is a time for :func:`at`, metric fields default
    to :data:`DEFAULT_METRIC`."""
    rows = []
    for sample in samples:
        row = {**DEFAULT_METRIC, **{k: v for k, v in sample.items() if k != "t"}}
        row["dimensions"] = canonical_dimensions(row["dimensions"])
        row["timestamp"] = at(sample["t"])
        for col in ("unit", "value", "sample_count", "sum", "minimum", "maximum"):
            row.setdefault(col, None)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=TABLES["metrics"].names)
    return pa.Table.from_pandas(frame, schema=TABLES["metrics"], preserve_index=False)


def connect(samples: Iterable[Mapping[str, Any]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("metrics_arrow", metrics_table(samples))
    con.execute("CREATE TABLE metrics AS SELECT * FROM metrics_arrow")
    con.unregister("metrics_arrow")
    return con


def metric_query(spec: Mapping[str, Any]) -> MetricQuery:
    """A MetricQuery; a metric query's namespace, name and dimensions default to the samples'."""
    spec = dict(spec)
    if "expression" not in spec:
        for key, value in DEFAULT_METRIC.items():
            spec.setdefault(key, value)
    return MetricQuery(**spec)


@pytest.fixture
def at_time():
    return at


@pytest.fixture
def query():
    return metric_query


@pytest.fixture
def make_con():
    cons: list[duckdb.DuckDBPyConnection] = []

    def factory(samples: Iterable[Mapping[str, Any]]) -> duckdb.DuckDBPyConnection:
        con = connect(samples)
        cons.append(con)
        return con

    yield factory
    for con in cons:
        con.close()
