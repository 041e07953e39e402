"""The worker: one queue message in, one stored report and its notifications out.

:class:`Worker.handle` is what both the SQS poller (:func:`poll`, ``incident serve``) and the
Lambda handler (:mod:`incident_lib.serve.lambda_handler`) call for a message body. Its outcome
tells the caller what to do with the message:

========== =============================================== ==============================
outcome    what happened                                   the message
========== =============================================== ==============================
done       report stored, notifications posted             deleted
duplicate  another delivery of the same state change made  deleted
           the report already
busy       another worker is still investigating this      comes back later (then
           incident after ``busy_wait`` seconds            ``duplicate``)
bad        not an alarm event (garbage, a subscription     left to the queue's redrive
           confirmation, an oversized payload)             policy: to its DLQ
failed     the investigation could not run (an error of    left: retried, then to the DLQ
           ours or of the machine)
========== =============================================== ==============================

A report whose sections failed (AWS denied a call, the deadline passed) is still a report:
``done``, and the notification says it is partial.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from incident_lib.errors import BadInputError
from incident_lib.redact import mask_secrets
from incident_lib.serve.notify import Webhook, post_all
from incident_lib.serve.sink import Sink
from incident_lib.timeutil import format_iso, utc_now

log = logging.getLogger(__name__)

__all__ = ["Outcome", "Worker", "poll", "warm_up"]

OutcomeKind = Literal["done", "duplicate", "busy", "bad", "failed"]
#: What a message becomes, for the caller (see the module doc).
DELETE = frozenset({"done", "duplicate"})


@dataclass
class Outcome:
    kind: OutcomeKind
    incident_id: str = ""
    detail: str = ""
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Worker:
    """Investigates alarm events with warm kernels and keeps each report once."""

    sink: Sink
    source: str = "aws"
    webhooks: list[Webhook] = field(default_factory=list)
    kernels: Any = None
    config: Path | None = None
    investigate_options: dict[str, Any] = field(default_factory=dict)
    notify_retries: int = 5
    notify_backoff: float = 0.5
    #: A duplicate that arrives while another worker investigates its incident waits this
    #: long for that report (then it is a duplicate, deleted) before it goes back to the
    #: queue: each return costs a receive, and enough of them would send it to the DLQ.
    busy_wait: float = 120.0
    busy_poll: float = 1.0

    def handle(self, body: str | bytes) -> Outcome:
        from incident_lib.alarm import parse_alarm

        started = time.perf_counter()
        try:
            alarm = parse_alarm(body, source="<sqs message>")
        except BadInputError as exc:  # not an alarm event: the DLQ keeps it for a person
            return Outcome("bad", detail=mask_secrets(str(exc))[:500])
        try:
            waited_until = time.monotonic() + self.busy_wait
            while True:
                with self.sink.claim(alarm.incident_id) as claim:
                    if claim.state == "done":
                        return Outcome("duplicate", alarm.incident_id, detail=claim.link)
                    if claim.state == "claimed":
                        try:
                            outcome = self._investigate(alarm, claim)
                        except BaseException:
                            self.sink.release(claim)  # the next delivery investigates again
                            raise
                        break
                if time.monotonic() >= waited_until:
                    return Outcome("busy", alarm.incident_id)
                time.sleep(self.busy_poll)
        except BadInputError as exc:  # the alarm is fine but this deployment cannot run it
            return Outcome("failed", alarm.incident_id, detail=mask_secrets(str(exc))[:500])
        except Exception as exc:
            log.exception("incident %s: investigation failed", alarm.incident_id)
            detail = mask_secrets(f"{type(exc).__name__}: {exc}")[:500]
            return Outcome("failed", alarm.incident_id, detail=detail)
        outcome.seconds = time.perf_counter() - started
        return outcome

    def _investigate(self, alarm: Any, claim: Any) -> Outcome:
        from incident_lib.run import investigate

        result = investigate(
            alarm,
            source=self.source,
            out=self.sink.staging(),
            config=self.config,
            kernels=self.kernels,
            progress=lambda m: log.info("%s: %s", alarm.incident_id, mask_secrets(m)),
            **self.investigate_options,
        )
        link = self.sink.store(result.directory)
        info = {
            "incident_id": alarm.incident_id,
            "alarm": alarm.name,
            "new_state": alarm.new_state,
            "state_change_time": format_iso(alarm.state_change_time),
            "alert_type": result.alert_type,
            "summary": result.findings.summary,
            "partial": result.partial,
            "findings": [f.title for f in result.findings.findings][:10],
            "link": link,
            "report_seconds": round(result.seconds, 3),
            "timings": {k: round(v, 3) for k, v in result.timings.items()},
            "stored_at": format_iso(utc_now()),
        }
        info["notifications"] = post_all(
            self.webhooks, info, retries=self.notify_retries, backoff=self.notify_backoff
        )
        self.sink.mark_done(claim, info)
        return Outcome("done", alarm.incident_id, detail=link, info=info)


def warm_up(worker: Worker) -> None:
    """What the first report would pay in this process, paid before the first message: the
    report exporter's templates, the pack's libraries, kaleido's browser for the RCA figures."""
    import warnings

    t0 = time.perf_counter()
    import duckdb  # noqa: F401
    import papermill  # noqa: F401
    import pyarrow  # noqa: F401

    from incident_lib.evidence import investigation  # noqa: F401
    from incident_lib.report import _exporter, page_scripts, templates_dir

    _exporter(str(templates_dir()))
    page_scripts()
    try:
        import os

        from incident_lib.evidence.rca import _chromium

        browser = _chromium()
        if browser:
            import kaleido

            os.environ.setdefault("BROWSER_PATH", browser)
            # rca.py passes its options per call; the server was started with the same.
            warnings.filterwarnings("ignore", "The kopts argument is ignored")
            kaleido.start_sync_server(mathjax=False, silence_warnings=True)
    except Exception as exc:  # figures are then drawn as before, a browser per report
        log.warning("kaleido server not started: %s", exc)
    log.info("worker warmed up in %.1fs", time.perf_counter() - t0)


# -- SQS ---------------------------------------------------------------------------------
@dataclass
class PollStats:
    received: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    report_seconds: list[float] = field(default_factory=list)

    def count(self, outcome: Outcome) -> None:
        self.outcomes[outcome.kind] = self.outcomes.get(outcome.kind, 0) + 1
        if outcome.kind == "done":
            self.report_seconds.append(outcome.seconds)


def poll(
    worker: Worker,
    queue_url: str,
    *,
    sqs: Any,
    max_idle_seconds: float | None = None,
    wait_seconds: int = 20,
    visibility_timeout: int = 120,
    busy_delay: int = 30,
    max_receives: int = 5,
    stop: threading.Event | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> PollStats:
    """Long-poll ``queue_url`` one message at a time until ``stop`` or ``max_idle_seconds``
    without a message. The message stays invisible while its report runs (extended every
    ``visibility_timeout / 3``), is deleted once the report is stored, and is otherwise left
    to the queue: ``busy`` comes back after ``busy_delay``; ``bad`` and ``failed`` come back at
    once and reach the DLQ after the redrive policy's maxReceiveCount. A queue without a
    redrive policy would retry them for ever: there, past ``max_receives`` the body is logged
    and the message deleted."""
    stop = stop or threading.Event()
    stats = PollStats()
    redrive = _has_redrive(sqs, queue_url)
    if not redrive:
        log.warning(
            "queue %s has no redrive policy: bad messages are logged and deleted after %d "
            "receives (give it a dead-letter queue to keep them)",
            queue_url,
            max_receives,
        )
    idle_since = time.monotonic()
    while not stop.is_set():
        if max_idle_seconds is not None:
            left = max_idle_seconds - (time.monotonic() - idle_since)
            if left <= 0:
                log.info("no message for %.0fs: stopping", max_idle_seconds)
                break
            wait = max(0, min(wait_seconds, int(left + 0.999)))
        else:
            wait = wait_seconds
        try:
            response = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=1,
                WaitTimeSeconds=wait,
                VisibilityTimeout=visibility_timeout,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
        except Exception as exc:  # SQS unreachable or erring (after botocore's retries)
            log.warning("receiving from %s failed: %s; trying again in 5s", queue_url, exc)
            stop.wait(5)
            continue
        messages = response.get("Messages") or []
        if not messages:
            continue
        for message in messages:
            stats.received += 1
            outcome = _one(worker, sqs, queue_url, message, visibility_timeout)
            stats.count(outcome)
            try:
                _settle(sqs, queue_url, message, outcome, redrive, busy_delay, max_receives)
            except Exception as exc:  # it comes back: then a duplicate (its report is kept)
                log.warning("message %s not settled: %s", message.get("MessageId"), exc)
            if on_outcome:
                on_outcome(outcome)
        idle_since = time.monotonic()
    return stats


def _one(worker: Worker, sqs: Any, queue_url: str, message: dict, visibility: int) -> Outcome:
    receipt = message["ReceiptHandle"]
    done = threading.Event()

    def heartbeat() -> None:  # keep the message ours while the report runs
        while not done.wait(max(1.0, visibility / 3)):
            try:
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=visibility
                )
            except Exception as exc:
                log.warning("could not extend the message's visibility: %s", exc)

    beat = threading.Thread(target=heartbeat, daemon=True, name="visibility")
    beat.start()
    try:
        outcome = worker.handle(message.get("Body") or "")
    finally:
        done.set()
        beat.join(5)
    log.info(
        "message %s: %s %s %s%s",
        message.get("MessageId"),
        outcome.kind,
        outcome.incident_id,
        outcome.detail[:200],
        f" ({outcome.seconds:.1f}s)" if outcome.kind == "done" else "",
    )
    return outcome


def _settle(
    sqs: Any,
    queue_url: str,
    message: dict,
    outcome: Outcome,
    redrive: bool,
    busy_delay: int,
    max_receives: int,
) -> None:
    receipt = message["ReceiptHandle"]
    receives = int((message.get("Attributes") or {}).get("ApproximateReceiveCount", "1"))
    if outcome.kind in DELETE:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)
        return
    if outcome.kind in ("bad", "failed") and not redrive and receives >= max_receives:
        log.error(
            "message %s dropped after %d receives (%s: %s); body: %s",
            message.get("MessageId"),
            receives,
            outcome.kind,
            outcome.detail,
            mask_secrets(str(message.get("Body", "")))[:2000],
        )
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)
        return
    delay = busy_delay if outcome.kind == "busy" else 0
    try:
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=delay
        )
    except Exception as exc:  # it comes back when its visibility timeout ends anyway
        log.warning("could not release message %s: %s", message.get("MessageId"), exc)


def _has_redrive(sqs: Any, queue_url: str) -> bool:
    try:
        attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
    except Exception as exc:
        log.warning("cannot read the queue's redrive policy: %s", exc)
        return True  # assume the deployment's (deploy/template.yaml has one)
    policy = (attrs.get("Attributes") or {}).get("RedrivePolicy")
    try:
        return bool(policy and json.loads(policy).get("deadLetterTargetArn"))
    except ValueError:
        return False
