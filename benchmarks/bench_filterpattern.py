"""Benchmark the filter-pattern engine against pure Python (``re`` / ``json``).

    .venv/bin/python -m benchmarks.bench_filterpattern --events 1000000

Generates N log messages in memory (plain text, JSON, Apache access lines and Lambda lines,
about 120 bytes each), then, for a few patterns of each kind, times in the same process:

* ``duckdb``: the compiled predicate counting matches over an in-memory DuckDB table;
* ``filter_events``: :func:`incident_lib.filterpattern.filter_events` on a pandas frame
  (the predicate run over the frame in place, the rows taken by a boolean mask);
* ``python``: a hand-written Python matcher for the same pattern over a list of strings
  (``in``, ``re.search``, ``json.loads``, a regex split for space-delimited lines).

The two counts must agree (a check of the engine against an independent implementation of the
same semantics). Prints medians and the ratio python/duckdb.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable

import duckdb
import numpy as np
import pandas as pd

from incident_lib.filterpattern import compile_pattern, filter_events

LEVELS = np.array(["INFO"] * 16 + ["WARN", "ERROR", "ERROR", "DEBUG"])
PATHS = np.array(["/api/items", "/api/cart", "/api/checkout", "/health", "/api/orders"])


def generate(n: int, seed: int = 7) -> list[str]:
    """``n`` messages: 35% plain text, 35% JSON, 20% Apache access lines, 10% Lambda."""
    rng = np.random.default_rng(seed)
    kind = rng.random(n)
    level = LEVELS[rng.integers(0, len(LEVELS), n)]
    path = PATHS[rng.integers(0, len(PATHS), n)]
    status = np.where(rng.random(n) < 0.04, 503, np.where(rng.random(n) < 0.1, 404, 200))
    latency = np.round(rng.lognormal(5.5, 1.0, n), 1)
    size = rng.integers(100, 5000, n)
    out: list[str] = []
    for i in range(n):
        if kind[i] < 0.35:
            text = "Exception in worker" if level[i] == "ERROR" and i % 3 == 0 else "done"
            out.append(
                f"2026-11-01T00:00:00Z {level[i]} [worker-{i % 16}] {path[i]} "
                f"status={status[i]} took {latency[i]}ms {text}"
            )
        elif kind[i] < 0.70:
            out.append(
                json.dumps(
                    {
                        "level": level[i],
                        "latency": latency[i],
                        "path": path[i],
                        "status": int(status[i]),
                        "tags": ["slow"] if latency[i] > 1000 else [],
                    },
                    separators=(",", ":"),
                )
            )
        elif kind[i] < 0.90:
            out.append(
                f"10.0.{i % 256}.{i % 7} - u{i % 500} [01/Nov/2026:00:00:00 +0000] "
                f'"GET {path[i]} HTTP/1.1" {status[i]} {size[i]}'
            )
        else:
            timed_out = i % 11 == 0
            out.append(
                f"2026-11-01T00:00:00.000Z\t{i:08x}-7d50\t"
                + (f"Task timed out after {latency[i]} seconds" if timed_out else "INFO done")
            )
    return out


# -- pure-Python matchers for the same patterns -----------------------------------------------
_FIELD = re.compile(r'"[^"]*"|\[[^\]]*\]|[^\s"\[]\S*')


def _json(m: str) -> dict | None:
    if not m.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(m)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def py_json_error_slow(m: str) -> bool:
    d = _json(m)
    return (
        d is not None
        and d.get("level") == "ERROR"
        and _is_number(d.get("latency"))
        and d["latency"] > 500
    )


def py_json_tags(m: str) -> bool:
    d = _json(m)
    tags = d.get("tags") if d else None
    return isinstance(tags, list) and "slow" in tags


def py_delimited(m: str) -> bool:
    # Seven fields exactly: the last field takes the rest of the line, so a longer line would
    # still match with its tail as 'bytes' (not a number here, so no match either way).
    fields = _FIELD.findall(m)
    if len(fields) != 7:
        return False
    request, status, size = fields[4].strip('"'), fields[5], fields[6]
    try:
        big = float(size) > 1000
    except ValueError:
        return False
    return "checkout" in request and status.startswith("5") and big


def py_delimited_tail(m: str) -> bool:
    # [..., status, bytes > 4000]: the line's last two fields.
    fields = _FIELD.findall(m)
    if len(fields) < 2:
        return False
    try:
        return float(fields[-1].strip('"[]')) > 4000
    except ValueError:
        return False


_STATUS_5XX = re.compile(r"status=5[0-9]{2}")

PATTERNS: dict[str, tuple[str, Callable[[str], bool]]] = {
    "terms: ERROR -DEBUG": ("ERROR -DEBUG", lambda m: "ERROR" in m and "DEBUG" not in m),
    'alternatives: ?Exception ?"timed out"': (
        '?Exception ?"timed out"',
        lambda m: "Exception" in m or "timed out" in m,
    ),
    "regex: %status=5[0-9]{2}%": ("%status=5[0-9]{2}%", lambda m: bool(_STATUS_5XX.search(m))),
    "JSON: level = ERROR && latency > 500": (
        '{ $.level = "ERROR" && $.latency > 500 }',
        py_json_error_slow,
    ),
    "JSON wildcard: tags[*] = slow": ('{ $.tags[*] = "slow" }', py_json_tags),
    "space-delimited: 7 fields, 3 conditions": (
        "[ip, ident, user, ts, request = *checkout*, status = 5*, bytes > 1000]",
        py_delimited,
    ),
    "space-delimited: ..., numeric test on the last field": (
        "[..., status, bytes > 4000]",
        py_delimited_tail,
    ),
}


def median_time(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python-runs", type=int, default=3)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    messages = generate(args.events)
    frame = pd.DataFrame({"message": messages})
    con = duckdb.connect()
    con.register("_frame", frame)
    con.execute("CREATE TABLE events AS SELECT message FROM _frame")
    con.unregister("_frame")
    threads = con.sql("SELECT current_setting('threads')").fetchall()[0][0]
    print(
        f"{args.events:,} messages generated in {time.perf_counter() - t0:.1f} s; "
        f"DuckDB {duckdb.__version__}, threads={threads}",
        file=sys.stderr,
    )
    print("| pattern | matches | duckdb s | filter_events s | python s | python/duckdb |")
    print("|---|---:|---:|---:|---:|---:|")
    failed = False
    for label, (pattern, py) in PATTERNS.items():
        compiled = compile_pattern(pattern)
        sql = f"SELECT count(*) FROM events WHERE {compiled.sql}"
        d_time, d_count = median_time(lambda q=sql: con.sql(q).fetchall()[0][0], args.runs)
        f_time, f_out = median_time(lambda c=compiled: filter_events(frame, c), args.runs)
        p_time, p_count = median_time(
            lambda f=py: sum(1 for m in messages if f(m)), args.python_runs
        )
        agree = d_count == p_count == len(f_out)
        failed |= not agree
        mark = "" if agree else f" (MISMATCH: python {p_count}, filter_events {len(f_out)})"
        print(
            f"| {label} | {d_count:,}{mark} | {d_time:.3f} | {f_time:.3f} | {p_time:.3f} | "
            f"{p_time / d_time:.1f} |"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
