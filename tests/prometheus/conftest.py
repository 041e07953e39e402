"""A real Prometheus (Debian's ``prometheus`` package) on 127.0.0.1, backfilled with
``promtool tsdb create-blocks-from openmetrics`` from a generated series; the same series in a
store. Skipped when ``prometheus``/``promtool`` are missing, except in CI (``CI=true``)."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pandas as pd
import pytest

from incident_lib.store.writer import StoreWriter


def _binaries() -> tuple[str, str]:
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus/promtool missing in CI: .ci/run installs Debian's prometheus")
        pytest.skip("Debian's prometheus package is not installed (apt-get install prometheus)")
    return prometheus, promtool


def generate(end: pd.Timestamp) -> pd.DataFrame:
    """One hour of samples before ``end``, every 15 s at second 7 of each quarter minute (no
    sample on a step or range boundary): counters by job/type/instance (one with a reset),
    latency histogram buckets, a gauge."""
    start = end - pd.Timedelta(hours=1)
    stamps = pd.date_range(start + pd.Timedelta(seconds=7), end, freq="15s", tz="UTC")
    rows = []
    for k, ts in enumerate(stamps):
        minute = k / 4
        for instance in ("a", "b"):
            for j, kind in enumerate(("timeout", "db_pool", "other")):
                base = (j + 1) * (2 if instance == "a" else 1)
                burst = 6 * max(0.0, minute - 35) if kind == "timeout" else 0.0
                value = base * k + burst * k / 10 + (k % 3)
                if instance == "b" and kind == "db_pool" and k >= 120:
                    value -= base * 120  # a counter reset (restart at k = 120)
                labels = {"job": "checkout", "type": kind, "instance": instance}
                rows.append(("http_errors_total", labels, ts, float(value)))
            cumulative = 0.0
            for i, le in enumerate(("0.1", "0.25", "0.5", "1", "+Inf")):
                cumulative += (5 - i) * k * (1 + (0.5 if minute > 40 and i >= 2 else 0))
                labels = {"job": "checkout", "le": le, "instance": instance}
                rows.append(("http_request_duration_seconds_bucket", labels, ts, cumulative + i))
            load = 1.5 + math.sin(k / 9) + (0.7 if instance == "b" else 0.0)
            rows.append(("node_load1", {"instance": instance, "job": "node"}, ts, round(load, 6)))
    return pd.DataFrame(rows, columns=["metric_name", "labels", "timestamp", "value"])


def openmetrics(frame: pd.DataFrame) -> str:
    lines = []
    for name, part in frame.groupby("metric_name", sort=True):
        lines.append(f"# TYPE {name} gauge")
        keyed = part.assign(key=[str(sorted(d.items())) for d in part["labels"]])
        for _, series in keyed.groupby("key", sort=True):
            for labels, ts, value in zip(
                series["labels"], series["timestamp"], series["value"], strict=True
            ):
                text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
                lines.append(f"{name}{{{text}}} {value!r} {ts.timestamp():.3f}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_prometheus(frame: pd.DataFrame, root) -> Iterator[str]:
    """A Prometheus on 127.0.0.1 backfilled with ``frame`` (``metric_name``, ``labels`` as
    dicts, ``timestamp``, ``value``); yields its URL and stops it afterwards."""
    prometheus, promtool = _binaries()
    source = root / "series.om"
    source.write_text(openmetrics(frame), encoding="utf-8")
    data = root / "data"
    made = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr[-2000:]
    config = root / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n", encoding="utf-8")
    port = _free_port()
    log = (root / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=3650d",
            f"--web.listen-address=127.0.0.1:{port}",
            "--query.lookback-delta=5m",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(
                    "prometheus did not start: "
                    + (root / "prometheus.log").read_text(errors="replace")[-2000:]
                )
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def prometheus_env(tmp_path_factory):
    """``(url, store, frame, end)``: a running Prometheus and a store holding the same data."""
    _binaries()
    root = tmp_path_factory.mktemp("prometheus")
    # Backfilled blocks must lie before the head block's window: end the data 4 hours ago.
    end = pd.Timestamp.now(tz="UTC").floor("h") - pd.Timedelta(hours=4)
    frame = generate(end)
    with running_prometheus(frame, root) as url:
        with StoreWriter(root / "store") as writer:
            writer.add_prometheus_samples(frame)
        from incident_lib.store import open_store

        yield url, open_store(root / "store"), frame, end
