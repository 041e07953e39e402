"""``incident serve --queue-url URL``: turn every alarm event on an SQS queue into a report."""

from __future__ import annotations

import argparse
import json
import logging
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="consume alarm events from an SQS queue: one report per alarm state change, "
        "stored in a folder or S3, then a webhook",
        description="Long-polls an SQS queue for alarm events (SNS-wrapped, EventBridge, raw), "
        "investigates each with a warm kernel, stores the report (a folder or "
        "s3://bucket/prefix), posts the webhooks, then deletes the message. Duplicates make "
        "one report; bad messages are left to the queue's redrive policy. See docs/serve.md.",
    )
    p.add_argument("--queue-url", required=True, help="the SQS queue's URL")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument(
        "--out", default=None, help="a reports folder (default reports/) or s3://bucket/prefix"
    )
    p.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="URL",
        help="POST the report's facts as JSON here (repeatable)",
    )
    p.add_argument(
        "--slack-webhook",
        action="append",
        default=[],
        metavar="URL",
        help='POST {"text": summary + link} here: a Slack-compatible incoming webhook',
    )
    p.add_argument("--source", default="aws", help="'aws' (default) or a telemetry store")
    p.add_argument("--config", help="catalogue overrides (TOML)")
    p.add_argument(
        "--max-idle-seconds",
        type=float,
        default=None,
        metavar="S",
        help="stop after S seconds without a message (default: run until SIGTERM)",
    )
    p.add_argument("--deadline", default="90s", help="per report, for AWS calls (default 90s)")
    p.add_argument(
        "--visibility-timeout",
        type=int,
        default=120,
        help="seconds a message stays hidden, extended while its report runs (default 120)",
    )
    p.add_argument(
        "--retry-busy-after",
        type=int,
        default=30,
        metavar="S",
        help="a duplicate whose incident another worker is investigating comes back after S "
        "seconds (default 30), by then a duplicate of a stored report",
    )
    p.add_argument("--link-base", help="report links under this URL instead of presigned URLs")
    p.add_argument("--endpoint-url", help="SQS and S3 endpoint (a local moto, LocalStack)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from incident_lib.errors import BadInputError
    from incident_lib.serve import build_worker, run_workers

    if not 1 <= args.workers <= 64:
        raise BadInputError("--workers must be between 1 and 64")
    if args.max_idle_seconds is not None and args.max_idle_seconds < 0:
        raise BadInputError("--max-idle-seconds must be 0 or more")
    if not 0 <= args.retry_busy_after <= 43200:
        raise BadInputError("--retry-busy-after must be between 0 and 43200 seconds")
    if not 10 <= args.visibility_timeout <= 43200:
        raise BadInputError("--visibility-timeout must be between 10 and 43200 seconds")
    options = {
        "out": args.out,
        "source": args.source,
        "webhooks": args.webhook,
        "slack_webhooks": args.slack_webhook,
        "config": Path(args.config) if args.config else None,
        "endpoint_url": args.endpoint_url,
        "link_base": args.link_base,
        "deadline": args.deadline,
    }
    # Options checked here, before any process starts: bad input is exit 2, said once.
    build_worker(**options, warm_kernels=0, warm=False)
    _check_queue(args.queue_url, args.endpoint_url)
    level = logging.getLogger("incident_lib").getEffectiveLevel()
    options["log_level"] = min(level, logging.INFO)
    results = run_workers(
        args.workers,
        options,
        {
            "queue_url": args.queue_url,
            "max_idle_seconds": args.max_idle_seconds,
            "visibility_timeout": args.visibility_timeout,
            "busy_delay": args.retry_busy_after,
        },
    )
    total: dict[str, int] = {}
    for r in results:
        for k, v in r["outcomes"].items():
            total[k] = total.get(k, 0) + v
    print(json.dumps({"workers": len(results), "outcomes": total}), file=sys.stdout)
    return 0 if len(results) == args.workers else 1


def _check_queue(queue_url: str, endpoint_url: str | None) -> None:
    """The queue answers (GetQueueAttributes), or a clear error: a wrong URL is bad input
    (exit 2), no credentials or no endpoint exit 1; never a worker's traceback."""
    from botocore.exceptions import BotoCoreError, ClientError

    from incident_lib.errors import BadInputError, SourceError
    from incident_lib.redact import mask_secrets
    from incident_lib.serve import sqs_client

    if not queue_url.startswith(("https://", "http://")):
        raise BadInputError(f"--queue-url {queue_url[:200]!r}: not an SQS queue URL")
    try:
        sqs_client(queue_url, endpoint_url).get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["RedrivePolicy"]
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = mask_secrets(str(error.get("Message", "")))[:300]
        if "NonExistentQueue" in code or "QueueDoesNotExist" in code or "InvalidAddress" in code:
            raise BadInputError(f"--queue-url {queue_url}: no such queue ({code})") from None
        raise SourceError(
            f"--queue-url {queue_url}: {code}: {message}",
            operation="GetQueueAttributes",
            code=code,
        ) from None
    except BotoCoreError as exc:  # no credentials, no endpoint, no region
        raise SourceError(
            f"--queue-url {queue_url}: {mask_secrets(str(exc))[:300]}",
            operation="GetQueueAttributes",
        ) from None
