"""The Lambda errors runbook: traffic and errors, logs by signature, changes, findings."""

from __future__ import annotations

from typing import Any

import pandas as pd

from incident_lib.analysis import (
    compare_signatures,
    impact,
    signature,
    signature_findings,
)
from incident_lib.errors import NoDataError
from incident_lib.notebook import Case
from incident_lib.plotting import bar_by_time, timeseries
from incident_lib.runbooks import common
from incident_lib.sources import MetricQuery

NAMESPACE = "AWS/Lambda"

#: Log lines that report a failure: application errors, uncaught exceptions, timeouts, crashes.
ERROR_LINES = (
    r"fields @timestamp, @requestId, @logStream, @message"
    r" | filter @message like /(?i)(\bERROR\b|exception|traceback|task timed out"
    r"|runtime exited|errorType)/"
    r" | sort @timestamp desc | limit 10000"
)

#: How many failing requests to trace from START to REPORT.
TRACE_REQUESTS = 3


def _fn(case: Case) -> str:
    fn = case.params.get("function_name")
    if not fn:
        raise NoDataError("no function_name parameter: the alarm names no Lambda function")
    return str(fn)


def _groups(case: Case) -> list[str]:
    return list(case.params.get("log_groups") or [f"/aws/lambda/{_fn(case)}"])


def metric_queries(function_name: str, period: int = 60) -> list[MetricQuery]:
    """Every series the traffic section needs, for one batched GetMetricData call."""
    dims = {"FunctionName": function_name}

    def q(qid: str, name: str, stat: str, label: str) -> MetricQuery:
        return MetricQuery(qid, NAMESPACE, name, dims, stat, period, label=label)

    return [
        q("invocations", "Invocations", "Sum", "Invocations"),
        q("errors", "Errors", "Sum", "Errors"),
        q("throttles", "Throttles", "Sum", "Throttles"),
        q("duration_p50", "Duration", "p50", "Duration p50"),
        q("duration_p95", "Duration", "p95", "Duration p95"),
        q("duration_max", "Duration", "Maximum", "Duration max"),
        q("concurrency", "ConcurrentExecutions", "Maximum", "Concurrent executions"),
        MetricQuery(
            "error_rate",
            expression="100 * errors / invocations",
            period=period,
            label="Error rate (%)",
        ),
    ]


def traffic(case: Case) -> list[Any]:
    """2. Invocations, errors, error rate, throttles, duration, concurrency: one batched call,
    one figure per question, deploys marked on every axis."""
    frame = case.source.metric_data(metric_queries(_fn(case)), case.start, case.end)
    if frame.empty:
        raise NoDataError(f"no AWS/Lambda datapoints for {_fn(case)} in the window")
    case.state["lambda_metrics"] = frame
    marks = common.deploy_markers(case)
    errors = common.series(frame, "errors")
    common.onset_of(case, errors, label="Errors", counts=True)

    def fig(ids: list[str], title: str, unit: str, **kw: Any):
        part = frame[frame["id"].isin(ids)]
        return (
            None
            if part.empty
            else timeseries(part, title=title, yaxis_title=unit, markers=marks, **kw)
        )

    return [
        fig(["invocations", "errors"], "Invocations and errors per minute", "count"),
        fig(["error_rate"], "Error rate", "% of invocations"),
        fig(["throttles"], "Throttles per minute", "count"),
        fig(["duration_p50", "duration_p95", "duration_max"], "Duration", "ms"),
        fig(["concurrency"], "Concurrent executions", "count"),
    ]


def logs(case: Case) -> list[Any]:
    """3. Errors per minute by signature; signatures new in the incident window against the
    baseline window; a few failing requests traced from START to REPORT."""
    groups = _groups(case)
    events = case.source.insights(ERROR_LINES, groups, case.start, case.end)
    if events.empty:
        raise NoDataError(f"no error lines in {', '.join(groups)}")
    events = events.assign(signature=events["@message"].map(signature))
    onset = case.state.get("onset")
    incident_start = (
        onset.time if onset is not None else (common.alarm_time(case) - pd.Timedelta(minutes=15))
    )
    table = compare_signatures(
        events.rename(
            columns={"@timestamp": "timestamp", "@message": "message", "@ptr": "event_id"}
        ),
        incident_start=incident_start,
        baseline_end=incident_start,
    )
    case.state["signatures"] = table
    per_minute = (
        events.assign(minute=events["@timestamp"].dt.floor("1min"))
        .groupby(["minute", "signature"])
        .size()
        .rename("errors")
        .reset_index()
    )
    top = table["signature"].head(6).tolist()
    per_minute.loc[~per_minute["signature"].isin(top), "signature"] = "(other)"
    out: list[Any] = [
        bar_by_time(
            per_minute,
            x="minute",
            y="errors",
            color="signature",
            title="Error lines per minute by signature",
        ),
        table.drop(columns=["example_id"], errors="ignore"),
    ]
    out += _traces(case, events, table, groups)
    return out


def _traces(case: Case, events: pd.DataFrame, table: pd.DataFrame, groups: list[str]) -> list[Any]:
    new = table[table["status"].isin(["new", "surging"])]["signature"].tolist()
    picked = events[events["signature"].isin(new or table["signature"].head(1).tolist())]
    ids = [
        i
        for i in picked.get("@requestId", pd.Series(dtype=str)).dropna().unique()
        if isinstance(i, str) and i
    ][:TRACE_REQUESTS]
    if not ids:
        return []
    clauses = " or ".join(f'@message like "{_quote(i)}"' for i in ids)
    query = (
        f"fields @timestamp, @requestId, @type, @duration, @message | filter {clauses}"
        " | sort @timestamp asc | limit 200"
    )
    traced = case.source.insights(query, groups, case.start, case.end)
    return [f"**{len(ids)} failing requests traced** from START to REPORT:", traced]


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def changes(case: Case) -> list[Any]:
    """4. Deploys and configuration changes of this function, nearest to the onset first."""
    return common.changes_section(case)


def findings(case: Case) -> list[Any]:
    """5. Onset, the likely culprit change and why, the new signature, impact so far."""
    out = [common.onset_finding(case), common.finding_for_changes(case)]
    table = case.state.get("signatures")
    if table is not None:
        out += signature_findings(table)
    frame = case.state.get("lambda_metrics")
    if frame is not None:
        out.append(
            impact(
                common.series(frame, "errors"),
                common.series(frame, "invocations"),
                start=common.impact_start(case),
                end=case.end,
                alarm_history=common.history(case),
                label="invocations",
            )
        )
    found = common.present(out)
    doc = case.record(found, summary=_summary(case, found))
    return [f"{len(doc.findings)} findings recorded."]


def _summary(case: Case, found: list) -> str:
    headline = [f.title for f in found if f.kind in ("culprit_change", "new_signature")]
    return "; ".join(headline) or f"{case.alarm.name}: no clear cause found"
