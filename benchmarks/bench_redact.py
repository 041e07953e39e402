"""Masking secrets on 1 MB log lines: linear time, well under a second a line.

Each line is shaped against one pattern (long runs that a backtracking pattern would retry,
openings without an end), plus realistic lines (a JSON record with a big payload, a stack
trace, a base64 blob). The baseline, measured in the same run, is ``str.lower()`` over the same
line, the least any pass over the text costs; and each line is also masked at a tenth of its
size, so the ratio 1 MB / 100 KB says whether time grows linearly (about 10) or worse (100).

    .venv/bin/python -m benchmarks.bench_redact
"""

from __future__ import annotations

import json
import time

from incident_lib.redact import mask_secrets

MB = 1_000_000


def lines(size: int) -> dict[str, str]:
    def rep(unit: str) -> str:
        return unit * (size // len(unit))

    payload = {"level": "ERROR", "message": "upstream failed", "body": rep("x9Y/"), "n": 1}
    trace = rep('  File "/var/task/app/handler.py", line 42, in handle\n    raise KeyError(k)\n')
    return {
        "letters": rep("a"),
        "base64_blob": rep("Ab1/"),
        "json_record": json.dumps(payload)[:size],
        "stack_trace": trace,
        "key_value_run": rep("password="),
        "open_quotes": rep('password="'),
        "json_secret_keys": rep('"password": "'),
        "schemes": rep("a://"),
        "user_colon": rep("http://u:"),
        "pem_without_end": "-----BEGIN RSA PRIVATE KEY-----" + rep("A"),
        "jwt_parts": rep("eyJaaaaa."),
        "html_quotes": rep("&quot;"),
        "backslashes": rep("\\"),
        "cookie_headers": rep("cookie:"),
        "secret_words": rep("secret aws_ "),
    }


def _time(text: str, fn) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    big, small = lines(MB), lines(MB // 10)
    print(f"{'line (1 MB)':20s} {'mask s':>8s} {'lower s':>8s} {'x lower':>8s} {'1MB/100KB':>10s}")
    worst = 0.0
    for name, text in big.items():
        masked = _time(text, mask_secrets)
        base = _time(text, str.lower)
        growth = masked / max(_time(small[name], mask_secrets), 1e-9)
        worst = max(worst, masked)
        print(f"{name:20s} {masked:8.3f} {base:8.4f} {masked / base:8.0f} {growth:10.1f}")
    print(f"slowest 1 MB line: {worst:.3f} s")
    short_lines()


def short_lines() -> None:
    """The common case: many ordinary log lines (the project's 12-system corpus, 24,000 lines),
    as the evidence pack masks an incident's raw window. Baseline: ``str.lower`` over them."""
    from benchmarks.logcorpus import corpus

    texts = [line for lines_ in corpus().values() for line, _template in lines_]

    def each(fn):
        return lambda _: [fn(t) for t in texts]

    masked = _time("", each(mask_secrets))
    base = _time("", each(str.lower))
    print(
        f"{len(texts):,} short log lines: mask {masked:.3f} s, lower {base:.4f} s, "
        f"x lower {masked / base:.0f} ({len(texts) / masked:,.0f} lines a second)"
    )


if __name__ == "__main__":
    main()
