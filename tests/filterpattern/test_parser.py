"""The syntax tree the parser builds, and the limits it enforces."""

from __future__ import annotations

import logging

import pytest

from incident_lib.errors import BadInputError, FilterPatternError, QueryError
from incident_lib.filterpattern import nodes as n
from incident_lib.filterpattern import parse
from incident_lib.filterpattern.parser import MAX_LENGTH


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "all"),
        ("   ", "all"),
        ("ERROR", "terms"),
        ('"a b"', "terms"),
        ("%a.b%", "regex"),
        ("  { $.a = 1 }", "json"),
        ("[a, b]", "delimited"),
        ("100% done", "terms"),
    ],
)
def test_first_character_picks_the_form(text, kind):
    assert parse(text).kind == kind


def test_terms_sorted_by_prefix():
    p = parse('ERROR ?"timed out" -DEBUG ?WARN "a b"')
    assert isinstance(p, n.TermPattern)
    assert [t.text for t in p.required] == ["ERROR", "a b"]
    assert [t.text for t in p.excluded] == ["DEBUG"]
    assert [t.text for t in p.optional] == ["timed out", "WARN"]
    assert p.ignored_optional


def test_ignored_alternatives_are_logged(caplog):
    with caplog.at_level(logging.INFO, logger="incident_lib.filterpattern"):
        parse("?ERROR ?WARN REQUEST")
    assert "ignored" in caplog.text


def test_json_precedence_and_over_or():
    p = parse("{ $.a = 1 || $.b = 2 && $.c = 3 }")
    assert isinstance(p, n.JsonPattern)
    assert isinstance(p.condition, n.Or)
    assert isinstance(p.condition.operands[1], n.And)


def test_json_selector_segments():
    assert parse("{ $.a.b[0][*].c = x }").condition.target.wildcard
    with pytest.raises(FilterPatternError):
        parse("{ $.a[*].* = x }")  # two wildcards in one selector
    p = parse("{ $.a-b.c_d[12]['x.y'] = x }")
    assert p.condition.target.segments == (
        ("key", "a-b"),
        ("key", "c_d"),
        ("index", 12),
        ("key", "x.y"),
    )


@pytest.mark.parametrize(
    ("value", "node", "fields"),
    [
        ("42", n.Number, {"value": 42.0}),
        ("-1.5e3", n.Number, {"value": -1500.0}),
        ("+1000", n.Number, {"value": 1000.0}),
        ("*", n.AnyValue, {}),
        ("4*", n.Text, {"text": "4", "leading_star": False, "trailing_star": True}),
        ("*.html*", n.Text, {"text": ".html", "leading_star": True, "trailing_star": True}),
        ("Ev*ent", n.Text, {"text": "Ev*ent", "leading_star": False, "trailing_star": False}),
        ('"a b*"', n.Text, {"text": "a b", "trailing_star": True}),
        ("%a{,2}%", n.Regex, {"source": "a{,2}", "re2": "a{0,2}"}),
    ],
)
def test_values(value, node, fields):
    p = parse(f"{{ $.x = {value} }}")
    got = p.condition.value
    assert isinstance(got, node)
    for key, want in fields.items():
        assert getattr(got, key) == want


def test_delimited_fields():
    p = parse("[ip, , ..., status = 4* || status = 5*, bytes]")
    assert isinstance(p, n.DelimitedPattern)
    assert [(f.name, f.ellipsis, f.condition is not None) for f in p.fields] == [
        ("ip", False, False),
        (None, False, False),
        (None, True, False),
        ("status", False, True),
        ("bytes", False, False),
    ]


def test_repeated_field_name_without_condition_is_accepted():
    # The seed runbook's API Gateway pattern names 'timestamp' twice.
    assert parse("[timestamp, id, timestamp, status]").kind == "delimited"


def test_pattern_length_limit():
    parse("a" * MAX_LENGTH)
    with pytest.raises(FilterPatternError) as info:
        parse("a" * (MAX_LENGTH + 1))
    assert "at most 1024 characters" in info.value.reason
    assert info.value.column == MAX_LENGTH + 1


def test_error_is_bad_input_with_exit_code_2():
    with pytest.raises(FilterPatternError) as info:
        parse("{ $.a > x }")
    assert isinstance(info.value, QueryError | BadInputError)
    assert info.value.exit_code == 2
    text = str(info.value)
    assert text.splitlines()[0] == "'>' compares numbers; x is not a number at line 1, column 9"
    assert text.splitlines()[1:] == ["  { $.a > x }", "          ^"]


def test_nodes_walk_reaches_every_leaf():
    p = parse("{ ($.a = 1 || $.b IS NULL) && $.c NOT EXISTS }")
    kinds = [type(x).__name__ for x in p.walk()]
    assert kinds.count("Selector") == 3
    assert {"Or", "And", "Compare", "Is", "NotExists", "Number"} <= set(kinds)
