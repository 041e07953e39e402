"""``incident serve``: at alarm time, every alarm event on an SQS queue becomes a report.

- :mod:`.worker`: one message in, one stored report and its notifications out; the SQS
  long-poll loop (visibility extended while a report runs, deleted once stored, bad messages
  left to the redrive policy);
- :mod:`.kernels`: warm kernels (started, heavy imports done) handed to papermill;
- :mod:`.sink`: a local folder or S3, and the claim that makes one report per alarm state
  change (a lock per incident; S3's conditional write ``If-None-Match: *``);
- :mod:`.notify`: Slack-compatible and JSON webhooks, retried;
- :mod:`.lambda_handler`: the same worker as a Lambda function (SQS batches, partial batch
  failures).

See docs/serve.md.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import signal
import threading
from pathlib import Path
from typing import Any

from incident_lib.serve.notify import Webhook
from incident_lib.serve.sink import open_sink
from incident_lib.serve.worker import Worker, poll, warm_up

log = logging.getLogger(__name__)

__all__ = ["build_worker", "run_workers"]


def build_worker(
    *,
    out: str | Path | None,
    source: str = "aws",
    webhooks: list[str] | None = None,
    slack_webhooks: list[str] | None = None,
    config: Path | None = None,
    endpoint_url: str | None = None,
    link_base: str | None = None,
    deadline: str = "90s",
    warm_kernels: int = 1,
    warm: bool = True,
    notify_backoff: float = 0.5,
    busy_wait: float = 120.0,
) -> Worker:
    """A :class:`Worker` from the command's options (or the Lambda's environment)."""
    from incident_lib.run import check_options
    from incident_lib.store import open_store

    check_options(deadline=deadline)
    if source != "aws":
        open_store(source)  # a wrong store is bad input now, not at the first message
        source = str(Path(source).resolve())
    sink_options: dict[str, Any] = {"endpoint_url": endpoint_url, "link_base": link_base}
    text = str(out or "")
    sink = open_sink(out, **sink_options) if text.startswith("s3://") else open_sink(out)
    hooks = [Webhook.parse(u, "json") for u in webhooks or []]
    hooks += [Webhook.parse(u, "slack") for u in slack_webhooks or []]
    kernels = None
    if warm_kernels > 0:
        from incident_lib.serve.kernels import KernelPool

        kernels = KernelPool(size=warm_kernels)
    worker = Worker(
        sink=sink,
        source=source,
        webhooks=hooks,
        kernels=kernels,
        config=config,
        investigate_options={"deadline": deadline},
        notify_backoff=notify_backoff,
        busy_wait=busy_wait,
    )
    if warm:
        warm_up(worker)
    return worker


def sqs_client(queue_url: str, endpoint_url: str | None = None) -> Any:
    """An SQS client in the queue's region (from its URL when it is AWS's)."""
    import os
    import re

    import boto3
    from botocore.config import Config

    match = re.match(r"https://sqs\.([a-z0-9-]+)\.amazonaws\.com", queue_url)
    return boto3.client(
        "sqs",
        region_name=match.group(1) if match else None,
        endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None,
        config=Config(retries={"mode": "standard", "max_attempts": 5}, read_timeout=30),
    )


def _worker_main(options: dict[str, Any], poll_options: dict[str, Any], results: Any) -> None:
    """One worker process: its own SQS client, warm kernel and loop."""
    import logging as _logging

    _logging.basicConfig(
        level=options.pop("log_level", _logging.WARNING),
        format="%(asctime)s %(processName)s %(levelname)s %(name)s: %(message)s",
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    queue_url = poll_options.pop("queue_url")
    endpoint_url = options.get("endpoint_url")
    worker = build_worker(**options)
    try:
        stats = poll(
            worker,
            queue_url,
            sqs=sqs_client(queue_url, endpoint_url),
            stop=stop,
            **poll_options,
        )
    finally:
        if worker.kernels is not None:
            worker.kernels.close()
    results.put(
        {
            "received": stats.received,
            "outcomes": stats.outcomes,
            "report_seconds": stats.report_seconds,
        }
    )


def run_workers(
    n: int, options: dict[str, Any], poll_options: dict[str, Any]
) -> list[dict[str, Any]]:
    """``n`` worker processes on the queue until each is idle for ``max_idle_seconds`` (or
    SIGTERM/SIGINT); their counts. Processes, not threads: rendering the report and writing
    the pack are Python work that one interpreter's lock would serialise."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker_main,
            args=(dict(options), dict(poll_options), results),
            name=f"worker-{i + 1}",
        )
        for i in range(n)
    ]
    for proc in procs:
        proc.start()

    def forward(signum: int, _frame: Any) -> None:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: each finishes the report in hand, then stops

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        # Read while they run: a process that put its counts exits only once they are read.
        out: list[dict[str, Any]] = []
        while len(out) < n and any(proc.is_alive() for proc in procs):
            with contextlib.suppress(queue.Empty):
                out.append(results.get(timeout=1))
        while len(out) < n:
            try:
                out.append(results.get(timeout=1))
            except queue.Empty:
                break  # a worker died before it could count: the caller says so
        for proc in procs:
            proc.join()
        return out
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
