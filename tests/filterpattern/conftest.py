"""Shared helpers: fixture files of (pattern, sample lines, which match) for the filter-pattern
engine, read from ``tests/fixtures/filterpattern/<name>.yaml``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

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
