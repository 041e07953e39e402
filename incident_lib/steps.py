"""Steps several runbook notebooks share: the alarm's own series, deploy markers, the onset, the
change ranking, error signatures, and the findings built from them.

These are analysis, not runbook: each takes what a notebook cell fetched with the
:class:`~incident_lib.notebook.Case` verbs and returns a table, a figure or a finding. What one
step concludes (the onset, the ranked changes, the signature table) is kept in ``case.state`` so
a later section, or the findings, can use it even when the notebook's variables are gone.

>>> onset = steps.onset(case, steps.series(lam, "errors"), label="Errors", counts=True)
... # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from incident_lib.analysis import (
    alarm_periods,
    compare_signatures,
    culprit_finding,
    detect_onset,
    rank_changes,
    signature_findings,
)
from incident_lib.analysis import impact as _impact
from incident_lib.analysis.changes import is_deploy, short_event
from incident_lib.analysis.signatures import signatures
from incident_lib.errors import MetricQueryError, NoDataError, SourceError
from incident_lib.findings import Evidence, Finding
from incident_lib.notebook import Case
from incident_lib.plotting import bar_by_time, timeseries
from incident_lib.sources.frames import history_frame

__all__ = [
    "alarm_chart",
    "alarm_facts",
    "alarm_series",
    "change_finding",
    "deploy_markers",
    "error_signatures",
    "failing_requests",
    "history_table",
    "impact_finding",
    "lambda_versions",
    "like_any",
    "only",
    "onset",
    "onset_finding",
    "quote",
    "ranked_changes",
    "series",
    "signature_chart",
    "time_in_alarm_finding",
]


#: Deploy calls this close together are one rollout (one marker on the charts).
ROLLOUT_GAP = pd.Timedelta(minutes=3)

#: Without an onset, the incident window starts this long before the alarm fired.
DEFAULT_LEAD = pd.Timedelta(minutes=15)


# -- frames ------------------------------------------------------------------------------------
def series(frame: pd.DataFrame, qid: str) -> pd.Series:
    """One query's values from a long ``id, label, timestamp, value`` frame, indexed by time.
    An id the frame does not hold is :class:`NoDataError` (its step failed or found nothing)."""
    if frame is None or "id" not in frame or not (frame["id"] == qid).any():
        raise NoDataError(f"no datapoints for {qid!r}")
    part = frame[frame["id"] == qid]
    return pd.Series(part["value"].to_numpy(), index=pd.DatetimeIndex(part["timestamp"]), name=qid)


def only(frame: pd.DataFrame, *ids: str) -> pd.DataFrame:
    """The rows of a long metric frame for these query ids (for one figure per question)."""
    return frame[frame["id"].isin(ids)]


def quote(text: str) -> str:
    """``text`` as a Logs Insights string literal (double quotes, escaped)."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def like_any(field: str, values: Iterable[str]) -> str:
    """A Logs Insights condition true when ``field`` contains any of ``values`` (each quoted
    by :func:`quote`, never pasted in): ``@message like "a" or @message like "b"``."""
    parts = [f"{field} like {quote(v)}" for v in values]
    if not parts:
        raise NoDataError("nothing to look for")
    return " or ".join(parts)


# -- the alarm -----------------------------------------------------------------------------------
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


def history_table(history: pd.DataFrame) -> pd.DataFrame:
    """The alarm's history, newest first, in the columns a reader needs."""
    cols = ["timestamp", "history_item_type", "old_state", "new_state", "summary"]
    return history[cols].sort_values("timestamp", ascending=False)


def history_or_empty(case: Case) -> pd.DataFrame:
    """The alarm history, or an empty one after marking the section ``partial`` when it cannot
    be read (the chart then shades from the state change instead)."""
    try:
        return case.alarm_history()
    except SourceError as exc:
        case.problem(f"alarm history unavailable ({exc}): ALARM periods shaded from the event")
        return history_frame([])


def alarm_series(case: Case) -> pd.DataFrame:
    """The alarm's own metric queries, as the alarm evaluates them. Where the source cannot
    evaluate the alarm's expression (the local engine has no ANOMALY_DETECTION_BAND), the
    metrics it reads are fetched instead, and the notebook says so."""
    queries = case.alarm.to_metric_queries()
    if not queries:
        raise NoDataError(
            "this alarm has no metric of its own (composite): see its rule and the children"
        )
    try:
        frame = case.metrics(queries)
    except MetricQueryError as exc:
        plain = [q for q in queries if q.expression is None]
        if not plain or len(plain) == len(queries):
            raise
        # A limit of the offline engine, not a fault of the run: said, not marked partial.
        case.show(
            f"The alarm's expression cannot be evaluated on this source ({exc}); "
            "showing the metrics it reads."
        )
        frame = case.metrics([dataclasses.replace(q, return_data=True) for q in plain])
    case.state["alarmed_series"] = frame
    if frame.empty:
        raise NoDataError("no datapoints for the alarmed metric in the window")
    return frame


def alarm_chart(case: Case, frame: pd.DataFrame, history: pd.DataFrame | None = None) -> Any:
    """The alarmed series with the threshold, the ALARM periods shaded, deploys marked."""
    hist = history if history is not None else history_frame([])
    shade = alarm_periods(hist, start=case.start, end=case.end)
    if hist.empty and case.alarm.new_state == "ALARM":  # no history readable: since the change
        shade = [(case.alarm_time, case.end)]
    threshold, label = _threshold_at_frame_period(case, frame)
    return timeseries(
        frame,
        title=f"{case.alarm.name}: the alarmed series",
        threshold=threshold,
        threshold_label=label,
        shade=shade,
        markers=deploy_markers(case),
    )


#: Statistics that add up over time: a sum over a longer period is compared with a threshold
#: scaled by the periods' ratio. Averages, extremes and percentiles compare as they are.
_ADDITIVE_STATS = frozenset({"Sum", "SampleCount"})


def _threshold_at_frame_period(case: Case, frame: pd.DataFrame) -> tuple[float | None, str | None]:
    """The alarm's threshold as drawn on ``frame``. When the series was fetched at a longer
    period than the alarm's (a long window, see ``Case.metrics``), a Sum threshold is scaled
    by the ratio of the periods and says so; with no threshold or no metric alarm, as is."""
    threshold, m = case.alarm.threshold, case.alarm.metric
    if threshold is None or m is None or not m.period or frame.empty:
        return threshold, None
    steps_s = frame.sort_values("timestamp").groupby("id")["timestamp"].diff().dt.total_seconds()
    if steps_s.dropna().empty:
        return threshold, None
    period = int(steps_s.dropna().median())
    if period <= m.period or m.stat not in _ADDITIVE_STATS:
        return threshold, None
    scaled = threshold * period / m.period
    return scaled, f"threshold {threshold:g} per {m.period} s = {scaled:g} per {period} s"


def alarmed_period(case: Case) -> int:
    """The period (seconds) of the alarm's metrics, 60 when it has none."""
    return max([m.period or 60 for m in case.alarm.metrics()] or [60])


# -- changes -------------------------------------------------------------------------------------
def deploy_markers(case: Case) -> list[tuple[pd.Timestamp, str]]:
    """``(time, label)`` of every deploy, for vertical lines on each figure. The calls of one
    rollout (UpdateFunctionCode, PublishVersion, UpdateAlias within minutes) make one marker.
    Without CloudTrail (denied, failed) there are no markers; the Changes section says why."""
    try:
        frame = case.changes()
    except Exception:
        return []
    # .loc with a bool mask: an empty object-dtype mask given to frame[...] selects columns.
    deploys = frame.loc[frame["event_name"].astype(str).map(is_deploy).astype(bool)]
    groups: list[list[tuple[pd.Timestamp, str]]] = []
    for row in deploys.sort_values("event_time").itertuples():
        item = (row.event_time, short_event(row.event_name))
        if groups and item[0] - groups[-1][-1][0] <= ROLLOUT_GAP:
            groups[-1].append(item)
        else:
            groups.append([item])
    return [(g[-1][0], g[0][1] if len(g) == 1 else f"deploy ({len(g)} calls)") for g in groups]


def ranked_changes(
    case: Case, changes: pd.DataFrame, *, tolerance: pd.Timedelta | None = None
) -> pd.DataFrame:
    """``changes`` ranked as the likely cause of the onset: a change is a candidate only if the
    metric moved after it, within a sensible lead; related to the alarm's resources first; each
    with the reason it is a candidate or was ruled out. Without an onset, changes are ranked
    against the alarm's state change. ``tolerance``: how long after the onset a change may
    still be the cause (default the alarm's period, at least 2 min; give it when the onset
    came from a finer series than the alarm's, as for a 6-hour billing metric)."""
    found = case.state.get("onset")
    values, counts, direction, label = case.state.get("onset_series", (None, None, "up", ""))
    # The onset is only as precise as the data: a change up to one period after it may still
    # be the cause.
    if tolerance is None:
        tolerance = max(pd.Timedelta(minutes=2), pd.Timedelta(seconds=alarmed_period(case)))
    ranked = rank_changes(
        changes,
        onset=found if found is not None else case.alarm_time,
        resource_names=case.resource_names,
        tolerance=tolerance,
        series=values,
        counts=counts,
        direction=direction if direction != "both" else "up",
        label=label or "the metric",
    )
    case.state["ranked_changes"] = ranked
    if ranked.empty:  # ranked all the same (with its columns), so the findings can say "none"
        raise NoDataError(
            f"no CloudTrail changes to {', '.join(case.resource_names) or 'the resources'} "
            "in the window"
        )
    cols = [
        "event_time",
        "event_name",
        "username",
        "relation",
        "minutes_before_onset",
        "status",
        "evidence",
        "score",
        "reason",
        "event_id",
    ]
    return ranked[[c for c in cols if c in ranked]]


def change_finding(case: Case) -> Finding | None:
    """The likely culprit change, or "no related change found" listing what was ruled out and
    why, or what could not be checked (no CloudTrail access)."""
    found = case.state.get("onset")
    ranked = case.state.get("ranked_changes")
    unchecked: list[str] = []
    if ranked is None:
        try:
            case.changes()
        except Exception as exc:  # the Changes section already showed the failure
            unchecked.append(f"CloudTrail: {exc}")
        else:
            return None  # the Changes step did not run: nothing to say
    if "error_lines" not in case.state:
        unchecked.append("no error logs were read")
    return culprit_finding(
        ranked,
        unchecked=unchecked,
        onset_confidence=found.confidence if found is not None else None,
    )


# -- siblings ----------------------------------------------------------------------------------
#: Sibling series compared with the alarmed one (one GetMetricData call).
MAX_SIBLINGS = 10


def sibling_queries(
    case: Case, listed: pd.DataFrame | None, *, max_siblings: int = MAX_SIBLINGS
) -> list[Any]:
    """GetMetricData queries for the alarmed metric and up to ``max_siblings`` others that
    ListMetrics found (``listed``), labelled by their dimensions."""
    from incident_lib.sources import MetricQuery

    m = case.alarm.metric
    if m is None or not m.dimensions or listed is None:
        raise NoDataError("the alarm has no single dimensioned metric, so no siblings to compare")
    others = [d for d in listed["dimensions"] if d != dict(m.dimensions)][:max_siblings]
    if not others:
        raise NoDataError(f"no other {m.namespace} {m.name} series share these dimension names")
    queries = [
        MetricQuery(
            "alarmed" if i == 0 else f"s{i}",
            m.namespace,
            m.name,
            dims,
            m.stat,
            m.period,
            label=_dims_label(dims),
        )
        for i, dims in enumerate([dict(m.dimensions), *others])
    ]
    case.state["sibling_ids"] = [q.id for q in queries]
    return queries


def sibling_finding(case: Case) -> Finding | None:
    """Which siblings moved with the alarmed resource after the onset (one resource or all)."""
    from incident_lib.analysis import sibling_scan

    found = case.state.get("onset")
    frame = case.metric_frame(*case.state.get("sibling_ids", []))
    if found is None or frame.empty or frame["id"].nunique() < 2:
        return None
    return sibling_scan(frame, onset=found.time)


def _dims_label(dims: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(dims.items())) or "(no dimensions)"


# -- onset ---------------------------------------------------------------------------------------
def onset(
    case: Case,
    values: pd.Series,
    *,
    label: str,
    counts: bool = False,
    history: pd.Series | None = None,
) -> Any:
    """Where ``values`` first departed from its own normal, in the alarm's direction, for this
    incident (the first burst of a flapping alarm, the start of a slow ramp), with the method,
    the baseline it used and how sure it is. ``counts``: the series counts events (errors,
    requests: a Poisson floor); otherwise a gauge (CPU %, bytes). ``history``: the same query
    on previous days, when a step fetched it. Kept in ``case.state`` for the change ranking and
    the findings."""
    op = case.alarm.comparison_operator or ""
    if op in ("LessThanLowerOrGreaterThanUpperThreshold",):  # anomaly band: either way out
        direction = "both"
    else:
        direction = "down" if op.startswith("LessThan") else "up"
    try:
        alarm_history = case.alarm_history()
    except SourceError:
        alarm_history = None
    result = detect_onset(
        values,
        alarm_time=case.alarm_time,
        alarm_history=alarm_history,
        counts=counts,
        direction=direction,
        history=history,
    )
    case.state["onset_series"] = (values, counts, direction, label)
    if result is not None:
        case.state["onset"] = result
        case.state["onset_label"] = label
    return result


def onset_finding(case: Case) -> Finding | None:
    """The onset found by an earlier section, as a finding naming the series it was seen in."""
    found = case.state.get("onset")
    if found is None:
        return None
    label = case.state.get("onset_label", "the alarmed series")
    return found.to_finding(label=label, ref=f"metric:{label}")


def incident_start(case: Case) -> pd.Timestamp:
    """The onset when one was found, else a quarter of an hour before the alarm."""
    found = case.state.get("onset")
    return found.time if found is not None else case.alarm_time - DEFAULT_LEAD


# -- logs ----------------------------------------------------------------------------------------
def error_signatures(
    case: Case, lines: pd.DataFrame, *, baseline: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Group error lines (Logs Insights frames with ``@timestamp`` and ``@message``) by
    signature and compare the incident window with the baseline before it: ``signature,
    status (new | surging | steady | gone | unknown), incident, baseline, example ...``. Kept in
    ``case.state["signatures"]`` for the findings.

    ``lines`` may hold both windows, or only the incident with ``baseline`` the lines before it
    (two queries, so a busy incident cannot push the baseline out of a row limit). A result cut
    at its limit covers only its latest part: rates are taken over what was read, the section
    says so, and with no baseline read nothing is called "new" (``unknown`` instead)."""
    frames = [f for f in (baseline, lines) if f is not None and not f.empty]
    if not frames:
        raise NoDataError("no error lines in the window")
    start = incident_start(case)
    both = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if "@ptr" in both:
        both = both.drop_duplicates("@ptr", ignore_index=True)
    events = both.rename(
        columns={"@timestamp": "timestamp", "@message": "message", "@ptr": "event_id"}
    )
    # Learnt from all lines at once, so a line has the same signature in either window.
    events = events.assign(signature=signatures(events["message"].astype(str).tolist()))
    # What was read: a result cut at its limit (newest first) covers only its latest part.
    b_start, i_start = case.start, start
    for frame in (f for f in (baseline, lines) if f is not None and f.attrs.get("truncated")):
        times = pd.to_datetime(frame["@timestamp"], utc=True)
        case.problem(
            f"the error query stopped at its limit of {frame.attrs.get('limit', len(frame))} "
            f"lines: they cover only {times.min():%H:%M}-{times.max():%H:%M} UTC; counts are "
            "of what was read (narrow the filter or raise the limit)"
        )
        if frame is baseline or baseline is None:  # one query for both: the baseline first
            b_start = max(b_start, times.min())
        if frame is lines:
            i_start = max(i_start, times.min())
    b_start = min(b_start, start)
    table = compare_signatures(
        events, incident_start=i_start, baseline_start=b_start, baseline_end=start
    )
    if b_start >= start:
        # No baseline was read: "new" would only mean "not looked for".
        table.loc[table["status"] == "new", "status"] = "unknown"
        case.problem("no baseline window was read, so no signature can be called new")
    case.state["signatures"] = table
    case.state["error_lines"] = both
    case.state["signature_of_line"] = events["signature"]
    return table.drop(columns=["example_id"], errors="ignore")


def signature_chart(case: Case, *, top: int = 6) -> Any:
    """Error lines per minute, one colour per signature (the ``top`` most frequent; the rest
    as ``(other)``), from what :func:`error_signatures` found."""
    table = case.state.get("signatures")
    sigs = case.state.get("signature_of_line")
    lines = case.state.get("error_lines")
    if table is None or sigs is None or lines is None or lines.empty:
        raise NoDataError("no error signatures to chart")
    per_minute = (
        pd.DataFrame(
            {
                "minute": lines["@timestamp"].dt.floor("1min").to_numpy(),
                "signature": sigs.to_numpy(),
            }
        )
        .groupby(["minute", "signature"])
        .size()
        .rename("errors")
        .reset_index()
    )
    keep = table["signature"].head(top).tolist()
    per_minute.loc[~per_minute["signature"].isin(keep), "signature"] = "(other)"
    return bar_by_time(
        per_minute, x="minute", y="errors", color="signature", title="Error lines per minute"
    )


def failing_requests(case: Case, *, n: int = 3) -> list[str]:
    """Request ids of up to ``n`` failing requests, from the new or surging signatures first
    (from what :func:`error_signatures` found)."""
    table = case.state.get("signatures")
    sigs = case.state.get("signature_of_line")
    lines = case.state.get("error_lines")
    if table is None or sigs is None or lines is None or "@requestId" not in lines:
        raise NoDataError("no request ids in the error lines")
    new = table[table["status"].isin(["new", "surging"])]["signature"].tolist()
    wanted = new or table["signature"].head(1).tolist()
    picked = lines[sigs.isin(wanted).to_numpy()]
    ids = [i for i in picked["@requestId"].dropna().unique() if isinstance(i, str) and i]
    if not ids:
        raise NoDataError("the failing lines carry no request id")
    return ids[:n]


# -- findings ------------------------------------------------------------------------------------
def new_signature_findings(case: Case) -> list[Finding]:
    """Findings for error signatures new or surging against the baseline."""
    table = case.state.get("signatures")
    return signature_findings(table) if table is not None else []


def impact_finding(
    case: Case, *, failed: str, total: str, label: str = "requests"
) -> Finding | None:
    """Failed against total requests (metric query ids of an earlier step) from the onset (or
    the window's start) to the window's end, with the minutes in ALARM."""
    try:
        bad, all_ = case.series(failed), case.series(total)
    except NoDataError:
        return None
    try:
        hist = case.alarm_history()
    except SourceError:
        hist = history_frame([])
    found = case.state.get("onset")
    return _impact(
        bad,
        all_,
        start=found.time if found is not None else case.start,
        end=case.end,
        alarm_history=hist,
        label=label,
    )


def time_in_alarm_finding(case: Case) -> Finding | None:
    """How long the alarm has been in ALARM within the window, from its history."""
    try:
        hist = case.alarm_history()
    except SourceError:
        return None
    periods = alarm_periods(hist, start=case.start, end=case.end)
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


def summary(case: Case, findings: Sequence[Finding | None]) -> str:
    """One line for the report's banner: the culprit or the new error, else the first finding."""
    found = [f for f in findings if f is not None]
    headline = [f.title for f in found if f.kind in ("culprit_change", "new_signature")]
    if headline:
        return "; ".join(headline)
    return found[0].title if found else f"{case.alarm.name}: no clear cause found"


# -- Lambda ------------------------------------------------------------------------------------
def lambda_versions(aliases: dict[str, Any], versions: dict[str, Any]) -> pd.DataFrame:
    """Published versions (ListVersionsByFunction), newest change first, with the aliases
    pointing at each (ListAliases): which code takes traffic, and since when."""
    by_version: dict[str, list[str]] = {}
    for alias in aliases.get("Aliases", []):
        by_version.setdefault(str(alias.get("FunctionVersion")), []).append(str(alias["Name"]))
    rows = [
        {
            "version": v.get("Version"),
            "aliases": ", ".join(by_version.get(str(v.get("Version")), [])),
            "last_modified": pd.to_datetime(v.get("LastModified"), utc=True),
            "code_sha256": v.get("CodeSha256"),
            "timeout_s": v.get("Timeout"),
            "memory_mb": v.get("MemorySize"),
            "runtime": v.get("Runtime"),
        }
        for v in versions.get("Versions", [])
    ]
    if not rows:
        raise NoDataError("no published versions")
    return pd.DataFrame(rows).sort_values("last_modified", ascending=False, ignore_index=True)
