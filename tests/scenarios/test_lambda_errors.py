from __future__ import annotations

import json
import re

import pandas as pd
import pyarrow.parquet as pq
import pytest

from incident_lib.scenarios import build_store
from incident_lib.scenarios.alarms import MetricAlarmSpec, evaluate_alarm
from incident_lib.scenarios.lambda_errors import _alarm_spec
from incident_lib.store import open_store

REPORT = re.compile(
    r"^REPORT RequestId: (?P<rid>\S+)\tDuration: (?P<d>[\d.]+) ms\tBilled Duration: (?P<b>\d+) ms"
    r"\tMemory Size: (?P<m>\d+) MB\tMax Memory Used: (?P<mm>\d+) MB\t"
    r"(?:Init Duration: (?P<init>[\d.]+) ms\t)?\n$"
)
STREAM = re.compile(r"^2026/11/18/\[(\$LATEST|\d+)\][0-9a-f]{32}$")


def _tables(store):
    return {name: pq.read_table(store.table_path(name)) for name in store.descriptor.tables}


def test_same_seed_same_tables_other_seed_differs(lambda_errors_store, tmp_path):
    again = build_store("lambda_errors", tmp_path / "again", seed=7)
    a, b = _tables(lambda_errors_store), _tables(again)
    for name in a:
        assert a[name].equals(b[name]), name
    first = lambda_errors_store.descriptor.model_dump(exclude={"created"})
    assert first == again.descriptor.model_dump(exclude={"created"})
    other = build_store("lambda_errors", tmp_path / "other", seed=8)
    assert not _tables(other)["logs"].equals(a["logs"])
    assert (
        other.ground_truth["culprit_event_id"]
        != lambda_errors_store.ground_truth["culprit_event_id"]
    )


def test_store_validates_and_volume_is_bounded(lambda_errors_store):
    store = open_store(lambda_errors_store.path)
    rows = {n: t.rows for n, t in store.descriptor.tables.items()}
    assert 40_000 < rows["logs"] < 150_000
    assert rows["metrics"] < 120_000
    assert rows["changes"] >= 8
    _start, end = store.time_range  # includes the alarm's creation, days before
    assert end <= pd.Timestamp("2026-11-18T15:01Z")
    lo, hi = store.connect().sql("select min(timestamp), max(timestamp) from logs").df().iloc[0]
    assert pd.Timestamp("2026-11-18T10:59Z") <= lo and hi <= pd.Timestamp("2026-11-18T15:01Z")
    scenario = store.descriptor.scenario
    assert {"name", "seed", "alert_type", "alarm_events", "ground_truth"} <= set(scenario)


def test_errors_metric_equals_error_invocations_in_logs(lambda_errors_store):
    con = lambda_errors_store.connect()
    logged = con.sql(r"""
        with starts as (
          select regexp_extract(message, 'START RequestId: (\S+)', 1) rid, timestamp t
          from logs where message like 'START RequestId:%'),
        errs as (
          select split_part(message, chr(9), 2) rid from logs
          where split_part(message, chr(9), 3) = 'ERROR')
        select date_trunc('minute', s.t) as "minute", count(*) as n
        from errs e join starts s using (rid) group by 1""").df()
    metric = con.sql("""
        select timestamp as "minute", sum as n from metrics
        where metric_name = 'Errors' and dimensions = '{"FunctionName":"checkout-api"}'
        """).df()
    merged = metric.merge(logged, on="minute", how="left", suffixes=("_metric", "_logs"))
    merged["n_logs"] = merged["n_logs"].fillna(0)
    assert len(metric) == 240
    assert (merged["n_metric"] == merged["n_logs"]).all()
    inv = con.sql("""select sum(sum) from metrics where metric_name = 'Invocations'
                     and dimensions = '{"FunctionName":"checkout-api"}'""").fetchall()[0][0]
    starts = con.sql("select count(*) from logs where message like 'START %'").fetchall()[0][0]
    assert inv == starts


def test_platform_lines_have_the_lambda_format(lambda_errors_store):
    con = lambda_errors_store.connect()
    reports = [
        r[0] for r in con.sql("select message from logs where message like 'REPORT %'").fetchall()
    ]
    starts = con.sql("select count(*) from logs where message like 'START %'").fetchall()[0][0]
    assert len(reports) == starts
    parsed = [REPORT.match(m) for m in reports]
    assert all(parsed)
    assert any(p["init"] for p in parsed) and not all(p["init"] for p in parsed)
    for p in parsed[:500]:
        assert int(p["b"]) >= float(p["d"])
    streams = [r[0] for r in con.sql("select distinct log_stream from logs").fetchall()]
    assert all(STREAM.match(s) for s in streams)
    versions = {STREAM.match(s).group(1) for s in streams}
    assert versions == {"41", "42"}


def test_new_error_lines_carry_a_stack_trace(lambda_errors_store):
    con = lambda_errors_store.connect()
    line = con.sql("select message from logs where message like '%KeyError%' limit 1").fetchall()
    body = json.loads(line[0][0].split("\t", 3)[3])
    assert body["errorType"] == "KeyError" and body["errorMessage"] == "'currency'"
    assert any("pricing.py" in frame for frame in body["stackTrace"])


def test_hostile_strings_are_in_the_logs(lambda_errors_store):
    con = lambda_errors_store.connect()
    for item in lambda_errors_store.ground_truth["hostile_strings"]:
        text = item["text"].replace("'", "''")
        n = con.sql(f"select count(*) from logs where contains(message, '{text}')").fetchall()
        assert n[0][0] >= 1, item


def _history(store):
    hist = store.read("alarm_history").sort_values("timestamp")
    return hist[hist["history_item_type"] == "StateUpdate"]


def test_alarm_history_agrees_with_an_honest_evaluation(lambda_errors_store):
    con = lambda_errors_store.connect()
    errors = con.sql("""select timestamp, sum from metrics where metric_name = 'Errors'
        and dimensions = '{"FunctionName":"checkout-api"}' order by 1""").df()
    series = errors.set_index("timestamp")["sum"]
    spec = _alarm_spec()
    # Independent check of the 2-of-3 rule: first minute whose last three periods hold two
    # values above the threshold.
    breach = (series > spec.threshold).astype(int).rolling(3).sum() >= 2
    first = breach[breach].index[0]
    states = _history(lambda_errors_store)
    to_alarm = states[states["history_summary"] == "Alarm updated from OK to ALARM"]
    assert len(to_alarm) == 1
    fired = to_alarm["timestamp"].iloc[0]
    assert first + pd.Timedelta(minutes=1) < fired < first + pd.Timedelta(minutes=2)
    truth = lambda_errors_store.ground_truth
    assert fired == pd.Timestamp(truth["alarm_state_change_time"])
    assert pd.Timestamp(truth["deploy_time"]) < fired
    data = json.loads(to_alarm["history_data"].iloc[0])
    assert data["newState"]["stateValue"] == "ALARM"
    assert data["newState"]["stateReasonData"]["threshold"] == 5.0
    config = lambda_errors_store.read("alarm_history")
    assert "ConfigurationUpdate" in set(config["history_item_type"])


def test_evaluate_alarm_m_of_n_and_recovery():
    spec = MetricAlarmSpec(
        name="a",
        description="",
        namespace="N",
        metric_name="M",
        dimensions={"D": "x"},
        statistic="Sum",
        period=60,
        evaluation_periods=3,
        datapoints_to_alarm=2,
        threshold=5.0,
        comparison="GreaterThanThreshold",
        treat_missing="notBreaching",
        account_id="1",
        region="us-east-1",
        topic_arn="arn:t",
        configured=pd.Timestamp("2026-01-01T00:00Z"),
    )
    idx = pd.date_range("2026-01-01T10:00Z", periods=8, freq="min")
    values = pd.Series([0, 9, 0, 0, 9, 9, 0, 0], index=idx, dtype=float)
    out = evaluate_alarm(spec, values)
    assert [(t.old_state, t.new_state) for t in out] == [("OK", "ALARM"), ("ALARM", "OK")]
    assert out[0].time == idx[5] + pd.Timedelta(seconds=100)
    assert (
        "2 out of the last 3 datapoints [9.0 (01/01/26 10:05:00), 9.0 (01/01/26 10:04:00)]"
        in out[0].reason
    )
    nan = pd.Series([9, float("nan"), 9], index=idx[:3])
    assert [t.new_state for t in evaluate_alarm(spec, nan)] == ["ALARM"]


def test_eventbridge_event_shape(lambda_errors_store):
    event = lambda_errors_store.descriptor.scenario["alarm_events"]["eventbridge"]
    assert event["source"] == "aws.cloudwatch"
    assert event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["resources"] == [
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-api-errors"
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    detail = event["detail"]
    assert detail["state"]["value"] == "ALARM" and detail["previousState"]["value"] == "OK"
    assert re.fullmatch(r".*\.\d{3}\+0000", detail["state"]["timestamp"])
    reason = json.loads(detail["state"]["reasonData"])
    assert reason["threshold"] == 5.0 and reason["period"] == 60
    metric = detail["configuration"]["metrics"][0]["metricStat"]
    assert metric["metric"] == {
        "namespace": "AWS/Lambda",
        "name": "Errors",
        "dimensions": {"FunctionName": "checkout-api"},
    }
    assert metric["stat"] == "Sum"


def test_sns_message_shape(lambda_errors_store):
    events = lambda_errors_store.descriptor.scenario["alarm_events"]
    msg = events["sns"]
    assert msg["NewStateValue"] == "ALARM" and msg["OldStateValue"] == "OK"
    assert msg["Region"] == "US East (N. Virginia)"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", msg["StateChangeTime"])
    trigger = msg["Trigger"]
    assert trigger["Statistic"] == "SUM" and trigger["StatisticType"] == "Statistic"
    assert trigger["Dimensions"] == [{"value": "checkout-api", "name": "FunctionName"}]
    assert trigger["EvaluationPeriods"] == 3 and trigger["DatapointsToAlarm"] == 2
    assert trigger["TreatMissingData"].split()[-1] == "notBreaching"
    assert msg["NewStateReason"].startswith("Threshold Crossed: ")
    record = events["sns_lambda_event"]["Records"][0]["Sns"]
    assert json.loads(record["Message"]) == msg
    truth = pd.Timestamp(lambda_errors_store.ground_truth["alarm_state_change_time"])
    assert pd.Timestamp(msg["StateChangeTime"].replace("+0000", "+00:00")) == truth


def test_changes_include_the_deploy_and_the_distractors(lambda_errors_store):
    changes = lambda_errors_store.read("changes").set_index("event_id")
    truth = lambda_errors_store.ground_truth
    culprit = changes.loc[truth["culprit_event_id"]]
    assert culprit["event_name"] == "UpdateAlias20150331"
    assert culprit["event_source"] == "lambda.amazonaws.com"
    assert json.loads(culprit["request_parameters"])["functionVersion"] == "42"
    record = json.loads(culprit["cloudtrail_event"])
    assert record["eventID"] == truth["culprit_event_id"]
    assert record["userIdentity"]["type"] == "AssumedRole"
    code = changes.loc[truth["code_change_event_id"]]
    assert code["event_name"] == "UpdateFunctionCode20150331v2"
    assert code["event_time"] < culprit["event_time"]
    names = set(changes["event_name"])
    assert {"PutRolePolicy", "UpdateFunctionConfiguration20150331v2"} <= names


@pytest.mark.parametrize("key", ["onset", "deploy_time", "alarm_state_change_time"])
def test_ground_truth_times_are_utc(lambda_errors_store, key):
    assert pd.Timestamp(lambda_errors_store.ground_truth[key]).utcoffset() == pd.Timedelta(0)
