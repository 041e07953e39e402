"""Which change caused it? CloudTrail events near the onset, ranked by time, by relation to the
resource and by what the metric did after each one; and abstention when none fits.

A change is a **candidate** only when

- it came before the onset (up to ``tolerance`` after it: the onset has its series'
  resolution) and at most ``max_lead`` (default 30 min) before it; and
- where the metric series is given, the metric *moved* after it: a sustained departure from
  the baseline of the minutes before the change began within ``max_quiet`` (default 10 min) of
  it. A change after which the metric stayed at its baseline for longer is ruled out, however
  close or related it is; and
- it touches the resource, or mentions it (its role, say).

Every other change is *ruled out*, with the reason. When no candidate is left,
:func:`culprit_finding` says "no related change found" and lists them: a confident wrong
culprit is the worst thing a report can say.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from incident_lib.analysis.onset import Onset, robust_baseline
from incident_lib.findings import Confidence, Evidence, Finding, RuledOut
from incident_lib.timeutil import ensure_utc

#: Event names that put new code or a new version in front of traffic.
DEPLOY_EVENTS = re.compile(
    r"^(UpdateFunctionCode|PublishVersion|UpdateAlias|CreateAlias|CreateDeployment|"
    r"UpdateStage|UpdateService|CreateService|RegisterTaskDefinition|UpdateStack|"
    r"CreateChangeSet|ExecuteChangeSet|UpdateAutoScalingGroup|StartInstanceRefresh)"
)
#: Configuration changes: weighed below deploys, above other writes.
CONFIG_EVENTS = re.compile(
    r"^(UpdateFunctionConfiguration|PutFunctionConcurrency|DeleteFunctionConcurrency|"
    r"PutProvisionedConcurrencyConfig|UpdateEventSourceMapping|ModifyDB|UpdateTable|"
    r"PutRolePolicy|AttachRolePolicy|DetachRolePolicy|DeleteRolePolicy|PutParameter|"
    r"UpdateSecret|PutSecretValue|AuthorizeSecurityGroup|RevokeSecurityGroup)"
)
RELATION_WEIGHT = {"direct": 1.0, "indirect": 0.5, "unrelated": 0.05}
#: Weight of what the metric did after the change: moved at once, moved later, not checked.
#: Not checked weighs less than a prompt rise, more than a late one: without the series the
#: ranking is by time and relation alone, as it was (the confidence says it was not checked).
EVIDENCE_WEIGHT = {"prompt": 1.0, "delayed": 0.6, "unchecked": 0.8, "none": 0.0}
#: Verdicts from the strongest evidence to none.
VERDICT_ORDER = ("prompt", "delayed", "unchecked", "none")
#: A departure this soon after a change (or inside its period) counts as prompt.
PROMPT = pd.Timedelta(minutes=3)
#: Default bounds: how long before the onset a change may be, how long the metric may stay at
#: its baseline after a change, how much of the series before a change is its baseline.
MAX_LEAD = pd.Timedelta(minutes=30)
MAX_QUIET = pd.Timedelta(minutes=10)
BEFORE = pd.Timedelta(minutes=30)
#: Calls this close together by one principal on one resource are one rollout.
ROLLOUT_GAP = pd.Timedelta(minutes=3)
CANDIDATE = "candidate"
RULED_OUT = "ruled out"
KIND_WEIGHT = {"deploy": 1.0, "config": 0.7, "other": 0.4}
_PARAM_KEYS = (
    "functionName",
    "FunctionName",
    "name",
    "roleName",
    "tableName",
    "serviceName",
    "restApiId",
    "stackName",
    "dBInstanceIdentifier",
    "cluster",
    "service",
)


def _as_list(value: Any) -> list[dict[str, Any]]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    return [dict(v) for v in value]


def _as_dict(value: Any) -> dict[str, Any]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {}
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    return dict(value) if isinstance(value, dict) else {}


def _short_name(name: str) -> str:
    """``arn:aws:lambda:...:function:checkout-api:live`` -> ``checkout-api``; ``role/x`` -> ``x``;
    ``checkout-api:live`` -> ``checkout-api``."""
    text = str(name)
    if text.startswith("arn:"):
        parts = text.split(":")
        rest = parts[5:]
        if len(rest) >= 2 and rest[0] in ("function", "alarm", "table", "db", "cluster"):
            return rest[1]
        text = rest[-1] if rest else text
    text = text.rsplit("/", 1)[-1]
    return text.split(":", 1)[0]


def _touched(row: pd.Series) -> tuple[set[str], list[str]]:
    """Names the event touches (exact, normalised) and every string it mentions."""
    names: set[str] = set()
    mentioned: list[str] = []
    for res in _as_list(row.get("resources")):
        name = res.get("ResourceName") or res.get("resourceName")
        if name:
            names.add(_short_name(name))
            mentioned.append(str(name))
    params = _as_dict(row.get("request_parameters"))
    for key in _PARAM_KEYS:
        if isinstance(params.get(key), str):
            names.add(_short_name(params[key]))
    mentioned.extend(str(v) for v in params.values() if isinstance(v, str))
    return names, mentioned


def _kind(event_name: str) -> str:
    if DEPLOY_EVENTS.match(event_name):
        return "deploy"
    if CONFIG_EVENTS.match(event_name):
        return "config"
    return "other"


def _minutes(delta: pd.Timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f} min"


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def metric_after(
    series: pd.Series,
    when: pd.Timestamp,
    *,
    until: pd.Timestamp | None = None,
    direction: str = "up",
    before: pd.Timedelta = BEFORE,
    max_quiet: pd.Timedelta = MAX_QUIET,
    counts: bool | None = None,
    min_spread: float | None = None,
    z: float = 4.0,
    sustain: int = 3,
    min_hits: int = 2,
    label: str = "the metric",
) -> tuple[str, str]:
    """What ``series`` did after a change at ``when``: ``(verdict, text)``.

    The baseline is the series in the ``before`` window ending at the change's period
    (median/MAD, Poisson floor for counts); the first point of the change's own period on
    is compared with it. ``verdict`` is ``prompt`` (a sustained departure began within
    :data:`PROMPT` of the change), ``delayed`` (within ``max_quiet``), ``none`` (the series
    stayed at its baseline for longer than ``max_quiet``) or ``unchecked`` (too little data).
    ``until`` caps where a baseline may reach (the onset), so a change inside an incident is
    not compared with the incident itself.
    """
    values = series.dropna().astype(float).sort_index()
    if values.empty:
        return "unchecked", f"no {label} datapoints"
    times = values.index
    period = (
        pd.Timedelta(np.median(np.diff(times.asi8)), unit=times.unit)
        if len(times) > 1
        else pd.Timedelta(minutes=1)
    )
    bucket = when.floor(period) if period > pd.Timedelta(0) else when
    cap = bucket if until is None else min(bucket, until.floor(period))
    base = values[(times >= cap - before) & (times < cap)]
    if len(base) < 3:
        return "unchecked", f"too few {label} datapoints before it to compare ({len(base)})"
    center, spread = robust_baseline(base, counts=counts, min_spread=min_spread)
    sign = -1.0 if direction == "down" else 1.0
    after = values[times >= bucket]
    if after.empty:
        return "unchecked", f"no {label} datapoints after it"
    dev = (after.to_numpy() - center) * sign
    strong = dev > z * spread
    rise = next(
        (i for i in range(len(strong)) if strong[i] and strong[i : i + sustain].sum() >= min_hits),
        None,
    )
    base_text = f"baseline {_fmt(center)} in the {_minutes(before)} before it"
    if rise is not None:
        delay = max(after.index[rise] - when, pd.Timedelta(0))
        if delay <= max_quiet:
            near = after.iloc[rise : rise + 10]
            peak = float(near.max() if sign > 0 else near.min())
            verdict = "prompt" if delay <= PROMPT else "delayed"
            when_text = "within its minute" if delay < period else f"{_minutes(delay)} after it"
            verb = "rose" if sign > 0 else "fell"
            return verdict, f"{label} {verb} to {_fmt(peak)} {when_text} ({base_text})"
        quiet = after.index[rise] - when
        return (
            "none",
            f"{label} stayed at baseline ({_fmt(center)}) for {_minutes(quiet)} after it, "
            f"departing only at {after.index[rise]:%H:%M} UTC",
        )
    span = after.index[-1] + period - when
    if span < max_quiet:
        return "unchecked", f"only {_minutes(span)} of {label} after it, and no departure yet"
    return "none", f"{label} stayed at baseline ({_fmt(center)}) for {_minutes(span)} after it"


def rank_changes(
    changes: pd.DataFrame,
    *,
    onset: pd.Timestamp | Onset,
    resource_names: Sequence[str],
    tolerance: pd.Timedelta | None = None,
    horizon: pd.Timedelta | None = None,
    series: pd.Series | None = None,
    max_lead: pd.Timedelta | None = None,
    max_quiet: pd.Timedelta | None = None,
    direction: str = "up",
    counts: bool | None = None,
    min_spread: float | None = None,
    label: str = "the metric",
) -> pd.DataFrame:
    """Rank change events as candidate causes of an anomaly that began at ``onset``, ruling
    out those that cannot be it.

    Parameters
    ----------
    changes
        The ``Source.change_events`` frame: ``event_time, event_name, event_source, username,
        resources, request_parameters, event_id``; ``resources`` a JSON string or list of
        ``{"ResourceType","ResourceName"}``, ``request_parameters`` a JSON string or dict.
    onset
        Start of the anomaly (tz-aware), or the :class:`~incident_lib.analysis.Onset` itself:
        then a change counts until ``tolerance`` after the *latest* start its data allow, and
        its change point counts as the metric moving after a change just before it.
    resource_names
        The resources under investigation (function names, ARNs, table names ...).
    tolerance
        How long after ``onset`` a change still counts (default 2 min; pass one period of the
        series when it is longer): the change that caused a departure can sit inside the
        onset's own period.
    horizon
        Scale of the recency decay (default 60 min): a change one horizon before the onset
        keeps ``e**-1`` of its weight.
    series
        The metric the onset was found in (errors per minute, say), indexed by tz-aware time.
        With it, each change is checked against what the metric did after it (see
        :func:`metric_after`); without it the check is reported as not done.
    max_lead
        A change longer than this before the onset is ruled out (default 30 min).
    max_quiet
        A change after which the metric stayed at its baseline longer than this is ruled out
        (default 10 min).
    direction, counts, min_spread
        As for :func:`~incident_lib.analysis.detect_onset`: which way is bad, and the spread
        floor of the baseline before each change.
    label
        The metric's name in the reasons ("errors").

    Returns
    -------
    DataFrame
        The input columns plus ``relation`` (direct: touches a named resource; indirect:
        mentions one inside another name, e.g. its role; unrelated), ``kind`` (deploy, config,
        other), ``minutes_before_onset``, ``status`` (``candidate`` or ``ruled out``),
        ``evidence`` (prompt, delayed, none, unchecked, or ``""`` when not examined),
        ``score`` (relation x kind x recency x evidence; 0 when ruled out) and ``reason``;
        candidates first by score, then the ruled-out, later events first among equals.
    """
    tolerance = pd.Timedelta(minutes=2) if tolerance is None else tolerance
    horizon = pd.Timedelta(minutes=60) if horizon is None else horizon
    max_lead = MAX_LEAD if max_lead is None else max_lead
    max_quiet = MAX_QUIET if max_quiet is None else max_quiet
    if isinstance(onset, Onset):
        # The change point is only placed within [earliest, latest]: a change is "after the
        # onset" only past the latest start the data allow.
        earliest = onset.earliest if onset.earliest is not None else onset.time
        latest = onset.latest if onset.latest is not None else onset.time
        onset = onset.time
    else:
        onset = ensure_utc(onset, name="onset")
        earliest = latest = onset
    wanted = {_short_name(n) for n in resource_names if n}
    out = changes.copy().reset_index(drop=True)
    extra = ["relation", "kind", "minutes_before_onset", "status", "evidence", "score", "reason"]
    if out.empty:
        for col in extra:
            out[col] = pd.Series(
                dtype="float64" if col in ("score", "minutes_before_onset") else "str"
            )
        return out
    times = pd.to_datetime(out["event_time"], utc=True)
    relations, kinds, scores, reasons, statuses, evidences = [], [], [], [], [], []
    for (_, row), when in zip(out.iterrows(), times, strict=True):
        names, mentioned = _touched(row)
        hits = sorted(names & wanted)
        if hits:
            relation = "direct"
        elif any(w in m for w in wanted for m in mentioned):
            relation = "indirect"
        else:
            relation = "unrelated"
        kind = _kind(str(row["event_name"]))
        before = (onset - when).total_seconds() / 60
        target = (
            f"touches {', '.join(hits)}"
            if hits
            else (
                "mentions the resource"
                if relation == "indirect"
                else f"touches other resources ({', '.join(sorted(names)) or 'unnamed'})"
            )
        )
        when_text = (
            f"{before:.0f} min before the onset"
            if before >= 1
            else (
                f"{before * 60:.0f} s before the onset"
                if before >= 0
                else (
                    f"{-before * 60:.0f} s after the onset's best estimate, within its "
                    f"placement ({earliest:%H:%M}–{latest:%H:%M})"
                    if when <= latest + pd.Timedelta(minutes=1)
                    else f"{-before * 60:.0f} s after the onset (within the "
                    f"{_minutes(tolerance)} tolerance)"
                )
            )
        )
        verdict, seen = "", ""
        if when > latest + tolerance:
            status, score = RULED_OUT, 0.0
            why = f"{-before:.0f} min after the onset: cannot have caused it"
        else:
            if series is not None:
                verdict, seen = metric_after(
                    series,
                    when,
                    until=onset,
                    direction=direction,
                    max_quiet=max_quiet,
                    counts=counts,
                    min_spread=min_spread,
                    label=label,
                )
            else:
                verdict, seen = "unchecked", "the metric after it was not checked"
            lag = earliest - when
            if series is not None and latest >= when - tolerance and lag <= max_quiet:
                # The onset's change point (fitted on the whole departure) is a finer test
                # than a threshold: a slow ramp crosses one long after it has begun.
                lag = max(lag, pd.Timedelta(0))
                near = "prompt" if lag <= PROMPT else "delayed"
                if VERDICT_ORDER.index(near) < VERDICT_ORDER.index(verdict):
                    verdict = near
                    seen = (
                        f"{label} began to depart "
                        + (
                            "within a minute of it"
                            if lag < pd.Timedelta(minutes=1)
                            else f"{_minutes(lag)} after it"
                        )
                        + f" (the onset's change point, {onset:%H:%M} UTC)"
                    )
            problems = []
            if onset - when > max_lead:
                problems.append(f"{when_text}, beyond the {_minutes(max_lead)} bound")
            if verdict == "none":
                problems.append(seen)
            if relation == "unrelated":
                problems.append(target)
            if problems:
                status, score = RULED_OUT, 0.0
                why = "; ".join(problems)
                if verdict not in ("none", "unchecked") and seen:
                    why += f"; {seen}"
            else:
                status = CANDIDATE
                recency = math.exp(-max(before, 0.0) * 60 / horizon.total_seconds())
                score = (
                    RELATION_WEIGHT[relation]
                    * KIND_WEIGHT[kind]
                    * recency
                    * EVIDENCE_WEIGHT[verdict]
                )
                why = f"{kind} change, {when_text}, {target}; {seen}"
        relations.append(relation)
        kinds.append(kind)
        statuses.append(status)
        evidences.append(verdict)
        scores.append(round(score, 6))
        reasons.append(why)
    out["relation"] = relations
    out["kind"] = kinds
    out["minutes_before_onset"] = ((onset - times).dt.total_seconds() / 60).round(2)
    out["status"] = statuses
    out["evidence"] = evidences
    out["score"] = scores
    out["reason"] = reasons
    out["_t"] = times
    out["_c"] = (out["status"] == CANDIDATE).astype(int)
    out = out.sort_values(["_c", "score", "_t"], ascending=[False, False, False], kind="stable")
    return out.drop(columns=["_t", "_c"]).reset_index(drop=True)


def _utc(value: Any) -> pd.Timestamp:
    when = pd.Timestamp(value)
    return when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")


def short_event(name: str) -> str:
    """``UpdateFunctionCode20150331v2`` -> ``UpdateFunctionCode`` (the API version dropped)."""
    return re.sub(r"\d{8}(v\d+)?$", "", str(name))


def is_deploy(name: str) -> bool:
    """Whether a CloudTrail event puts new code or configuration in front of traffic (a deploy
    or a configuration change): what the charts mark and the timeline calls a deploy."""
    return bool(DEPLOY_EVENTS.match(name) or CONFIG_EVENTS.match(name))


def _ruled_out(ranked: pd.DataFrame, limit: int) -> tuple[RuledOut, ...]:
    """The ruled-out changes, latest first, the calls of one rollout (same principal, same
    resource touched, within :data:`ROLLOUT_GAP`, same kind of reason) as one entry."""
    if "status" not in ranked:
        return ()
    rows = ranked[ranked["status"] == RULED_OUT].copy()
    rows["_t"] = pd.to_datetime(rows["event_time"], utc=True)
    rows = rows.sort_values("_t", ascending=False, kind="stable")
    groups: list[list[pd.Series]] = []
    for _, row in rows.iterrows():
        if groups:
            last = groups[-1][-1]
            if (
                last["_t"] - row["_t"] <= ROLLOUT_GAP
                and last.get("username") == row.get("username")
                and _touched(last)[0] & _touched(row)[0]
                and _reason_kind(last["reason"]) == _reason_kind(row["reason"])
            ):
                groups[-1].append(row)
                continue
        groups.append([row])
    out = []
    for group in groups[:limit]:
        head, first = group[0], group[-1]
        names = ", ".join(dict.fromkeys(short_event(r["event_name"]) for r in reversed(group)))
        when = (
            f"{first['_t']:%H:%M:%S}–{head['_t']:%H:%M:%S}"
            if len(group) > 1
            else f"{head['_t']:%H:%M:%S}"
        )
        out.append(
            RuledOut(
                label=f"{names} by {head.get('username') or 'unknown'} at {when} UTC",
                reason=str(head["reason"]),
                ref=f"cloudtrail:{head['event_id']}",
                refs=tuple(f"cloudtrail:{r['event_id']}" for r in group),
            )
        )
    return tuple(out)


def _reason_kind(reason: str) -> str:
    if "after the onset" in reason and "cannot have caused" in reason:
        return "after"
    if "stayed at baseline" in reason:
        return "quiet"
    return reason.split(";")[0]


def culprit_finding(
    ranked: pd.DataFrame | None,
    *,
    min_score: float = 0.2,
    unchecked: Sequence[str] = (),
    onset_confidence: Confidence | None = None,
    limit: int = 12,
) -> Finding | None:
    """The change most likely to have caused the anomaly, or the finding that none fits.

    Parameters
    ----------
    ranked
        :func:`rank_changes` output; ``None`` when the changes could not be read at all
        (then ``unchecked`` should say why, e.g. "CloudTrail: AccessDenied").
    min_score
        A candidate scoring less is not named.
    unchecked
        What the investigation could not check, said in the finding ("no CloudTrail access",
        "no logs").
    onset_confidence
        The onset's confidence: a culprit is never surer than the onset it is measured from.
    limit
        At most this many ruled-out changes are listed.

    Returns
    -------
    Finding or None
        ``kind="culprit_change"`` naming the top candidate (other deploy calls of the same
        resource within 15 min before it, the rest of its rollout, are cited too); or
        ``kind="no_related_change"`` ("No related change found") listing what was ruled out
        and why; ``None`` only for a frame from the old :func:`rank_changes` with nothing
        related in it (no ``status`` column) -- kept for old callers.
    """
    missing = list(unchecked)
    if ranked is None:
        return Finding(
            kind="no_related_change",
            title="Changes not checked: " + (missing[0] if missing else "no change events"),
            detail="No change events could be read, so no change can be blamed or ruled out. "
            + (f"Could not check: {'; '.join(missing)}." if missing else ""),
            severity="info",
            confidence="low",
            confidence_reason="no change events were read",
            unchecked=tuple(missing),
        )
    has_status = "status" in ranked
    pool = ranked[ranked["status"] == CANDIDATE] if has_status else ranked
    pool = pool[(pool["relation"] != "unrelated") & (pool["score"].astype(float) >= min_score)]
    if pool.empty and not has_status and not ranked.empty:
        return None
    if has_status and "evidence" in ranked and (ranked["evidence"] == "unchecked").any():
        note = "the metric after some changes (no series, or too few points)"
        missing.append(note)
    ruled = _ruled_out(ranked, limit)
    extra_ruled = 0
    if has_status and len(ruled) == limit:
        extra_ruled = max(len(_ruled_out(ranked, len(ranked))) - limit, 0)
    ruled_text = "; ".join(f"{r.label}: {r.reason}" for r in ruled)
    if extra_ruled:
        ruled_text += f"; and {extra_ruled} more"
    if pool.empty:
        n = len(ranked)
        title = "No related change found" + (
            f": {n} change{'s' if n != 1 else ''} in the window ruled out" if n else ""
        )
        reason = (
            "every change was checked against the metric and the time bound"
            if n and not missing
            else (
                "no change to the resources in the window"
                if not n
                else "some changes could not be checked against the metric"
            )
        )
        confidence: Confidence = "medium" if n and not missing else ("medium" if not n else "low")
        detail = (
            "No change fits the onset: a candidate must come at most the time bound before "
            "it and be followed by the metric's departure. "
            + (f"Ruled out: {ruled_text}. " if ruled_text else "No change events in the window. ")
            + "CloudTrail shows management events only: feature flags, data, traffic and "
            "upstream services are not in it."
            + (f" Could not check: {'; '.join(missing)}." if missing else "")
            + f" Confidence: {confidence} ({reason})."
        )
        return Finding(
            kind="no_related_change",
            title=title,
            detail=detail,
            severity="info",
            evidence=tuple(
                Evidence(label=r.label, ref=ref) for r in ruled for ref in (r.refs or (r.ref,))
            ),
            data={"ruled_out": [r.model_dump() for r in ruled], "candidates": 0},
            confidence=confidence,
            confidence_reason=reason,
            ruled_out=ruled,
            unchecked=tuple(dict.fromkeys(missing)),
        )
    top = pool.iloc[0]
    when = _utc(top["event_time"])
    evidence = [
        Evidence(label=f"CloudTrail {top['event_name']}", ref=f"cloudtrail:{top['event_id']}")
    ]
    times = pd.to_datetime(ranked["event_time"], utc=True)
    same = ranked[
        (ranked["relation"] == top["relation"])
        & (ranked["kind"] == "deploy")
        & (times <= when)
        & (times >= when - pd.Timedelta(minutes=15))
        & (ranked["event_id"] != top["event_id"])
    ]
    evidence += [
        Evidence(
            label=f"CloudTrail {r['event_name']} (same rollout)", ref=f"cloudtrail:{r['event_id']}"
        )
        for _, r in same.iterrows()
    ]
    # How sure: what the metric did after it, how it relates, and what else fits.
    verdict = str(top.get("evidence", "unchecked") or "unchecked")
    doubts: list[tuple[int, str]] = []  # (0 high, 1 medium, 2 low; why)
    if verdict == "delayed":
        doubts.append((1, "the metric rose only minutes after it"))
    elif verdict == "unchecked":
        doubts.append((1, "the metric after it was not checked"))
    if top["relation"] != "direct":
        doubts.append((1, "it only mentions the resource"))
    rollout = set(same["event_id"]) | {top["event_id"]}
    rivals = pool[~pool["event_id"].isin(rollout)]
    if not rivals.empty and float(rivals["score"].iloc[0]) >= 0.5 * float(top["score"]):
        r = rivals.iloc[0]
        doubts.append((1, f"{r['event_name']} at {_utc(r['event_time']):%H:%M:%S} UTC also fits"))
    if onset_confidence == "low":
        doubts.append((2, "the onset itself is uncertain"))
    elif onset_confidence == "medium":
        doubts.append((1, "the onset is placed only roughly"))
    rank = max((d for d, _ in doubts), default=0)
    reasons = [why for _, why in doubts] or [
        "the metric departed right after it and no other change fits"
    ]
    confidence = ("high", "medium", "low")[rank]  # type: ignore[assignment]
    params = _as_dict(top.get("request_parameters"))
    who = top.get("username") or "unknown principal"
    detail = (
        f"{top['reason']}. Request parameters: {json.dumps(params, sort_keys=True)}. "
        f"Confidence: {confidence} ({'; '.join(reasons)})."
        + (f" Ruled out: {ruled_text}." if ruled_text else "")
        + (f" Could not check: {'; '.join(dict.fromkeys(missing))}." if missing else "")
    )
    return Finding(
        kind="culprit_change",
        title=f"Likely cause: {top['event_name']} by {who} at {when:%H:%M:%S} UTC",
        detail=detail,
        severity="critical" if confidence == "high" else "warning",
        time=when.to_pydatetime(),
        evidence=tuple(evidence),
        confidence=confidence,
        confidence_reason="; ".join(reasons),
        ruled_out=ruled,
        unchecked=tuple(dict.fromkeys(missing)),
        data={
            "event_id": top["event_id"],
            "event_name": top["event_name"],
            "score": float(top["score"]),
            "relation": top["relation"],
            "evidence": verdict,
            "minutes_before_onset": float(top["minutes_before_onset"]),
            "runner_up": rivals.iloc[0]["event_id"] if not rivals.empty else None,
            "ruled_out": [r.model_dump() for r in ruled],
        },
    )
