"""An alarm storm through ``incident serve``, against the cold CLI measured in the same run.

N distinct alarm state changes (the demo incident's alarm, each a minute later: the same
telemetry, another incident) go to an SQS queue on a local moto server; ``incident serve
--workers W`` (warm kernels) turns them into reports in a folder, offline on the demo store.
Baseline: ``incident investigate`` of the same event as a fresh process (what someone typing
the command, or a naive worker that shells out per alarm, pays), run ``--cold-runs`` times.

Printed: per worker count, reports per minute (wall clock from the command's start to the
last report stored, start-up included; and steady, between the first and the last report),
median seconds per report inside the worker (``investigate()`` with a warm kernel, from the
done markers) against the cold CLI's median, and the report's size.

    .venv/bin/python -m benchmarks.bench_serve                   # 6 alarms, 1 and 2 workers
    .venv/bin/python -m benchmarks.bench_serve --alarms 100 --workers 1 2 4 --cold-runs 5
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd

INCIDENT = str(Path(sys.executable).with_name("incident"))


def events(store, n: int) -> list[dict]:
    from incident_lib.demo import alarm_event

    base = alarm_event(store, "eventbridge")
    out = []
    for k in range(n):
        event = copy.deepcopy(base)
        state = event["detail"]["state"]
        when = pd.Timestamp(state["timestamp"]) + timedelta(seconds=60 * k)
        state["timestamp"] = when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
        out.append(event)
    return out


def cold(store, event: dict, work: Path, runs: int) -> tuple[list[float], int]:
    path = work / "event.json"
    path.write_text(json.dumps(event))
    seconds, size = [], 0
    for i in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [INCIDENT, "investigate", str(path), "--source", str(store.path), "--quiet",
             "--out", str(work / f"cold-{i}")],
            capture_output=True, text=True,
        )  # fmt: skip
        seconds.append(time.perf_counter() - t0)
        if proc.returncode not in (0, 3):
            raise SystemExit(f"incident investigate failed: {proc.stderr[-2000:]}")
        size = Path(proc.stdout.strip()).stat().st_size
    return seconds, size


def floors(work: Path) -> tuple[float, float]:
    """The papermill floor (an empty notebook plus the report export, as bench_report
    measures it) on a kernel started for it, and on a warm kernel of the pool."""
    import nbformat
    import papermill as pm

    from benchmarks.bench_report import _floor_notebook, floor_once
    from incident_lib.report import render_report
    from incident_lib.serve.kernels import KernelPool

    cold_floor = floor_once(work)
    src, out = work / "floor.ipynb", work / "floor-warm.ipynb"
    _floor_notebook(src)
    with KernelPool(size=1) as pool:
        pool._ready.put(pool._ready.get())  # wait until the kernel is warm
        t0 = time.perf_counter()
        with pool.kernel(cwd=work, env={}) as km:
            pm.execute_notebook(
                str(src), str(out), parameters={"source": "x"}, progress_bar=False, km=km
            )
        render_report(nbformat.read(out, as_version=4), work / "floor-warm.html")
        warm_floor = time.perf_counter() - t0
    return cold_floor, warm_floor


def storm(store, endpoint: str, evs: list[dict], workers: int, work: Path) -> dict:
    import boto3

    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
    dlq = sqs.create_queue(QueueName=f"dlq-{workers}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    url = sqs.create_queue(
        QueueName=f"storm-{workers}",
        Attributes={
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": arn["QueueArn"], "maxReceiveCount": "3"}
            )
        },
    )["QueueUrl"]
    for i in range(0, len(evs), 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(j), "MessageBody": json.dumps(e)} for j, e in enumerate(evs[i : i + 10])
            ],
        )
    out = work / f"serve-{workers}"
    idle = 5
    t0 = time.time()
    proc = subprocess.run(
        [INCIDENT, "serve", "--queue-url", url, "--endpoint-url", endpoint,
         "--workers", str(workers), "--out", str(out), "--source", str(store.path),
         "--max-idle-seconds", str(idle)],
        capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"incident serve failed: {proc.stderr[-3000:]}")
    done = [json.loads(p.read_text()) for p in out.glob(".*.done.json")]
    stored = sorted(pd.Timestamp(d["stored_at"]).timestamp() for d in done)
    per_report = [d["report_seconds"] for d in done]
    wall = stored[-1] - t0
    steady = (stored[-1] - stored[0]) / (len(stored) - 1) if len(stored) > 1 else float("nan")
    return {
        "workers": workers,
        "reports": len(done),
        "wall_s": wall,
        "per_min_wall": 60 * len(done) / wall,
        "per_min_steady": 60 / steady if steady == steady else float("nan"),
        "median_report_s": statistics.median(per_report),
        "median_execute_s": statistics.median(d["timings"]["execute"] for d in done),
        "timings": {
            key: statistics.median(d["timings"].get(key, 0.0) for d in done)
            for key in done[0]["timings"]
        },
        "outcomes": json.loads(proc.stdout.strip().splitlines()[-1])["outcomes"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--alarms", type=int, default=6)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cold-runs", type=int, default=2)
    args = ap.parse_args()

    from moto.server import ThreadedMotoServer

    from incident_lib.demo import demo_store

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
    }.items():  # fmt: skip
        os.environ[key] = value
    os.environ.pop("AWS_PROFILE", None)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    print(
        f"# {platform.python_version()} on {os.cpu_count()} cores, load "
        f"{os.getloadavg()[0]:.1f}; {args.alarms} alarms; workers {args.workers}",
        flush=True,
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            store = demo_store(root=work / "stores")
            evs = events(store, args.alarms)
            cold_s, size = cold(store, evs[0], work, args.cold_runs)
            cold_median = statistics.median(cold_s)
            print(
                f"cold `incident investigate`: median {cold_median:.1f}s per report "
                f"({', '.join(f'{s:.1f}' for s in cold_s)}); report {size / 1e6:.2f} MB",
                flush=True,
            )
            cold_floor, warm_floor = floors(work)
            print(
                f"papermill floor (empty notebook + report): {cold_floor:.1f}s on a new kernel, "
                f"{warm_floor:.1f}s on a warm one",
                flush=True,
            )
            print(
                "| workers | reports | wall s | reports/min (wall) | reports/min (steady) "
                "| median s/report (warm) | warm/cold | median execute s |"
            )
            print("|---:|---:|---:|---:|---:|---:|---:|---:|")
            parts = []
            for w in args.workers:
                r = storm(store, endpoint, evs, w, work)
                print(
                    f"| {w} | {r['reports']} | {r['wall_s']:.0f} | {r['per_min_wall']:.1f} "
                    f"| {r['per_min_steady']:.1f} | {r['median_report_s']:.1f} "
                    f"| {r['median_report_s'] / cold_median:.2f} | {r['median_execute_s']:.1f} |",
                    flush=True,
                )
                parts.append((w, r["timings"]))
            print(f"cold CLI, one at a time: {60 / cold_median:.1f} reports/min")
            for w, timings in parts:
                print(
                    f"median seconds per step, {w} worker(s): "
                    + ", ".join(f"{k} {v:.2f}" for k, v in timings.items())
                )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
