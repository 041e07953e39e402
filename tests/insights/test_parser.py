"""Tokenizer, parser and generator units (execution is covered by test_fixtures.py)."""

from __future__ import annotations

import pytest

from incident_lib.errors import QueryError
from incident_lib.insights import nodes, parse, to_sql
from incident_lib.insights.parser import COMMAND_PARSERS, glob_to_regex, regex_groups
from incident_lib.insights.tokens import T, tokenize


def test_slash_is_regex_after_like_and_division_after_operand():
    kinds = [t.type for t in tokenize("filter a / 2 > 1 and b like /x\\/y/")]
    assert kinds.count(T.SLASH) == 1
    regex = next(t for t in tokenize("filter b like /x\\/y/") if t.type is T.REGEX)
    assert regex.value == "x/y"


def test_parse_field_then_regex_is_a_regex():
    toks = tokenize("parse url /(?<a>\\d+)/")
    assert [t.type for t in toks][:3] == [T.IDENT, T.IDENT, T.REGEX]


def test_duration_tokens_and_units():
    tok = tokenize("bin(90mins)")[2]
    assert tok.type is T.DURATION and tok.value == (90, "m")


def test_comment_removed_but_hash_in_string_kept():
    toks = tokenize("filter a = '#x' # trailing comment")
    assert [t.text for t in toks if t.type is not T.EOF] == ["filter", "a", "=", "'#x'"]


def test_command_table_keyed_by_pipe_keyword():
    assert set(COMMAND_PARSERS) >= {
        "fields",
        "display",
        "filter",
        "where",
        "parse",
        "stats",
        "sort",
        "limit",
        "dedup",
    }


def test_nodes_declare_children_for_walk():
    q = parse("filter a > 1 and b in [1, 2] | stats count(*) by bin(5m)")
    kinds = {type(x).__name__ for x in q.walk()}
    assert {"Filter", "Binary", "In", "ListExpr", "Stats", "Func", "Duration", "Star"} <= kinds
    fields = [x.name for x in q.walk() if isinstance(x, nodes.Field)]
    assert fields == ["a", "b"]


def test_unaliased_projection_named_by_its_text():
    stats = parse("stats avg(@duration), count( * ) by bin(5m)").commands[0]
    assert [p.name for p in stats.aggregations] == ["avg(@duration)", "count( * )"]
    assert stats.groups[0].name == "bin(5m)"


def test_glob_translation():
    assert glob_to_regex("[*] * The error was: *") == (
        "(?s)\\[(.*?)\\] (.*?) The error was: (.*)",
        3,
    )
    assert glob_to_regex("url=* ")[0] == "(?s)url=(.*?) "


def test_regex_groups_numbering_skips_noncapturing_and_classes():
    regex, named = regex_groups(r"(?:x)(a)[(](?<b>\d)(?<c>y)")
    assert named == [("b", 2), ("c", 3)]
    assert "(?P<b>" in regex


def test_one_cte_per_stage():
    sql = to_sql("filter a = 1 | fields b | sort b | limit 5")
    for name in ("s1_filter AS", "s2_fields AS", "s3_sort AS", "s4_limit AS"):
        assert name in sql


def test_window_and_groups_in_source_scan():
    import pandas as pd

    sql = to_sql(
        "fields @message",
        start=pd.Timestamp("2024-01-01T00:00:00Z"),
        end=pd.Timestamp("2024-01-01T01:00:00Z"),
        log_groups=["/a'b"],
    )
    assert "timestamp >= TIMESTAMPTZ '2024-01-01T00:00:00+00:00'" in sql
    assert "log_group IN ('/a''b')" in sql


def test_only_referenced_discovered_fields_are_derived():
    sql = to_sql("filter status = 500 | fields path")
    assert "'/status'" in sql and "'/path'" in sql and "@duration" not in sql
    assert "json_extract" not in to_sql("filter @message like /x/")


def test_error_context_marks_offending_text():
    with pytest.raises(QueryError) as info:
        parse("fields a\n| stats count(*) by bin(5parsecs)")
    assert (info.value.line, info.value.column) == (2, 25)
    assert info.value.context.splitlines()[1].strip() == "^" * len("5parsecs")


def test_members_and_elements_of_a_json_value_are_access_nodes():
    proj = parse("fields j.users[1].action").commands[0].projections[0]
    expr = proj.expr
    assert isinstance(expr, nodes.Access) and expr.key == "action"
    assert isinstance(expr.operand, nodes.Access) and expr.operand.key == 1
    assert expr.operand.operand == nodes.Field("j.users")
    assert proj.name == "j.users[1].action"


def test_bracket_after_space_is_not_an_element():
    with pytest.raises(QueryError):
        parse("fields j [1]")


def test_source_node_holds_prefixes_names_and_accounts():
    cmd = parse(
        "SOURCE logGroups(namePrefix: ['/aws/lambda'], names: [\"/app/api\"], "
        "accountIdentifiers: ['111122223333'], class: 'STANDARD') | fields @message"
    ).commands[0]
    assert cmd == nodes.Source(
        name_prefixes=("/aws/lambda",), names=("/app/api",), accounts=("111122223333",)
    )


def test_source_prefixes_filter_the_scan():
    sql = to_sql("SOURCE logGroups(namePrefix: ['/aws/lambda']) | fields @message")
    assert "starts_with(" in sql and "'/aws/lambda'" in sql.split("_base AS")[0]


def test_new_commands_in_the_table():
    assert {"source", "pattern", "diff", "unnest", "fillmissing"} <= set(COMMAND_PARSERS)


def test_several_captures_extract_into_one_struct():
    sql = to_sql(
        'parse @message "' + " ".join(["*"] * 12) + '" as ' + ", ".join(f"f{i}" for i in range(12))
    )
    assert "['g1', 'g2'" in sql and "'g12'" in sql
    assert sql.count("regexp_extract(") == 1
    assert "['g1', 'g2']" in to_sql('parse @message "* *" as a, b')
    assert "regexp_extract(\"@message\", '(?s)x=(.*)', 1)" in to_sql('parse "x=*" as a')
