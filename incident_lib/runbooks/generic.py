"""The generic runbook: a useful report for any metric alarm no specific runbook claims."""

from __future__ import annotations

from typing import Any

from incident_lib.analysis import sibling_scan
from incident_lib.notebook import Case
from incident_lib.plotting import timeseries
from incident_lib.runbooks import common
from incident_lib.sources import MetricQuery

#: Sibling series compared with the alarmed one (one GetMetricData call).
MAX_SIBLINGS = 10


def alarmed_series(case: Case) -> list[Any]:
    """The alarm, its state history and the alarmed series (or its expression) with the
    threshold and ALARM periods shaded."""
    out = common.alarm_section(case)
    frame = case.state.get("alarmed_series")
    if frame is not None and not frame.empty:
        qid = frame["id"].iloc[0]
        label = str(frame.loc[frame["id"] == qid, "label"].iloc[0])
        common.onset_of(case, common.series(frame, qid), label=label)
    return out


def changes(case: Case) -> list[Any]:
    """Changes to the resources named in the alarm's dimensions."""
    return common.changes_section(case)


def siblings(case: Case) -> list[Any]:
    """The same metric for sibling resources: is this one resource or all of them?"""
    metric = case.alarm.metric
    if metric is None or not metric.dimensions:
        return ["The alarm has no single dimensioned metric, so it has no siblings to compare."]
    listed = case.source.list_metrics(
        metric.namespace, metric.name, dimension_names=list(metric.dimensions)
    )
    others = [d for d in listed["dimensions"] if d != dict(metric.dimensions)][:MAX_SIBLINGS]
    queries = [
        MetricQuery(
            "alarmed",
            metric.namespace,
            metric.name,
            metric.dimensions,
            metric.stat,
            metric.period,
            label=_dims_label(metric.dimensions),
        )
    ]
    queries += [
        MetricQuery(
            f"s{i}",
            metric.namespace,
            metric.name,
            dims,
            metric.stat,
            metric.period,
            label=_dims_label(dims),
        )
        for i, dims in enumerate(others)
    ]
    frame = case.source.metric_data(queries, case.start, case.end)
    case.state["siblings"] = frame
    if len(others) == 0:
        return [f"No other {metric.namespace} {metric.name} series share these dimension names."]
    return [
        timeseries(
            frame,
            title=f"{metric.name} ({metric.stat}) across siblings",
            threshold=case.alarm.threshold,
            markers=common.deploy_markers(case),
        )
    ]


def findings(case: Case) -> list[Any]:
    """Onset, nearby changes, siblings, time in ALARM."""
    onset = case.state.get("onset")
    out = [common.onset_finding(case), common.finding_for_changes(case)]
    sib = case.state.get("siblings")
    if sib is not None and onset is not None and sib["id"].nunique() > 1:
        out.append(sibling_scan(sib, onset=onset.time))
    out.append(common.time_in_alarm_finding(case))
    found = common.present(out)
    summary = next(
        (f.title for f in found if f.kind == "culprit_change"),
        found[0].title if found else f"{case.alarm.name} is {case.alarm.new_state}",
    )
    doc = case.record(found, summary=summary)
    return [f"{len(doc.findings)} findings recorded."]


def _dims_label(dims: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(dims.items())) or "(no dimensions)"
