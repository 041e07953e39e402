"""Alarm to finished report on the demo incident, against the floor measured in the same run.

The floor is what any papermill-based report must pay: papermill running an (almost) empty
notebook on the same kernel, plus converting it with the same report template. The aim is the
demo investigation within 2x the floor. Also printed: report size and the AWS API calls an
investigation makes (from the findings' run stats, when the source is AWS).

    .venv/bin/python -m benchmarks.bench_report [--runs 3]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import nbformat


def _floor_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('source = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("pass")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def floor_once(work: Path) -> float:
    import papermill as pm

    from incident_lib.report import render_report

    src, out = work / "floor.ipynb", work / "floor-out.ipynb"
    _floor_notebook(src)
    t0 = time.perf_counter()
    pm.execute_notebook(str(src), str(out), parameters={"source": "x"}, progress_bar=False)
    render_report(nbformat.read(out, as_version=4), work / "floor.html")
    return time.perf_counter() - t0


def demo_once(store, work: Path):
    from incident_lib.alarm import parse_alarm
    from incident_lib.demo import alarm_event
    from incident_lib.run import investigate

    alarm = parse_alarm(alarm_event(store))
    t0 = time.perf_counter()
    result = investigate(alarm, source=store.path, out=work / "reports")
    return time.perf_counter() - t0, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from incident_lib.demo import demo_store

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        store = demo_store(root=work / "stores")
        build = time.perf_counter() - t0
        floor_once(work)  # warm-up: imports, kernel spec lookup, template compilation
        floors, demos, result = [], [], None
        for _ in range(args.runs):  # interleaved, so machine noise hits both alike
            floors.append(floor_once(work))
            seconds, result = demo_once(store, work)
            demos.append(seconds)
        floor, demo = statistics.median(floors), statistics.median(demos)
        size = result.report.stat().st_size
        print(
            f"machine: {platform.machine()}, {platform.python_version()}, "
            f"{len(__import__('os').sched_getaffinity(0))} cores"
        )
        print(f"demo store build:        {build:6.2f} s (once, not in the ratio)")
        print(
            f"floor (empty nb+report): {floor:6.2f} s  median of {args.runs}: "
            f"{', '.join(f'{x:.2f}' for x in floors)}"
        )
        print(
            f"demo investigation:      {demo:6.2f} s  median of {args.runs}: "
            f"{', '.join(f'{x:.2f}' for x in demos)}"
        )
        print(f"ratio demo/floor:        {demo / floor:6.2f}x  (aim <= 2x)")
        print(
            f"  of which execute {result.timings.get('execute', 0):.2f} s, "
            f"report {result.timings.get('report', 0):.2f} s"
        )
        print(f"report size:             {size / 1e6:6.2f} MB (aim < 6 MB)")
        calls = result.findings.stats.get("api_calls") or {}
        print(
            f"source: {result.findings.stats.get('source')}; AWS API calls: "
            f"{sum(calls.values()) if calls else 'n/a (local store)'}"
        )


if __name__ == "__main__":
    main()
