"""What the evidence pack costs an investigation: time and bytes, per scenario.

Each scenario is investigated three ways in the same run, interleaved so machine noise falls on
all of them alike: without a pack (the baseline), with the pack and the RCA draft but no PNGs,
and with everything (PNG figures drawn by kaleido with chromium, when it is there). Printed:
median seconds and the ratio to the baseline, the pack's size (and the raw window's share),
the whole incident folder's size, and the parts of the time the run itself measured.

    .venv/bin/python -m benchmarks.bench_pack [--runs 3]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ALARM_FOR_GENERIC = (
    Path(__file__).resolve().parents[1]
    / "tests"
    / "fixtures"
    / "alarms"
    / "sns_message_bare_extended_statistic_p99.json"
)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def scenarios(work: Path) -> dict[str, tuple[Any, Any]]:
    """``name: (alarm, store)`` for the demo incident and a generic alarm."""
    from incident_lib.alarm import parse_alarm
    from incident_lib.demo import alarm_event, demo_store
    from incident_lib.scenarios.from_alarm import build_store_for_alarm

    store = demo_store(root=work / "stores")
    out = {"lambda_errors": (parse_alarm(alarm_event(store)), store)}
    generic = parse_alarm(ALARM_FOR_GENERIC)
    out["generic (from-alarm)"] = (
        generic,
        build_store_for_alarm(generic, work / "stores" / "generic", seed=7),
    )
    return out


def run_once(alarm: Any, store: Any, work: Path, variant: str) -> dict[str, Any]:
    from incident_lib.evidence.investigation import EvidenceOptions
    from incident_lib.run import investigate

    options = {
        "no pack": EvidenceOptions(pack=False, rca=False, figures=False),
        "pack + rca": EvidenceOptions(figures=False),
        "pack + rca + png": EvidenceOptions(),
    }[variant]
    out = work / "reports" / variant.replace(" ", "")
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    result = investigate(alarm, source=store.path, out=out, evidence=options)
    seconds = time.perf_counter() - t0
    pack = result.directory / "pack"
    return {
        "seconds": seconds,
        "timings": dict(result.timings),
        "folder": _size(result.directory),
        "pack": _size(pack) if pack.is_dir() else 0,
        "raw": (pack / "logs.parquet").stat().st_size if pack.is_dir() else 0,
        "pngs": len(list(result.directory.glob("rca-*.png"))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    variants = ["no pack", "pack + rca", "pack + rca + png"]
    print(f"# bench_pack: {platform.python_version()}, {args.runs} runs, medians")
    with tempfile.TemporaryDirectory(prefix="bench-pack-") as tmp:
        work = Path(tmp)
        for name, (alarm, store) in scenarios(work).items():
            run_once(alarm, store, work, "pack + rca")  # warm caches (imports, templates)
            results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
            for _ in range(args.runs):
                for v in variants:
                    results[v].append(run_once(alarm, store, work, v))
            base = statistics.median(r["seconds"] for r in results["no pack"])
            print(f"\n## {name}\n")
            print("| variant | median s | ratio | pack KB | raw logs KB | folder KB | pngs |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            for v in variants:
                rs = results[v]
                med = statistics.median(r["seconds"] for r in rs)
                print(
                    f"| {v} | {med:.2f} | {med / base:.2f} | {rs[-1]['pack'] / 1024:.0f} | "
                    f"{rs[-1]['raw'] / 1024:.0f} | {rs[-1]['folder'] / 1024:.0f} | "
                    f"{rs[-1]['pngs']} |"
                )
            for v in variants[1:]:
                parts = {
                    k: statistics.median(r["timings"].get(k, 0.0) for r in results[v])
                    for k in ("execute", "pack", "report", "rca_manifest")
                }
                print(f"\n{v}: " + ", ".join(f"{k} {s:.2f} s" for k, s in parts.items() if s))


if __name__ == "__main__":
    main()
