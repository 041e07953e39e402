"""Fixtures for ``incident serve``: the moto server (SQS, S3) of tests/aws, a webhook receiver
on 127.0.0.1, alarm events made from the demo scenario's, the demo store."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from tests.aws.conftest import moto, moto_clients, moto_endpoint  # noqa: F401


class Receiver:
    """Records every POST; ``fail_first`` answers the first N posts with 503."""

    def __init__(self, fail_first: int = 0) -> None:
        self.posts: list[tuple[str, dict]] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    if receiver.fail_first > 0:
                        receiver.fail_first -= 1
                        status = 503
                    else:
                        receiver.posts.append((self.path, json.loads(body)))
                        status = 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory):
    from incident_lib.demo import demo_store

    return demo_store(root=tmp_path_factory.mktemp("stores"))


def eventbridge_event(store, shift_seconds: int) -> dict:
    """The demo's EventBridge alarm event, its state change ``shift_seconds`` later: another
    alarm state change (another incident id), the same telemetry."""
    from incident_lib.demo import alarm_event

    event = copy.deepcopy(alarm_event(store, "eventbridge"))
    state = event["detail"]["state"]
    when = pd.Timestamp(state["timestamp"]) + timedelta(seconds=shift_seconds)
    state["timestamp"] = when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    return event


def sns_envelope(store, shift_seconds: int) -> dict:
    """The same state change as :func:`eventbridge_event`, as SNS delivers it to SQS."""
    from incident_lib.demo import alarm_event

    message = copy.deepcopy(alarm_event(store, "sns"))  # the alarm's SNS message itself
    when = pd.Timestamp(message["StateChangeTime"]) + timedelta(seconds=shift_seconds)
    message["StateChangeTime"] = when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    return {
        "Type": "Notification",
        "MessageId": f"dup-{shift_seconds}",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:alarms",
        "Subject": "ALARM: checkout-api-errors",
        "Message": json.dumps(message),
        "Timestamp": "2026-11-18T13:58:41.000Z",
    }


@pytest.fixture
def queue(moto_clients) -> dict:  # noqa: F811
    """A queue with a DLQ (maxReceiveCount 2): its URL, the DLQ's URL, the client."""
    sqs = moto_clients("sqs")
    dlq = sqs.create_queue(QueueName="alarms-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName="alarms",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
            "VisibilityTimeout": "60",
        },
    )["QueueUrl"]
    return {"url": url, "dlq": dlq, "sqs": sqs}


def depth(sqs, url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


ROOT = Path(__file__).resolve().parents[2]
