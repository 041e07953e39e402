"""``incident query`` with mutated Logs Insights queries (the engine's own fixture queries,
spliced, cut and crossed) on a small store: exit 0 or 2, never a traceback."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import FAST, SLOW
from tests.fuzz.harness import run_cli
from tests.fuzz.mutate import mutate_query, query_fixtures

QUERIES = query_fixtures()


def check_query(query: str, store, fmt: str) -> None:
    outcome = run_cli(["query", query, "--store", str(store), "--format", fmt], timeout=15)
    assert outcome.clean, outcome.explain()
    assert outcome.code in (0, 2), outcome.explain()


def test_fixture_queries_are_there() -> None:
    assert len(QUERIES) > 100


@FAST
@given(r=st.randoms(use_true_random=False), fmt=st.sampled_from(["table", "csv", "json"]))
def test_mutated_queries(r: random.Random, fmt: str, small_store) -> None:
    check_query(mutate_query(QUERIES, r), small_store, fmt)


@pytest.mark.slow
@SLOW
@given(r=st.randoms(use_true_random=False), fmt=st.sampled_from(["table", "csv", "json"]))
def test_mutated_queries_many(r: random.Random, fmt: str, small_store) -> None:
    check_query(mutate_query(QUERIES, r), small_store, fmt)


@FAST
@given(text=st.text(max_size=200))
def test_arbitrary_text_as_query(text: str, small_store) -> None:
    check_query(text, small_store, "json")
