"""Fixture-driven execution tests: each pattern's compiled SQL runs in DuckDB over the sample
lines of the AWS documentation, and the lines it keeps must be the ones AWS says match."""

from __future__ import annotations

import pytest

from incident_lib.errors import FilterPatternError
from incident_lib.filterpattern import compile_pattern
from tests.filterpattern.conftest import expected_lines, load_cases, run_predicate

MATCH_FILES = ["unstructured", "regex", "json", "delimited", "runbooks"]
CASES = [case for name in MATCH_FILES for case in load_cases(name)]


@pytest.mark.parametrize("case", CASES)
def test_pattern_matches_documented_lines(case):
    want = expected_lines(case)
    assert set(want) <= set(case["lines"]), "a 'match' line is not among the case's lines"
    compiled = compile_pattern(case["pattern"])
    assert run_predicate(compiled.sql, case["lines"]) == want, compiled.sql


@pytest.mark.parametrize("case", load_cases("errors"))
def test_malformed_pattern_is_marked(case):
    want = case["error"]
    with pytest.raises(FilterPatternError) as info:
        compile_pattern(case["pattern"])
    err = info.value
    assert want["message"] in err.reason, err.reason
    assert (err.line, err.column) == (want.get("line", 1), want["column"]), str(err)
    assert err.context.splitlines()[-1].strip().startswith("^")
    if "marked" in want:
        assert err.context.splitlines()[-1].strip() == want["marked"]
