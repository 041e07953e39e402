"""AwsSource end to end against a moto server: real boto3 clients, real HTTP on 127.0.0.1."""

from __future__ import annotations

import pandas as pd
import pytest

from incident_lib.errors import BadInputError, SourceError
from incident_lib.sources.aws import AwsSource
from incident_lib.sources.base import InsightsQuery, MetricQuery
from incident_lib.sources.frames import LOG_EVENT_COLUMNS, METRIC_COLUMNS

from .conftest import ACCOUNT_ID, REGION, TEST_SETTINGS

pytestmark = pytest.mark.aws

# CloudWatch Logs (and moto) reject events older than 14 days: anchor the data near now.
T0 = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(hours=3)).floor("h")
UTC_US = "datetime64[us, UTC]"


def _seed_metrics(cloudwatch, functions=("checkout", "orders", "search"), points=60) -> None:
    """``Errors`` for a few functions, one datapoint a minute (value = minute index)."""
    for fn in functions:
        data = [
            {
                "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": fn}],
                "Timestamp": (T0 + pd.Timedelta(minutes=i)).to_pydatetime(),
                "Value": float(i),
                "Unit": "Count",
            }
            for i in range(points)
        ]
        for i in range(0, len(data), 20):
            cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=data[i : i + 20])


def _seed_logs(logs, group="/aws/lambda/checkout", n=30, stream="2026/03/01/[$LATEST]abc"):
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[
            {
                "timestamp": int((T0 + pd.Timedelta(seconds=10 * i)).value // 1_000_000),
                "message": f"{'ERROR' if i % 5 == 0 else 'INFO'} request {i} latency={i * 3}",
            }
            for i in range(n)
        ],
    )


def test_metric_data_returns_the_long_typed_frame(aws_source, moto_clients):
    _seed_metrics(moto_clients("cloudwatch"))
    queries = [
        MetricQuery(f"m{i}", "AWS/Lambda", "Errors", {"FunctionName": fn}, "Sum", 60)
        for i, fn in enumerate(("checkout", "orders"))
    ]
    end = T0 + pd.Timedelta(minutes=30)
    frame = aws_source.metric_data(queries, T0, end)
    assert list(frame.columns) == METRIC_COLUMNS
    assert str(frame["timestamp"].dtype) == UTC_US
    assert frame["value"].dtype == "float64"
    assert set(frame["id"]) == {"m0", "m1"}
    m0 = frame[frame["id"] == "m0"]
    assert m0["timestamp"].is_monotonic_increasing
    assert m0["timestamp"].min() == T0
    assert m0["timestamp"].max() < end  # end is exclusive
    assert m0["value"].tolist() == [float(i) for i in range(len(m0))]
    assert aws_source.calls["cloudwatch:GetMetricData"] == 1
    assert frame.attrs["messages"] == []


def test_metric_data_rejects_naive_times(aws_source):
    q = MetricQuery("m1", "AWS/Lambda", "Errors", {"FunctionName": "x"}, "Sum", 60)
    with pytest.raises(BadInputError):
        aws_source.metric_data([q], pd.Timestamp("2026-03-01 10:00"), T0)


def test_list_metrics_filters_on_the_exact_dimension_set(aws_source, moto_clients):
    cloudwatch = moto_clients("cloudwatch")
    _seed_metrics(cloudwatch, points=2)
    cloudwatch.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": "Errors",
                "Dimensions": [
                    {"Name": "FunctionName", "Value": "checkout"},
                    {"Name": "Resource", "Value": "checkout:live"},
                ],
                "Timestamp": T0.to_pydatetime(),
                "Value": 1.0,
            }
        ],
    )
    frame = aws_source.list_metrics("AWS/Lambda", "Errors", dimension_names=["FunctionName"])
    assert list(frame.columns) == ["namespace", "metric_name", "dimensions"]
    assert [d["FunctionName"] for d in frame["dimensions"]] == ["checkout", "orders", "search"]
    everything = aws_source.list_metrics("AWS/Lambda", "Errors")
    assert len(everything) == 4


def test_insights_on_moto_types_the_columns(aws_source, moto_clients):
    _seed_logs(moto_clients("logs"))
    frame = aws_source.insights(
        "fields @timestamp, @message | sort @timestamp asc | limit 5",
        ["/aws/lambda/checkout"],
        T0,
        T0 + pd.Timedelta(hours=1),
    )
    assert len(frame) == 5
    assert str(frame["@timestamp"].dtype) == UTC_US
    assert frame["@timestamp"].iloc[0] == T0
    assert frame["@timestamp"].is_monotonic_increasing
    assert frame["@message"].iloc[0].startswith("ERROR request 0")
    assert aws_source.calls["logs:StartQuery"] == 1
    assert aws_source.calls["logs:GetQueryResults"] >= 1
    assert len(frame.attrs["query_ids"]) == 1


def test_insights_many_isolates_a_missing_log_group(aws_source, moto_clients):
    _seed_logs(moto_clients("logs"))
    out = aws_source.insights_many(
        {
            "recent": InsightsQuery(
                "fields @timestamp, @message | limit 3", ("/aws/lambda/checkout",)
            ),
            "missing": InsightsQuery("fields @message", ("/aws/lambda/nope",)),
        },
        T0,
        T0 + pd.Timedelta(hours=1),
    )
    assert len(out["recent"]) == 3
    assert isinstance(out["missing"], SourceError)
    assert out["missing"].code == "ResourceNotFoundException"
    assert "/aws/lambda/nope" in str(out["missing"])
    assert "StartQuery" in str(out["missing"])


def test_log_events_oldest_first_bounded(aws_source, moto_clients):
    logs = moto_clients("logs")
    _seed_logs(logs, n=30)
    _seed_logs(logs, group="/aws/lambda/orders", n=5, stream="s2")
    frame = aws_source.log_events(
        ["/aws/lambda/checkout", "/aws/lambda/orders"], T0, T0 + pd.Timedelta(hours=1), limit=12
    )
    assert list(frame.columns) == LOG_EVENT_COLUMNS
    assert len(frame) == 12
    assert frame["timestamp"].is_monotonic_increasing
    assert str(frame["timestamp"].dtype) == UTC_US
    assert str(frame["ingestion_time"].dtype) == UTC_US
    assert set(frame["log_group"]) == {"/aws/lambda/checkout", "/aws/lambda/orders"}
    # the window is honoured: events at 10 s steps from T0, so [T0+60s, T0+100s] holds 5
    window = aws_source.log_events(
        ["/aws/lambda/checkout"], T0 + pd.Timedelta(seconds=60), T0 + pd.Timedelta(seconds=100)
    )
    assert window["message"].str.extract(r"request (\d+)")[0].astype(int).tolist() == [
        6,
        7,
        8,
        9,
        10,
    ]


def test_log_events_of_a_missing_group_names_it(aws_source, moto):
    with pytest.raises(SourceError, match="/aws/lambda/gone"):
        aws_source.log_events(["/aws/lambda/gone"], T0, T0 + pd.Timedelta(minutes=5))


def test_max_log_events_caps_the_limit(moto, moto_clients):
    _seed_logs(moto_clients("logs"), n=20)
    source = AwsSource(region=REGION, endpoint_url=moto, settings=TEST_SETTINGS, max_log_events=7)
    frame = source.log_events(["/aws/lambda/checkout"], T0, T0 + pd.Timedelta(hours=1))
    assert len(frame) == 7


def test_describe_alarms_returns_store_shaped_items(aws_source, moto_clients):
    cloudwatch = moto_clients("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="checkout-errors",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": "checkout"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(
        AlarmName="checkout-errors", StateValue="ALARM", StateReason="Threshold Crossed"
    )
    items = aws_source.describe_alarms(["checkout-errors", "not-there"])
    assert [i["AlarmName"] for i in items] == ["checkout-errors"]
    assert items[0]["StateValue"] == "ALARM"
    assert isinstance(items[0]["StateUpdatedTimestamp"], str)  # ISO string, as a store keeps it
    assert pd.Timestamp(items[0]["StateUpdatedTimestamp"]).tzinfo is not None


def test_account_id_comes_from_sts_lazily(aws_source):
    assert aws_source.calls.total() == 0
    assert aws_source.account_id == ACCOUNT_ID
    assert aws_source.account_id == ACCOUNT_ID
    assert aws_source.calls["sts:GetCallerIdentity"] == 1


def test_frames_match_the_local_source_on_the_same_events(aws_source, moto_clients, tmp_path):
    """A notebook cannot tell AwsSource from LocalSource: same columns, dtypes and values."""
    from incident_lib.sources.local import LocalSource
    from incident_lib.store.writer import StoreWriter

    logs = moto_clients("logs")
    _seed_logs(logs, n=12, stream="s1")
    events = logs.filter_log_events(logGroupName="/aws/lambda/checkout")["events"]
    with StoreWriter(tmp_path / "store") as writer:
        writer.add_log_events(
            pd.DataFrame(
                {
                    "timestamp": pd.to_datetime(
                        [e["timestamp"] for e in events], unit="ms", utc=True
                    ),
                    "ingestion_time": pd.to_datetime(
                        [e["ingestionTime"] for e in events], unit="ms", utc=True
                    ),
                    "message": [e["message"] for e in events],
                    "log_stream": [e["logStreamName"] for e in events],
                }
            ),
            log_group="/aws/lambda/checkout",
        )
    local = LocalSource(tmp_path / "store")
    end = T0 + pd.Timedelta(hours=1)
    query = "fields @timestamp, @message | sort @timestamp asc | limit 4"
    remote_q = aws_source.insights(query, ["/aws/lambda/checkout"], T0, end)
    local_q = local.insights(query, ["/aws/lambda/checkout"], T0, end)
    cols = ["@timestamp", "@message"]
    pd.testing.assert_frame_equal(remote_q[cols], local_q[cols])
    remote_e = aws_source.log_events(["/aws/lambda/checkout"], T0, end)
    local_e = local.log_events(["/aws/lambda/checkout"], T0, end)
    assert list(remote_e.columns) == list(local_e.columns)
    assert remote_e.dtypes.to_dict() == local_e.dtypes.to_dict()
    same = ["log_group", "log_stream", "timestamp", "ingestion_time", "message"]
    pd.testing.assert_frame_equal(remote_e[same], local_e[same])


def test_a_query_the_service_cannot_answer_costs_only_itself(aws_source, moto_clients) -> None:
    """moto answers a percentile with an internal error (it has none); AWS can fail one query
    of a batch the same way. The other queries of the batch still come back."""
    now = pd.Timestamp.now(tz="UTC").floor("min")
    dims = [{"Name": "FunctionName", "Value": "f"}]
    moto_clients("cloudwatch").put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": "Duration",
                "Dimensions": dims,
                "Timestamp": now.to_pydatetime(),
                "StatisticValues": {"SampleCount": 4, "Sum": 400, "Minimum": 50, "Maximum": 150},
            }
        ],
    )
    queries = [
        MetricQuery("pct", "AWS/Lambda", "Duration", {"FunctionName": "f"}, "p95", 60),
        MetricQuery("peak", "AWS/Lambda", "Duration", {"FunctionName": "f"}, "Maximum", 60),
    ]
    frame = aws_source.metric_data(
        queries, now - pd.Timedelta(minutes=5), now + pd.Timedelta(minutes=5)
    )
    assert frame["id"].tolist() == ["peak"]
    assert frame["value"].tolist() == [150.0]
    assert [m["id"] for m in frame.attrs["messages"]] == ["pct"]
