"""The worker's parts without a notebook: messages, claims, webhooks, the Lambda handler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from incident_lib.serve.lambda_handler import handler
from incident_lib.serve.notify import Webhook, payload, post_all, slack_text
from incident_lib.serve.sink import LocalSink, S3Sink
from incident_lib.serve.worker import Outcome, Worker, poll
from tests.serve.conftest import Receiver, depth, eventbridge_event, sns_envelope

INFO = {
    "incident_id": "checkout-api-errors-20261118T135840Z-5ed99791",
    "alarm": "checkout-api-errors",
    "new_state": "ALARM",
    "summary": "Errors <b>& rose</b> after deploy; token AKIAIOSFODNN7EXAMPLE",
    "partial": False,
    "link": "https://example.com/r.html",
}


def test_slack_text_is_one_escaped_masked_line_with_the_link() -> None:
    text = slack_text(INFO)
    assert text.startswith(":rotating_light: ALARM checkout-api-errors: Errors &lt;b&gt;&amp;")
    assert "AKIAIOSFODNN7EXAMPLE" not in text
    assert text.endswith("<https://example.com/r.html|report>")
    assert "\n" not in text


def test_json_payload_has_the_facts_and_no_secret() -> None:
    body = payload({**INFO, "timings": {"x": 1}})
    assert body["incident_id"] == INFO["incident_id"] and body["link"] == INFO["link"]
    assert "timings" not in body
    assert "AKIAIOSFODNN7EXAMPLE" not in json.dumps(body)


def test_webhook_kind_and_redacted_url() -> None:
    assert Webhook.parse("https://hooks.slack.com/services/T/B/secret").kind == "slack"
    assert Webhook.parse("https://example.com/hook").kind == "json"
    assert "secret" not in Webhook.parse("https://hooks.slack.com/services/T/B/secret").redacted()


def test_post_is_retried_after_503_then_lands_once() -> None:
    receiver = Receiver(fail_first=2)
    try:
        out = post_all([Webhook(receiver.url + "/s", "slack")], INFO, backoff=0.01)
    finally:
        receiver.close()
    assert out[0]["ok"] and out[0]["status"] == 200
    assert [p for p, _ in receiver.posts] == ["/s"]


def test_a_dead_webhook_is_logged_not_raised() -> None:
    out = post_all([Webhook("http://127.0.0.1:9/hook/secret")], INFO, retries=1, backoff=0.01)
    assert out[0]["ok"] is False and "secret" not in json.dumps(out)


class _Sink(LocalSink):
    pass


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"{}", json.dumps({"Type": "SubscriptionConfirmation"}).encode(), b"\xff"],
)
def test_garbage_is_bad_never_raised(tmp_path: Path, body: bytes) -> None:
    worker = Worker(sink=LocalSink(tmp_path))
    outcome = worker.handle(body)
    assert outcome.kind == "bad" and outcome.detail
    assert list(tmp_path.iterdir()) == []


def test_local_claim_busy_while_held_done_after(tmp_path: Path) -> None:
    sink = LocalSink(tmp_path)
    with sink.claim("x-1") as first:
        assert first.state == "claimed"
        with sink.claim("x-1") as second:
            assert second.state == "busy"
        (tmp_path / "x-1").mkdir()
        (tmp_path / "x-1" / "report.html").write_text("r")
        sink.mark_done(first, {"link": "file:///r"})
    with sink.claim("x-1") as again:
        assert again.state == "done" and again.link == "file:///r"


@pytest.mark.aws
def test_s3_claim_is_one_conditional_write(moto_clients) -> None:
    s3 = moto_clients("s3")
    s3.create_bucket(Bucket="reports")
    a = S3Sink("reports", "p", client=s3)
    b = S3Sink("reports", "p", client=s3)
    with a.claim("inc-1") as first, b.claim("inc-1") as second:
        assert (first.state, second.state) == ("claimed", "busy")
    a.mark_done(first, {"link": "https://x/report.html"})
    with b.claim("inc-1") as later:
        assert later.state == "done" and later.link == "https://x/report.html"
    # A claim nobody finished, older than the lease, is taken over by exactly one worker.
    stale_a = S3Sink("reports", "p", client=s3, lease_seconds=0)
    stale_b = S3Sink("reports", "p", client=s3, lease_seconds=0)
    with stale_a.claim("inc-2") as c:
        assert c.state == "claimed"
    with stale_a.claim("inc-2") as d:
        assert d.state == "claimed"  # took over (lease 0)
    assert json.loads(s3.get_object(Bucket="reports", Key="p/_claims/inc-2.json")["Body"].read())[
        "took_over"
    ]
    del stale_b


@pytest.mark.aws
def test_bad_messages_go_to_the_dlq_and_the_queue_empties(queue, tmp_path: Path) -> None:
    sqs = queue["sqs"]
    for body in ("garbage", "{}", json.dumps({"Type": "SubscriptionConfirmation"})):
        sqs.send_message(QueueUrl=queue["url"], MessageBody=body)
    worker = Worker(sink=LocalSink(tmp_path))
    stats = poll(worker, queue["url"], sqs=sqs, max_idle_seconds=2, wait_seconds=1)
    assert stats.outcomes == {"bad": 6}  # each received twice (maxReceiveCount 2)
    assert depth(sqs, queue["url"]) == 0
    assert depth(sqs, queue["dlq"]) == 3


def test_lambda_handler_reports_partial_batch_failures(monkeypatch, tmp_path: Path) -> None:
    from incident_lib.serve import lambda_handler

    class Stub:
        def handle(self, body: str) -> Outcome:
            return Outcome({"a": "done", "b": "duplicate", "c": "bad", "d": "busy"}[body])

    monkeypatch.setattr(lambda_handler, "_WORKER", [Stub()])
    event = {"Records": [{"messageId": f"m-{b}", "body": b} for b in "abcd"]}
    assert handler(event) == {
        "batchItemFailures": [{"itemIdentifier": "m-c"}, {"itemIdentifier": "m-d"}]
    }


def test_the_sqs_shapes_of_one_state_change_are_one_incident(demo) -> None:
    from incident_lib.alarm import parse_alarm

    ids = {
        parse_alarm(json.dumps(eventbridge_event(demo, 60))).incident_id,
        parse_alarm(json.dumps(sns_envelope(demo, 60))).incident_id,
    }
    assert len(ids) == 1
    assert parse_alarm(json.dumps(eventbridge_event(demo, 120))).incident_id not in ids


def test_an_investigation_that_cannot_run_is_failed_and_marks_nothing(
    demo, monkeypatch, tmp_path: Path
) -> None:
    import incident_lib.run

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(incident_lib.run, "investigate", broken)
    worker = Worker(sink=LocalSink(tmp_path))
    outcome = worker.handle(json.dumps(eventbridge_event(demo, 0)))
    assert outcome.kind == "failed" and "disk full" in outcome.detail
    assert not list(tmp_path.glob(".*.done.json"))  # the next delivery investigates again


@pytest.mark.aws
def test_visibility_is_extended_while_a_report_runs(queue) -> None:
    """A report longer than the visibility timeout: no other worker receives its message,
    and it is deleted once done."""
    import threading
    import time

    sqs = queue["sqs"]
    sqs.send_message(QueueUrl=queue["url"], MessageBody="slow")
    seen_by_other: list[dict] = []

    class Slow:
        def handle(self, body: str) -> Outcome:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # another worker polls meanwhile
                got = sqs.receive_message(QueueUrl=queue["url"], WaitTimeSeconds=1)
                seen_by_other.extend(got.get("Messages") or [])
            return Outcome("done", "x")

    stop = threading.Event()
    stats = poll(
        Slow(), queue["url"], sqs=sqs, max_idle_seconds=1, wait_seconds=1, visibility_timeout=2,
        stop=stop,
    )  # fmt: skip
    assert stats.outcomes == {"done": 1}
    assert seen_by_other == []
    assert depth(sqs, queue["url"]) == 0


@pytest.mark.aws
@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["--queue-url", "{moto}/123456789012/nope"], 2, "no such queue"),
        (["--queue-url", "not-a-url"], 2, "not an SQS queue URL"),
        (["--queue-url", "{moto}/q", "--workers", "0"], 2, "--workers"),
        (["--queue-url", "{moto}/q", "--source", "/nonexistent/store"], 2, "store"),
        (["--queue-url", "{moto}/q", "--deadline", "forever"], 2, "forever"),
    ],
)
def test_serve_bad_options_exit_2_before_any_worker(moto, capsys, argv, code, says) -> None:
    from incident_lib.cli import main

    argv = [a.format(moto=moto) for a in argv]
    assert main(["serve", "--endpoint-url", moto, *argv]) == code
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


@pytest.mark.aws
def test_a_failed_s3_run_releases_its_claim(demo, moto_clients, monkeypatch) -> None:
    import incident_lib.run

    s3 = moto_clients("s3")
    s3.create_bucket(Bucket="reports")
    monkeypatch.setattr(
        incident_lib.run, "investigate", lambda *a, **k: (_ for _ in ()).throw(OSError("boom"))
    )
    sink = S3Sink("reports", "p", client=s3)
    worker = Worker(sink=sink)
    body = json.dumps(eventbridge_event(demo, 0))
    assert worker.handle(body).kind == "failed"
    with sink.claim(worker.handle(body).incident_id) as again:
        assert again.state == "claimed"  # not "busy" for the lease's 15 minutes


def test_a_duplicate_during_the_run_waits_for_its_report(demo, monkeypatch, tmp_path) -> None:
    import threading
    import time

    import incident_lib.run
    from incident_lib.alarm import parse_alarm

    def never(*a, **k):
        raise AssertionError("the duplicate must not investigate")

    monkeypatch.setattr(incident_lib.run, "investigate", never)
    sink = LocalSink(tmp_path)
    body = json.dumps(eventbridge_event(demo, 0))
    incident = parse_alarm(body).incident_id
    holding = threading.Event()

    def first_run() -> None:  # another worker's run: claims, writes the report, marks done
        with sink.claim(incident) as claim:
            holding.set()
            time.sleep(1.5)
            (tmp_path / incident).mkdir()
            (tmp_path / incident / "report.html").write_text("r")
            sink.mark_done(claim, {"link": "file:///r"})

    thread = threading.Thread(target=first_run)
    thread.start()
    holding.wait(5)
    outcome = Worker(sink=sink, busy_wait=10, busy_poll=0.2).handle(body)
    thread.join()
    assert (outcome.kind, outcome.detail) == ("duplicate", "file:///r")
    assert Worker(sink=sink, busy_wait=0).handle(body).kind == "duplicate"


def test_an_alertmanager_webhook_is_investigated_not_bad(monkeypatch, tmp_path: Path) -> None:
    import incident_lib.run

    def reached(alarm, **kwargs):
        raise OSError(f"investigating {alarm.incident_id}")

    monkeypatch.setattr(incident_lib.run, "investigate", reached)
    fixture = (
        Path(__file__).parents[1]
        / "fixtures/alarms/alertmanager/webhook_v4_high_error_rate_two_alerts.json"
    )
    outcome = Worker(sink=LocalSink(tmp_path)).handle(fixture.read_bytes())
    assert outcome.kind == "failed" and outcome.detail.startswith("OSError: investigating ")
