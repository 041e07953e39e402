"""Which change caused it? CloudTrail events near the onset, ranked by relation and time."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from incident_lib.findings import Evidence, Finding
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


def rank_changes(
    changes: pd.DataFrame,
    *,
    onset: pd.Timestamp,
    resource_names: Sequence[str],
    tolerance: pd.Timedelta | None = None,
    horizon: pd.Timedelta | None = None,
) -> pd.DataFrame:
    """Rank change events as candidate causes of an anomaly that began at ``onset``.

    Parameters
    ----------
    changes
        The ``Source.change_events`` frame: ``event_time, event_name, event_source, username,
        resources, request_parameters, event_id``; ``resources`` a JSON string or list of
        ``{"ResourceType","ResourceName"}``, ``request_parameters`` a JSON string or dict.
    onset
        Start of the anomaly (tz-aware).
    resource_names
        The resources under investigation (function names, ARNs, table names ...).
    tolerance
        How long after ``onset`` a change still counts as a candidate (default 2 min): the
        onset has the resolution of its series, so the change that caused a departure can sit
        inside the onset's own minute.
    horizon
        Scale of the recency decay (default 60 min): a change one horizon before the onset
        keeps ``e**-1`` of its weight.

    Returns
    -------
    DataFrame
        The input columns plus ``relation`` (direct: touches a named resource; indirect:
        mentions one inside another name, e.g. its role; unrelated), ``kind`` (deploy, config,
        other), ``minutes_before_onset``, ``score`` (relation x kind x recency; 0 for changes
        after onset + tolerance) and ``reason``; highest score first, later events first among
        equals.
    """
    tolerance = pd.Timedelta(minutes=2) if tolerance is None else tolerance
    horizon = pd.Timedelta(minutes=60) if horizon is None else horizon
    onset = ensure_utc(onset, name="onset")
    wanted = {_short_name(n) for n in resource_names if n}
    out = changes.copy().reset_index(drop=True)
    extra = ["relation", "kind", "minutes_before_onset", "score", "reason"]
    if out.empty:
        for col in extra:
            out[col] = pd.Series(
                dtype="float64" if col in ("score", "minutes_before_onset") else "str"
            )
        return out
    times = pd.to_datetime(out["event_time"], utc=True)
    relations, kinds, scores, reasons = [], [], [], []
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
        if when > onset + tolerance:
            score = 0.0
            why = f"{-before:.1f} min after the onset: cannot have caused it"
        else:
            recency = math.exp(-max(before, 0.0) * 60 / horizon.total_seconds())
            score = RELATION_WEIGHT[relation] * KIND_WEIGHT[kind] * recency
            when_text = (
                f"{before:.1f} min before the onset"
                if before >= 0
                else f"within the onset minute ({-before * 60:.0f} s after its start)"
            )
            target = (
                f"touches {', '.join(hits)}"
                if hits
                else ("mentions the resource" if relation == "indirect" else "different resources")
            )
            why = f"{kind} change, {when_text}, {target}"
        relations.append(relation)
        kinds.append(kind)
        scores.append(round(score, 6))
        reasons.append(why)
    out["relation"] = relations
    out["kind"] = kinds
    out["minutes_before_onset"] = ((onset - times).dt.total_seconds() / 60).round(2)
    out["score"] = scores
    out["reason"] = reasons
    out["_t"] = times
    out = out.sort_values(["score", "_t"], ascending=[False, False], kind="stable")
    return out.drop(columns="_t").reset_index(drop=True)


def culprit_finding(ranked: pd.DataFrame, *, min_score: float = 0.2) -> Finding | None:
    """The top-ranked related change as a finding, or ``None`` when no related change before
    the onset scores ``min_score`` or more. Other deploy events of the same resource within
    15 minutes before it (the rest of the same rollout) are cited too."""
    if ranked.empty:
        return None
    top = ranked.iloc[0]
    if top["relation"] == "unrelated" or float(top["score"]) < min_score:
        return None
    when = pd.Timestamp(top["event_time"])
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
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
    params = _as_dict(top.get("request_parameters"))
    who = top.get("username") or "unknown principal"
    return Finding(
        kind="culprit_change",
        title=f"Likely cause: {top['event_name']} by {who} at {when:%H:%M:%S} UTC",
        detail=f"{top['reason']}. Request parameters: {json.dumps(params, sort_keys=True)}",
        severity="critical",
        time=when.to_pydatetime(),
        evidence=tuple(evidence),
        data={
            "event_id": top["event_id"],
            "event_name": top["event_name"],
            "score": float(top["score"]),
            "relation": top["relation"],
            "minutes_before_onset": float(top["minutes_before_onset"]),
            "runner_up": ranked.iloc[1]["event_id"] if len(ranked) > 1 else None,
        },
    )
