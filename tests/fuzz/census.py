"""Count fuzz cases and how they ended, per command: ``python -m tests.fuzz.census``.

Uses the same mutators as the tests with plain seeds (``random.Random(i)``), the kernel stood
in for as in the tests. Prints one line per command: cases, tracebacks, timeouts, bad exits,
the slowest case; ``--show`` prints each failing case. Figures for issue notes, not a test.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path

from tests.fuzz import mutate
from tests.fuzz.harness import Outcome, prepare_only, run_cli


def _stand_in_kernel() -> None:
    import papermill as pm

    pm.execute_notebook = prepare_only(pm.execute_notebook)


def _small_store(root: Path) -> Path:
    from incident_lib.alarm import parse_alarm
    from incident_lib.scenarios.from_alarm import build_store_for_alarm
    from incident_lib.store import StoreWriter, open_store

    path = root / "store"
    store = build_store_for_alarm(
        parse_alarm(mutate.FIXTURES / "alarms" / "eventbridge_lambda_errors.json"), path
    )
    with StoreWriter(path, base=open_store(path)) as writer:
        writer.add_log_events(
            [
                {
                    "timestamp": store.time_range[0],
                    "message": json.dumps({"level": "ERROR"}),
                    "log_stream": "s",
                },
                {
                    "timestamp": store.time_range[1],
                    "message": "START RequestId: x",
                    "log_stream": "s",
                },
            ],
            log_group="/aws/lambda/checkout-api",
        )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alarm", type=int, default=600)
    parser.add_argument("--query", type=int, default=300)
    parser.add_argument("--store", type=int, default=34, help="corrupted stores (x 3 commands)")
    parser.add_argument("--options", type=int, default=60)
    parser.add_argument("--import-logs", type=int, default=60)
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args(argv)
    _stand_in_kernel()
    from tests.fuzz.test_fuzz_cli import investigate_argv, query_argv
    from tests.fuzz.test_fuzz_store import argv_for

    results: dict[str, list[Outcome]] = collections.defaultdict(list)
    root = Path(tempfile.mkdtemp(prefix="fuzz-census-"))
    try:
        store = _small_store(root)
        outside = root / "outside.parquet"
        shutil.copy(store / "logs.parquet", outside)
        for i in range(args.alarm):
            r = random.Random(i)
            results["alarm"].append(
                run_cli(["alarm", "-"], stdin=mutate.alarm_payload(r), timeout=20)
            )
        queries = mutate.query_fixtures()
        for i in range(args.query):
            r = random.Random(i)
            results["query"].append(
                run_cli(
                    ["query", mutate.mutate_query(queries, r), "--store", str(store)], timeout=20
                )
            )
        for i in range(args.store):
            for command in ("info", "query", "investigate"):
                r = random.Random(i)
                copy = root / f"s{i}-{command}"
                shutil.copytree(store, copy, symlinks=True)
                mutate.corrupt_store(copy, r, outside)
                results[f"store x {command}"].append(
                    run_cli(argv_for(command, copy, root), timeout=60)
                )
                shutil.rmtree(copy, ignore_errors=True)
        for i in range(args.options):
            r = random.Random(i)
            results["investigate options"].append(
                run_cli(investigate_argv(r, root, store), timeout=60)
            )
            results["query options"].append(
                run_cli(query_argv(random.Random(i), root, store), timeout=60)
            )
        for i in range(args.import_logs):
            r = random.Random(i)
            results["store import-logs"].append(
                run_cli(
                    ["store", "import-logs", str(root / f"imp{i}"), "--log-group", "/g", "-"],
                    stdin=mutate.log_lines(r),
                    timeout=60,
                )
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{'command':24} {'cases':>6} {'traceback':>9} {'timeout':>7} {'bad exit':>8}  slowest")
    for name, outcomes in results.items():
        tracebacks = sum(o.traceback is not None or "Traceback (most" in o.err for o in outcomes)
        timeouts = sum(o.timed_out for o in outcomes)
        bad = sum(
            o.code not in (0, 2, 3) and not o.timed_out and o.traceback is None for o in outcomes
        )
        slow = max(outcomes, key=lambda o: o.seconds)
        print(
            f"{name:24} {len(outcomes):6} {tracebacks:9} {timeouts:7} {bad:8}  {slow.seconds:.2f}s"
        )
        if args.show:
            for o in outcomes:
                if not o.clean:
                    last = (o.traceback or o.err).strip().splitlines()[-1:] or ["?"]
                    print(f"    {'timeout' if o.timed_out else o.code}: {last[0][:160]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
