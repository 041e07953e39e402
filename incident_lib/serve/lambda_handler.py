"""The worker as a Lambda function (container image, ``deploy/Dockerfile``).

``handler`` takes an SQS batch event and answers with the partial batch failures
(``batchItemFailures``, the event source mapping's ``ReportBatchItemFailures``): a message whose
report is stored, or whose state change already has one, is done; a bad or failed message is
listed, so SQS keeps it and its redrive policy sends it to the DLQ in the end. A ``busy``
message (another invocation is on the same incident) is listed too: it comes back, and is
then a duplicate.

Configuration from the environment (set by ``deploy/template.yaml``):

- ``INCIDENT_OUT``: ``s3://bucket/prefix`` (or a folder, for a test);
- ``INCIDENT_SOURCE``: ``aws`` (default) or a store path;
- ``INCIDENT_WEBHOOKS``, ``INCIDENT_SLACK_WEBHOOKS``: URLs, separated by spaces or commas;
- ``INCIDENT_LINK_BASE``: links under this URL instead of presigned ones;
- ``INCIDENT_DEADLINE``: the investigation's deadline for AWS calls (default 90s);
- ``INCIDENT_BUSY_WAIT``: seconds a duplicate waits for the report another invocation is making
  (default 30: a batch of 5 must fit in the function's timeout).

The worker and its warm kernel are made once per container (at init, outside the billed
handler time when Lambda pre-initialises) and kept across invocations.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from incident_lib.serve.worker import DELETE, Worker

log = logging.getLogger(__name__)

__all__ = ["handler", "worker_from_env"]

_WORKER: list[Worker] = []


def _urls(name: str) -> list[str]:
    return [u for u in os.environ.get(name, "").replace(",", " ").split() if u]


def worker_from_env(*, warm: bool = True) -> Worker:
    from incident_lib.serve import build_worker

    out = os.environ.get("INCIDENT_OUT")
    if not out:
        raise RuntimeError("INCIDENT_OUT is not set (s3://bucket/prefix)")
    return build_worker(
        out=out,
        source=os.environ.get("INCIDENT_SOURCE", "aws"),
        webhooks=_urls("INCIDENT_WEBHOOKS"),
        slack_webhooks=_urls("INCIDENT_SLACK_WEBHOOKS"),
        link_base=os.environ.get("INCIDENT_LINK_BASE") or None,
        deadline=os.environ.get("INCIDENT_DEADLINE", "90s"),
        warm_kernels=1 if warm else 0,
        busy_wait=float(os.environ.get("INCIDENT_BUSY_WAIT", "30")),
    )


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    if not _WORKER:
        _WORKER.append(worker_from_env())
    worker = _WORKER[0]
    failures = []
    for record in event.get("Records") or []:
        message_id = record.get("messageId", "")
        outcome = worker.handle(record.get("body") or "")
        log.info(
            "message %s: %s %s %s",
            message_id,
            outcome.kind,
            outcome.incident_id,
            outcome.detail[:200],
        )
        if outcome.kind not in DELETE:
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
