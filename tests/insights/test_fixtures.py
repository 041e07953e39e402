"""Fixture-driven execution tests: each case runs through the engine on a real store."""

from __future__ import annotations

import pandas as pd
import pytest

from incident_lib import errors
from incident_lib.insights import run_query
from tests.insights.conftest import assert_rows, load_cases, rows_of

START = pd.Timestamp("2024-01-01T00:00:00Z")
END = pd.Timestamp("2024-01-02T00:00:00Z")

FILES = [
    "commands",
    "expressions",
    "parse",
    "stats",
    "functions",
    "fields",
    "aws_samples",
    "errors",
    "result_types",
    "aws_account_region",
    "source",
    "display",
    "pattern",
    "diff",
    "json_unnest",
    "fillmissing",
    "dedup",
]
CASES = [case for name in FILES for case in load_cases(name)]


@pytest.mark.parametrize(("doc", "case"), CASES)
def test_case(doc, case, store_for):
    con = store_for(doc)
    kwargs = {
        "start": pd.Timestamp(case.get("start", doc.get("start", START))),
        "end": pd.Timestamp(case.get("end", doc.get("end", END))),
        "log_groups": case.get("log_groups"),
        "limit": case.get("limit"),
        "region": "us-east-1",  # the store's Region, as LocalSource passes it
    }
    if "error" in case:
        want = case["error"]
        cls = getattr(errors, want.get("type", "QueryError"))
        with pytest.raises(errors.QueryError) as info:
            run_query(con, case["query"], **kwargs)
        assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
        assert want["message"] in info.value.reason
        if "line" in want:
            assert (info.value.line, info.value.column) == (want["line"], want["column"])
        if "marked" in want:
            assert want["marked"] in info.value.context
        return
    frame = run_query(con, case["query"], **kwargs)
    if "columns" in case:
        assert list(frame.columns) == case["columns"]
    if "rows" in case:
        actual = rows_of(frame)
        expected = case["rows"]
        if case.get("unordered"):
            key = case["unordered"]
            actual = sorted(actual, key=lambda r: str(r.get(key)))
            expected = sorted(expected, key=lambda r: str(r.get(key)))
        assert_rows(actual, expected)
    if "count" in case:
        assert len(frame) == case["count"]
    for column, dtype in case.get("dtypes", {}).items():
        assert str(frame[column].dtype) == dtype, f"{column}: {frame[column].dtype}"
