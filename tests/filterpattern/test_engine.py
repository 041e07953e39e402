"""``compile_pattern`` and ``filter_events`` on DataFrames and DuckDB relations."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from incident_lib.errors import FilterPatternError
from incident_lib.filterpattern import compile_pattern, filter_events

FRAME = pd.DataFrame(
    {
        "message": [
            "ERROR boom",
            "INFO ok",
            '{"level": "ERROR", "latency": 900}',
            None,
            '127.0.0.1 - - [x] "GET /a HTTP/1.1" 500 12',
        ],
        "n": [1, 2, 3, 4, 5],
    },
    index=[10, 11, 12, 13, 14],
)


@pytest.mark.parametrize(
    ("pattern", "index"),
    [
        ("ERROR", [10, 12]),
        ("", [10, 11, 12, 13, 14]),
        ("-ERROR", [11, 14]),
        ("{ $.latency > 500 }", [12]),
        ("[..., status = 5*, size]", [14]),
        ("%^[A-Z]+ %", [10, 11]),
    ],
)
def test_frame_rows_keep_index_and_order(pattern, index):
    out = filter_events(FRAME, pattern)
    assert out.index.tolist() == index
    assert list(out.columns) == ["message", "n"]
    assert out["n"].tolist() == [FRAME.loc[i, "n"] for i in index]


def test_missing_message_never_matches_a_real_pattern():
    assert 13 not in filter_events(FRAME, "-NOTHERE").index


def test_relation_is_filtered_lazily():
    con = duckdb.connect()
    rel = con.sql(
        "SELECT * FROM (VALUES ('a ERROR', 1), ('b', 2), ('{\"x\": 1}', 3)) t(message, n)"
    )
    out = filter_events(rel, "?ERROR ?zzz")
    assert isinstance(out, duckdb.DuckDBPyRelation)
    assert sorted(r[1] for r in out.fetchall()) == [1]
    assert [r[1] for r in filter_events(rel, "{ $.x = 1 }").fetchall()] == [3]


def test_other_column_and_compiled_pattern():
    frame = FRAME.rename(columns={"message": "text"})
    compiled = compile_pattern("INFO")
    assert filter_events(frame, compiled, column="text").index.tolist() == [11]
    with pytest.raises(KeyError):
        filter_events(frame, "INFO")


def test_bad_pattern_raises_before_touching_data():
    with pytest.raises(FilterPatternError):
        filter_events(FRAME, "{ $.a = }")


def test_compiled_sql_is_never_null():
    con = duckdb.connect()
    for pattern in ["ERROR", "-ERROR", "{ $.a != 1 }", "[a, b = 1]", "%x%", "?a ?b"]:
        sql = compile_pattern(pattern).sql
        assert con.sql(f"SELECT {sql} FROM (SELECT NULL::VARCHAR AS message)").fetchall() == [
            (False,)
        ], pattern


def test_kind_and_matches_all():
    assert compile_pattern(None).matches_all
    assert compile_pattern('" "').matches_all
    assert compile_pattern("[...]").kind == "delimited"
    assert not compile_pattern("ERROR").matches_all
