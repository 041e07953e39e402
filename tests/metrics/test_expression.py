"""The metric math parser: tree shapes, precedence, and where syntax errors point."""

from __future__ import annotations

import pytest

from incident_lib.errors import MetricQueryError
from incident_lib.metrics.expression import (
    BinOp,
    Call,
    Keyword,
    Neg,
    Num,
    Ref,
    Str,
    parse_expression,
    references,
)


def test_precedence_and_associativity() -> None:
    assert parse_expression("a + b * c") == BinOp("+", Ref("a"), BinOp("*", Ref("b"), Ref("c")))
    assert parse_expression("a - b - c") == BinOp("-", BinOp("-", Ref("a"), Ref("b")), Ref("c"))
    assert parse_expression("a ^ b ^ c") == BinOp("^", Ref("a"), BinOp("^", Ref("b"), Ref("c")))
    assert parse_expression("-a ^ 2") == Neg(BinOp("^", Ref("a"), Num(2.0)))
    assert parse_expression("+a") == Ref("a")


def test_calls_strings_and_keywords() -> None:
    tree = parse_expression("FILL(SUM(METRICS('5xx')), REPEAT)")
    assert tree == Call("FILL", (Call("SUM", (Call("METRICS", (Str("5xx"),)),)), Keyword("REPEAT")))
    assert parse_expression("METRICS()") == Call("METRICS", ())


def test_references() -> None:
    assert references(parse_expression("100 * (e1 + e2) / ABS(m_1)")) == {"e1", "e2", "m_1"}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a +", "at the end"),
        ("a * * b", "at position 5"),
        ("SUM(a", "expected ')' or ','"),
        ("SUM a", "expected an operator before 'a'"),
    ],
)
def test_errors_point_at_the_position(text: str, needle: str) -> None:
    with pytest.raises(MetricQueryError) as info:
        parse_expression(text, query_id="q")
    assert needle in str(info.value)
    assert info.value.query_id == "q"
