"""Steps of the catalogue's CloudFront, cost and custom-metric notebooks: what a distribution
serves from where, which status carries an error rate, whether errors come from the origin or
the edge, and the findings built from them.

Like :mod:`incident_lib.service_steps`, each takes what a notebook cell fetched with the
:class:`~incident_lib.notebook.Case` verbs and returns a table or a finding, keeping what it
concluded in ``case.state`` for the findings section.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from incident_lib.errors import NoDataError
from incident_lib.findings import Evidence, Finding
from incident_lib.notebook import Case
from incident_lib.steps import incident_start

__all__ = [
    "before_and_since",
    "distribution_change_finding",
    "distribution_tables",
    "edge_or_origin_finding",
    "edge_or_origin_table",
    "origin_for_path",
    "origin_resources",
    "path_breakdown",
    "status_finding",
    "status_table",
]

#: An S3 origin's domain: ``bucket.s3.amazonaws.com``, ``bucket.s3.<region>.amazonaws.com``,
#: ``bucket.s3-website-<region>.amazonaws.com``.
_S3 = re.compile(r"^(?P<bucket>.+?)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com$")
#: An API Gateway origin: ``<api id>.execute-api.<region>.amazonaws.com``.
_API = re.compile(r"^(?P<api>[a-z0-9]{10})\.execute-api\.[a-z0-9-]+\.amazonaws\.com$")
#: A load balancer origin: ``<name>-<id>.<region>.elb.amazonaws.com``.
_ELB = re.compile(r"\.elb\.amazonaws\.com$")
#: A Lambda function URL: ``<id>.lambda-url.<region>.on.aws``.
_FURL = re.compile(r"\.lambda-url\.[a-z0-9-]+\.on\.aws$")


# -- CloudFront: what the distribution serves from where --------------------------------------
def _origin_kind(domain: str) -> tuple[str, str]:
    """``(kind, name)`` of an origin from its domain: ``("s3", bucket)``, ``("apigateway",
    api id)``, ``("elb", domain)``, ``("lambda-url", domain)`` or ``("custom", domain)``."""
    if m := _S3.match(domain):
        return "s3", m["bucket"]
    if m := _API.match(domain):
        return "apigateway", m["api"]
    if _ELB.search(domain):
        return "elb", domain
    if _FURL.search(domain):
        return "lambda-url", domain
    return "custom", domain


def distribution_tables(case: Case, answer: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """GetDistribution's origins (id, domain, origin path, what it is: an S3 bucket, an API
    Gateway API, a load balancer) and cache behaviours (path pattern -> origin, in the order
    CloudFront matches them, the default last). Kept for the other steps."""
    dist = answer.get("Distribution") or {}
    config = dist.get("DistributionConfig") or answer.get("DistributionConfig") or {}
    rows = []
    for o in (config.get("Origins") or {}).get("Items") or []:
        kind, name = _origin_kind(str(o.get("DomainName", "")))
        rows.append(
            {
                "origin": o.get("Id", ""),
                "domain": o.get("DomainName", ""),
                "origin_path": o.get("OriginPath", ""),
                "kind": kind,
                "resource": name,
                "read_timeout_s": (o.get("CustomOriginConfig") or {}).get("OriginReadTimeout"),
            }
        )
    origins = pd.DataFrame(
        rows, columns=["origin", "domain", "origin_path", "kind", "resource", "read_timeout_s"]
    )
    behaviors = [
        {
            "path_pattern": b.get("PathPattern", ""),
            "origin": b.get("TargetOriginId", ""),
            "cache_policy": b.get("CachePolicyId", ""),
        }
        for b in (config.get("CacheBehaviors") or {}).get("Items") or []
    ]
    default = config.get("DefaultCacheBehavior") or {}
    behaviors.append(
        {
            "path_pattern": "* (default)",
            "origin": default.get("TargetOriginId", ""),
            "cache_policy": default.get("CachePolicyId", ""),
        }
    )
    table = pd.DataFrame(behaviors, columns=["path_pattern", "origin", "cache_policy"])
    case.state["cf_origins"] = origins
    case.state["cf_behaviors"] = table
    case.state["cf_status"] = dist.get("Status", "")
    return origins, table


def origin_for_path(path: str, behaviors: pd.DataFrame | None) -> str:
    """The origin CloudFront sends ``path`` to: the first cache behaviour whose path pattern
    matches (``*`` any characters, ``?`` one, case-sensitive), else the default's."""
    if behaviors is None or behaviors.empty:
        return ""
    for row in behaviors.itertuples():
        pattern = str(row.path_pattern)
        if pattern.endswith("(default)"):
            return str(row.origin)
        # fnmatch reads [..] as a class; CloudFront patterns have none: escape "[".
        if fnmatch.fnmatchcase(path, pattern.replace("[", "[[]")) or fnmatch.fnmatchcase(
            path, "/" + pattern.lstrip("/").replace("[", "[[]")
        ):
            return str(row.origin)
    return ""


def origin_resources(case: Case, rest_apis: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The origins that are AWS resources this notebook can read (S3 buckets, API Gateway APIs
    named through GetRestApis), with the name their metrics use."""
    origins = case.state.get("cf_origins")
    if origins is None or origins.empty:
        raise NoDataError("the distribution's origins are unknown (its configuration was not read)")
    names = {i.get("id"): i.get("name") for i in (rest_apis or {}).get("items") or []}
    out = origins[origins["kind"].isin(["s3", "apigateway"])].copy()
    out["metric_name"] = [
        names.get(r, r) if k == "apigateway" else r
        for k, r in zip(out["kind"], out["resource"], strict=True)
    ]
    case.state["cf_origin_resources"] = out
    return out.reset_index(drop=True)


# -- which status --------------------------------------------------------------------------
def before_and_since(case: Case, values: pd.Series) -> tuple[float, float]:
    """Mean of ``values`` in the hour before the incident (the onset, else 15 min before the
    alarm) and since it."""
    start = incident_start(case)
    values = values.sort_index()
    before = values[(values.index < start) & (values.index >= start - pd.Timedelta(hours=1))]
    since = values[values.index >= start]
    return (
        float(before.mean()) if len(before) else 0.0,
        float(since.mean()) if len(since) else 0.0,
    )


def status_table(case: Case, qids: Mapping[str, str]) -> pd.DataFrame:
    """Each status rate (``qids``: status label -> metric query id of an earlier step) before
    and since the incident, the largest rise first. Kept for :func:`status_finding`."""
    rows = []
    for label, qid in qids.items():
        try:
            b, s = before_and_since(case, case.series(qid))
        except NoDataError:
            continue
        rows.append({"status": label, "before_%": round(b, 2), "since_%": round(s, 2)})
    if not rows:
        raise NoDataError("no per-status error rates (CloudFront's additional metrics are off)")
    table = pd.DataFrame(rows)
    table["rise_points"] = (table["since_%"] - table["before_%"]).round(2)
    table = table.sort_values("rise_points", ascending=False, ignore_index=True)
    case.state["cf_status_table"] = table
    return table


def status_finding(case: Case) -> Finding | None:
    """Which status carries the error rate: the per-status rate that rose most since the
    incident began, and its share of the rise."""
    table = case.state.get("cf_status_table")
    if table is None or table.empty:
        return None
    top = table.iloc[0]
    if top["rise_points"] <= 0.5:
        return Finding(
            kind="status",
            title="No single status rate rose with the incident",
            detail="; ".join(f"{r.status}: {r._2:.2f}% -> {r._3:.2f}%" for r in table.itertuples()),
            severity="info",
        )
    rise = table["rise_points"].clip(lower=0).sum()
    share = 100 * top["rise_points"] / rise if rise else 100.0
    rows = "; ".join(
        f"{r['status']}: {r['before_%']:.2f}% before, {r['since_%']:.2f}% since"
        for _, r in table.head(4).iterrows()
    )
    return Finding(
        kind="status",
        title=f"{top['status']} carries the errors: {top['before_%']:.2f}% of requests before, "
        f"{top['since_%']:.2f}% since ({share:.0f}% of the rise)",
        detail=f"Per-status error rates (CloudFront additional metrics): {rows}.",
        severity="warning",
        evidence=(Evidence(label="per-status error rates", ref="metric:status rates"),),
        data={"status": str(top["status"]), "since": float(top["since_%"])},
    )


# -- origin or edge ------------------------------------------------------------------------
def edge_or_origin_table(
    case: Case, baseline: pd.DataFrame, incident: pd.DataFrame, *, count: str = "errors"
) -> pd.DataFrame:
    """Error responses per ``x-edge-detailed-result-type`` and status, before the incident
    (``baseline``) and since (``incident``), each said to come from the origin
    (``Origin...`` types: the origin answered with the error, or could not be reached or read)
    or from CloudFront itself (a refused or bad request, a blocked country, a function).
    Kept for :func:`edge_or_origin_finding`."""
    keys = ["x-edge-result-type", "x-edge-detailed-result-type", "sc-status"]
    parts = []
    for frame, col in ((baseline, "before"), (incident, "since")):
        if frame is None or frame.empty:
            continue
        f = frame.copy()
        f[count] = pd.to_numeric(f[count], errors="coerce").fillna(0).astype(int)
        parts.append(f.set_index(keys)[count].rename(col))
    if not parts:
        raise NoDataError("no error responses in the CloudFront logs")
    table = pd.concat(parts, axis=1).fillna(0).astype(int).reset_index()
    for col in ("before", "since"):
        if col not in table:
            table[col] = 0
    detailed = table["x-edge-detailed-result-type"].astype(str)
    table.insert(0, "from", ["origin" if d.startswith("Origin") else "edge" for d in detailed])
    table = table.sort_values("since", ascending=False, ignore_index=True)
    case.state["cf_edge_origin"] = table
    return table


def path_breakdown(case: Case, frame: pd.DataFrame) -> pd.DataFrame:
    """Requests and errors per path since the incident began (Logs Insights ``stats ... by
    cs-uri-stem``), with the origin each path goes to by the cache behaviours."""
    if frame is None or frame.empty:
        raise NoDataError("no requests in the CloudFront logs since the incident began")
    out = frame.copy()
    behaviors = case.state.get("cf_behaviors")
    out.insert(1, "origin", [origin_for_path(str(p), behaviors) for p in out["cs-uri-stem"]])
    for col in ("requests", "errors"):
        out[col] = pd.to_numeric(out[col], errors="coerce").fillna(0).astype(int)
    out["error_rate_%"] = (100 * out["errors"] / out["requests"].clip(lower=1)).round(1)
    out = out.sort_values("errors", ascending=False, ignore_index=True)
    case.state["cf_paths"] = out
    return out


def edge_or_origin_finding(case: Case) -> Finding | None:
    """Where the new errors come from: the origin (which one, which paths) or the edge."""
    table = case.state.get("cf_edge_origin")
    if table is None or table.empty:
        return None
    since = table.groupby("from")["since"].sum()
    before = table.groupby("from")["before"].sum()
    rise = (since - before.reindex(since.index, fill_value=0)).clip(lower=0)
    if rise.sum() <= 0:
        return None
    side = str(rise.idxmax())
    top = table[table["from"] == side].iloc[0]
    paths = case.state.get("cf_paths")
    where = ""
    origin = ""
    if paths is not None and not paths.empty:
        failing = paths[paths["errors"] > 0]
        origins = failing.groupby("origin")["errors"].sum().sort_values(ascending=False)
        if len(origins) and origins.index[0]:
            origin = str(origins.index[0])
            share = 100 * origins.iloc[0] / max(int(failing["errors"].sum()), 1)
            top_paths = ", ".join(
                f"{r['cs-uri-stem']} ({r['error_rate_%']:.0f}%)"
                for _, r in failing[failing["origin"] == origin].head(4).iterrows()
            )
            where = f" Origin {origin} has {share:.0f}% of the errors: {top_paths}."
    detailed, status = top["x-edge-detailed-result-type"], int(top["sc-status"])
    if side == "origin":
        labels = case.state.get("cf_origin_labels") or {}
        named = f" ({labels[origin][1]})" if origin in labels else ""
        title = (
            f"The errors come from origin {origin or '(unknown)'}{named}: it answers {status} "
            f"({detailed} in CloudFront's logs)"
        )
    else:
        title = f"CloudFront itself refuses the requests: {status} ({detailed}), not the origin"
    return Finding(
        kind="cause",
        title=title,
        detail=f"{int(since.get(side, 0)):,} error responses from the {side} since the "
        f"incident began, {int(before.get(side, 0)):,} in the hour before "
        f"(x-edge-result-type {top['x-edge-result-type']}).{where}",
        severity="critical" if side == "origin" else "warning",
        evidence=(Evidence(label="CloudFront logs: errors by result type", ref="logs:cloudfront"),),
        data={"from": side, "origin": origin, "status": int(top["sc-status"])},
    )


def distribution_change_finding(case: Case) -> Finding | None:
    """What the culprit change did to the distribution, when it is an UpdateDistribution:
    the origin paths and domains it set, against the origins now, and the behaviours it points
    where."""
    ranked = case.state.get("ranked_changes")
    if ranked is None or ranked.empty or "status" not in ranked:
        return None
    cands = ranked[ranked["status"] == "candidate"]
    if cands.empty or not str(cands.iloc[0]["event_name"]).startswith("UpdateDistribution"):
        return None
    row = cands.iloc[0]
    params = row.get("request_parameters")
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except ValueError:
            params = {}
    config = (params or {}).get("distributionConfig") or {}
    items = (config.get("origins") or {}).get("items") or []
    set_paths = [
        f"origin {o.get('id')} -> {o.get('domainName')}{o.get('originPath') or ''}" for o in items
    ]
    behaviors = [
        f"{b.get('pathPattern')} -> {b.get('targetOriginId')}"
        for b in (config.get("cacheBehaviors") or {}).get("items") or []
    ]
    if not set_paths and not behaviors:
        return None
    t = pd.Timestamp(row["event_time"])
    return Finding(
        kind="config_change",
        title=f"UpdateDistribution at {t:%H:%M} UTC set: {'; '.join(set_paths[:3])}",
        detail="The update's origins: "
        + "; ".join(set_paths)
        + (f". Cache behaviours: {'; '.join(behaviors)}." if behaviors else ".")
        + " Check each origin path against where the objects are.",
        severity="warning",
        time=t,
        evidence=(Evidence(label="CloudTrail", ref=f"cloudtrail:{row['event_id']}"),),
    )
