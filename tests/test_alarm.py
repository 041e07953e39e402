"""incident_lib.alarm: every delivery shape, the real corpus unchanged, malformed input, the CLI."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from incident_lib.alarm import (
    Alarm,
    alarm_from_description,
    normalise_statistic,
    parse_alarm,
)
from incident_lib.cli import main
from incident_lib.errors import AlarmParseError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "alarms"
#: Real alarm payloads written by AWS and others, kept as they are (see its SOURCES.md).
CORPUS = FIXTURES / "corpus"


def corpus(rel: str) -> Path:
    """A corpus file (a missing one fails the test: the corpus ships with the repository)."""
    path = CORPUS / rel
    if not path.is_file():
        pytest.fail(f"alarm corpus file missing: {path}", pytrace=False)
    return path


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- the real corpus, unchanged ------------------------------------------------------------


def test_corpus_has_every_file_tested() -> None:
    corpus("sns/rust_example-cloudwatch-alarm-sns-payload-single-metric.json")
    found = {p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("**/*.json")}
    assert found == set(CORPUS_EXPECTED)


SNS_REASON = (
    "Threshold Crossed: 1 out of the last 1 datapoints [1234.0 (06/03/15 17:43:27)] was greater "
    "than the threshold (0.0) (minimum 1 datapoint for OK -> ALARM transition)."
)

CORPUS_EXPECTED: dict[str, dict] = {
    "sns/rust_example-cloudwatch-alarm-sns-payload-single-metric.json": dict(
        shape="sns_records",
        name="EXAMPLE",
        arn="arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE",
        region=None,  # placeholder in the ARN and Region "EXAMPLE": unknown, and said so
        account="123456789012",  # the ARN's is a placeholder: from AWSAccountId
        description="EXAMPLE",
        new_state="ALARM",
        previous_state="INSUFFICIENT_DATA",
        state_change_time=utc(2015, 6, 3, 17, 43, 27, 123000),
        reason=SNS_REASON,
        reason_data=None,
        kind="metric",
        metric=dict(
            namespace="AWS/EC2",
            name="NetworkOut",
            dimensions={"InstanceId": "TestInstance"},
            stat="Average",  # "AVERAGE" in the payload
            period=60,
            unit="Bytes",
        ),
        threshold=0.0,
        comparison_operator="GreaterThanThreshold",
        evaluation_periods=1,
        datapoints_to_alarm=None,
        treat_missing_data="missing",
    ),
    "sns/rust_example-cloudwatch-alarm-sns-payload-multiple-metrics.json": dict(
        shape="sns_records",
        name="EXAMPLE",
        arn="arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE",
        region=None,
        account=None,  # AWSAccountId is "EXAMPLE" here
        description="EXAMPLE",
        new_state="ALARM",
        previous_state="INSUFFICIENT_DATA",
        state_change_time=utc(2015, 6, 3, 17, 43, 27, 123000),
        reason=SNS_REASON,
        kind="metric_math",
        metric=None,
        metric_queries=[
            dict(id="e1", expression="m1*1", metric=None, label="Expression1", return_data=True),
            dict(
                id="m1",
                expression=None,
                metric=dict(
                    namespace="AWS/EC2",
                    name="NetworkOut",
                    dimensions={"InstanceId": "TestInstance"},
                    stat="Average",
                    period=60,
                    unit=None,
                ),
                label=None,
                return_data=False,
            ),
        ],
        threshold=0.0,
        comparison_operator="GreaterThanThreshold",
        evaluation_periods=1,
        treat_missing_data="missing",
    ),
    "eventbridge/awsdocs_single_metric_alarm.json": dict(
        shape="eventbridge",
        name="ServerCpuTooHigh",
        arn="arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh",
        region="us-east-1",
        account="123456789012",
        description="Goes into alarm when server CPU utilization is too high!",
        new_state="ALARM",
        previous_state="OK",
        state_change_time=utc(2019, 10, 2, 17, 4, 40, 989000),
        kind="metric",
        metric=dict(
            namespace="AWS/EC2",
            name="CPUUtilization",
            dimensions={"InstanceId": "i-12345678901234567"},
            stat="Average",
            period=300,
            unit=None,
        ),
        threshold=50.0,  # from reasonData: EventBridge carries no threshold in configuration
        comparison_operator="GreaterThanThreshold",  # from the reason text
        evaluation_periods=1,
        datapoints_to_alarm=1,
        treat_missing_data=None,
        reason_data={
            "version": "1.0",
            "queryDate": "2019-10-02T17:04:40.985+0000",
            "startDate": "2019-10-02T16:59:00.000+0000",
            "statistic": "Average",
            "period": 300,
            "recentDatapoints": [99.50160229693434],
            "threshold": 50.0,
        },
    ),
    "eventbridge/awsdocs_metric_math_alarm.json": dict(
        shape="eventbridge",
        name="TotalNetworkTrafficTooHigh",
        arn="arn:aws:cloudwatch:us-east-1:123456789012:alarm:TotalNetworkTrafficTooHigh",
        region="us-east-1",
        account="123456789012",
        description="Goes into alarm if total network traffic exceeds 10Kb",
        new_state="ALARM",
        previous_state="INSUFFICIENT_DATA",
        state_change_time=utc(2019, 10, 2, 17, 20, 48, 554000),
        kind="metric_math",
        metric=None,
        metric_queries=[
            dict(
                id="e1",
                expression="SUM(METRICS())",
                label="Total Network Traffic",
                return_data=True,
                metric=None,
            ),
            dict(
                id="m1",
                expression=None,
                label=None,
                return_data=False,
                metric=dict(
                    namespace="AWS/EC2",
                    name="NetworkIn",
                    dimensions={"InstanceId": "i-12345678901234567"},
                    stat="Maximum",
                    period=300,
                    unit=None,
                ),
            ),
            dict(
                id="m2",
                expression=None,
                label=None,
                return_data=False,
                metric=dict(
                    namespace="AWS/EC2",
                    name="NetworkOut",
                    dimensions={"InstanceId": "i-12345678901234567"},
                    stat="Maximum",
                    period=300,
                    unit=None,
                ),
            ),
        ],
        threshold=10000.0,
        comparison_operator="GreaterThanThreshold",
    ),
    "eventbridge/awsdocs_anomaly_detection_alarm.json": dict(
        shape="eventbridge",
        name="EC2 CPU Utilization Anomaly",
        arn="arn:aws:cloudwatch:us-east-1:123456789012:alarm:EC2 CPU Utilization Anomaly",
        region="us-east-1",
        account="123456789012",
        description="Goes into alarm if CPU Utilization is out of band",
        new_state="ALARM",
        previous_state="OK",
        state_change_time=utc(2019, 10, 3, 16, 0, 4, 653000),
        kind="anomaly_detection",
        metric=None,
        metric_queries=[
            dict(
                id="m1",
                expression=None,
                label=None,
                return_data=True,
                metric=dict(
                    namespace="AWS/EC2",
                    name="CPUUtilization",
                    dimensions={"InstanceId": "i-12345678901234567"},
                    stat="Average",
                    period=60,
                    unit=None,
                ),
            ),
            dict(
                id="ad1",
                expression="ANOMALY_DETECTION_BAND(m1, 0.8)",
                label="CPUUtilization (expected)",
                return_data=True,
                metric=None,
            ),
        ],
        threshold=None,
        comparison_operator="LessThanLowerOrGreaterThanUpperThreshold",
        warnings=[],
    ),
    "eventbridge/powertools_cloudWatchAlarmEvent_metricmath.json": dict(
        shape="alarm_action",
        name="Test alert",
        arn="arn:aws:cloudwatch:eu-west-1:912397435824:alarm:test_alarm",
        region="eu-west-1",
        account="912397435824",  # the ARN wins over accountId 123456789012, with a warning
        description="This is description **here**",
        new_state="ALARM",
        previous_state="OK",
        state_change_time=utc(2024, 2, 17, 11, 53, 8, 431000),
        kind="metric_math",
        metric=None,
        metric_queries=[
            dict(id="e1", expression="m1/m2", label="Expression1", return_data=True, metric=None),
            dict(
                id="m1",
                expression=None,
                label=None,
                return_data=False,
                metric=dict(
                    namespace="AWS/Lambda",
                    name="Invocations",
                    dimensions={},
                    stat="SampleCount",
                    period=60,
                    unit=None,
                ),
            ),
            dict(
                id="m2",
                expression=None,
                label=None,
                return_data=False,
                metric=dict(
                    namespace="AWS/Lambda",
                    name="Duration",
                    dimensions={},
                    stat="SampleCount",
                    period=60,
                    unit=None,
                ),
            ),
        ],
        threshold=10.0,
        comparison_operator="LessThanThreshold",
    ),
    "eventbridge/powertools_cloudWatchAlarmEventCompositeMetric.json": dict(
        shape="alarm_action",
        name="CompositeDemo.Main",
        arn="arn:aws:cloudwatch:us-east-1:111122223333:alarm:SuppressionDemo.Main",
        region="us-east-1",
        account="111122223333",
        description=None,
        new_state="ALARM",
        previous_state="ALARM",
        state_change_time=utc(2023, 8, 4, 12, 56, 46, 138000),
        kind="composite",
        metric=None,
        metric_queries=[],
        composite=dict(
            rule="ALARM(CompositeDemo.FirstChild) OR ALARM(CompositeDemo.SecondChild)",
            triggering_children=[
                dict(
                    name="CompositeDemo.FirstChild",
                    arn="arn:aws:cloudwatch:us-east-1:111122223333:alarm:CompositeDemo.FirstChild",
                    state="ALARM",
                    timestamp=utc(2023, 8, 4, 12, 54, 46, 138000),
                )
            ],
            actions_suppressor="CompositeDemo.ActionsSuppressor",
            actions_suppressor_wait_period=120,
            actions_suppressor_extension_period=180,
            actions_suppressed_by=None,
            actions_suppressed_reason=None,
        ),
        threshold=None,
        comparison_operator=None,
    ),
    "eventbridge/rust_example-cloudwatch-alarm-composite.json": dict(
        shape="alarm_action",
        name="CompositeDemo.Main",
        # "us-east-1: 111122223333" and "12: 56: 46.138" in the file: repaired, with warnings
        arn="arn:aws:cloudwatch:us-east-1:111122223333:alarm:SuppressionDemo.Main",
        region="us-east-1",
        account="111122223333",
        new_state="ALARM",
        previous_state="ALARM",
        state_change_time=utc(2023, 8, 4, 12, 56, 46, 138000),
        kind="composite",
        metric=None,
        threshold=None,
    ),
}


@pytest.mark.parametrize("rel", sorted(CORPUS_EXPECTED))
def test_corpus_file_parses_to_expected_values(rel: str) -> None:
    alarm = parse_alarm(corpus(rel))
    dumped = alarm.model_dump()
    for key, expected in CORPUS_EXPECTED[rel].items():
        got = dumped[key]
        if key == "metric_queries":
            got = [{k: q[k] for k in expected[i]} for i, q in enumerate(got)]
            assert len(dumped[key]) == len(expected)
        assert got == expected, f"{rel}: {key}"
    assert alarm.state_change_time.tzinfo is not None


def test_corpus_quirks_are_reported_as_warnings() -> None:
    single = parse_alarm(corpus("sns/rust_example-cloudwatch-alarm-sns-payload-single-metric.json"))
    assert any("REGION" in w for w in single.warnings)
    assert any("region unknown" in w for w in single.warnings)
    assert any("AWSAccountId" in w for w in single.warnings)
    multi = parse_alarm(
        corpus("sns/rust_example-cloudwatch-alarm-sns-payload-multiple-metrics.json")
    )
    assert any("2 records" in w for w in multi.warnings)
    rust = parse_alarm(corpus("eventbridge/rust_example-cloudwatch-alarm-composite.json"))
    assert any("removed spaces from ARN" in w for w in rust.warnings)
    assert any("removed spaces from time" in w for w in rust.warnings)
    powertools = parse_alarm(corpus("eventbridge/powertools_cloudWatchAlarmEvent_metricmath.json"))
    assert any("differs from the ARN's account" in w for w in powertools.warnings)
    clean = parse_alarm(corpus("eventbridge/awsdocs_metric_math_alarm.json"))
    assert clean.warnings == []


def test_same_event_in_two_samples_gets_one_incident_id() -> None:
    a = parse_alarm(corpus("eventbridge/powertools_cloudWatchAlarmEventCompositeMetric.json"))
    b = parse_alarm(corpus("eventbridge/rust_example-cloudwatch-alarm-composite.json"))
    assert a.incident_id == b.incident_id == "compositedemo-main-20230804T125646Z-4bcabd1c"


# --- the other shapes (fixtures written here) ------------------------------------------------

LAMBDA_ALIAS = dict(
    name="checkout-api-errors",
    arn="arn:aws:cloudwatch:eu-west-1:210987654321:alarm:checkout-api-errors",
    region="eu-west-1",
    account="210987654321",
    new_state="ALARM",
    previous_state="OK",
    state_change_time=utc(2026, 3, 10, 14, 22, 31, 417000),
    kind="metric",
    metric=dict(
        namespace="AWS/Lambda",
        name="Errors",
        dimensions={"FunctionName": "checkout-api", "Resource": "checkout-api:live"},
        stat="Sum",
        period=60,
        unit=None,
    ),
    threshold=5.0,
    comparison_operator="GreaterThanOrEqualToThreshold",
    evaluation_periods=3,
    datapoints_to_alarm=2,
    treat_missing_data="notBreaching",
    warnings=[],
)


@pytest.mark.parametrize(
    ("fixture", "shape"),
    [
        ("sns_envelope_lambda_errors_alias_resource.json", "sns_envelope"),
        ("sqs_body_sns_envelope.json", "sns_envelope"),
        ("sqs_event_wrapping_sns_notification.json", "sqs_event"),
    ],
)
def test_sns_notification_in_envelope_and_sqs(fixture: str, shape: str) -> None:
    alarm = parse_alarm(FIXTURES / fixture)
    assert alarm.shape == shape
    dumped = alarm.model_dump()
    for key, expected in LAMBDA_ALIAS.items():
        assert dumped[key] == expected, key


def test_input_types_agree() -> None:
    path = FIXTURES / "sns_envelope_lambda_errors_alias_resource.json"
    text = path.read_text()
    from_path = parse_alarm(path)
    assert parse_alarm(text) == from_path
    assert parse_alarm(text.encode()) == from_path
    assert parse_alarm(json.loads(text)) == from_path


def test_bare_message_with_extended_statistic_p99() -> None:
    alarm = parse_alarm(FIXTURES / "sns_message_bare_extended_statistic_p99.json")
    assert alarm.shape == "sns_message"
    assert alarm.name == "orders-api p99 latency"
    assert alarm.region == "us-east-1"
    assert alarm.metric is not None
    assert alarm.metric.stat == "p99"
    assert alarm.metric.dimensions == {"ApiName": "orders-api", "Stage": "prod"}
    assert (alarm.metric.period, alarm.metric.unit) == (300, "Milliseconds")
    assert (alarm.evaluation_periods, alarm.datapoints_to_alarm) == (3, 3)
    assert alarm.treat_missing_data == "ignore"
    assert alarm.description is None
    (query,) = alarm.to_metric_queries()
    assert query.to_api()["MetricStat"]["Stat"] == "p99"
    assert query.to_api()["MetricStat"]["Unit"] == "Milliseconds"


def test_placeholder_arn_falls_back_to_display_region_and_says_so() -> None:
    alarm = parse_alarm(FIXTURES / "sns_message_placeholder_arn_region_from_display_name.json")
    assert alarm.region == "eu-central-1"  # "EU (Frankfurt)" through botocore's region table
    assert alarm.account == "123456789012"
    assert any("region 'eu-central-1' taken from Region" in w for w in alarm.warnings)


def test_eventbridge_lambda_errors() -> None:
    alarm = parse_alarm(FIXTURES / "eventbridge_lambda_errors.json")
    assert (alarm.shape, alarm.kind, alarm.region) == ("eventbridge", "metric", "us-west-2")
    assert alarm.metric is not None
    assert alarm.metric.dimensions == {"FunctionName": "image-resizer"}
    assert alarm.metric.stat == "Sum"
    assert alarm.reason_data is not None and alarm.reason_data["recentDatapoints"] == [12.0]
    (query,) = alarm.to_metric_queries()
    assert (query.id, query.metric_name, query.period) == ("m1", "Errors", 60)


def test_sns_composite_with_triggering_children() -> None:
    alarm = parse_alarm(FIXTURES / "sns_message_composite_triggering_children.json")
    assert alarm.kind == "composite" and alarm.composite is not None
    assert alarm.composite.rule == "ALARM(checkout-5xx) AND ALARM(checkout-latency)"
    (child,) = alarm.composite.triggering_children
    assert (child.name, child.state) == ("checkout-5xx", "ALARM")
    assert child.timestamp == utc(2021, 11, 10, 2, 45, 55, 640000)
    assert alarm.to_metric_queries() == []


def test_describe_alarms_item() -> None:
    item = json.loads((FIXTURES / "describe_alarms_item_lambda_errors.json").read_text())
    alarm = alarm_from_description(item, region="ap-southeast-2", account="123456789012")
    assert alarm.shape == "describe_alarms"
    assert (alarm.region, alarm.account) == ("ap-southeast-2", "123456789012")
    assert alarm.state_change_time == utc(2026, 2, 2, 10, 1, 30, 250000)
    assert alarm.metric is not None and alarm.metric.dimensions == {
        "FunctionName": "payments-worker"
    }
    assert (alarm.threshold, alarm.treat_missing_data) == (1.0, "notBreaching")
    assert alarm.warnings == []
    # boto3 gives datetimes, not strings
    item["StateTransitionedTimestamp"] = utc(2026, 2, 2, 10, 1, 30)
    assert alarm_from_description(item).state_change_time == utc(2026, 2, 2, 10, 1, 30)
    # parse_alarm recognises the shape too
    assert parse_alarm(json.dumps({**item, "StateTransitionedTimestamp": None})).name == (
        "payments-worker-errors"
    )


# --- TreatMissingData spellings; where the threshold came from -------------------------------


def test_sns_text_nonbreaching_is_the_api_not_breaching() -> None:
    alarm = parse_alarm(FIXTURES / "sns_message_treat_missing_data_nonbreaching_text.json")
    assert alarm.treat_missing_data == "notBreaching"
    assert not any("TreatMissingData" in w for w in alarm.warnings)
    assert (alarm.threshold, alarm.threshold_source) == (10.0, "Trigger.Threshold")


@pytest.mark.parametrize(
    ("written", "api"),
    [
        ("Breaching", "breaching"),
        ("breaching", "breaching"),
        ("NotBreaching", "notBreaching"),
        ("notBreaching", "notBreaching"),
        ("NonBreaching", "notBreaching"),
        ("nonbreaching", "notBreaching"),
        ("not-breaching", "notBreaching"),
        ("Ignore", "ignore"),
        ("ignore", "ignore"),
        ("Missing", "missing"),
        ("missing", "missing"),
        ("- TreatMissingData:                    NonBreaching", "notBreaching"),
        ("- TreatMissingData: Ignore", "ignore"),
        ("- TreatMissingData:   missing", "missing"),
    ],
)
def test_treat_missing_data_spellings_normalise_to_the_api_value(written: str, api: str) -> None:
    message = json.loads(
        (FIXTURES / "sns_message_treat_missing_data_nonbreaching_text.json").read_text()
    )
    message["Trigger"]["TreatMissingData"] = written
    alarm = parse_alarm(message)
    assert alarm.treat_missing_data == api
    assert alarm.warnings == []


def test_unknown_treat_missing_data_kept_with_a_warning() -> None:
    message = json.loads(
        (FIXTURES / "sns_message_treat_missing_data_nonbreaching_text.json").read_text()
    )
    message["Trigger"]["TreatMissingData"] = "- TreatMissingData: sometimes"
    alarm = parse_alarm(message)
    assert alarm.treat_missing_data == "sometimes"
    assert any("unknown value" in w and "TreatMissingData" in w for w in alarm.warnings)


def test_threshold_from_the_new_state_reason_data_is_said() -> None:
    alarm = parse_alarm(FIXTURES / "eventbridge_lambda_errors.json")
    assert (alarm.threshold, alarm.threshold_source) == (0.0, "detail.state.reasonData.threshold")
    assert not any("threshold" in w for w in alarm.warnings)


def test_threshold_only_in_previous_state_reason_data_is_recovered() -> None:
    alarm = parse_alarm(FIXTURES / "eventbridge_threshold_only_in_previous_state_reason_data.json")
    assert alarm.new_state == "INSUFFICIENT_DATA"
    assert alarm.threshold == 1000.0
    assert alarm.threshold_source == "detail.previousState.reasonData.threshold"
    assert "threshold 1000 taken from detail.previousState.reasonData.threshold" in alarm.warnings


def test_threshold_only_in_reason_text_is_recovered() -> None:
    alarm = parse_alarm(FIXTURES / "eventbridge_threshold_only_in_reason_text.json")
    assert (alarm.threshold, alarm.threshold_source) == (2500.5, "detail.state.reason")
    assert alarm.comparison_operator == "GreaterThanThreshold"
    assert (alarm.evaluation_periods, alarm.datapoints_to_alarm) == (5, 3)
    assert "threshold 2500.5 taken from detail.state.reason" in alarm.warnings


def test_sns_threshold_from_new_state_reason_when_the_trigger_has_none() -> None:
    message = json.loads(
        (FIXTURES / "sns_message_treat_missing_data_nonbreaching_text.json").read_text()
    )
    del message["Trigger"]["Threshold"]
    alarm = parse_alarm(message)
    assert (alarm.threshold, alarm.threshold_source) == (10.0, "NewStateReason")
    assert "threshold 10 taken from NewStateReason" in alarm.warnings


def test_threshold_source_survives_the_json_round_trip() -> None:
    alarm = parse_alarm(FIXTURES / "eventbridge_threshold_only_in_previous_state_reason_data.json")
    assert Alarm.model_validate_json(alarm.to_json()) == alarm


def test_metric_math_queries_keep_ids_and_return_data() -> None:
    alarm = parse_alarm(corpus("eventbridge/awsdocs_metric_math_alarm.json"))
    queries = alarm.to_metric_queries()
    assert [(q.id, q.return_data) for q in queries] == [("e1", True), ("m1", False), ("m2", False)]
    assert queries[0].expression == "SUM(METRICS())" and queries[0].period == 300
    assert queries[1].to_api()["MetricStat"]["Metric"]["MetricName"] == "NetworkIn"


def test_time_window_and_json_round_trip() -> None:
    alarm = parse_alarm(FIXTURES / "eventbridge_lambda_errors.json")
    start, end = alarm.time_window()
    assert start == pd.Timestamp("2026-01-20T02:12:09.118Z")
    assert end == pd.Timestamp("2026-01-20T03:27:09.118Z")
    assert alarm.time_window("2h", "30m")[0] == pd.Timestamp("2026-01-20T01:12:09.118Z")
    doc = json.loads(alarm.to_json())
    assert doc["state_change_time"] == "2026-01-20T03:12:09.118Z"
    assert doc["incident_id"] == alarm.incident_id
    assert Alarm.model_validate_json(alarm.to_json()) == alarm


def test_incident_id_stable_distinct_and_folder_safe() -> None:
    a = parse_alarm(FIXTURES / "sns_envelope_lambda_errors_alias_resource.json")
    b = parse_alarm(FIXTURES / "sqs_event_wrapping_sns_notification.json")
    assert a.incident_id == b.incident_id  # the same state change, delivered twice
    later = a.model_copy(update={"state_change_time": utc(2026, 3, 10, 15, 0)})
    assert later.incident_id != a.incident_id
    other = a.model_copy(update={"arn": a.arn.replace("checkout", "billing")})
    assert other.incident_id != a.incident_id
    p99 = parse_alarm(FIXTURES / "sns_message_bare_extended_statistic_p99.json")
    assert p99.incident_id.startswith("orders-api-p99-latency-20251105T081912Z-")
    for alarm in (a, p99):
        assert all(c.isalnum() or c == "-" for c in alarm.incident_id)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AVERAGE", "Average"),
        ("SAMPLE_COUNT", "SampleCount"),
        ("sum", "Sum"),
        ("P99", "p99"),
        ("p99.9", "p99.9"),
        ("tm(10%:90%)", "TM(10%:90%)"),
        ("TM90", "tm90"),
        ("", None),
    ],
)
def test_normalise_statistic(raw: str, expected: str | None) -> None:
    assert normalise_statistic(raw) == expected


# --- malformed input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "field", "words"),
    [
        ("not_json.txt", "$", "not JSON"),
        ("json_list.json", "$", "got a list"),
        ("missing_alarm_name.json", "AlarmName", "missing"),
        ("impossible_state_change_time.json", "StateChangeTime", "2024-13-45"),
        ("unknown_state.json", "NewStateValue", "FIRING"),
        ("sns_envelope_unknown_state.json", "Message.NewStateValue", "FIRING"),
    ],
)
def test_malformed_input_names_the_field(fixture: str, field: str, words: str) -> None:
    with pytest.raises(AlarmParseError) as info:
        parse_alarm(FIXTURES / "malformed" / fixture)
    assert info.value.field == field
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_wrong_shapes() -> None:
    with pytest.raises(AlarmParseError) as info:
        parse_alarm('{"hello": 1}')
    assert info.value.field == "AlarmName"
    with pytest.raises(AlarmParseError) as info:
        parse_alarm('{"detail-type": "EC2 Instance State-change Notification", "detail": {}}')
    assert info.value.field == "detail-type"
    with pytest.raises(AlarmParseError) as info:
        parse_alarm('{"Records": [{"eventSource": "aws:sqs", "body": "not json"}]}')
    assert info.value.field == "Records[0].body"
    with pytest.raises(AlarmParseError) as info:
        parse_alarm(
            {"AlarmName": "x", "NewStateValue": "OK", "StateChangeTime": "2024-01-01T00:00:00Z"}
        )
    assert info.value.field == "Trigger"
    with pytest.raises(AlarmParseError) as info:
        parse_alarm(
            {
                "AlarmName": "x",
                "NewStateValue": "OK",
                "StateChangeTime": "2024-01-01T00:00:00",
                "Trigger": {},
            }
        )
    assert info.value.field == "StateChangeTime" and "UTC offset" in str(info.value)


# --- the command -----------------------------------------------------------------------------


def test_cli_prints_normalised_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["alarm", str(FIXTURES / "sqs_event_wrapping_sns_notification.json")])
    out = capsys.readouterr().out
    assert rc == 0
    doc = json.loads(out)
    assert doc["state_change_time"] == "2026-03-10T14:22:31.417Z"
    assert doc["metric"]["dimensions"]["Resource"] == "checkout-api:live"
    assert out.startswith('{\n  "name"')


def test_cli_reads_stdin(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    data = corpus("eventbridge/awsdocs_single_metric_alarm.json").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["alarm", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "ServerCpuTooHigh"


@pytest.mark.parametrize(
    ("fixture", "field"),
    [
        ("impossible_state_change_time.json", "StateChangeTime"),
        ("missing_alarm_name.json", "AlarmName"),
        ("not_json.txt", "$"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    fixture: str, field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["alarm", str(FIXTURES / "malformed" / fixture)])
    captured = capsys.readouterr()
    assert rc == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and f"(field {field!r})" in lines[0]
    assert "Traceback" not in captured.err
