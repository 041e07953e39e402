"""Steps of the data-pipeline, composite-alarm and RDS notebooks (``data_freshness``,
``composite``, ``rds_connections``): the same metric on previous days, a pipeline's stages and
where its flow stopped, schedules and job runs, a composite's children, and a database's
connections against its limit.

Like :mod:`incident_lib.steps` and :mod:`incident_lib.service_steps`, each step takes what a
notebook cell fetched with the :class:`~incident_lib.notebook.Case` verbs and returns a table
or a finding, keeping what it concluded in ``case.state`` for the findings section.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from incident_lib.errors import NoDataError
from incident_lib.findings import Evidence, Finding
from incident_lib.notebook import Case
from incident_lib.steps import DEFAULT_LEAD

__all__ = [
    "CLASS_MEMORY_GIB",
    "Stage",
    "child_alarms",
    "child_commands",
    "child_findings",
    "child_onsets",
    "child_queries",
    "children_table",
    "composite_onset_finding",
    "connections_limit_finding",
    "database_clients",
    "database_table",
    "days_ago",
    "firing_table",
    "first_child_finding",
    "function_of_arn",
    "glue_finding",
    "glue_runs_table",
    "jobs_finding",
    "load_finding",
    "optional_call",
    "ordered_stages",
    "pipeline_functions",
    "pool_finding",
    "pool_settings",
    "pool_sizes",
    "previous_days_finding",
    "previous_days_table",
    "resolve_max_connections",
    "rule_names",
    "schedule_finding",
    "stage_rank",
    "stage_table",
    "stopped_finding",
]


def _incident_start(case: Case) -> pd.Timestamp:
    found = case.state.get("onset")
    return found.time if found is not None else case.alarm_time - DEFAULT_LEAD


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.1f}"


# -- the same hour on previous days ----------------------------------------------------------------
def days_ago(frame: pd.DataFrame, days: int) -> pd.DataFrame:
    """A long metric frame of an earlier day moved onto today's clock (``timestamp`` +
    ``days``), labelled "N days ago", to draw over today's series."""
    out = frame.copy()
    out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True) + pd.Timedelta(days=days)
    word = "yesterday" if days == 1 else f"{days} days ago"
    out["label"] = out["label"].astype(str) + f" ({word})"
    out["id"] = out["id"].astype(str) + f"_d{days}"
    return out


def previous_days_table(
    case: Case, today: pd.Series, earlier: Mapping[int, pd.Series], *, what: str
) -> pd.DataFrame:
    """``what`` (a count per period) in the hour before the incident and since it began, today
    and at the same time of day on each earlier day (``earlier``: days ago -> that day's
    series on its own clock). Kept for :func:`previous_days_finding`."""
    start = _incident_start(case)
    hour = pd.Timedelta(hours=1)
    rows = []
    for days, values in [(0, today), *sorted(earlier.items())]:
        shift = pd.Timedelta(days=days)
        v = values.sort_index()
        before = v[(v.index >= start - shift - hour) & (v.index < start - shift)]
        since = v[(v.index >= start - shift) & (v.index < case.end - shift)]
        rows.append(
            {
                "day": "today" if days == 0 else f"{days} day{'s' if days > 1 else ''} ago",
                "days_ago": days,
                "hour_before": float(before.sum()),
                "since_onset": float(since.sum()),
                "points": len(v),
            }
        )
    table = pd.DataFrame(rows)
    case.state["previous_days"] = (table, what, start)
    return table


def previous_days_finding(case: Case) -> Finding | None:
    """Today's count since the incident began against the same time on the previous days."""
    kept = case.state.get("previous_days")
    if kept is None:
        return None
    table, what, start = kept
    earlier = table[(table["days_ago"] > 0) & (table["points"] > 0)]
    if earlier.empty:
        return Finding(
            kind="previous_days",
            title=f"No {what} on previous days to compare with",
            detail="The same query on earlier days returned no datapoints (a new pipeline, or "
            "retention shorter than the look-back).",
            severity="info",
        )
    today = float(table.loc[table["days_ago"] == 0, "since_onset"].iloc[0])
    usual = float(earlier["since_onset"].median())
    share = 100.0 * today / usual if usual > 0 else float("nan")
    days = ", ".join(str(d) for d in earlier["days_ago"])
    per_day = "; ".join(f"{r.day}: {_fmt(r.since_onset)}" for r in earlier.itertuples(index=False))
    if usual > 0 and share < 50:
        title = (
            f"{_fmt(today)} {what} since {start:%H:%M} UTC, against {_fmt(usual)} at the same "
            f"time on previous days ({share:.0f}% of usual)"
        )
        severity = "warning"
    else:
        title = (
            f"{what} since {start:%H:%M} UTC are within the usual range of previous days "
            f"({_fmt(today)} against {_fmt(usual)})"
        )
        severity = "info"
    return Finding(
        kind="previous_days",
        title=title,
        detail=f"Same time of day, {days} day(s) ago: {per_day} (median {_fmt(usual)}).",
        severity=severity,
        evidence=(Evidence(label=f"{what} on previous days", ref="metric:previous_days"),),
        data={"today": today, "usual": usual},
    )


# -- the pipeline's parts --------------------------------------------------------------------------
def pipeline_functions(case: Case, listing: Mapping[str, Any] | None, prefix: str) -> list[str]:
    """The pipeline's Lambda functions: the catalogue's ``pipeline_functions`` (its stages,
    in order), then those ListFunctions names starting with ``prefix``. Added to the case's
    resources (changes to them are related)."""
    names = [str(f) for f in case.params.get("pipeline_functions") or []]
    low = prefix.lower()
    for fn in (listing or {}).get("Functions", []) or []:
        name = str(fn.get("FunctionName", ""))
        if low and name.lower().startswith(low):
            names.append(name)
    names = list(dict.fromkeys(n for n in names if n))
    _add_resources(case, names)
    return names


def _add_resources(case: Case, names: Sequence[str]) -> None:
    current = [str(n) for n in case.params.get("resource_names") or []]
    case.params["resource_names"] = list(dict.fromkeys([*current, *[n for n in names if n]]))


#: Words that place a stage early or late in a pipeline (a custom metric's or function's
#: name), for ordering stages no catalogue entry orders: extract, then transform, then load.
_STAGE_WORDS = (
    ("schedule", "trigger", "cron"),
    ("ingest", "fetch", "extract", "collect", "read", "poll", "download", "received"),
    ("process", "transform", "parse", "enrich", "validate", "clean"),
    ("aggregate", "load", "write", "store", "publish", "export", "deliver", "sent"),
)


def stage_rank(name: str) -> int:
    """Where a stage named ``name`` usually sits in a pipeline (0 first), 2 when unknown."""
    low = name.lower()
    for rank, words in enumerate(_STAGE_WORDS):
        if any(w in low for w in words):
            return rank
    return 2


@dataclass(frozen=True)
class Stage:
    """One stage of the pipeline: its name, what it is (``schedule``, ``function``,
    ``metric``), and the metric query id of its throughput (an earlier step's)."""

    name: str
    kind: str
    qid: str
    what: str = "per minute"


def _zero_filled(case: Case, values: pd.Series) -> pd.Series:
    from incident_lib.service_steps import zero_filled

    return zero_filled(case, values)


def stage_table(case: Case, stages: Sequence[Stage], *, drop: float = 0.5) -> pd.DataFrame:
    """Each stage's throughput in the hour before the incident and since (missing minutes are
    0: AWS publishes no Invocations for a function nobody ran), in pipeline order, and the
    first minute it fell below ``drop`` of its usual level and stayed there. Kept for
    :func:`stopped_finding`."""
    start = _incident_start(case)
    rows = []
    for stage in stages:
        try:
            values = _zero_filled(case, case.series(stage.qid).sort_index())
        except NoDataError:
            values = _zero_filled(
                case, pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
            )
        before = values[(values.index < start) & (values.index >= start - pd.Timedelta(hours=1))]
        # The stop is looked for from a minute before the onset (it is only as precise as its
        # series); the flow since is measured from the onset.
        since = values[values.index >= start - pd.Timedelta(minutes=1)]
        after = values[values.index >= start]
        b = float(before.mean()) if len(before) else 0.0
        s = float(after.mean()) if len(after) else 0.0
        stopped = None
        if b > 0 and s < b * drop:
            low = since <= b * drop
            # The first minute from which it stays low (a last run may straddle the onset).
            tail = low[::-1].cumprod()[::-1].astype(bool)
            stopped = tail[tail].index[0] if tail.any() else None
            if stopped is None and low.any():
                stopped = low[low].index[0]
        rows.append(
            {
                "stage": stage.name,
                "kind": stage.kind,
                "before_per_period": round(b, 2),
                "since_per_period": round(s, 2),
                "stopped_at": stopped,
                "status": "stopped" if stopped is not None else ("flowing" if s > 0 else "idle"),
                "qid": stage.qid,
            }
        )
    if not rows:
        raise NoDataError("no stage of the pipeline was found")
    table = pd.DataFrame(rows)
    case.state["stages"] = table
    return table.drop(columns=["qid"])


def stopped_finding(case: Case) -> Finding | None:
    """Where the pipeline stopped: the first stage, in pipeline order, whose flow fell, with
    the stages before it that kept flowing."""
    table = case.state.get("stages")
    if table is None or table.empty:
        return None
    stopped = table[table["status"] == "stopped"]
    if stopped.empty:
        flowing = ", ".join(table.loc[table["status"] == "flowing", "stage"]) or "none"
        return Finding(
            kind="pipeline_flowing",
            title="No stage of the pipeline stopped: every stage kept its usual flow",
            detail=f"Flowing: {flowing}. The alarmed metric fell on its own: look at what it "
            "counts (a filter, a publishing step) rather than at the pipeline's runs.",
            severity="info",
            evidence=(Evidence(label="pipeline stages", ref="table:stages"),),
        )
    first = stopped.iloc[0]
    idx = int(stopped.index[0])
    upstream = table.iloc[:idx]
    kept = upstream[upstream["status"] == "flowing"]
    at = pd.Timestamp(first["stopped_at"])
    what = {"schedule": "invocations", "function": "runs", "metric": "counted"}.get(
        str(first["kind"]), "a minute"
    )
    title = (
        f"The pipeline stopped at {first['stage']} ({first['kind']}): "
        f"{_fmt(first['before_per_period'])} {what} a minute before, "
        f"{_fmt(first['since_per_period'])} since {at:%H:%M} UTC"
    )
    detail = ""
    if len(kept):
        title += "; upstream " + ", ".join(kept["stage"]) + " kept running"
        detail = (
            "Before it and still flowing: "
            + "; ".join(f"{r.stage} {_fmt(r.since_per_period)}/min" for r in kept.itertuples())
            + ". "
        )
    later = table.iloc[idx + 1 :]
    if len(later):
        detail += (
            "After it: " + "; ".join(f"{r.stage} {r.status}" for r in later.itertuples()) + "."
        )
    return Finding(
        kind="cause",
        title=title,
        detail=detail.strip(),
        severity="critical",
        time=at.to_pydatetime(),
        evidence=(Evidence(label=str(first["stage"]), ref=f"metric:{first['qid']}"),),
        data={"stage": str(first["stage"]), "kind": str(first["kind"])},
    )


# -- schedules and job runs ------------------------------------------------------------------------
def schedule_finding(case: Case, rules: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """Did each schedule fire? Its state (DescribeRule), and whether its ``Invocations``
    (query ``rule{i}``, in ``rules``' order) stopped, and its ``FailedInvocations``
    (``failed{i}``) since the incident began."""
    out: list[Finding] = []
    table = case.state.get("stages")
    for i, (name, rule) in enumerate(rules.items()):
        state = str(rule.get("State") or "?")
        schedule = str(rule.get("ScheduleExpression") or rule.get("EventPattern") or "")
        stopped = None
        if table is not None:
            row = table[table["qid"] == f"rule{i}"]
            if len(row) and row.iloc[0]["status"] == "stopped":
                stopped = pd.Timestamp(row.iloc[0]["stopped_at"])
        failed = _since_total(case, f"failed{i}")
        evidence = (Evidence(label=f"{name} Invocations", ref=f"metric:rule{i}"),)
        if stopped is not None or state != "ENABLED":
            when = f" at {stopped:%H:%M} UTC" if stopped is not None else ""
            verb = "stopped firing" if stopped is not None else "is not firing"
            out.append(
                Finding(
                    kind="schedule",
                    title=f"Schedule rule {name} {verb}{when}: it is {state}",
                    detail=f"{schedule or 'no schedule'}; DescribeRule State={state}.",
                    severity="critical",
                    time=stopped.to_pydatetime() if stopped is not None else None,
                    evidence=evidence,
                    data={"rule": name, "state": state},
                )
            )
        elif failed:
            out.append(
                Finding(
                    kind="schedule",
                    title=f"Schedule rule {name} fires but {failed:,.0f} target invocations "
                    "failed since the onset",
                    detail=f"{schedule}; FailedInvocations: EventBridge could not invoke the "
                    "target (permissions, a deleted target, throttling).",
                    severity="critical",
                    evidence=(
                        Evidence(label=f"{name} FailedInvocations", ref=f"metric:failed{i}"),
                    ),
                )
            )
        else:
            out.append(
                Finding(
                    kind="schedule_ok",
                    title=f"Schedule rule {name} kept firing ({state}, {schedule})",
                    detail="Its Invocations kept their usual rate and none failed: the "
                    "schedule is not where the pipeline stopped.",
                    severity="info",
                    evidence=evidence,
                )
            )
    return out


def _since_total(case: Case, qid: str) -> float:
    try:
        values = case.series(qid)
    except NoDataError:
        return 0.0
    start = _incident_start(case)
    return float(values[values.index >= start - pd.Timedelta(minutes=1)].sum())


def jobs_finding(case: Case, functions: Sequence[str]) -> list[Finding]:
    """For each pipeline function: did it keep running, and did it fail (``invocations{i}``,
    ``errors{i}``) since the incident began?"""
    out = []
    table = case.state.get("stages")
    for i, fn in enumerate(functions):
        errors = _since_total(case, f"errors{i}")
        runs = _since_total(case, f"invocations{i}")
        status = ""
        if table is not None:
            row = table[table["qid"] == f"invocations{i}"]
            status = str(row.iloc[0]["status"]) if len(row) else ""
        if errors > 0:
            out.append(
                Finding(
                    kind="related_metric",
                    title=f"{fn} fails: {errors:,.0f} errors in {runs:,.0f} runs since the onset",
                    severity="critical",
                    evidence=(Evidence(label=f"{fn} errors", ref=f"metric:errors{i}"),),
                )
            )
        elif status == "flowing" and runs > 0:
            out.append(
                Finding(
                    kind="job_ok",
                    title=f"{fn} runs without errors ({runs:,.0f} runs since the onset)",
                    severity="info",
                    evidence=(Evidence(label=f"{fn} invocations", ref=f"metric:invocations{i}"),),
                )
            )
    return out


def glue_runs_table(job: str, runs: Mapping[str, Any]) -> pd.DataFrame:
    """A Glue job's runs (GetJobRuns): started, state, seconds, error, newest first."""
    rows = [
        {
            "job": job,
            "started": pd.to_datetime(r.get("StartedOn"), utc=True),
            "state": r.get("JobRunState"),
            "seconds": r.get("ExecutionTime"),
            "completed": pd.to_datetime(r.get("CompletedOn"), utc=True),
            "error": r.get("ErrorMessage") or "",
        }
        for r in (runs or {}).get("JobRuns", []) or []
    ]
    if not rows:
        raise NoDataError(f"Glue job {job} has no runs")
    return pd.DataFrame(rows).sort_values("started", ascending=False, ignore_index=True)


def glue_finding(case: Case, table: pd.DataFrame | None) -> Finding | None:
    """What the Glue job runs say: a failed or missing run since the incident began, or that
    the job ran as usual."""
    if table is None or table.empty:
        return None
    start = _incident_start(case)
    recent = table[table["started"] >= start - pd.Timedelta(hours=1)]
    failed = recent[recent["state"].isin(["FAILED", "TIMEOUT", "ERROR", "STOPPED"])]
    jobs = ", ".join(sorted(table["job"].unique()))
    if len(failed):
        r = failed.iloc[0]
        return Finding(
            kind="related_metric",
            title=f"Glue job {r['job']} run {r['state']} at {r['started']:%H:%M} UTC",
            detail=str(r["error"]),
            severity="critical",
            time=r["started"].to_pydatetime(),
            evidence=(Evidence(label=f"{r['job']} job runs", ref="aws:glue:GetJobRuns"),),
        )
    last = table.iloc[0]
    return Finding(
        kind="job_ok",
        title=f"Glue job {jobs} ran on schedule: last run {last['state']} at "
        f"{last['started']:%H:%M} UTC",
        detail="No failed run since an hour before the incident: the ETL job is not where the "
        "pipeline stopped.",
        severity="info",
        evidence=(Evidence(label=f"{jobs} job runs", ref="aws:glue:GetJobRuns"),),
    )


def rule_names(listing: Mapping[str, Any] | None) -> list[str]:
    """Rule names of a ListRuleNamesByTarget answer."""
    return [str(n) for n in (listing or {}).get("RuleNames", []) or []]


def function_of_arn(arn: str) -> str:
    """The function name in a Lambda ARN (``...:function:NAME[:alias]``), else ``""``."""
    found = re.search(r":function:([A-Za-z0-9_-]+)", str(arn))
    return found.group(1) if found else ""


def optional_call(case: Case, service: str, operation: str, **parameters: Any) -> dict[str, Any]:
    """``case.aws(...)`` for a lookup the step can do without: an answer the source does not
    hold (a store that did not record it) is said and ``{}`` returned; a call AWS refused
    (AccessDenied) marks the section partial and returns ``{}``; the step goes on either way."""
    from incident_lib.errors import SourceError

    try:
        return case.aws(service, operation, **parameters)
    except NoDataError as exc:
        case.show(f"{service} {operation}: {exc}")
    except SourceError as exc:
        case.problem(f"{service} {operation}: {exc}")
    return {}


def ordered_stages(
    rules: Sequence[str],
    functions: Sequence[str],
    metrics: Sequence[tuple[str, str]],
    *,
    fixed: Sequence[str] = (),
    entry: Sequence[str] = (),
) -> list[Stage]:
    """The pipeline's stages in flow order: schedules (``rule{i}``), then the functions and
    the pipeline's own metrics (``(name, qid)``) interleaved by :func:`stage_rank` (the
    functions the schedules invoke, ``entry``, first; the catalogue's ``fixed`` order kept),
    a function before the metric it publishes at the same rank."""
    stages = [Stage(r, "schedule", f"rule{i}") for i, r in enumerate(rules)]
    rest: list[tuple[tuple[int, int, int], Stage]] = []
    for i, fn in enumerate(functions):
        if fn in fixed:
            rank = (0, list(fixed).index(fn), 0)
        elif fn in entry:
            rank = (1, 0, 0)
        else:
            rank = (1, stage_rank(fn), 0)
        rest.append((rank, Stage(fn, "function", f"invocations{i}")))
    for name, qid in metrics:
        rest.append(((1, stage_rank(name), 1), Stage(name, "metric", qid)))
    # sorted() is stable: equal ranks keep the order found.
    return stages + [s for _, s in sorted(rest, key=lambda kv: kv[0])]


# -- composite alarms ------------------------------------------------------------------------------
def child_alarms(described: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The children's DescribeAlarms items by name (metric and composite alarms)."""
    items = [
        *(described or {}).get("MetricAlarms", []),
        *(described or {}).get("CompositeAlarms", []),
    ]
    return {str(i.get("AlarmName")): dict(i) for i in items if i.get("AlarmName")}


def _what(item: Mapping[str, Any]) -> str:
    if item.get("AlarmRule"):
        return f"composite: {item['AlarmRule']}"
    if item.get("MetricName"):
        dims = ", ".join(f"{d['Name']}={d['Value']}" for d in item.get("Dimensions") or [])
        stat = item.get("Statistic") or item.get("ExtendedStatistic") or ""
        return f"{item.get('Namespace')} {item['MetricName']} ({dims}) {stat}/{item.get('Period')}s"
    return "metric math: " + "; ".join(
        str(m.get("Expression") or m.get("Id")) for m in item.get("Metrics") or []
    )


def children_table(
    case: Case, children: Sequence[str], items: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """Each child of the composite (in the rule's order): what it watches, its condition, its
    state and since when (DescribeAlarms); a child DescribeAlarms did not return is said."""
    rows = []
    for name in children:
        item = items.get(name)
        if item is None:
            rows.append({"child": name, "watches": "(not returned by DescribeAlarms)", "state": ""})
            continue
        cond = ""
        if item.get("ComparisonOperator"):
            cond = f"{item['ComparisonOperator']} {item.get('Threshold')}"
            n = item.get("EvaluationPeriods")
            cond += f" ({item.get('DatapointsToAlarm') or n} of {n})"
        rows.append(
            {
                "child": name,
                "watches": _what(item),
                "condition": cond,
                "state": item.get("StateValue"),
                "state_since": pd.to_datetime(
                    item.get("StateTransitionedTimestamp") or item.get("StateUpdatedTimestamp"),
                    utc=True,
                ),
                "reason": item.get("StateReason", ""),
            }
        )
    if not rows:
        raise NoDataError("the composite's rule names no child alarm")
    return pd.DataFrame(rows)


def firing_table(case: Case, histories: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """When each child was in ALARM (its DescribeAlarmHistory StateUpdates), and the start of
    the ALARM period it was in when the composite changed state (or its first in the window):
    the first child to fire is the earliest of those. Kept for :func:`first_child_finding`."""
    from incident_lib.analysis.impact import alarm_periods
    from incident_lib.sources.frames import history_frame

    at = case.alarm_time
    rows = []
    for name, answer in histories.items():
        frame = history_frame(answer.get("AlarmHistoryItems", []) or [])
        periods = alarm_periods(frame, start=case.start - pd.Timedelta(hours=6), end=case.end)
        current = [p for p in periods if p[0] <= at + pd.Timedelta(seconds=5) and p[1] >= at]
        in_window = [p for p in periods if p[1] >= case.start]
        since = current[0][0] if current else (in_window[0][0] if in_window else None)
        minutes = sum(
            ((min(b, case.end) - max(a, case.start)).total_seconds() / 60 for a, b in in_window),
            0.0,
        )
        rows.append(
            {
                "child": name,
                "in_alarm_at_the_change": bool(current),
                "alarm_since": since,
                "alarm_periods_in_window": len(in_window),
                "minutes_in_alarm": round(minutes, 1),
                "periods": "; ".join(f"{a:%H:%M:%S}–{b:%H:%M:%S}" for a, b in in_window),
            }
        )
    if not rows:
        raise NoDataError("no child's history could be read")
    table = pd.DataFrame(rows).sort_values("alarm_since", na_position="last", ignore_index=True)
    case.state["firing"] = table
    return table


def first_child_finding(case: Case) -> Finding | None:
    """Which child fired first, and how long before the others and the composite."""
    table = case.state.get("firing")
    if table is None or table["alarm_since"].isna().all():
        return None
    fired = table.dropna(subset=["alarm_since"])
    first = fired.iloc[0]
    t0 = pd.Timestamp(first["alarm_since"])
    others = [
        f"{r.child} at {pd.Timestamp(r.alarm_since):%H:%M:%S} "
        f"({(pd.Timestamp(r.alarm_since) - t0).total_seconds() / 60:.0f} min later)"
        for r in fired.iloc[1:].itertuples()
    ]
    quiet = list(table.loc[table["alarm_since"].isna(), "child"])
    lead = (case.alarm_time - t0).total_seconds() / 60
    title = (
        f"{first['child']} fired first, at {t0:%H:%M:%S} UTC, {lead:.0f} min before the composite"
    )
    detail = ""
    if others:
        detail += "Then " + ", ".join(others) + ". "
    if quiet:
        detail += "Not in ALARM in the window: " + ", ".join(quiet) + ". "
    detail += (
        f"The composite {case.alarm.name} changed state at {case.alarm_time:%H:%M:%S} UTC: start "
        f"with {first['child']}'s signal."
    )
    return Finding(
        kind="cause",
        title=title,
        detail=detail,
        severity="warning",
        time=t0.to_pydatetime(),
        evidence=(
            Evidence(
                label=f"{first['child']} history",
                ref=f"aws:cloudwatch:DescribeAlarmHistory:{first['child']}",
            ),
        ),
        data={"first_child": str(first["child"])},
    )


def child_queries(items: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A GetMetricData query per single-metric child, ``child{i}`` in ``items``' order, at
    the child's own statistic and period (metric-math and composite children have none)."""
    from incident_lib.notebook import metric

    queries = {}
    for i, (name, item) in enumerate(items.items()):
        if not item.get("MetricName"):
            continue
        dims = {d["Name"]: d["Value"] for d in item.get("Dimensions") or []}
        stat = item.get("Statistic") or item.get("ExtendedStatistic") or "Average"
        queries[f"child{i}"] = metric(item["Namespace"], item["MetricName"], dims, stat, label=name)
    if not queries:
        raise NoDataError("no child watches a single metric")
    return queries


def child_onsets(
    case: Case, items: Mapping[str, Mapping[str, Any]], histories: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """Each single-metric child's onset: where its series left its own normal, in its alarm's
    direction, before its ALARM. The earliest becomes the incident's onset (kept in
    ``case.state`` as :func:`incident_lib.steps.onset` keeps it, for the change ranking and
    the findings)."""
    from incident_lib.analysis import detect_onset
    from incident_lib.sources.frames import history_frame

    rows, found = [], []
    for i, (name, item) in enumerate(items.items()):
        try:
            values = case.series(f"child{i}").sort_index()
        except NoDataError:
            continue
        op = str(item.get("ComparisonOperator") or "")
        direction = "down" if op.startswith("LessThan") else "up"
        counts = (item.get("Statistic") or "") in ("Sum", "SampleCount")
        history = history_frame((histories.get(name) or {}).get("AlarmHistoryItems", []) or [])
        firing = case.state.get("firing")
        since = None
        if firing is not None:
            row = firing[firing["child"] == name]
            since = row.iloc[0]["alarm_since"] if len(row) else None
        alarm_time = (
            pd.Timestamp(since) if since is not None and pd.notna(since) else case.alarm_time
        )
        onset = detect_onset(
            values, alarm_time=alarm_time, alarm_history=history, counts=counts, direction=direction
        )
        rows.append(
            {
                "child": name,
                "metric": item.get("MetricName"),
                "onset": onset.time if onset else None,
                "baseline": round(onset.baseline, 3) if onset else None,
                "peak": round(onset.peak, 3) if onset else None,
                "confidence": onset.confidence if onset else "",
            }
        )
        if onset is not None:
            found.append((onset.time, name, item, values, counts, direction, onset))
    if not rows:
        raise NoDataError("no child series to place an onset")
    if found:
        _, name, item, values, counts, direction, onset = min(found, key=lambda f: f[0])
        label = f"{item.get('MetricName')} of {name}"
        case.state["onset"] = onset
        case.state["onset_label"] = label
        case.state["onset_series"] = (values, counts, direction, label)
    table = pd.DataFrame(rows)
    case.state["child_onsets"] = table
    return table


def composite_onset_finding(case: Case) -> Finding | None:
    """The onset found in the children's series; without any, the first child's ALARM (from
    the histories, else the composite's triggering children, else its own state change), said
    to be no earlier than that."""
    from incident_lib.steps import onset_finding

    found = onset_finding(case)
    if found is not None:
        return found
    firing = case.state.get("firing")
    when, what = case.alarm_time, f"the composite {case.alarm.name} changed state"
    if firing is not None and firing["alarm_since"].notna().any():
        row = firing.dropna(subset=["alarm_since"]).iloc[0]
        when, what = pd.Timestamp(row["alarm_since"]), f"{row['child']} went into ALARM"
    elif case.alarm.composite is not None and case.alarm.composite.triggering_children:
        stamped = [c for c in case.alarm.composite.triggering_children if c.timestamp]
        if stamped:
            first = min(stamped, key=lambda c: c.timestamp)
            when, what = pd.Timestamp(first.timestamp), f"{first.name} went into ALARM"
    return Finding(
        kind="onset",
        title=f"Onset no later than {when:%Y-%m-%d %H:%M} UTC, when {what}",
        detail="No child's metric series could be read to place the start earlier: run the "
        "children's own notebooks (commands above) for their onsets.",
        severity="warning",
        time=when.to_pydatetime(),
        confidence="low",
        confidence_reason="from alarm state changes only, not from a metric series",
        evidence=(Evidence(label="alarm history", ref="alarm_history"),),
    )


def child_findings(case: Case) -> list[Finding]:
    """One line per child: its state in the window and, where found, its onset."""
    firing = case.state.get("firing")
    onsets = case.state.get("child_onsets")
    out = []
    if firing is None:
        return out
    for r in firing.itertuples():
        onset = None
        if onsets is not None and len(onsets):
            match = onsets[onsets["child"] == r.child]
            onset = match.iloc[0] if len(match) and pd.notna(match.iloc[0]["onset"]) else None
        if pd.notna(r.alarm_since):
            title = f"Child {r.child}: in ALARM from {pd.Timestamp(r.alarm_since):%H:%M:%S} UTC"
            if onset is not None:
                title += (
                    f"; its {onset['metric']} left {onset['baseline']:g} at "
                    f"{pd.Timestamp(onset['onset']):%H:%M} UTC (peak {onset['peak']:g})"
                )
            severity = "warning"
        else:
            title = f"Child {r.child}: not in ALARM in the window"
            severity = "info"
        out.append(
            Finding(
                kind="child_alarm",
                title=title,
                detail=f"{r.minutes_in_alarm:g} min in ALARM in the window "
                f"({r.periods or 'none'}).",
                severity=severity,
                evidence=(
                    Evidence(
                        label=f"{r.child} history",
                        ref=f"aws:cloudwatch:DescribeAlarmHistory:{r.child}",
                    ),
                ),
            )
        )
    return out


def child_commands(
    case: Case, children: Sequence[str], items: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """For each child, the catalogue's alert type and the command that runs its own notebook
    on the same window (``incident investigate --alarm-name``)."""
    import shlex

    from incident_lib.alarm import alarm_from_description
    from incident_lib.catalog import load_catalog

    catalog = load_catalog()
    region = case.alarm.region or ""
    rows = []
    for name in children:
        item = items.get(name)
        alert_type = ""
        if item is not None:
            try:
                child = alarm_from_description(
                    item, region=case.alarm.region, account=case.alarm.account
                )
                alert_type = catalog.match(child).alert_type.name
            except Exception as exc:  # a child the parser cannot read: say so, keep the others
                alert_type = f"(unreadable: {exc})"
        command = f"incident investigate --alarm-name {shlex.quote(name)}"
        if region:
            command += f" --region {shlex.quote(region)}"
        rows.append({"child": name, "alert type": alert_type, "command": command})
    add = [str(d.get("Value")) for it in items.values() for d in it.get("Dimensions") or []]
    _add_resources(case, add)
    return pd.DataFrame(rows)


# -- RDS connections -------------------------------------------------------------------------------
#: Memory of common DB instance classes (GiB), for ``{DBInstanceClassMemory/N}`` formulas. The
#: families of one size share it (db.t3/t4g, m5/m6g/m6i/m7g, r5/r6g/r6i/r7g).
CLASS_MEMORY_GIB = {
    **{
        f"db.{f}.{s}": g
        for f in ("t3", "t4g")
        for s, g in (
            ("micro", 1),
            ("small", 2),
            ("medium", 4),
            ("large", 8),
            ("xlarge", 16),
            ("2xlarge", 32),
        )
    },
    **{
        f"db.{f}.{s}": g
        for f in ("m5", "m6g", "m6i", "m7g")
        for s, g in (
            ("large", 8),
            ("xlarge", 16),
            ("2xlarge", 32),
            ("4xlarge", 64),
            ("8xlarge", 128),
            ("12xlarge", 192),
        )
    },
    **{
        f"db.{f}.{s}": g
        for f in ("r5", "r6g", "r6i", "r7g")
        for s, g in (
            ("large", 16),
            ("xlarge", 32),
            ("2xlarge", 64),
            ("4xlarge", 128),
            ("8xlarge", 256),
            ("12xlarge", 384),
        )
    },
}
_DIVISOR = re.compile(r"\{\s*DBInstanceClassMemory\s*/\s*(\d+)\s*\}")
_LEAST = re.compile(r"LEAST\s*\((.*)\)", re.IGNORECASE)


def resolve_max_connections(value: str, instance_class: str) -> tuple[int | None, str]:
    """``max_connections`` as a number, and how it was found: a number as set, or the
    engine's formula (``LEAST({DBInstanceClassMemory/9531392},5000)`` for PostgreSQL,
    ``{DBInstanceClassMemory/12582880}`` for MySQL) worked out from the class's memory.
    ``DBInstanceClassMemory`` is the class's memory less what RDS keeps for itself, so the real
    limit is a little lower than the nominal memory gives: said in the answer."""
    text = str(value or "").strip()
    if text.isdigit():
        return int(text), f"set to {text} in the parameter group"
    found = _DIVISOR.search(text)
    gib = CLASS_MEMORY_GIB.get(instance_class)
    if not found or gib is None:
        return (
            None,
            f"{text or '(not set)'}: cannot be worked out for {instance_class or 'this class'}",
        )
    limit = int(gib * 2**30 // int(found.group(1)))
    caps = [
        int(n)
        for n in re.findall(r"\b(\d{2,})\b", _LEAST.sub(r"\1", text).replace(found.group(0), ""))
    ]
    if _LEAST.search(text) and caps:
        limit = min([limit, *caps])
    return limit, (
        f"{text} with {instance_class} ({gib} GiB): about {limit} (RDS keeps part of the memory "
        "for itself, so the real limit is a little lower)"
    )


def database_table(
    case: Case, instance: Mapping[str, Any], parameters: Mapping[str, Any]
) -> pd.DataFrame:
    """The instance (DescribeDBInstances) and its connection parameters (DescribeDBParameters
    of its parameter group): class, engine, status, pending changes, ``max_connections``
    resolved, reserved connections. The limit is kept for the findings."""
    params = {
        str(p.get("ParameterName")): p for p in (parameters or {}).get("Parameters", []) or []
    }
    cls = str(instance.get("DBInstanceClass", ""))
    raw = params.get("max_connections", {})
    limit, how = resolve_max_connections(str(raw.get("ParameterValue", "")), cls)
    reserved = int(str(params.get("superuser_reserved_connections", {}).get("ParameterValue") or 3))
    case.state["max_connections"] = (limit, how, reserved)
    groups = ", ".join(
        f"{g.get('DBParameterGroupName')} ({g.get('ParameterApplyStatus')})"
        for g in instance.get("DBParameterGroups") or []
    )
    rows = [
        ("Instance", instance.get("DBInstanceIdentifier")),
        ("Class", cls),
        ("Engine", f"{instance.get('Engine')} {instance.get('EngineVersion')}"),
        ("Status", instance.get("DBInstanceStatus")),
        ("Multi-AZ", instance.get("MultiAZ")),
        ("Parameter group", groups),
        ("Pending modifications", instance.get("PendingModifiedValues") or "none"),
        (
            "max_connections",
            f"{limit if limit is not None else '?'} ({how}; source {raw.get('Source', '?')})",
        ),
        ("Reserved for superusers", reserved),
        (
            "idle_in_transaction_session_timeout",
            params.get("idle_in_transaction_session_timeout", {}).get("ParameterValue", ""),
        ),
    ]
    return pd.DataFrame(rows, columns=["", "value"]).astype({"value": str})


def connections_limit_finding(case: Case, qid: str = "connections") -> Finding | None:
    """The connections against ``max_connections``: the peak, its share, and the minutes at
    the ceiling (within the superuser reserve of the limit)."""
    limit, how, reserved = case.state.get("max_connections", (None, "", 3))
    try:
        values = case.series(qid).sort_index()
    except NoDataError:
        return None
    start = _incident_start(case)
    since = values[values.index >= start - pd.Timedelta(minutes=1)]
    if since.empty:
        return None
    peak, when = float(since.max()), since.idxmax()
    if limit is None:
        return Finding(
            kind="limit",
            title=f"Connections peaked at {peak:,.0f} at {when:%H:%M} UTC; max_connections unknown",
            detail=f"max_connections: {how}.",
            severity="warning",
            evidence=(Evidence(label="DatabaseConnections", ref=f"metric:{qid}"),),
        )
    share = 100.0 * peak / limit
    ceiling = since[since >= limit - reserved - 1]
    title = (
        f"Connections reached {peak:,.0f} of max_connections {limit:,} ({share:.0f}%) "
        f"at {when:%H:%M} UTC"
    )
    if len(ceiling):
        title += f"; at the ceiling for {len(ceiling)} min from {ceiling.index[0]:%H:%M}"
    return Finding(
        kind="cause" if len(ceiling) else "limit",
        title=title,
        detail=f"max_connections: {how}; {reserved} of them are reserved for superusers, so "
        f"applications get at most {limit - reserved:,}.",
        severity="critical" if len(ceiling) else "warning",
        time=when.to_pydatetime(),
        evidence=(Evidence(label="DatabaseConnections", ref=f"metric:{qid}"),),
        data={"peak": peak, "max_connections": limit},
    )


def database_clients(
    case: Case, listing: Mapping[str, Any] | None, names: Sequence[str]
) -> list[str]:
    """The database's clients: the catalogue's ``backend_functions`` for it, then the functions
    (ListFunctions) whose environment names the database (its identifier or endpoint host).
    Added to the case's resources: a deploy of a client is related."""
    clients = [str(f) for f in case.params.get("backend_functions") or []]
    wanted = [n.lower() for n in names if n]
    for fn in (listing or {}).get("Functions", []) or []:
        env = ((fn.get("Environment") or {}).get("Variables") or {}).values()
        if any(w in str(v).lower() for v in env for w in wanted):
            clients.append(str(fn.get("FunctionName")))
    clients = list(dict.fromkeys(c for c in clients if c))
    _add_resources(case, clients)
    return clients


#: Environment variables that size a connection pool.
_POOL_SETTING = re.compile(r"POOL|CONN|MAX_?CLIENT", re.IGNORECASE)


def pool_settings(configurations: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Each client's pool settings as configured now (environment variables named like a
    pool size or connection limit; secrets are masked by ``case.aws``)."""
    rows = []
    for fn, config in configurations.items():
        env = ((config or {}).get("Environment") or {}).get("Variables") or {}
        settings = {k: v for k, v in env.items() if _POOL_SETTING.search(k)}
        rows.append(
            {
                "client": fn,
                "pool settings": ", ".join(f"{k}={v}" for k, v in settings.items())
                or "(none in its environment)",
                "memory_mb": (config or {}).get("MemorySize"),
                "last_modified": (config or {}).get("LastModified"),
            }
        )
    if not rows:
        raise NoDataError("no client configuration read")
    return pd.DataFrame(rows)


def pool_sizes(case: Case, frame: pd.DataFrame) -> pd.DataFrame:
    """Pool sizes the clients log (a Logs Insights ``stats max(pool_size) as pool ... by
    bin(5m)`` frame), before and since the incident; kept for :func:`pool_finding`."""
    if frame is None or frame.empty:
        raise NoDataError("no client logs its pool size")
    out = frame.copy()
    time_col = next(c for c in out.columns if c.startswith("bin("))
    out[time_col] = pd.to_datetime(out[time_col], utc=True)
    out = out.sort_values(time_col, ignore_index=True)
    case.state["pool_sizes"] = (out, time_col)
    return out


def pool_finding(case: Case) -> Finding | None:
    """Did the pool size the clients log change around the incident?"""
    kept = case.state.get("pool_sizes")
    if kept is None:
        return None
    frame, time_col = kept
    start = _incident_start(case)
    # Bins by their end: a bin that ends after the start holds lines of the incident.
    t = frame[time_col] + pd.Timedelta(minutes=5)
    before = frame[(t <= start) & (t > start - pd.Timedelta(hours=1))]
    since = frame[t > start]
    if before.empty or since.empty:
        return None
    old, new = float(before["pool"].max()), float(since["pool"].max())
    evidence = (Evidence(label="pool sizes in the clients' logs", ref="insights:pool_sizes"),)
    if new > old:
        grew = since[since["pool"] > old]
        when = grew[time_col].iloc[0]
        return Finding(
            kind="related_metric",
            title=f"The clients' connection pool grew from {old:g} to {new:g} per process "
            f"from {when:%H:%M} UTC",
            detail="From the clients' own 'pool ready' log lines: each process (execution "
            "environment, task) now holds more connections, so the same load holds "
            f"{new / max(old, 1):.1f}x the connections.",
            severity="critical",
            time=when.to_pydatetime(),
            evidence=evidence,
        )
    return Finding(
        kind="pool_unchanged",
        title=f"The clients' pool size is unchanged ({new:g} per process)",
        detail="The pool the clients log is the same before and since the incident: more "
        "connections mean more processes, or connections not returned to the pool.",
        severity="info",
        evidence=evidence,
    )


def load_finding(
    case: Case, *, connections: str, load: Sequence[tuple[str, str]]
) -> Finding | None:
    """Did the connections grow with the clients' load (``(label, qid)``: invocations,
    concurrency) or without it (a bigger pool, or connections not released)?"""
    from incident_lib.service_steps import movement

    try:
        conn = movement(case, connections, factor=1.0, floor=0.0)
    except NoDataError:
        return None
    growth = conn.since / conn.before if conn.before > 0 else float("inf")
    loads = []
    for label, qid in load:
        try:
            m = movement(case, qid, factor=1.0, floor=0.0)
        except NoDataError:
            continue
        loads.append((label, m.since / m.before if m.before > 0 else float("inf")))
    if not loads or growth < 1.3:
        return None
    flat = [f"{label} {g:.1f}x" for label, g in loads]
    if all(g < 1.25 for _, g in loads):
        return Finding(
            kind="related_metric",
            title=f"Connections grew {growth:.1f}x while the clients' load stayed flat "
            f"({', '.join(flat)})",
            detail="Each client holds more connections than before: a larger pool, or "
            "connections that are not returned (a leak: look for an error path that skips "
            "closing them).",
            severity="warning",
            evidence=(Evidence(label="DatabaseConnections", ref=f"metric:{connections}"),),
        )
    return Finding(
        kind="load",
        title=f"Connections grew {growth:.1f}x with the clients' load ({', '.join(flat)})",
        detail="More work, more connections: the limit may simply be too low for the traffic.",
        severity="info",
        evidence=(Evidence(label="DatabaseConnections", ref=f"metric:{connections}"),),
    )
