"""``incident serve`` end to end on a moto queue: an alarm storm with duplicates and garbage,
two worker processes, one report per alarm state change, one post per webhook, the queue
empty at the end. Offline: the demo store answers the investigations."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from incident_lib.cli import main
from tests.serve.conftest import depth, eventbridge_event, sns_envelope

pytestmark = [pytest.mark.aws, pytest.mark.notebooks]

ALARMS = 6


def _storm(queue, demo) -> list[str]:
    """6 distinct state changes (EventBridge), each again as SNS-to-SQS (a duplicate) and 2
    of them a third time; 3 garbage messages; shuffled. Returns the distinct incident ids."""
    from incident_lib.alarm import parse_alarm

    bodies, ids = [], []
    for k in range(ALARMS):
        event = eventbridge_event(demo, 60 * k)
        ids.append(parse_alarm(event).incident_id)
        bodies += [json.dumps(event), json.dumps(sns_envelope(demo, 60 * k))]
        if k < 2:
            bodies.append(json.dumps(event))
    bodies += ["not json at all", "{}", json.dumps({"Type": "SubscriptionConfirmation"})]
    random.Random(13).shuffle(bodies)
    for body in bodies:
        queue["sqs"].send_message(QueueUrl=queue["url"], MessageBody=body)
    assert len(set(ids)) == ALARMS
    return ids


def _serve(queue, moto, demo, out: str, receiver, capsys) -> dict:
    code = main(
        [
            "serve",
            "--queue-url", queue["url"],
            "--endpoint-url", moto,
            "--workers", "2",
            "--out", out,
            "--source", str(demo.path),
            "--slack-webhook", receiver.url + "/slack",
            "--webhook", receiver.url + "/json",
            "--max-idle-seconds", "8",
            "--retry-busy-after", "2",
        ]
    )  # fmt: skip
    assert code == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _check_posts(receiver, ids: list[str]) -> None:
    slack = [body for path, body in receiver.posts if path == "/slack"]
    generic = [body for path, body in receiver.posts if path == "/json"]
    assert len(slack) == len(generic) == ALARMS  # one post each, per alarm
    assert sorted(b["incident_id"] for b in generic) == sorted(ids)
    for body in slack:
        assert set(body) == {"text"} and "checkout-api-errors" in body["text"]
        assert "|report>" in body["text"]


def test_s3_two_workers_one_report_per_alarm(queue, moto, moto_clients, demo, receiver, capsys):
    s3 = moto_clients("s3")
    s3.create_bucket(Bucket="incident-reports")
    ids = _storm(queue, demo)
    summary = _serve(queue, moto, demo, "s3://incident-reports/reports", receiver, capsys)
    assert summary["workers"] == 2
    assert summary["outcomes"]["done"] == ALARMS
    assert summary["outcomes"].get("failed", 0) == 0
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="incident-reports")["Contents"]]
    reports = sorted(k.split("/")[1] for k in keys if k.endswith("/report.html"))
    assert reports == sorted(ids)
    for incident in ids:
        for name in ("findings.json", "rca.md", "pack/manifest.json", "notebook.ipynb"):
            assert f"reports/{incident}/{name}" in keys
        marker = json.loads(
            s3.get_object(Bucket="incident-reports", Key=f"reports/_claims/{incident}.json")[
                "Body"
            ].read()
        )
        assert marker["state"] == "done" and all(n["ok"] for n in marker["notifications"])
        assert "report.html" in marker["link"] and "Signature" in marker["link"]
    _check_posts(receiver, ids)
    assert depth(queue["sqs"], queue["url"]) == 0
    assert depth(queue["sqs"], queue["dlq"]) == 3  # the garbage, after maxReceiveCount


def test_local_folder_two_workers_one_report_per_alarm(
    queue, moto, demo, receiver, capsys, tmp_path: Path
):
    ids = _storm(queue, demo)
    out = tmp_path / "reports"
    summary = _serve(queue, moto, demo, str(out), receiver, capsys)
    assert summary["outcomes"]["done"] == ALARMS
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(ids)
    for incident in ids:
        assert (out / incident / "report.html").is_file()
        done = json.loads((out / f".{incident}.done.json").read_text())
        assert done["link"] == (out / incident / "report.html").resolve().as_uri()
        # The warm kernel recorded the evidence as a kernel of its own would have.
        assert done["partial"] is False
        assert list((out / incident / "pack" / "results").iterdir())
        assert main(["verify", str(out / incident)]) == 0
    _check_posts(receiver, ids)
    assert depth(queue["sqs"], queue["url"]) == 0
    assert depth(queue["sqs"], queue["dlq"]) == 3


def test_lambda_handler_batch(demo, monkeypatch, tmp_path: Path) -> None:
    """The Lambda entry point on an SQS batch: a report, its duplicate (SNS shape), garbage;
    only the garbage is a batch item failure."""
    from incident_lib.alarm import parse_alarm
    from incident_lib.serve import lambda_handler

    monkeypatch.setenv("INCIDENT_OUT", str(tmp_path / "reports"))
    monkeypatch.setenv("INCIDENT_SOURCE", str(demo.path))
    monkeypatch.setattr(lambda_handler, "_WORKER", [])
    event = eventbridge_event(demo, 0)
    records = [
        {"messageId": "m1", "body": json.dumps(event)},
        {"messageId": "m2", "body": json.dumps(sns_envelope(demo, 0))},
        {"messageId": "m3", "body": "{not an alarm"},
    ]
    try:
        answer = lambda_handler.handler({"Records": records}, None)
    finally:
        for worker in lambda_handler._WORKER:
            worker.kernels.close()
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m3"}]}
    incident = parse_alarm(event).incident_id
    assert (tmp_path / "reports" / incident / "report.html").is_file()
    assert sorted(p.name for p in (tmp_path / "reports").iterdir() if p.is_dir()) == [incident]
