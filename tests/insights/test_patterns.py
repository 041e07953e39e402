"""pattern/diff templates: the project's signature() with AWS-style numbered tokens."""

from __future__ import annotations

import pandas as pd

from incident_lib.analysis.signatures import signature
from incident_lib.insights import run_query
from incident_lib.insights.patterns import number_tokens, pattern_of
from incident_lib.store import open_store
from tests.insights.conftest import build_store

START = pd.Timestamp("2024-01-01T00:00:00Z")
END = pd.Timestamp("2024-01-01T01:00:00Z")
TIMEOUTS = [
    "ERROR timeout after 3000 ms from 10.0.4.17",
    "ERROR timeout after 2500 ms from 10.0.4.18",
]


def test_tokens_numbered_by_position_untyped_as_token():
    assert number_tokens("a <NUM> b <IP> c <*> <NUM>") == "a <NUM-1> b <IP-2> c <Token-3> <NUM-4>"


def test_text_in_angle_brackets_that_is_no_placeholder_is_kept():
    assert number_tokens("<html> <b>bold</b> <NUM>") == "<html> <b>bold</b> <NUM-1>"


def test_pattern_is_the_signature_with_numbered_tokens():
    assert pattern_of(TIMEOUTS[0]) == number_tokens(signature(TIMEOUTS[0]))


def test_pattern_command_uses_the_signature(tmp_path):
    events = [{"t": f"2024-01-01T00:0{i}:00Z", "msg": m} for i, m in enumerate(TIMEOUTS)]
    con = open_store(build_store(tmp_path / "s", events)).connect()
    frame = run_query(con, "pattern @message", start=START, end=END)
    assert frame["@pattern"].tolist() == [number_tokens(signature(TIMEOUTS[0]))]
    assert frame["@sampleCount"].tolist() == [2]


def test_diff_patterns_use_the_same_templates(tmp_path):
    # diff reads the window and the period before it; @pattern is the same function.
    events = [
        {"t": "2024-01-01T00:10:00Z", "msg": TIMEOUTS[0]},
        {"t": "2023-12-31T23:10:00Z", "msg": TIMEOUTS[1]},
    ]
    con = open_store(build_store(tmp_path / "s", events)).connect()
    frame = run_query(con, "diff", start=START, end=END)
    assert frame[["@pattern", "@sampleCount", "@previousSampleCount"]].values.tolist() == [
        [number_tokens(signature(TIMEOUTS[0])), 1, 1]
    ]
