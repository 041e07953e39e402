"""AwsSource behaviour moto cannot show, on real botocore clients under ``Stubber``.

Batching, pagination, every Logs Insights status, the overall timeout, the truncated-window
split, ``insights_many`` call order, DescribeAlarmHistory, LookupEvents and error mapping.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pandas as pd
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import ANY

from incident_lib.errors import (
    AccessDeniedError,
    BadInputError,
    MetricQueryError,
    QueryError,
    QueryTimeoutError,
    SourceError,
    ThrottledError,
)
from incident_lib.sources.aws import AwsSource, _metric_batches
from incident_lib.sources.base import InsightsQuery, MetricQuery
from incident_lib.sources.frames import CHANGE_COLUMNS, HISTORY_COLUMNS

from .conftest import REGION, TEST_SETTINGS, fake_session, make_stubbed

START = pd.Timestamp("2026-03-01T10:00:00Z")
END = pd.Timestamp("2026-03-01T11:00:00Z")
START_S = int(START.timestamp())
END_S = START_S + 3600
UTC_US = "datetime64[us, UTC]"


def _ts(minute: int) -> datetime:
    return (START + pd.Timedelta(minutes=minute)).to_pydatetime()


def _metric(i: int) -> MetricQuery:
    return MetricQuery(f"m{i}", "AWS/Lambda", "Errors", {"FunctionName": f"f{i}"}, "Sum", 60)


def _row(**fields: str) -> list[dict[str, str]]:
    return [{"field": k, "value": v} for k, v in fields.items()]


# -- GetMetricData -----------------------------------------------------------------------------
def test_metric_queries_are_batched_by_500(stubbed):
    queries = [_metric(i) for i in range(1001)]
    sizes: list[int] = []
    stubbed.clients["cloudwatch"].meta.events.register(
        "before-parameter-build.cloudwatch.GetMetricData",
        lambda params, **_: sizes.append(len(params["MetricDataQueries"])),
    )
    for first, last in ((0, 500), (500, 1000), (1000, 1001)):
        stubbed.cloudwatch.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {
                        "Id": f"m{i}",
                        "Label": "Errors",
                        "Timestamps": [_ts(0)],
                        "Values": [1.0],
                        "StatusCode": "Complete",
                    }
                    for i in range(first, last)
                ]
            },
        )
    frame = stubbed.source.metric_data(queries, START, END)
    stubbed.assert_done()
    assert sizes == [500, 500, 1]
    assert stubbed.source.calls["cloudwatch:GetMetricData"] == 3
    assert len(frame) == 1001


def test_metric_batches_keep_an_expression_with_the_ids_it_names():
    queries = [_metric(i) for i in range(499)]
    queries += [MetricQuery("late", expression="m0 + m1", period=60), _metric(600)]
    queries += [MetricQuery("ratio", expression="100 * m600 / m1", period=60)]
    all_ids = {q.id for q in queries}
    batches = _metric_batches(queries, 500)
    assert len(batches) == 2
    for batch in batches:
        ids = {q.id for q in batch}
        assert len(batch) <= 500
        for q in batch:
            if q.expression:
                assert set(re.findall(r"[a-z]\w*", q.expression)) & all_ids <= ids
    assert sum(len(b) for b in batches) == len(queries)
    with pytest.raises(MetricQueryError):
        _metric_batches(queries, 3)


def test_metric_data_follows_next_token_and_reports_statuses(stubbed):
    queries = [_metric(1), _metric(2), _metric(3)]
    base = {
        "MetricDataQueries": [q.to_api() for q in queries],
        "StartTime": START.to_pydatetime(),
        "EndTime": END.to_pydatetime(),
        "ScanBy": "TimestampAscending",
    }
    stubbed.cloudwatch.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {
                    "Id": "m1",
                    "Label": "Errors f1",
                    "Timestamps": [_ts(0), _ts(1)],
                    "Values": [1.0, 2.0],
                    "StatusCode": "PartialData",
                },
                {
                    "Id": "m2",
                    "Label": "Errors f2",
                    "Timestamps": [],
                    "Values": [],
                    "StatusCode": "Forbidden",
                },
            ],
            "NextToken": "page-2",
            "Messages": [{"Code": "MaxDatapointsExceeded", "Value": "too many points"}],
        },
        base,
    )
    stubbed.cloudwatch.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {
                    "Id": "m1",
                    "Label": "Errors f1",
                    "Timestamps": [_ts(2), _ts(60)],
                    "Values": [3.0, 99.0],
                    "StatusCode": "Complete",
                },
                {
                    "Id": "m3",
                    "Label": "Errors f3",
                    "Timestamps": [_ts(5)],
                    "Values": [7],
                    "StatusCode": "InternalError",
                },
            ]
        },
        {**base, "NextToken": "page-2"},
    )
    frame = stubbed.source.metric_data(queries, START, END)
    stubbed.assert_done()
    m1 = frame[frame["id"] == "m1"]
    # PartialData kept paging; the point at END (exclusive) is dropped
    assert m1["value"].tolist() == [1.0, 2.0, 3.0]
    assert str(frame["timestamp"].dtype) == UTC_US
    assert frame["value"].dtype == "float64"
    assert set(frame["label"]) == {"Errors f1", "Errors f3"}
    codes = {(m["id"], m["code"]) for m in frame.attrs["messages"]}
    assert codes == {(None, "MaxDatapointsExceeded"), ("m2", "Forbidden"), ("m3", "InternalError")}


# -- Logs Insights -----------------------------------------------------------------------------
def _start(
    stubbed,
    query_id: str,
    query: str = "fields @message",
    *,
    start=START_S,
    end=END_S,
    groups=("/aws/lambda/checkout",),
) -> None:
    stubbed.logs.add_response(
        "start_query",
        {"queryId": query_id},
        {"queryString": query, "logGroupNames": list(groups), "startTime": start, "endTime": end},
    )


def _results(stubbed, query_id: str, status: str, rows=(), **extra) -> None:
    response = {"status": status, "results": [list(r) for r in rows], **extra}
    params = {"queryId": query_id}
    if "token" in extra:
        params["nextToken"] = response.pop("token")
    stubbed.logs.add_response("get_query_results", response, params)


def test_insights_polls_through_scheduled_and_running(stubbed):
    _start(stubbed, "q1")
    _results(stubbed, "q1", "Scheduled")
    _results(stubbed, "q1", "Running", [_row(**{"@message": "partial"})])
    _results(
        stubbed,
        "q1",
        "Complete",
        [
            _row(
                **{
                    "@timestamp": "2026-03-01 10:00:01.250",
                    "@message": "boom",
                    "n": "3",
                    "ms": "1.5",
                    "@ptr": "CnAK",
                }
            )
        ],
        statistics={"bytesScanned": 2048.0, "recordsMatched": 1.0, "recordsScanned": 9.0},
    )
    frame = stubbed.source.insights("fields @message", ["/aws/lambda/checkout"], START, END)
    stubbed.assert_done()
    assert frame["@message"].tolist() == ["boom"]  # the Running partial rows are not kept
    assert str(frame["@timestamp"].dtype) == UTC_US
    assert frame["@timestamp"][0] == pd.Timestamp("2026-03-01T10:00:01.250Z")
    assert str(frame["n"].dtype) == "Int64"
    assert frame["ms"].dtype == "float64"
    assert frame.attrs["statistics"]["bytesScanned"] == 2048.0
    assert frame.attrs["query_ids"] == ["q1"]
    assert stubbed.source.calls["logs:GetQueryResults"] == 3


@pytest.mark.parametrize("status", ["Failed", "Cancelled", "Timeout", "Unknown"])
def test_insights_terminal_statuses_raise_with_the_status(stubbed, status):
    _start(stubbed, "q1")
    _results(stubbed, "q1", "Running")
    _results(stubbed, "q1", status)
    with pytest.raises(SourceError) as info:
        stubbed.source.insights("fields @message", ["/aws/lambda/checkout"], START, END)
    assert info.value.code == status
    assert info.value.operation == "GetQueryResults"
    assert status in str(info.value)
    stubbed.assert_done()


def _scripted(client, operation: str, respond) -> list[dict]:
    """Answer ``operation`` on ``client`` with ``respond(params)`` for as many calls as come."""
    seen: list[dict] = []

    def handler(model, params, **_):
        body = json.loads(params["body"] or b"{}")
        seen.append(body)
        return AWSResponse(None, 200, {}, None), respond(body)

    client.meta.events.register_first(f"before-call.cloudwatch-logs.{operation}", handler)
    return seen


def test_insights_overall_timeout_stops_the_query():
    stub = make_stubbed(insights_timeout=0.2, poll_interval=0.02)
    logs = stub.clients["logs"]
    stub.stubbers["logs"].deactivate()
    _scripted(logs, "StartQuery", lambda body: {"queryId": "slow-1"})
    polls = _scripted(logs, "GetQueryResults", lambda body: {"status": "Running", "results": []})
    stops = _scripted(logs, "StopQuery", lambda body: {"success": True})
    with pytest.raises(QueryTimeoutError) as info:
        stub.source.insights("fields @message", ["/aws/lambda/checkout"], START, END)
    assert "slow-1" in str(info.value)
    assert 3 <= len(polls) <= 11
    assert stops == [{"queryId": "slow-1"}]
    assert stub.source.calls["logs:StopQuery"] == 1


def test_truncated_result_splits_the_window_and_merges_newest_first(stubbed):
    query = "fields @timestamp, @message"
    mid = (START_S + END_S) // 2
    full = [
        _row(**{"@timestamp": "2026-03-01 10:30:00.000", "@message": f"e{i}"})
        for i in range(10_000)
    ]
    _start(stubbed, "whole", query)
    _results(stubbed, "whole", "Complete", full)
    _start(stubbed, "early", query, end=mid)
    _start(stubbed, "late", query, start=mid + 1)
    _results(
        stubbed,
        "early",
        "Complete",
        [_row(**{"@timestamp": "2026-03-01 10:10:00.000", "@message": "early"})],
    )
    _results(
        stubbed,
        "late",
        "Complete",
        [
            _row(**{"@timestamp": "2026-03-01 10:50:00.000", "@message": "late-2"}),
            _row(**{"@timestamp": "2026-03-01 10:40:00.000", "@message": "late-1"}),
        ],
    )
    frame = stubbed.source.insights(query, ["/aws/lambda/checkout"], START, END)
    stubbed.assert_done()
    assert frame["@message"].tolist() == ["late-2", "late-1", "early"]
    assert frame.attrs["query_ids"] == ["whole", "early", "late"]
    assert frame.attrs["messages"] == []


def test_results_are_paged_with_next_token_and_explicit_limit_is_not_split(stubbed):
    query = "fields @message | limit 10000"
    _start(stubbed, "q1", query)
    _results(stubbed, "q1", "Complete", [_row(**{"@message": "a"})] * 6000, nextToken="t2")
    _results(stubbed, "q1", "Complete", [_row(**{"@message": "b"})] * 4000, token="t2")
    frame = stubbed.source.insights(query, ["/aws/lambda/checkout"], START, END)
    stubbed.assert_done()
    assert len(frame) == 10_000  # the limit asked for: not a truncation


def test_split_depth_is_bounded_and_reported():
    stub = make_stubbed(max_split_depth=0)
    query = "fields @message"
    _start(stub, "q1", query)
    _results(stub, "q1", "Complete", [_row(**{"@message": "x"})] * 10_000)
    frame = stub.source.insights(query, ["/aws/lambda/checkout"], START, END)
    stub.assert_done()
    assert len(frame) == 10_000
    assert frame.attrs["messages"][0]["code"] == "Truncated"


def test_insights_many_starts_every_query_before_polling(stubbed):
    order: list[str] = []
    stubbed.clients["logs"].meta.events.register(
        "before-parameter-build.cloudwatch-logs.*",
        lambda model, params, **_: order.append(f"{model.name}:{params.get('queryId', '')}"),
    )
    _start(stubbed, "qa", "fields @message | limit 1")
    _start(stubbed, "qb", "stats count(*) by bin(5m)")
    stubbed.logs.add_client_error("start_query", "MalformedQueryException", "unexpected symbol")
    _results(stubbed, "qa", "Complete", [_row(**{"@message": "a"})])
    _results(
        stubbed,
        "qb",
        "Complete",
        [_row(**{"bin(5m)": "2026-03-01 10:05:00.000", "count(*)": "12"})],
    )
    queries = {
        "a": InsightsQuery("fields @message | limit 1", ("/aws/lambda/checkout",)),
        "b": InsightsQuery("stats count(*) by bin(5m)", ("/aws/lambda/checkout",)),
        "bad": InsightsQuery("fields @message |\n filter x ==== 1", ("/aws/lambda/checkout",)),
        "too_many": InsightsQuery("fields @message", tuple(f"/g/{i}" for i in range(51))),
    }
    out = stubbed.source.insights_many(queries, START, END)
    stubbed.assert_done()
    assert order == [
        "StartQuery:",
        "StartQuery:",
        "StartQuery:",
        "GetQueryResults:qa",
        "GetQueryResults:qb",
    ]
    assert out["a"]["@message"].tolist() == ["a"]
    assert str(out["b"]["bin(5m)"].dtype) == UTC_US
    assert out["b"]["count(*)"].tolist() == [12]
    assert isinstance(out["bad"], QueryError)
    assert "StartQuery" in str(out["bad"])
    assert isinstance(out["too_many"], BadInputError)
    assert "50" in str(out["too_many"])


def test_malformed_query_gets_line_and_column(stubbed):
    query = "fields @message\n| filter x ==== 1"
    stubbed.logs.add_client_error(
        "start_query",
        "MalformedQueryException",
        "unexpected symbol '='",
        modeled_fields={
            "queryCompileError": {
                "location": {"startCharOffset": 27, "endCharOffset": 29},
                "message": "unexpected symbol '='",
            }
        },
    )
    with pytest.raises(QueryError) as info:
        stubbed.source.insights(query, ["/aws/lambda/checkout"], START, END)
    assert (info.value.line, info.value.column) == (2, 12)
    assert "^^" in info.value.context


# -- alarms and CloudTrail ---------------------------------------------------------------------
def _history(minute: int, old: str, new: str) -> dict:
    return {
        "AlarmName": "checkout-errors",
        "AlarmType": "MetricAlarm",
        "Timestamp": _ts(minute),
        "HistoryItemType": "StateUpdate",
        "HistorySummary": f"Alarm updated from {old} to {new}",
        "HistoryData": json.dumps(
            {
                "version": "1.0",
                "oldState": {"stateValue": old},
                "newState": {"stateValue": new, "stateReason": "x"},
            }
        ),
    }


def test_alarm_history_pages_and_parses_history_data(stubbed):
    params = {
        "AlarmName": "checkout-errors",
        "AlarmTypes": ["CompositeAlarm", "MetricAlarm"],
        "StartDate": START.to_pydatetime(),
        "EndDate": END.to_pydatetime(),
        "ScanBy": "TimestampAscending",
    }
    stubbed.cloudwatch.add_response(
        "describe_alarm_history",
        {"AlarmHistoryItems": [_history(5, "OK", "ALARM")], "NextToken": "n2"},
        params,
    )
    stubbed.cloudwatch.add_response(
        "describe_alarm_history",
        {
            "AlarmHistoryItems": [
                _history(20, "ALARM", "OK"),
                {**_history(21, "", ""), "HistoryItemType": "Action", "HistoryData": "not json"},
            ]
        },
        {**params, "NextToken": "n2"},
    )
    frame = stubbed.source.alarm_history("checkout-errors", START, END)
    stubbed.assert_done()
    assert list(frame.columns) == HISTORY_COLUMNS
    assert str(frame["timestamp"].dtype) == UTC_US
    assert frame["new_state"].tolist()[:2] == ["ALARM", "OK"]
    assert frame["old_state"].tolist()[:2] == ["OK", "ALARM"]
    assert frame["data"][0]["newState"]["stateReason"] == "x"
    assert frame["data"][2] == {}


def _event(event_id: str, minute: int, name: str, resource: str, params=None) -> dict:
    record = {"eventID": event_id, "requestParameters": params}
    return {
        "EventId": event_id,
        "EventName": name,
        "ReadOnly": "false",
        "EventTime": _ts(minute),
        "EventSource": "lambda.amazonaws.com",
        "Username": "deployer",
        "Resources": [{"ResourceType": "AWS::Lambda::Function", "ResourceName": resource}],
        "CloudTrailEvent": json.dumps(record),
    }


def test_change_events_one_lookup_per_resource_paged_and_deduplicated(stubbed):
    def params(name, token=None):
        out = {
            "LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": name}],
            "StartTime": START.to_pydatetime(),
            "EndTime": END.to_pydatetime(),
            "MaxResults": 50,
        }
        if token:
            out["NextToken"] = token
        return out

    deploy = _event(
        "e1",
        30,
        "UpdateFunctionCode20150331v2",
        "checkout",
        {"functionName": "checkout", "zipFile": "…"},
    )
    stubbed.cloudtrail.add_response(
        "lookup_events", {"Events": [deploy], "NextToken": "p2"}, params("checkout")
    )
    stubbed.cloudtrail.add_response(
        "lookup_events",
        {"Events": [_event("e0", 10, "UpdateAlias20150331", "checkout")]},
        params("checkout", "p2"),
    )
    stubbed.cloudtrail.add_response("lookup_events", {"Events": [deploy]}, params("live-alias"))
    frame = stubbed.source.change_events(START, END, resource_names=["checkout", "live-alias"])
    stubbed.assert_done()
    assert list(frame.columns) == CHANGE_COLUMNS
    assert frame["event_id"].tolist() == ["e0", "e1"]  # oldest first, e1 once
    assert str(frame["event_time"].dtype) == UTC_US
    assert json.loads(frame["resources"][1]) == [
        {"ResourceType": "AWS::Lambda::Function", "ResourceName": "checkout"}
    ]
    assert json.loads(frame["request_parameters"][1])["functionName"] == "checkout"
    assert pd.isna(frame["request_parameters"][0])
    assert stubbed.source.calls["cloudtrail:LookupEvents"] == 3


def test_change_events_without_names_asks_for_write_events(stubbed):
    stubbed.cloudtrail.add_response(
        "lookup_events",
        {"Events": []},
        {
            "LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "false"}],
            "StartTime": ANY,
            "EndTime": ANY,
            "MaxResults": 50,
        },
    )
    frame = stubbed.source.change_events(START, END)
    stubbed.assert_done()
    assert frame.empty
    assert list(frame.columns) == CHANGE_COLUMNS
    assert str(frame["event_time"].dtype) == UTC_US


# -- error mapping -----------------------------------------------------------------------------
def test_access_denied_maps_to_access_denied_error(stubbed):
    stubbed.cloudwatch.add_client_error(
        "describe_alarms",
        "AccessDenied",
        "User is not authorized to perform cloudwatch:DescribeAlarms",
        http_status_code=403,
    )
    with pytest.raises(AccessDeniedError) as info:
        stubbed.source.describe_alarms(["checkout-errors"])
    assert info.value.operation == "DescribeAlarms"
    assert info.value.code == "AccessDenied"
    assert "docs/aws.md" in str(info.value)
    assert stubbed.source.calls.errors == {"cloudwatch:DescribeAlarms": 1}


@pytest.mark.parametrize("code", ["ThrottlingException", "Throttling", "TooManyRequestsException"])
def test_throttling_maps_to_throttled_error(stubbed, code):
    stubbed.cloudtrail.add_client_error(
        "lookup_events", code, "Rate exceeded", http_status_code=400
    )
    with pytest.raises(ThrottledError) as info:
        stubbed.source.change_events(START, END, resource_names=["checkout"])
    assert info.value.operation == "LookupEvents"
    assert info.value.code == code


def test_unreachable_endpoint_is_a_source_error_with_advice():
    source = AwsSource(
        region=REGION,
        account_id="123456789012",
        endpoint_url="http://127.0.0.1:9",
        session=fake_session(),
        settings=TEST_SETTINGS.__class__(
            retry_mode="standard", max_attempts=1, connect_timeout=1, read_timeout=1
        ),
    )
    with pytest.raises(SourceError) as info:
        source.list_metrics("AWS/Lambda", "Errors")
    assert info.value.code == "EndpointConnectionError"
    assert "AWS_ENDPOINT_URL" in str(info.value)


def test_missing_credentials_is_a_source_error_with_advice(monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    source = AwsSource(
        region=REGION,
        account_id="123456789012",
        endpoint_url="http://127.0.0.1:9",
        settings=TEST_SETTINGS,
    )
    with pytest.raises(SourceError) as info:
        source.list_metrics("AWS/Lambda", "Errors")
    assert info.value.code == "NoCredentials"
    assert "AWS_PROFILE" in str(info.value)


def test_session_and_profile_together_are_refused():
    with pytest.raises(BadInputError):
        AwsSource(region=REGION, profile="x", session=object())  # type: ignore[arg-type]


def test_naive_times_are_refused_everywhere(stubbed):
    naive = datetime(2026, 3, 1, 10, 0)
    aware = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    with pytest.raises(BadInputError):
        stubbed.source.change_events(naive, aware)
    with pytest.raises(BadInputError):
        stubbed.source.insights("fields @message", ["/g"], naive, aware)


def test_a_query_with_its_own_source_is_started_without_log_group_names():
    """AWS refuses StartQuery with both a SOURCE command and logGroupNames."""
    stub = make_stubbed()
    logs = stub.clients["logs"]
    stub.stubbers["logs"].deactivate()
    starts = _scripted(logs, "StartQuery", lambda body: {"queryId": "src-1"})
    _scripted(logs, "GetQueryResults", lambda body: {"status": "Complete", "results": []})
    query = "SOURCE logGroups(namePrefix: ['/aws/lambda/checkout']) | fields @message | limit 5"
    stub.source.insights(query, ["/aws/lambda/checkout"], START, END)
    stub.source.insights("fields @message | limit 5", ["/aws/lambda/checkout"], START, END)
    assert [("logGroupNames" in body) for body in starts] == [False, True]
    assert starts[0]["queryString"] == query
