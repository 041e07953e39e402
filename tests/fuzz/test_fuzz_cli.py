"""CLI options with hostile values, ``store import-logs`` input, ``catalog --config`` files and
``investigate`` on mutated alarms (the kernel stood in for: everything before and after it is
real): exit 0, 2 or 3, never a traceback."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import EVENTBRIDGE, FAST, SLOW
from tests.fuzz.harness import run_cli
from tests.fuzz.mutate import alarm_payload, log_lines

_ids = itertools.count()

DURATIONS = [
    "60m", "0m", "-5m", "1e9d", "99999999999999999999d", "5000000w", "1.5h", "nan", "inf",
    "", " ", "15", "abc", "\ud800", "9" * 5000 + "s", "0.0000001ms", "365d", "8d", "7d",
]  # fmt: skip
TIMES = [
    "2026-01-01T00:00:00Z", "2026-01-01T00:00:00", "-1", "0", "9" * 13, "9" * 30,
    "99999-01-01T00:00:00Z", "1e30", "\ud800", "", "now", "2026-13-45T99:99:99Z",
]  # fmt: skip
BINARY = b"\x00\xff\xfe\x80binary\x00" * 20


def _file(scratch, data: bytes, suffix: str) -> str:
    path = scratch / f"in-{next(_ids)}{suffix}"
    path.write_bytes(data)
    return str(path)


def investigate_argv(r: random.Random, scratch, store) -> list[str]:
    argv = ["investigate", str(EVENTBRIDGE), "--source", str(store), "--quiet"]
    out = scratch / "reports"
    for _ in range(r.randint(1, 3)):
        option = r.randrange(6)
        if option == 0:
            argv += ["--before", r.choice(DURATIONS)]
        elif option == 1:
            argv += ["--after", r.choice(DURATIONS)]
        elif option == 2:
            out = scratch / "an-existing-file"
            out.write_text("x")
        elif option == 3:
            argv += [
                "--config",
                _file(
                    scratch,
                    r.choice(
                        [
                            BINARY,
                            b"[[alert_type]]\nname=1",
                            b"\xef\xbb\xbf" + "x = '\ud800'".encode("utf-8", "surrogatepass"),
                        ]
                    ),
                    ".toml",
                ),
            ]
        elif option == 4:
            argv[1] = _file(scratch, alarm_payload(r), ".json")
        else:
            argv += ["--region", r.choice(["", "\ud800", "us-east-1", "x" * 5000])]
    return [*argv, "--out", str(out)]


def query_argv(r: random.Random, scratch, store) -> list[str]:
    argv = ["query", "fields @message | limit 3", "--store", str(store)]
    for _ in range(r.randint(1, 3)):
        option = r.randrange(5)
        if option == 0:
            argv += ["--start", r.choice(TIMES)]
        elif option == 1:
            argv += ["--end", r.choice(TIMES)]
        elif option == 2:
            argv += ["--limit", r.choice(["0", "-1", "99999999999999999999", "x", "10"])]
        elif option == 3:
            argv[1] = "@" + _file(scratch, r.choice([BINARY, b"", b"fields @message"]), ".q")
        else:
            argv += ["--log-group", r.choice(["", "\ud800", "/aws/lambda/x", "'; drop table logs"])]
    return argv


def check(argv: list[str], stdin: bytes = b"", timeout: float = 30) -> None:
    outcome = run_cli(argv, stdin=stdin, timeout=timeout)
    assert outcome.clean, outcome.explain()


@FAST
@given(r=st.randoms(use_true_random=False))
def test_investigate_options(r, scratch, small_store, fake_kernel) -> None:
    check(investigate_argv(r, scratch, small_store))


@FAST
@given(r=st.randoms(use_true_random=False))
def test_query_options(r, scratch, small_store) -> None:
    check(query_argv(r, scratch, small_store))


@FAST
@given(r=st.randoms(use_true_random=False), via=st.sampled_from(["file", "stdin"]))
def test_import_logs_input(r, via, scratch) -> None:
    data = log_lines(r)
    store = scratch / f"imported-{next(_ids)}"
    source = "-" if via == "stdin" else _file(scratch, data, ".jsonl")
    check(["store", "import-logs", str(store), "--log-group", "/g", source], stdin=data)


@pytest.mark.slow
@SLOW
@given(r=st.randoms(use_true_random=False), which=st.sampled_from(["investigate", "query"]))
def test_options_many(r, which, scratch, small_store, fake_kernel) -> None:
    build = investigate_argv if which == "investigate" else query_argv
    check(build(r, scratch, small_store))


@pytest.mark.parametrize(
    "argv",
    [
        ["investigate", str(EVENTBRIDGE), "--before", "99999999999999999999d"],
        ["investigate", str(EVENTBRIDGE), "--after=-5m"],
        ["investigate", str(EVENTBRIDGE), "--before", "400d"],
        ["catalog", "--config", "BINARY"],
        ["query", "@BINARY", "--store", "STORE"],
        ["investigate", str(EVENTBRIDGE), "--out", "FILE"],
        ["query", "fields @message", "--store", "STORE", "--start", "9" * 30],
        ["query", "fields @message", "--store", "STORE", "--start", "99999-01-01T00:00:00Z"],
    ],
    ids=[
        "before-huge", "after-negative", "before-too-long", "binary-config", "binary-query",
        "out-is-a-file", "start-huge-epoch", "start-year-99999",
    ],
)  # fmt: skip
def test_known_bad_options_are_bad_input(argv, scratch, small_store, fake_kernel) -> None:
    binary = _file(scratch, BINARY, ".bin")
    existing = _file(scratch, b"x", ".txt")
    argv = [
        a.replace("BINARY", binary).replace("STORE", str(small_store)).replace("FILE", existing)
        for a in argv
    ]
    if argv[0] == "investigate":
        argv += ["--source", str(small_store)]
        if "--out" not in argv:
            argv += ["--out", str(scratch / "reports")]
    outcome = run_cli(argv)
    assert outcome.code == 2 and outcome.clean, outcome.explain()
    assert outcome.err.count("\n") == 1, outcome.err


@pytest.mark.parametrize(
    "data",
    [
        b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        (
            '{"timestamp": 1, "message": "' + "A" * (2 * 1024 * 1024) + '", "logStreamName": "s"}'
        ).encode(),
        b'{"timestamp": 100000000000000000000, "message": "m", "logStreamName": "s"}',
        b'{"timestamp": -100000000000000, "message": "m", "logStreamName": "s"}',
        b'{"timestamp": ' + b"1" * 5000 + b', "message": "m", "logStreamName": "s"}',
        b'{"timestamp": 1767225600000, "message": "\\ud800", "logStreamName": "s"}',
        BINARY,
    ],
    ids=["deep-json", "long-line", "huge-ts", "negative-ts", "5000-digits", "surrogate", "binary"],
)
def test_import_logs_hostile_input(data, scratch) -> None:
    store = scratch / f"imported-{next(_ids)}"
    outcome = run_cli(["store", "import-logs", str(store), "--log-group", "/g", "-"], stdin=data)
    assert outcome.clean, outcome.explain()
    assert outcome.code == 2, outcome.explain()
    assert not store.exists()
