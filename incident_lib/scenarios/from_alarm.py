"""A telemetry store synthesised for *any* metric alarm: its metrics crossing the threshold
where the alarm says they did, sibling resources that stay healthy, a change to the resource
just before the onset, and the alarm's definition and history.

This is how the generic runbook is shown and tested on real alarm payloads (the corpus) for
which no telemetry exists anywhere: ``incident demo --from-alarm FILE`` and
``tests/test_generic_corpus.py``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from incident_lib.alarm import Alarm, MetricSpec
from incident_lib.scenarios.cloudtrail import Identity, lookup_event
from incident_lib.store import Store, StoreWriter

log = logging.getLogger(__name__)

#: Telemetry generated around the state change.
BEFORE = pd.Timedelta(hours=3)
AFTER = pd.Timedelta(hours=1)
#: Periods of data before the onset, at least (a metric published every 6 hours).
BASELINE_PERIODS = 12
SIBLINGS = 3
#: Samples in each synthetic statistic set (all equal, so percentiles are defined too).
SAMPLES = 5


def build_store_for_alarm(alarm: Alarm, path: str | Path, *, seed: int = 7) -> Store:
    """Write a store in which ``alarm``'s own metrics explain its state change.

    The onset is ``evaluation_periods`` periods before the state change (the first breaching
    datapoint); a CloudTrail change to the first resource lands two minutes before it.
    """
    rng = np.random.default_rng(seed)
    when = pd.Timestamp(alarm.state_change_time).tz_convert("UTC").floor("min")
    specs = [m for m in alarm.metrics() if m.namespace and m.name]
    period = max([m.period or 60 for m in specs] or [60])
    onset = when - pd.Timedelta(
        seconds=period * max(alarm.datapoints_to_alarm or alarm.evaluation_periods or 1, 1)
    )
    # A slow metric (a 6-hour billing estimate) needs as many periods before its onset as a
    # fast one has minutes: at least BASELINE_PERIODS of them.
    span = pd.Timedelta(seconds=period)
    start, end = when - max(BEFORE, BASELINE_PERIODS * span), when + max(AFTER, span)
    account = alarm.account or "123456789012"
    region = alarm.region or "us-east-1"
    rows: list[dict[str, Any]] = []
    for i, spec in enumerate(specs):
        # The first metric departs; in a metric-math alarm the others stay put, so the
        # expression moves as the first one does.
        rows += _series(spec, start, end, onset if i == 0 else None, alarm, rng)
        if alarm.kind == "metric" and spec.dimensions:
            for n in range(1, SIBLINGS + 1):
                sibling = spec.model_copy(
                    update={"dimensions": {k: f"{v}-{n}" for k, v in spec.dimensions.items()}}
                )
                rows += _series(sibling, start, end, None, alarm, rng)
    prom = None
    if alarm.kind == "prometheus":  # the series its expression reads, crossing before it fired
        from incident_lib.scenarios.from_alert import prometheus_samples_for_alert

        prom = prometheus_samples_for_alert(alarm, start, end, rng)
        onset = prom[1] if prom is not None else onset
    resources = [str(v) for m in specs for v in m.dimensions.values()]
    change = _change(rng, onset - pd.Timedelta(minutes=2), resources, specs, account, region)
    with StoreWriter(path, account_id=account, region=region, overwrite=True) as writer:
        if rows:
            writer.add_metrics(pd.DataFrame(rows))
        if prom is not None:
            writer.add_prometheus_samples(prom[0])
        if change is not None:
            writer.add_change_events([change])
        writer.add_alarms([_describe_item(alarm, when)])
        writer.add_alarm_history(_history(alarm, when, start))
        writer.set_scenario(
            {
                "name": "from_alarm",
                "seed": seed,
                "alert_type": "generic",
                "alarm_name": alarm.name,
                "ground_truth": {
                    "onset": onset.isoformat(),
                    "culprit_event_id": change["EventId"] if change else None,
                    "alarm_state_change_time": when.isoformat(),
                },
            }
        )
    from incident_lib.store import open_store

    return open_store(path)


def _series(
    spec: MetricSpec,
    start: pd.Timestamp,
    end: pd.Timestamp,
    onset: pd.Timestamp | None,
    alarm: Alarm,
    rng: np.random.Generator,
) -> list[dict]:
    """One statistic set per period: on the OK side of the threshold, past it from ``onset``."""
    period = spec.period or 60
    ok, bad = _levels(alarm)
    stamps = pd.date_range(start, end, freq=pd.Timedelta(seconds=period), inclusive="left")
    out = []
    for ts in stamps:
        level = bad if onset is not None and ts >= onset else ok
        target = max(level * (1 + rng.normal(0, 0.05)), 0.0)
        out.append(_stat_set(spec, ts, target))
    return out


def _stat_set(spec: MetricSpec, ts: pd.Timestamp, target: float) -> dict[str, Any]:
    """A statistic set whose ``spec.stat`` equals ``target`` (all samples equal, so every
    statistic, percentiles included, is defined)."""
    stat = (spec.stat or "Average").lower()
    if stat == "samplecount":
        count, value = max(round(target), 1), 1.0
    elif stat == "sum":
        count, value = SAMPLES, target / SAMPLES
    else:
        count, value = SAMPLES, target
    return {
        "namespace": spec.namespace,
        "metric_name": spec.name,
        "dimensions": dict(spec.dimensions),
        "timestamp": ts,
        "unit": spec.unit,
        "sample_count": float(count),
        "sum": value * count,
        "minimum": value,
        "maximum": value,
    }


def _levels(alarm: Alarm) -> tuple[float, float]:
    """(OK level, ALARM level) on either side of the alarm's threshold."""
    threshold = alarm.threshold
    op = alarm.comparison_operator or "GreaterThanThreshold"
    if threshold is None:  # anomaly detection: a band, not a number; show a clear spike
        return 100.0, 300.0
    if op.startswith("Less"):
        return threshold * 1.6 + 1, threshold * 0.3
    return (threshold * 0.4 if threshold > 0 else 0.0), max(threshold * 1.8, threshold + 10)


def _change(
    rng: np.random.Generator,
    when: pd.Timestamp,
    resources: list[str],
    specs: list[MetricSpec],
    account: str,
    region: str,
) -> dict[str, Any] | None:
    if not resources:
        return None
    namespace = specs[0].namespace
    service = namespace.split("/", 1)[-1].lower() if namespace.startswith("AWS/") else "custom"
    identity = Identity(account_id=account, name="deploy-pipeline", role="ci-deployer")
    return lookup_event(
        rng,
        when=when,
        event_name="UpdateConfiguration",
        event_source=f"{service}.amazonaws.com",
        identity=identity,
        region=region,
        resources=[(f"AWS::{service}::Resource", resources[0])],
        request_parameters={"resource": resources[0], "change": "configuration update"},
    )


def _describe_item(alarm: Alarm, when: pd.Timestamp) -> dict[str, Any]:
    item: dict[str, Any] = {
        "AlarmName": alarm.name,
        "AlarmArn": alarm.arn,
        "AlarmDescription": alarm.description,
        "StateValue": alarm.new_state,
        "StateReason": alarm.reason,
        "StateUpdatedTimestamp": when.isoformat(),
    }
    if alarm.composite is not None:
        item["AlarmRule"] = alarm.composite.rule
        return item
    if alarm.metric is not None:
        m = alarm.metric
        item.update(
            {
                "Namespace": m.namespace,
                "MetricName": m.name,
                "Statistic": m.stat,
                "Period": m.period,
                "Dimensions": [{"Name": k, "Value": v} for k, v in m.dimensions.items()],
            }
        )
    item.update(
        {
            "Threshold": alarm.threshold,
            "ComparisonOperator": alarm.comparison_operator,
            "EvaluationPeriods": alarm.evaluation_periods,
            "DatapointsToAlarm": alarm.datapoints_to_alarm,
            "TreatMissingData": alarm.treat_missing_data,
        }
    )
    return {k: v for k, v in item.items() if v is not None}


def _history(alarm: Alarm, when: pd.Timestamp, start: pd.Timestamp) -> list[dict[str, Any]]:
    kind = "CompositeAlarm" if alarm.composite is not None else "MetricAlarm"
    old = alarm.previous_state or "OK"
    data = {
        "version": "1.0",
        "oldState": {"stateValue": old},
        "newState": {"stateValue": alarm.new_state, "stateReason": alarm.reason or ""},
    }
    return [
        {
            "AlarmName": alarm.name,
            "AlarmType": kind,
            "Timestamp": start - pd.Timedelta(days=2),
            "HistoryItemType": "ConfigurationUpdate",
            "HistorySummary": f'Alarm "{alarm.name}" created',
            "HistoryData": "{}",
        },
        {
            "AlarmName": alarm.name,
            "AlarmType": kind,
            "Timestamp": when,
            "HistoryItemType": "StateUpdate",
            "HistorySummary": f"Alarm updated from {old} to {alarm.new_state}",
            "HistoryData": json.dumps(data),
        },
    ]
