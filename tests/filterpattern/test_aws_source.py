"""``AwsSource.filter_log_events`` on the wire: FilterLogEvents requests, paging, bounds.

moto only approximates filter patterns (plain words and quoted phrases; JSON and delimited
patterns match everything), so these tests check the requests and the paging against a moto
server, and a stubbed client for what moto cannot do; the pattern semantics are tested on the
local engine (test_fixtures.py, test_local_source.py).
"""

from __future__ import annotations

import pandas as pd
import pytest

from incident_lib.errors import BadInputError, FilterPatternError
from incident_lib.sources import aws as aws_module
from incident_lib.sources.frames import LOG_EVENT_COLUMNS
from tests.aws.conftest import make_stubbed

pytestmark = pytest.mark.aws

# CloudWatch Logs (and moto) reject events older than 14 days: anchor the data near now.
T0 = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(hours=2)).floor("h")
GROUP = "/aws/lambda/checkout"


def ms(ts: pd.Timestamp) -> int:
    return int(ts.value // 1_000_000)


def seed(logs, group=GROUP, stream="2026/03/01/[$LATEST]abc", n=20, offset=0):
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[
            {
                "timestamp": ms(T0 + pd.Timedelta(seconds=10 * i + offset)),
                "message": f"{'ERROR' if i % 4 == 0 else 'INFO'} request {i}",
            }
            for i in range(n)
        ],
    )


def record_requests(source):
    """Every FilterLogEvents request's parameters, as sent."""
    sent: list[dict] = []
    source.client("logs").meta.events.register(
        "provide-client-params.logs.FilterLogEvents",
        lambda params, **_: sent.append(dict(params)),
    )
    return sent


def test_pattern_window_and_prefix_are_sent(aws_source, moto_clients):
    seed(moto_clients("logs"))
    sent = record_requests(aws_source)
    end = T0 + pd.Timedelta(minutes=10)
    frame = aws_source.filter_log_events(
        [GROUP], T0, end, filter_pattern="ERROR", log_stream_prefix="2026/03/01"
    )
    assert sent[0] == {
        "logGroupName": GROUP,
        "startTime": ms(T0),
        "endTime": ms(end),
        "filterPattern": "ERROR",
        "logStreamNamePrefix": "2026/03/01",
        "limit": 10_000,
    }
    # moto's approximation of a plain-word pattern is a substring test: enough to see the
    # pattern reached the server and the answer came back in the shared frame shape.
    assert frame["message"].tolist() == [f"ERROR request {i}" for i in (0, 4, 8, 12, 16)]
    assert list(frame.columns) == LOG_EVENT_COLUMNS
    assert str(frame["timestamp"].dtype) == "datetime64[us, UTC]"
    assert frame["timestamp"].is_monotonic_increasing
    assert set(frame["log_group"]) == {GROUP}
    assert frame.attrs["truncated"] is False


def test_pages_with_next_token_until_the_limit(aws_source, moto_clients, monkeypatch):
    seed(moto_clients("logs"), n=20)
    monkeypatch.setattr(aws_module, "FILTER_PAGE_SIZE", 3)
    sent = record_requests(aws_source)
    frame = aws_source.filter_log_events([GROUP], T0, T0 + pd.Timedelta(hours=1), limit=7)
    assert len(frame) == 7
    assert frame.attrs["truncated"] is True
    assert frame["message"].tolist()[0] == "ERROR request 0"
    # 8 events asked for (one more than the limit tells there are more): 3 + 3 + 2.
    assert [r["limit"] for r in sent] == [3, 3, 2]
    assert "nextToken" not in sent[0]
    assert sent[1]["nextToken"] and sent[2]["nextToken"] != sent[1]["nextToken"]
    assert aws_source.calls["logs:FilterLogEvents"] == 3


def test_groups_merge_oldest_first(aws_source, moto_clients):
    logs = moto_clients("logs")
    seed(logs, group="/a", n=3)
    seed(logs, group="/b", n=3, offset=5)
    frame = aws_source.filter_log_events(["/a", "/b", "/a"], T0, T0 + pd.Timedelta(hours=1))
    assert frame["log_group"].tolist() == ["/a", "/b", "/a", "/b", "/a", "/b"]
    assert aws_source.calls["logs:FilterLogEvents"] == 2  # each group once
    assert frame.attrs["truncated"] is False


def test_missing_group_is_a_source_error(aws_source):
    with pytest.raises(Exception) as info:
        aws_source.filter_log_events(["/nope"], T0, T0 + pd.Timedelta(hours=1))
    assert "log group '/nope'" in str(info.value)


def test_malformed_pattern_fails_before_any_call(aws_source):
    with pytest.raises(FilterPatternError):
        aws_source.filter_log_events([GROUP], T0, T0, filter_pattern='{ $.a = "x }')
    with pytest.raises(BadInputError):
        aws_source.filter_log_events([GROUP], T0, T0, limit=0)
    assert aws_source.calls.total() == 0


def test_empty_pages_are_followed_and_a_repeated_token_ends_paging():
    stub = make_stubbed()
    base = {"logGroupName": GROUP, "startTime": 0, "endTime": 60_000, "limit": 10_000}
    ev = {
        "logStreamName": "s",
        "timestamp": 1_000,
        "ingestionTime": 2_000,
        "message": "m",
        "eventId": "1",
    }
    stub.logs.add_response(
        "filter_log_events",
        {"events": [], "nextToken": "t1"},
        dict(base, filterPattern="?ERROR ?WARN"),
    )
    stub.logs.add_response(
        "filter_log_events",
        {"events": [ev], "nextToken": "t2"},
        dict(base, filterPattern="?ERROR ?WARN", nextToken="t1", limit=10_000),
    )
    stub.logs.add_response(
        "filter_log_events",
        {"events": [], "nextToken": "t2"},
        dict(base, filterPattern="?ERROR ?WARN", nextToken="t2", limit=10_000),
    )
    start = pd.Timestamp(0, tz="UTC")
    frame = stub.source.filter_log_events(
        [GROUP], start, start + pd.Timedelta(minutes=1), filter_pattern="?ERROR ?WARN"
    )
    stub.assert_done()
    assert frame.to_dict("records") == [
        {
            "log_group": GROUP,
            "log_stream": "s",
            "timestamp": pd.Timestamp(1_000, unit="ms", tz="UTC"),
            "ingestion_time": pd.Timestamp(2_000, unit="ms", tz="UTC"),
            "message": "m",
            "event_id": "1",
        }
    ]
