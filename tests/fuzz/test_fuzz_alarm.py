"""``incident alarm`` on mutated real payloads (tests/fixtures/alarms, the corpus included):
every case ends with exit 0 or 2, one error line, no traceback, within the bound."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import FAST, SLOW
from tests.fuzz.harness import run_cli
from tests.fuzz.mutate import ALARM_FILES, RAW_NUMBERS, alarm_payload

_names = itertools.count()


def check_alarm(payload: bytes, via: str, scratch) -> None:
    if via == "stdin":
        outcome = run_cli(["alarm", "-"], stdin=payload, timeout=5)
    else:
        path = scratch / f"alarm-{next(_names)}.json"
        path.write_bytes(payload)
        outcome = run_cli(["alarm", str(path)], timeout=5)
        path.unlink()
    assert outcome.clean, outcome.explain()
    assert outcome.code in (0, 2), outcome.explain()
    if outcome.code == 2:
        assert outcome.err.count("\n") == 1, f"not one line: {outcome.err[:2000]!r}"
        assert len(outcome.err) < 2000, f"error too long ({len(outcome.err)} characters)"


@FAST
@given(r=st.randoms(use_true_random=False), via=st.sampled_from(["file", "stdin"]))
def test_mutated_alarm_payloads(r: random.Random, via: str, scratch) -> None:
    check_alarm(alarm_payload(r), via, scratch)


@pytest.mark.slow
@SLOW
@given(r=st.randoms(use_true_random=False), via=st.sampled_from(["file", "stdin"]))
def test_mutated_alarm_payloads_many(r: random.Random, via: str, scratch) -> None:
    check_alarm(alarm_payload(r), via, scratch)


@pytest.mark.parametrize("number", RAW_NUMBERS, ids=lambda n: f"{len(n)}-chars")
def test_huge_numbers_end_fast(number: str, scratch) -> None:
    # A 5,000-digit number once hung the parser (int parsing is quadratic).
    text = ALARM_FILES[0].read_text().replace("{", '{"Threshold": ' + number + ",", 1)
    check_alarm(text.encode(), "stdin", scratch)


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b"\xff\xfe\x00\x01binary",
        b'{"AlarmName": "\\ud800"}',
        b"{}" + b" " * (2 * 1024 * 1024),
    ],
    ids=["deep-nesting", "binary", "lone-surrogate", "oversized"],
)
def test_hostile_payloads_are_bad_input(payload: bytes, scratch) -> None:
    outcome = run_cli(["alarm", "-"], stdin=payload, timeout=5)
    assert outcome.clean and outcome.code == 2, outcome.explain()
