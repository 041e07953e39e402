"""The wire path end to end: ``incident investigate --source aws`` against a moto server.

moto answers GetMetricData (no percentiles), Logs Insights (``fields``/``sort``/``limit``
only), DescribeAlarms and FilterLogEvents; it has no DescribeAlarmHistory and no CloudTrail
LookupEvents. So the investigation must run every section it can, say why the others failed,
still write the report, exit with 3, and count its API calls.
"""

from __future__ import annotations

import json
import uuid

import pandas as pd
import pytest

from incident_lib.alarm import parse_alarm
from incident_lib.cli import main
from incident_lib.run import investigate
from incident_lib.timeutil import utc_now
from tests.deploy.policy import assert_policy_allows

pytestmark = [pytest.mark.aws, pytest.mark.notebooks]

FUNCTION = "checkout-api"
GROUP = f"/aws/lambda/{FUNCTION}"
ALARM = "checkout-api-errors"


def _seed(clients, alarm_at: pd.Timestamp) -> None:
    """75 minutes of a small Lambda: 20 invocations a minute, errors from 10 minutes before
    the alarm. Times are recent (moto refuses log events older than 14 days)."""
    cw, logs = clients("cloudwatch"), clients("logs")
    start = (alarm_at - pd.Timedelta(minutes=60)).floor("min")
    minutes = pd.date_range(start, alarm_at + pd.Timedelta(minutes=10), freq="1min")
    onset = alarm_at - pd.Timedelta(minutes=10)
    dims = [{"Name": "FunctionName", "Value": FUNCTION}]
    data, events = [], []
    for ts in minutes:
        errors = 5.0 if ts >= onset else 0.0
        for name, value in (("Invocations", 20.0), ("Errors", errors), ("Throttles", 0.0)):
            data.append(
                {
                    "MetricName": name,
                    "Dimensions": dims,
                    "Timestamp": ts.to_pydatetime(),
                    "Value": value,
                    "Unit": "Count",
                }
            )
        data.append(
            {
                "MetricName": "Duration",
                "Dimensions": dims,
                "Timestamp": ts.to_pydatetime(),
                "Unit": "Milliseconds",
                "StatisticValues": {"SampleCount": 20, "Sum": 2000, "Minimum": 50, "Maximum": 180},
            }
        )
        for i in range(3 if errors else 1):
            rid = str(uuid.UUID(int=int(ts.timestamp()) * 10 + i))
            ms = int(ts.timestamp() * 1000) + i * 1000
            events.append({"timestamp": ms, "message": f"START RequestId: {rid} Version: 42"})
            if errors:
                events.append(
                    {
                        "timestamp": ms + 5,
                        "message": json.dumps(
                            {
                                "level": "ERROR",
                                "requestId": rid,
                                "errorType": "KeyError",
                                "errorMessage": "'currency'",
                            }
                        ),
                    }
                )
            events.append({"timestamp": ms + 9, "message": f"END RequestId: {rid}"})
    for i in range(0, len(data), 500):
        cw.put_metric_data(Namespace="AWS/Lambda", MetricData=data[i : i + 500])
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="2026/11/23/[42]abc")
    logs.put_log_events(logGroupName=GROUP, logStreamName="2026/11/23/[42]abc", logEvents=events)
    cw.put_metric_alarm(
        AlarmName=ALARM,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=dims,
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=3,
        DatapointsToAlarm=2,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    _create_function(clients)


def _create_function(clients) -> None:
    """The function itself, so the runbook's get-function-configuration, list-aliases and
    list-versions-by-function steps are answered over the wire (moto stores functions without
    running them)."""
    import io
    import zipfile

    iam, lam = clients("iam"), clients("lambda")
    role = iam.create_role(
        RoleName="checkout-api-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {}\n")
    lam.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
        Timeout=10,
        MemorySize=512,
        Environment={"Variables": {"DB_PASSWORD": "hunter2-over-the-wire", "LOG_LEVEL": "INFO"}},
        Publish=True,
    )
    lam.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion="1")


def _event(alarm_at: pd.Timestamp) -> dict:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": alarm_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{ALARM}"],
        "detail": {
            "alarmName": ALARM,
            "state": {
                "value": "ALARM",
                "reason": "Threshold Crossed",
                "timestamp": alarm_at.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            },
            "previousState": {
                "value": "OK",
                "reason": "ok",
                "timestamp": "2026-01-01T00:00:00.000+0000",
            },
            "configuration": {
                "metrics": [
                    {
                        "id": "m1",
                        "returnData": True,
                        "metricStat": {
                            "metric": {
                                "namespace": "AWS/Lambda",
                                "name": "Errors",
                                "dimensions": {"FunctionName": FUNCTION},
                            },
                            "period": 60,
                            "stat": "Sum",
                        },
                    }
                ]
            },
        },
    }


@pytest.fixture
def alarm_at(moto, moto_clients) -> pd.Timestamp:
    at = pd.Timestamp(utc_now()).floor("min") - pd.Timedelta(minutes=15)
    _seed(moto_clients, at)
    return at


def test_investigation_over_the_wire(alarm_at, moto, tmp_path) -> None:
    alarm = parse_alarm(_event(alarm_at))
    result = investigate(alarm, source="aws", endpoint_url=moto, out=tmp_path)

    statuses = {s.name: s.status for s in result.findings.sections}
    errors = {s.name: s.error for s in result.findings.sections}
    # moto has no DescribeAlarmHistory: the section shows the series and says what is missing
    # (never silent), so the report is partial.
    assert statuses["The alarm"] == "partial", errors
    assert "alarm history unavailable" in errors["The alarm"]
    assert statuses["Traffic and errors"] == "ok", errors
    assert statuses["Error logs"] == "ok", errors
    # Read-only AWS calls went over the wire and their answers were masked.
    assert statuses["What is deployed"] == "ok", errors
    ops = {q.operation for q in result.findings.queries}
    assert {"lambda:GetFunctionConfiguration", "lambda:ListAliases"} <= ops
    assert "hunter2-over-the-wire" not in result.notebook.read_text()
    assert "hunter2-over-the-wire" not in result.report.read_text()
    failed = {s.name: s.error for s in result.findings.sections if s.status == "failed"}
    assert set(failed) <= {"Changes"}, failed  # CloudTrail LookupEvents: not in moto
    assert result.report.is_file()
    assert result.exit_code == 3
    calls = result.findings.stats["api_calls"]
    assert calls.get("cloudwatch:GetMetricData", 0) >= 2
    assert calls.get("logs:StartQuery", 0) >= 1
    assert calls.get("logs:GetQueryResults", 0) >= 1
    # deploy/template.yaml's read-only policy allows every call the investigation made.
    assert_policy_allows(calls)


def test_investigate_by_alarm_name_over_the_wire(
    alarm_at, moto, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto)
    code = main(
        [
            "investigate",
            "--alarm-name",
            ALARM,
            "--source",
            "aws",
            "--region",
            "us-east-1",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code in (0, 3)
    assert capsys.readouterr().out.strip().endswith("report.html")
