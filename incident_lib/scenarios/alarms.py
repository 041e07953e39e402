"""A metric alarm: its honest evaluation over a generated series, and every record AWS keeps
or sends about it: the DescribeAlarms item, DescribeAlarmHistory items (facts §2.7), the
EventBridge "CloudWatch Alarm State Change" event (§4.2) and the SNS message (§4.1), with the
reason text and ``reasonData`` of §4.3."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from incident_lib.scenarios.ids import new_uuid

REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-central-1": "EU (Frankfurt)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
}

_COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
#: How long after a period ends CloudWatch evaluates it (the ``queryDate`` in AWS samples).
EVALUATION_DELAY = pd.Timedelta(seconds=40)
_SNS_STAT = {
    "Sum": "SUM",
    "Average": "AVERAGE",
    "Maximum": "MAXIMUM",
    "Minimum": "MINIMUM",
    "SampleCount": "SAMPLE_COUNT",
}


def aws_ms(ts: pd.Timestamp) -> str:
    """``2026-11-18T13:50:41.123+0000``: CloudWatch's alarm time format (offset without colon)."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}+0000"


def _reason_time(ts: pd.Timestamp) -> str:
    return ts.strftime("%d/%m/%y %H:%M:%S")  # dd/MM/yy in reason texts (facts §4.3)


@dataclass(frozen=True)
class MetricAlarmSpec:
    """A single-metric alarm's definition (what PutMetricAlarm took)."""

    name: str
    description: str
    namespace: str
    metric_name: str
    dimensions: dict[str, str]
    statistic: str
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing: str
    account_id: str
    region: str
    topic_arn: str
    configured: pd.Timestamp
    unit: str | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:cloudwatch:{self.region}:{self.account_id}:alarm:{self.name}"

    def breaches(self, value: float) -> bool:
        return bool(_COMPARISONS[self.comparison][0](value, self.threshold))


@dataclass(frozen=True)
class Transition:
    """One state change: when it was evaluated, from and to, and why."""

    time: pd.Timestamp
    old_state: str
    new_state: str
    reason: str
    reason_data: dict[str, Any] = field(default_factory=dict)

    @property
    def reason_data_json(self) -> str:
        return json.dumps(self.reason_data, separators=(",", ":"))


def creation_transition(spec: MetricAlarmSpec, when: pd.Timestamp) -> Transition:
    """INSUFFICIENT_DATA -> OK right after creation, with no data yet (missing treated as not
    breaching)."""
    n = spec.evaluation_periods
    return Transition(
        time=when,
        old_state="INSUFFICIENT_DATA",
        new_state="OK",
        reason=(
            f"Threshold Crossed: no datapoints were received for {n} periods and {n} missing "
            "datapoints were treated as [NonBreaching]."
        ),
        reason_data={
            "version": "1.0",
            "queryDate": aws_ms(when),
            "statistic": spec.statistic,
            "period": spec.period,
            "recentDatapoints": [],
            "threshold": float(spec.threshold),
        },
    )


def evaluate_alarm(
    spec: MetricAlarmSpec,
    values: pd.Series,
    *,
    sample_counts: pd.Series | None = None,
    initial_state: str = "OK",
    delay: pd.Timedelta = EVALUATION_DELAY,
    rng: np.random.Generator | None = None,
) -> list[Transition]:
    """Evaluate the alarm once per period over ``values`` (indexed by period start) and return
    its state changes.

    At each period end the last ``evaluation_periods`` datapoints are examined; the alarm is
    in ALARM when at least ``datapoints_to_alarm`` of them breach, otherwise OK. Missing
    datapoints count as not breaching (``notBreaching``), breaching (``breaching``), or are
    left out (``missing``/``ignore``). The evaluation runs ``delay`` (plus up to 1 s of jitter
    from ``rng``) after the period ends, as CloudWatch's ``queryDate`` shows.
    """
    n, m = spec.evaluation_periods, spec.datapoints_to_alarm
    word = _COMPARISONS[spec.comparison][1]
    period = pd.Timedelta(seconds=spec.period)
    state = initial_state
    out: list[Transition] = []
    times = list(values.index)
    for i in range(n - 1, len(times)):
        window = [(times[j], values.iloc[j]) for j in range(i - n + 1, i + 1)]
        flags: list[tuple[pd.Timestamp, float, bool]] = []
        for ts, v in window:
            if pd.isna(v):
                if spec.treat_missing in ("missing", "ignore"):
                    continue
                flags.append((ts, float("nan"), spec.treat_missing == "breaching"))
            else:
                flags.append((ts, float(v), spec.breaches(float(v))))
        if not flags:
            continue
        breaching = sum(f for _, _, f in flags)
        new_state = "ALARM" if breaching >= m else "OK"
        if new_state == state:
            continue
        jitter = (
            pd.Timedelta(milliseconds=int(rng.integers(0, 1000)))
            if rng is not None
            else (pd.Timedelta(0))
        )
        when = times[i] + period + delay + jitter
        if new_state == "ALARM":
            cited = [(ts, v) for ts, v, f in flags if f]
            verb, transition = ("was" if len(cited) == 1 else "were"), "OK -> ALARM"
            minimum = m
            text = word
        else:
            cited = [(ts, v) for ts, v, f in flags if not f]
            verb, transition = ("was" if len(cited) == 1 else "were"), "ALARM -> OK"
            minimum = n - m + 1
            text = f"not {word}"
        listed = ", ".join(f"{v!r} ({_reason_time(ts)})" for ts, v in reversed(cited))
        reason = (
            f"Threshold Crossed: {len(cited)} out of the last {len(flags)} datapoints "
            f"[{listed}] {verb} {text} the threshold ({float(spec.threshold)!r}) (minimum "
            f"{minimum} datapoint{'s' if minimum != 1 else ''} for {transition} transition)."
        )
        evaluated = []
        for ts, v, _ in reversed(flags):
            point: dict[str, Any] = {"timestamp": aws_ms(ts)}
            if sample_counts is not None and ts in sample_counts.index:
                point["sampleCount"] = float(sample_counts.loc[ts])
            if not np.isnan(v):
                point["value"] = v
            evaluated.append(point)
        reason_data = {
            "version": "1.0",
            "queryDate": aws_ms(when),
            "startDate": aws_ms(flags[0][0]),
            "statistic": spec.statistic,
            "period": spec.period,
            "recentDatapoints": [v for _, v, _ in flags if not np.isnan(v)],
            "threshold": float(spec.threshold),
            "evaluatedDatapoints": evaluated,
        }
        out.append(Transition(when, state, new_state, reason, reason_data))
        state = new_state
    return out


def _config(spec: MetricAlarmSpec) -> dict[str, Any]:
    return {
        "AlarmName": spec.name,
        "AlarmArn": spec.arn,
        "AlarmDescription": spec.description,
        "AlarmConfigurationUpdatedTimestamp": spec.configured.isoformat(),
        "ActionsEnabled": True,
        "OKActions": [spec.topic_arn],
        "AlarmActions": [spec.topic_arn],
        "InsufficientDataActions": [],
        "MetricName": spec.metric_name,
        "Namespace": spec.namespace,
        "Statistic": spec.statistic,
        "Dimensions": [{"Name": k, "Value": v} for k, v in spec.dimensions.items()],
        "Period": spec.period,
        "EvaluationPeriods": spec.evaluation_periods,
        "DatapointsToAlarm": spec.datapoints_to_alarm,
        "Threshold": float(spec.threshold),
        "ComparisonOperator": spec.comparison,
        "TreatMissingData": spec.treat_missing,
    }


def describe_alarms_item(spec: MetricAlarmSpec, last: Transition) -> dict[str, Any]:
    """The DescribeAlarms ``MetricAlarms`` item as of the ``last`` state change."""
    item = _config(spec)
    item.update(
        {
            "StateValue": last.new_state,
            "StateReason": last.reason,
            "StateReasonData": last.reason_data_json,
            "StateUpdatedTimestamp": last.time.isoformat(),
            "StateTransitionedTimestamp": last.time.isoformat(),
        }
    )
    return item


def history_items(spec: MetricAlarmSpec, transitions: list[Transition]) -> list[dict[str, Any]]:
    """DescribeAlarmHistory items: the creation (ConfigurationUpdate), every StateUpdate, and
    the SNS Action each state change triggered. ``transitions`` starts with the creation one."""
    config = _config(spec)
    items: list[dict[str, Any]] = [
        {
            "AlarmName": spec.name,
            "AlarmType": "MetricAlarm",
            "Timestamp": spec.configured,
            "HistoryItemType": "ConfigurationUpdate",
            "HistorySummary": f'Alarm "{spec.name}" created',
            "HistoryData": json.dumps(
                {"version": "1.0", "type": "Create", "createdAlarm": config}, separators=(",", ":")
            ),
        }
    ]
    previous: Transition | None = None
    for t in transitions:
        old: dict[str, Any] = {"stateValue": t.old_state}
        if previous is not None:
            old.update(stateReason=previous.reason, stateReasonData=previous.reason_data)
        else:
            old["stateReason"] = "Unchecked: Initial alarm creation"
        data = {
            "version": "1.0",
            "oldState": old,
            "newState": {
                "stateValue": t.new_state,
                "stateReason": t.reason,
                "stateReasonData": t.reason_data,
            },
        }
        items.append(
            {
                "AlarmName": spec.name,
                "AlarmType": "MetricAlarm",
                "Timestamp": t.time,
                "HistoryItemType": "StateUpdate",
                "HistorySummary": f"Alarm updated from {t.old_state} to {t.new_state}",
                "HistoryData": json.dumps(data, separators=(",", ":")),
            }
        )
        if t.old_state != "INSUFFICIENT_DATA":
            items.append(
                {
                    "AlarmName": spec.name,
                    "AlarmType": "MetricAlarm",
                    "Timestamp": t.time + pd.Timedelta(milliseconds=212),
                    "HistoryItemType": "Action",
                    "HistorySummary": f"Successfully executed action {spec.topic_arn}",
                    "HistoryData": json.dumps(
                        {
                            "actionState": "Succeeded",
                            "stateUpdateTimestamp": int(t.time.value // 1_000_000),
                            "notificationResource": spec.topic_arn,
                        },
                        separators=(",", ":"),
                    ),
                }
            )
        previous = t
    return items


def eventbridge_event(
    spec: MetricAlarmSpec, t: Transition, previous: Transition, rng: np.random.Generator
) -> dict[str, Any]:
    """The EventBridge "CloudWatch Alarm State Change" event for transition ``t``."""
    return {
        "version": "0",
        "id": new_uuid(rng),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": spec.account_id,
        "time": t.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": spec.region,
        "resources": [spec.arn],
        "detail": {
            "alarmName": spec.name,
            "state": {
                "value": t.new_state,
                "reason": t.reason,
                "reasonData": t.reason_data_json,
                "timestamp": aws_ms(t.time),
            },
            "previousState": {
                "value": previous.new_state,
                "reason": previous.reason,
                "reasonData": previous.reason_data_json,
                "timestamp": aws_ms(previous.time),
            },
            "configuration": {
                "description": spec.description,
                "metrics": [
                    {
                        "id": new_uuid(rng),
                        "metricStat": {
                            "metric": {
                                "namespace": spec.namespace,
                                "name": spec.metric_name,
                                "dimensions": dict(spec.dimensions),
                            },
                            "period": spec.period,
                            "stat": spec.statistic,
                        },
                        "returnData": True,
                    }
                ],
            },
        },
    }


def sns_message(spec: MetricAlarmSpec, t: Transition) -> dict[str, Any]:
    """The alarm's SNS notification ``Message`` (parsed) for transition ``t``."""
    return {
        "AlarmName": spec.name,
        "AlarmDescription": spec.description,
        "AWSAccountId": spec.account_id,
        "AlarmConfigurationUpdatedTimestamp": aws_ms(spec.configured),
        "NewStateValue": t.new_state,
        "NewStateReason": t.reason,
        "StateChangeTime": aws_ms(t.time),
        "Region": REGION_NAMES.get(spec.region, spec.region),
        "AlarmArn": spec.arn,
        "OldStateValue": t.old_state,
        "OKActions": [spec.topic_arn],
        "AlarmActions": [spec.topic_arn],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": spec.metric_name,
            "Namespace": spec.namespace,
            "StatisticType": "Statistic",
            "Statistic": _SNS_STAT.get(spec.statistic, spec.statistic.upper()),
            "Unit": spec.unit,
            "Dimensions": [{"value": v, "name": k} for k, v in spec.dimensions.items()],
            "Period": spec.period,
            "EvaluationPeriods": spec.evaluation_periods,
            "DatapointsToAlarm": spec.datapoints_to_alarm,
            "ComparisonOperator": spec.comparison,
            "Threshold": float(spec.threshold),
            # Real messages carry this odd rendering (facts §4.1, aws-lambda-go sample).
            "TreatMissingData": f"- TreatMissingData:                    {spec.treat_missing}",
            "EvaluateLowSampleCountPercentile": "",
        },
    }


def sns_lambda_event(
    spec: MetricAlarmSpec, t: Transition, rng: np.random.Generator
) -> dict[str, Any]:
    """The SNS notification as a Lambda subscriber receives it (``Records[0].Sns``), with the
    alarm message as a JSON string in ``Message``."""
    sub = new_uuid(rng)
    published = t.time + pd.Timedelta(milliseconds=180)
    region_name = REGION_NAMES.get(spec.region, spec.region)
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{spec.topic_arn}:{sub}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": new_uuid(rng),
                    "TopicArn": spec.topic_arn,
                    "Subject": f'{t.new_state}: "{spec.name}" in {region_name}'[:100],
                    "Message": json.dumps(sns_message(spec, t), separators=(",", ":")),
                    "Timestamp": published.strftime("%Y-%m-%dT%H:%M:%S.")
                    + f"{published.microsecond // 1000:03d}Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-EXAMPLE.pem",
                    "UnsubscribeUrl": f"https://sns.{spec.region}.amazonaws.com/?Action=Unsubscribe"
                    f"&SubscriptionArn={spec.topic_arn}:{sub}",
                    "MessageAttributes": {},
                },
            }
        ]
    }
