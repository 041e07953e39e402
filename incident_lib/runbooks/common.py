"""Sections every alert type shares: the alarm itself, changes, and the findings roll-up."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pandas as pd

from incident_lib.analysis import alarm_periods, culprit_finding, detect_onset, rank_changes
from incident_lib.errors import MetricQueryError, SourceError
from incident_lib.findings import Evidence, Finding
from incident_lib.notebook import Case
from incident_lib.plotting import timeseries
from incident_lib.sources.frames import history_frame

#: CloudTrail events that change what a resource runs (used for the deploy markers).
DEPLOY_EVENTS = (
    "UpdateFunctionCode",
    "UpdateAlias",
    "PublishVersion",
    "UpdateFunctionConfiguration",
    "UpdateService",
    "CreateDeployment",
    "UpdateStack",
    "ModifyDBInstance",
    "UpdateTable",
)

#: Deploy calls this close together are one rollout (one marker on the charts).
ROLLOUT_GAP = pd.Timedelta(minutes=3)

#: History is read from further back than the window so the state at the window's start is known.
HISTORY_LOOKBACK = pd.Timedelta(days=1)


def resource_names(case: Case) -> list[str]:
    """Names of the resources the alarm is about (function name, dimension values)."""
    names = list(case.params.get("resource_names") or [])
    if case.params.get("function_name"):
        names.insert(0, case.params["function_name"])
    if not names and case.alarm.metric is not None:
        names = [str(v) for v in case.alarm.metric.dimensions.values()]
    return list(dict.fromkeys(names))


def changes(case: Case) -> pd.DataFrame:
    """CloudTrail changes to the alarm's resources in the window, fetched once per run."""
    return case.cached(
        "changes",
        lambda: case.source.change_events(
            case.start, case.end, resource_names=resource_names(case)
        ),
    )


def history(case: Case) -> pd.DataFrame:
    return case.cached(
        "history",
        lambda: case.source.alarm_history(case.alarm.name, case.start - HISTORY_LOOKBACK, case.end),
    )


def deploy_markers(case: Case) -> list[tuple[pd.Timestamp, str]]:
    """``(time, label)`` of every deploy, for vertical lines on each figure. The calls of one
    rollout (UpdateFunctionCode, PublishVersion, UpdateAlias within minutes) make one marker."""
    try:
        frame = changes(case)
    except Exception:
        return []
    deploys = frame[frame["event_name"].astype(str).str.startswith(DEPLOY_EVENTS)]
    groups: list[list[tuple[pd.Timestamp, str]]] = []
    for row in deploys.sort_values("event_time").itertuples():
        item = (row.event_time, _short_event(row.event_name))
        if groups and item[0] - groups[-1][-1][0] <= ROLLOUT_GAP:
            groups[-1].append(item)
        else:
            groups.append([item])
    return [(g[-1][0], g[0][1] if len(g) == 1 else f"deploy ({len(g)} calls)") for g in groups]


def alarm_facts(case: Case) -> pd.DataFrame:
    """The alarm's definition as a two-column table."""
    a = case.alarm
    rows: list[tuple[str, Any]] = [
        ("Alarm", a.name),
        ("State", f"{a.previous_state} → {a.new_state}"),
        ("State changed", a.state_change_time.isoformat()),
        ("Reason", a.reason),
        ("Account / region", f"{a.account} / {a.region}"),
    ]
    if a.metric is not None:
        m = a.metric
        dims = ", ".join(f"{k}={v}" for k, v in m.dimensions.items()) or "(none)"
        rows += [
            ("Metric", f"{m.namespace} {m.name}"),
            ("Dimensions", dims),
            ("Statistic / period", f"{m.stat or '?'} over {m.period or '?'}s"),
        ]
    for q in a.metric_queries or []:
        what = q.expression or (
            f"{q.metric.namespace} {q.metric.name} {q.metric.stat}" if q.metric else ""
        )
        rows.append((f"Query {q.id}" + (" (alarmed)" if q.return_data else ""), what))
    if a.composite is not None:
        rows.append(("Rule", a.composite.rule))
    if a.threshold is not None:
        rows.append(("Condition", f"{a.comparison_operator} {a.threshold:g}"))
    if a.evaluation_periods:
        dta = a.datapoints_to_alarm or a.evaluation_periods
        rows.append(("Evaluation", f"{dta} of {a.evaluation_periods} periods"))
    if a.treat_missing_data:
        rows.append(("Missing data", a.treat_missing_data))
    return pd.DataFrame(rows, columns=["", "value"]).astype({"value": str})


def alarm_section(case: Case) -> list[Any]:
    """1. The alarm: definition, state history, the alarmed series with threshold and ALARM
    periods shaded."""
    out: list[Any] = [alarm_facts(case)]
    try:
        hist = history(case)
    except SourceError as exc:
        # The series still tells most of the story; shading falls back to the state change.
        out.append(f"**Alarm history unavailable**: {exc}")
        hist = history_frame([])
        case.remember("history", hist)
    shown = hist[["timestamp", "history_item_type", "old_state", "new_state", "summary"]]
    out.append(shown.sort_values("timestamp", ascending=False))
    queries = case.alarm.to_metric_queries()
    if not queries:
        out.append(
            "This alarm has no metric of its own (composite): see its rule above and "
            "the children's history."
        )
        return out
    try:
        frame = case.source.metric_data(queries, case.start, case.end)
    except MetricQueryError as exc:
        # The local engine has no ANOMALY_DETECTION_BAND: show the metric without its band.
        plain = [q for q in queries if q.expression is None]
        if not plain or len(plain) == len(queries):
            raise
        out.append(
            f"The alarm's expression cannot be evaluated on this source ({exc}); "
            "showing the metric it reads."
        )
        frame = case.source.metric_data(
            [dataclasses.replace(q, return_data=True) for q in plain], case.start, case.end
        )
    case.state["alarmed_series"] = frame
    if frame.empty:
        out.append("**No datapoints** for the alarmed metric in the window.")
        return out
    shade = alarm_periods(hist, start=case.start, end=case.end)
    if hist.empty and case.alarm.new_state == "ALARM":  # no history readable: since the change
        shade = [(alarm_time(case), case.end)]
    out.append(
        timeseries(
            frame,
            title=f"{case.alarm.name}: the alarmed series",
            threshold=case.alarm.threshold,
            shade=shade,
            markers=deploy_markers(case),
        )
    )
    return out


def onset_of(case: Case, series: pd.Series, *, label: str, counts: bool = False) -> Any:
    """Detect the onset in ``series``, remember it in ``case.state``, and return it.

    ``counts``: the series counts events (errors, requests), so a flat baseline's noise floor
    is Poisson's. Otherwise (CPU %, bytes, ratios) the floor is 5% of the baseline level.
    """
    op = case.alarm.comparison_operator or ""
    baseline_end = alarm_time(case) - pd.Timedelta(minutes=15)
    min_spread = None
    if not counts:
        level = abs(float(series[series.index < baseline_end].median() or 0.0))
        min_spread = 0.05 * level if level > 0 else 1.0
    if op == "LessThanLowerOrGreaterThanUpperThreshold":  # anomaly band: either way out
        found = [
            o
            for d in ("up", "down")
            if (
                o := detect_onset(
                    series, baseline_end=baseline_end, direction=d, min_spread=min_spread
                )
            )
        ]
        onset = min(found, key=lambda o: o.time) if found else None
    else:
        direction = "down" if op.startswith("LessThan") else "up"
        onset = detect_onset(
            series, baseline_end=baseline_end, direction=direction, min_spread=min_spread
        )
    if onset is not None:
        case.state["onset"] = onset
        case.state["onset_label"] = label
    return onset


def onset_finding(case: Case) -> Finding | None:
    """The onset found by an earlier section, as a finding naming the series it was seen in."""
    onset = case.state.get("onset")
    if onset is None:
        return None
    label = case.state.get("onset_label", "the alarmed series")
    return onset.to_finding(label=label, ref=f"metric:{label}")


def impact_start(case: Case) -> pd.Timestamp:
    """Impact is counted from the onset when one was found, else from the window's start."""
    onset = case.state.get("onset")
    return onset.time if onset is not None else case.start


def changes_section(case: Case) -> list[Any]:
    """Deploys and configuration changes to the resources, nearest to the onset first."""
    frame = changes(case)
    if frame.empty:
        return [
            f"No CloudTrail changes to {', '.join(resource_names(case)) or 'the resources'} "
            "in the window."
        ]
    onset = case.state.get("onset")
    when = onset.time if onset is not None else alarm_time(case)
    # The onset is only as precise as the data: a change up to one period after it may still
    # be the cause.
    tolerance = max(pd.Timedelta(minutes=2), pd.Timedelta(seconds=alarmed_period(case)))
    ranked = rank_changes(
        frame, onset=when, resource_names=resource_names(case), tolerance=tolerance
    )
    case.state["ranked_changes"] = ranked
    cols = [
        c
        for c in (
            "event_time",
            "event_name",
            "username",
            "relation",
            "minutes_before_onset",
            "score",
            "reason",
            "event_id",
        )
        if c in ranked
    ]
    return [ranked[cols]]


def finding_for_changes(case: Case) -> Finding | None:
    ranked = case.state.get("ranked_changes")
    return culprit_finding(ranked) if ranked is not None and not ranked.empty else None


def alarmed_period(case: Case) -> int:
    """The period (seconds) of the alarm's metrics, 60 when it has none."""
    return max([m.period or 60 for m in case.alarm.metrics()] or [60])


def time_in_alarm_finding(case: Case) -> Finding | None:
    """How long the alarm has been in ALARM within the window, from its history."""
    periods = alarm_periods(history(case), start=case.start, end=case.end)
    if not periods:
        return None
    minutes = sum((b - a for a, b in periods), pd.Timedelta(0)).total_seconds() / 60
    still = periods[-1][1] >= case.end
    return Finding(
        kind="impact",
        title=f"In ALARM for {minutes:.0f} min of the window"
        + (", and still in ALARM at its end" if still else ""),
        detail="; ".join(f"{a:%H:%M}–{b:%H:%M} UTC" for a, b in periods),
        severity="warning",
        time=periods[0][0],
        evidence=(Evidence(label="alarm history", ref="alarm_history"),),
    )


def series(frame: pd.DataFrame, qid: str) -> pd.Series:
    """One query's values from a long ``id, label, timestamp, value`` frame, indexed by time."""
    part = frame[frame["id"] == qid]
    return pd.Series(part["value"].to_numpy(), index=pd.DatetimeIndex(part["timestamp"]), name=qid)


def alarm_time(case: Case) -> pd.Timestamp:
    """The alarm's state change time as a UTC ``pd.Timestamp``."""
    return pd.Timestamp(case.alarm.state_change_time).tz_convert("UTC")


def _short_event(name: str) -> str:
    for prefix in DEPLOY_EVENTS:
        if name.startswith(prefix):
            return prefix
    return name


def present(findings: Sequence[Finding | None]) -> list[Finding]:
    return [f for f in findings if f is not None]
