"""Shared helpers: fixture files of (pattern, sample lines, which match) for the filter-pattern
engine, read from ``tests/fixtures/filterpattern/<name>.yaml``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import yaml

from incident_lib.store import StoreWriter

# The moto server fixtures of the AWS tests, for the FilterLogEvents wire-path tests here.
from tests.aws.conftest import aws_source, moto, moto_clients, moto_endpoint  # noqa: F401

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "filterpattern"


def load_cases(name: str) -> list[Any]:
    """``pytest.param(case, id=name)`` for each case of a fixture file."""
    doc = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text(encoding="utf-8"))
    return [pytest.param(case, id=f"{name}:{case['name']}") for case in doc["cases"]]


def expected_lines(case: dict[str, Any]) -> list[str]:
    """The lines a case says match: ``match`` holds line texts or indexes into ``lines``."""
    lines = case["lines"]
    return [lines[m] if isinstance(m, int) else m for m in case["match"]]


_con: duckdb.DuckDBPyConnection | None = None


def connection() -> duckdb.DuckDBPyConnection:
    """One DuckDB connection for the whole run (opening one costs ~0.1 s)."""
    global _con
    if _con is None:
        _con = duckdb.connect()
    return _con


def run_predicate(sql: str, lines: list[str]) -> list[str]:
    """The lines for which the compiled predicate is true, run in DuckDB, in input order."""
    con = connection()
    con.execute("CREATE OR REPLACE TEMP TABLE events (i INTEGER, message VARCHAR)")
    con.executemany("INSERT INTO events VALUES (?, ?)", list(enumerate(lines)))
    rows = con.sql(f"SELECT i FROM events WHERE {sql} ORDER BY i").fetchall()
    return [lines[i] for (i,) in rows]


def build_store(path: Path, events: list[dict[str, Any]]) -> Path:
    """A telemetry store holding ``events`` (``t``, ``msg``, optional ``group``, ``stream``,
    ``ingest``, ``id``)."""
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
                "event_id": ev.get("id", f"e{i:03d}"),
            }
        )
    with StoreWriter(path) as writer:
        writer.add_log_events(pd.DataFrame(rows))
    return path


# A log group of the kinds of lines runbooks filter: Lambda text lines, JSON, access logs.
EVENTS = [
    {"t": "2024-01-01T00:00:00Z", "msg": "START RequestId: r1 Version: $LATEST", "stream": "a/1"},
    {"t": "2024-01-01T00:00:01Z", "msg": "ERROR boom in handler", "stream": "a/1"},
    {"t": "2024-01-01T00:00:02Z", "msg": '{"level": "ERROR", "latency": 1200}', "stream": "b/1"},
    {"t": "2024-01-01T00:00:03Z", "msg": '{"level": "INFO", "latency": 20}', "stream": "b/1"},
    {
        "t": "2024-01-01T00:00:03Z",
        "msg": "Task timed out after 3.00 seconds",
        "stream": "a/2",
        "id": "e000",
    },
    {
        "t": "2024-01-01T00:00:04Z",
        "msg": '10.0.0.1 - - [x] "GET /a HTTP/1.1" 500 2048',
        "stream": "c/1",
        "ingest": "2024-01-01T00:00:09Z",
    },
    {"t": "2024-01-01T00:00:05Z", "msg": "ERROR in another group", "group": "/app/other"},
    {"t": "2024-01-01T00:10:00Z", "msg": "ERROR late", "stream": "a/1"},
]
