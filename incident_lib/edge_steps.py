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
        rows.append(
            {"status": label, "before_%": round(b, 2), "since_%": round(s, 2), "query": qid}
        )
    if not rows:
        raise NoDataError("no per-status error rates (CloudFront's additional metrics are off)")
    table = pd.DataFrame(rows)
    table["rise_points"] = (table["since_%"] - table["before_%"]).round(2)
    table = table.sort_values("rise_points", ascending=False, ignore_index=True)
    case.state["cf_status_table"] = table
    return table.drop(columns=["query"])


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
        evidence=(Evidence(label=f"{top['status']}ErrorRate", ref=f"metric:{top['query']}"),),
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
    # The distribution's error lines were read: the change ranking may say so.
    case.state.setdefault("error_lines", incident)
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


# -- cost: which service grew, the usage behind it, when ------------------------------------------
#: Cost Explorer's SERVICE names for CloudWatch's ``ServiceName`` values.
CE_NAMES = {
    "AWSLambda": "AWS Lambda",
    "AmazonApiGateway": "Amazon API Gateway",
    "AmazonDynamoDB": "Amazon DynamoDB",
    "AmazonS3": "Amazon Simple Storage Service",
    "AmazonCloudWatch": "AmazonCloudWatch",
    "AmazonEC2": "Amazon Elastic Compute Cloud - Compute",
    "AmazonAthena": "Amazon Athena",
    "AmazonSQS": "Amazon Simple Queue Service",
    "AmazonSNS": "Amazon Simple Notification Service",
    "AmazonStates": "AWS Step Functions",
}

#: The usage metrics behind a service's charges: ``(namespace, metric, dimension names)``,
#: each read as a Sum per resource (ListMetrics finds the resources).
USAGE = {
    "AWSLambda": [("AWS/Lambda", "Invocations", ("FunctionName",))],
    "AmazonApiGateway": [
        ("AWS/ApiGateway", "Count", ("ApiName", "Stage")),
        ("AWS/ApiGateway", "Count", ("ApiId", "Stage")),
    ],
    "AmazonDynamoDB": [
        ("AWS/DynamoDB", "ConsumedWriteCapacityUnits", ("TableName",)),
        ("AWS/DynamoDB", "ConsumedReadCapacityUnits", ("TableName",)),
    ],
    "AmazonS3": [
        ("AWS/S3", "PutRequests", ("BucketName", "FilterId")),
        ("AWS/S3", "GetRequests", ("BucketName", "FilterId")),
    ],
    "AmazonAthena": [("AWS/Athena", "ProcessedBytes", ("WorkGroup",))],
    "AmazonEC2": [("AWS/NATGateway", "BytesOutToDestination", ("NatGatewayId",))],
    "AmazonCloudWatch": [("AWS/Logs", "IncomingBytes", ("LogGroupName",))],
    "AmazonSQS": [("AWS/SQS", "NumberOfMessagesSent", ("QueueName",))],
    "AmazonStates": [("AWS/States", "ExecutionsStarted", ("StateMachineArn",))],
}
#: The daily rate of the last day against the days before: a rise this many times is growth.
GROWTH = 1.5


def _rates(values: pd.Series) -> pd.Series:
    """Charge per day between consecutive month-to-date datapoints (a month's first datapoint
    starts again from 0)."""
    values = values.sort_index()
    inc = values.diff()
    inc[inc < 0] = values[inc < 0]  # the month turned: the estimate started again
    hours = values.index.to_series().diff().dt.total_seconds() / 3600
    return (inc / hours * 24).dropna()


def charges_table(case: Case, frame: pd.DataFrame, services: Mapping[str, str]) -> pd.DataFrame:
    """Per service (``services``: metric query id -> ServiceName): the month-to-date estimate
    now, its charge per day over the last 24 hours against the days before, and the growth;
    the largest growth first. Kept for :func:`cost_growth_finding`."""
    rows = []
    for qid, service in services.items():
        try:
            values = case.series(qid)
        except NoDataError:
            continue
        rates = _rates(values)
        if rates.empty:
            continue
        last = rates.index[-1]
        recent = rates[rates.index > last - pd.Timedelta(hours=24)]
        earlier = rates[rates.index <= last - pd.Timedelta(hours=24)]
        base = float(earlier.median()) if len(earlier) else float("nan")
        now = float(recent.mean())
        first = None
        if len(earlier) and now > GROWTH * max(base, 0.01):
            over = rates[(rates > GROWTH * max(base, 0.01)) & (rates.index > earlier.index[-1])]
            first = over.index[0] if len(over) else None
        rows.append(
            {
                "service": service,
                "month_to_date": round(float(values.sort_index().iloc[-1]), 2),
                "per_day_before": round(base, 2),
                "per_day_last_24h": round(now, 2),
                "added_per_day": round(now - base, 2),
                "rising_since": first,
                "query": qid,
            }
        )
    if not rows:
        raise NoDataError("no EstimatedCharges per service (is 'receive billing alerts' on?)")
    table = pd.DataFrame(rows).sort_values("added_per_day", ascending=False, ignore_index=True)
    case.state["cost_table"] = table
    return table.drop(columns=["query"])


def growing_services(case: Case, *, top: int = 2) -> list[str]:
    """The services whose charge per day grew (at most ``top``, the largest first)."""
    table = case.state.get("cost_table")
    if table is None:
        return []
    grew = table[
        (table["per_day_last_24h"] > GROWTH * table["per_day_before"].clip(lower=0.01))
        & (table["added_per_day"] > 0.5)
    ]
    return [str(s) for s in grew["service"].head(top)]


def cost_growth_finding(case: Case, currency: str = "USD") -> Finding | None:
    """Which service's charges grew, by how much a day, since when (the billing data's
    resolution: a few hours), and where the month ends at this rate."""
    table = case.state.get("cost_table")
    if table is None or table.empty:
        return None
    grew = growing_services(case, top=3)
    if not grew:
        return Finding(
            kind="cost",
            title="No service's charges grew faster than before: the estimate rose at its usual "
            "pace",
            detail="; ".join(
                f"{r.service}: {r.per_day_before:.2f}/day before, {r.per_day_last_24h:.2f} in "
                "the last 24 h"
                for r in table.head(5).itertuples()
            ),
            severity="info",
        )
    rows = table.set_index("service").loc[grew]
    top = rows.iloc[0]
    since = top["rising_since"]
    when = f", rising since about {since:%Y-%m-%d %H:%M} UTC" if pd.notna(since) else ""
    added = float(rows["added_per_day"].sum())
    end_of_month = (case.end.normalize() + pd.offsets.MonthBegin(1)) - case.end
    days_left = end_of_month.total_seconds() / 86400
    return Finding(
        kind="cost",
        title=f"{grew[0]} charges grew from {top['per_day_before']:,.2f} to "
        f"{top['per_day_last_24h']:,.2f} {currency} a day{when}",
        detail="Charge per day from the month-to-date EstimatedCharges (published every few "
        "hours): "
        + "; ".join(
            f"{s}: {r['per_day_before']:,.2f} before, {r['per_day_last_24h']:,.2f} in the last 24 h"
            for s, r in rows.iterrows()
        )
        + f". Together {added:,.2f} {currency} a day more: about {added * days_left:,.0f} "
        f"{currency} more by the end of the month if it goes on.",
        severity="critical",
        time=since if pd.notna(since) else None,
        evidence=(Evidence(label=f"{grew[0]} EstimatedCharges", ref=f"metric:{top['query']}"),),
        data={"service": grew[0], "added_per_day": added},
    )


def cost_explorer_table(case: Case, answer: Mapping[str, Any]) -> pd.DataFrame:
    """GetCostAndUsage (DAILY, grouped by SERVICE) as one row per day, one column per service
    (the services with any cost), the newest day last. Kept for :func:`cost_explorer_finding`."""
    rows = []
    for period in answer.get("ResultsByTime") or []:
        day = (period.get("TimePeriod") or {}).get("Start")
        for group in period.get("Groups") or []:
            amount = ((group.get("Metrics") or {}).get("UnblendedCost") or {}).get("Amount")
            rows.append(
                {"day": day, "service": (group.get("Keys") or [""])[0], "cost": float(amount or 0)}
            )
    if not rows:
        raise NoDataError("Cost Explorer returned no costs for the period")
    table = pd.DataFrame(rows).pivot_table(
        index="day", columns="service", values="cost", aggfunc="sum"
    )
    table = table.loc[:, table.sum() > 0].round(2).sort_index()
    case.state["ce_table"] = table
    return table.reset_index()


def cost_explorer_finding(case: Case) -> Finding | None:
    """The day each grown service's daily cost rose, in Cost Explorer (the last day is the
    current one, so far)."""
    table = case.state.get("ce_table")
    grew = growing_services(case)
    if table is None or table.empty or len(table) < 3 or not grew:
        return None
    parts = []
    for service in grew:
        name = CE_NAMES.get(service, service)
        if name not in table:
            continue
        col = table[name]
        base = float(col.iloc[:-2].median()) if len(col) > 2 else float(col.iloc[0])
        risen = col[col > GROWTH * max(base, 0.01)]
        if risen.empty:
            continue
        days = ", ".join(f"{d}: {v:,.2f}" for d, v in risen.items())
        parts.append(f"{name} {base:,.2f} a day before {risen.index[0]}, then {days}")
    if not parts:
        return None
    return Finding(
        kind="cost_explorer",
        title=f"Cost Explorer agrees: {parts[0]}",
        detail="; ".join(parts) + f". The last day ({table.index[-1]}) is the current one so "
        "far; Cost Explorer's figures lag by up to a day.",
        severity="warning",
        evidence=(Evidence(label="Cost Explorer GetCostAndUsage", ref="aws:ce:GetCostAndUsage"),),
    )


def usage_table(case: Case, frame: pd.DataFrame, labels: Mapping[str, str]) -> pd.DataFrame:
    """Each usage series (``labels``: query id -> "resource metric") per hour: its mean over
    the first day of the window against the last day, the growth first. Kept for
    :func:`usage_finding` and :func:`usage_onset`."""
    rows = []
    for qid, label in labels.items():
        part = frame[frame["id"] == qid]
        if part.empty:
            continue
        values = pd.Series(part["value"].to_numpy(float), index=pd.DatetimeIndex(part["timestamp"]))
        values = values.sort_index()
        first = values[values.index < values.index[0] + pd.Timedelta(hours=24)]
        last = values[values.index > values.index[-1] - pd.Timedelta(hours=24)]
        b, a = float(first.median()), float(last.mean())
        rows.append(
            {
                "usage": label,
                "query": qid,
                "per_hour_before": round(b, 1),
                "per_hour_last_24h": round(a, 1),
                "growth_x": round(a / b, 1) if b > 0 else float("inf") if a > 0 else 1.0,
            }
        )
    if not rows:
        raise NoDataError("no usage metrics for the services that grew")
    table = pd.DataFrame(rows).sort_values("growth_x", ascending=False, ignore_index=True)
    case.state["usage_table"] = table
    return table


def usage_finding(case: Case) -> Finding | None:
    """The usage that grew with the charges (the largest growth), or that none did."""
    table = case.state.get("usage_table")
    if table is None or table.empty:
        return None
    grew = table[table["growth_x"] >= 2]
    if grew.empty:
        return Finding(
            kind="usage_quiet",
            title="No usage metric of the services that grew rose with the charges",
            detail="Per hour, first day against last day: "
            + "; ".join(
                f"{r.usage}: {r.per_hour_before:,.0f} -> {r.per_hour_last_24h:,.0f}"
                for r in table.head(6).itertuples()
            )
            + ". The growth may be in something these metrics do not count (storage, data "
            "transfer, a new resource).",
            severity="info",
        )
    top = grew.iloc[0]
    others = "; ".join(f"{r.usage} {r.growth_x:g}x" for r in grew.iloc[1:5].itertuples())
    return Finding(
        kind="related_metric",
        title=f"The usage behind it: {top['usage']} grew {top['growth_x']:g} times "
        f"({top['per_hour_before']:,.0f} to {top['per_hour_last_24h']:,.0f} an hour)",
        detail="Per hour, the window's first day against its last."
        + (f" Also grew: {others}." if others else ""),
        severity="warning",
        evidence=(Evidence(label=str(top["usage"]), ref=f"metric:{top['query']}"),),
        data={"usage": str(top["usage"]), "growth": float(top["growth_x"])},
    )


def coarse_rise(values: pd.Series, *, factor: float = 3.0) -> pd.Timestamp | None:
    """The first point of ``values`` (hourly) past ``factor`` times the median of the window's
    first day, staying there for the next point too: where to look closer. A daily metric's
    rise is found hour by hour before the minute is searched (:func:`usage_onset`)."""
    values = values.dropna().sort_index()
    if len(values) < 4:
        return None
    base = float(values[values.index < values.index[0] + pd.Timedelta(hours=24)].median())
    over = (values > factor * max(base, 1e-9)).to_numpy()
    for i in range(len(over) - 1):
        if over[i] and over[i + 1]:
            return values.index[i]
    return None


def usage_onset(case: Case, fine: pd.Series, *, around: pd.Timestamp, label: str) -> Any:
    """The minute the usage left its baseline, in a per-minute series fetched around the hour
    :func:`coarse_rise` found (``around``): the baseline is what came before that hour. Kept
    in ``case.state`` as :func:`incident_lib.steps.onset` keeps its result, for the change
    ranking and the findings."""
    from incident_lib.analysis import detect_onset

    result = detect_onset(
        fine,
        baseline_end=around,
        counts=True,
        direction="up",
        alarm_time=fine.index.max() if len(fine) else None,
    )
    case.state["onset_series"] = (fine, True, "up", label)
    if result is not None:
        case.state["onset"] = result
        case.state["onset_label"] = label
    return result


def bucket_names(configuration: Mapping[str, Any]) -> list[str]:
    """The S3 bucket names a function's environment holds (variables whose name says BUCKET)."""
    env = ((configuration.get("Environment") or {}).get("Variables")) or {}
    out = []
    for key, value in env.items():
        value = str(value).removeprefix("s3://").split("/")[0]
        if "BUCKET" in key.upper() and re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
            out.append(value)
    return out


def loop_finding(
    case: Case, function: str, bucket: str, notification: Mapping[str, Any]
) -> Finding | None:
    """A recursive loop: ``function`` writes to ``bucket`` (its environment names it) and the
    bucket's event notification invokes ``function``."""
    for conf in notification.get("LambdaFunctionConfigurations") or []:
        arn = str(conf.get("LambdaFunctionArn", ""))
        if not (arn.endswith(f":function:{function}") or f":function:{function}:" in arn):
            continue
        rules = ((conf.get("Filter") or {}).get("Key") or {}).get("FilterRules") or []
        scope = ", ".join(f"{r.get('Name', '').lower()} {r.get('Value')}" for r in rules)
        events = ", ".join(conf.get("Events") or [])
        case.state["loop"] = (function, bucket)
        return Finding(
            kind="cause",
            title=f"Recursive loop: {function} writes to bucket {bucket}, whose notification "
            f"invokes {function} again",
            detail=f"{function}'s environment names {bucket}; the bucket's notification "
            f"{conf.get('Id', '')} sends {events}"
            + (f" ({scope})" if scope else "")
            + f" to {function}. Every object it writes there invokes it again: its invocations "
            "and the bucket's PUT requests grow together until its concurrency stops them. "
            "Lambda's recursive loop detection stops such loops only where it can trace them.",
            severity="critical",
            evidence=(
                Evidence(label="s3 GetBucketNotificationConfiguration", ref=f"aws:s3:{bucket}"),
                Evidence(label="lambda GetFunctionConfiguration", ref=f"aws:lambda:{function}"),
            ),
        )
    return None


# -- custom metrics: the series against its own history -----------------------------------------
def aligned_history(frames: Mapping[str, tuple[pd.DataFrame, pd.Timedelta]]) -> pd.DataFrame:
    """Long metric frames of the same query over earlier windows (``label -> (frame, how long
    ago)``), moved forward onto today's times and labelled, for one chart."""
    parts = []
    for label, (frame, ago) in frames.items():
        if frame is None or frame.empty:
            continue
        part = frame.copy()
        part["timestamp"] = pd.DatetimeIndex(part["timestamp"]) + ago
        part["label"] = label
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["id", "label", "timestamp", "value"])
    return pd.concat(parts, ignore_index=True)


def history_table(
    case: Case, today: pd.Series, earlier: Mapping[str, tuple[pd.Series, pd.Timedelta]]
) -> pd.DataFrame:
    """The series since the incident began against the same minutes on earlier days
    (``earlier``: label -> (series, how long ago)) and against its own hour before. Kept for
    :func:`history_finding`."""
    start = incident_start(case)
    today = today.sort_index()
    since = today[today.index >= start]
    if since.empty:
        raise NoDataError("no datapoints since the incident began")
    t0, t1 = since.index.min(), since.index.max()
    rows = [
        {"when": "today, since the incident began", "mean": float(since.mean())},
        {
            "when": "today, the hour before",
            "mean": float(
                today[(today.index < start) & (today.index >= start - pd.Timedelta(hours=1))].mean()
            ),
        },
    ]
    for label, (values, ago) in earlier.items():
        same = values[(values.index >= t0 - ago) & (values.index <= t1 - ago)]
        rows.append(
            {
                "when": f"{label}, the same minutes",
                "mean": float(same.mean()) if len(same) else float("nan"),
            }
        )
    table = pd.DataFrame(rows)
    table["mean"] = table["mean"].round(3)
    case.state["history_table"] = table
    return table


def _num(x: float) -> str:
    """A value as a reader wants it: 32.5, 2.58, 1,204."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def history_finding(
    case: Case, *, label: str, factor: float = 2.0, qid: str = "today"
) -> Finding | None:
    """Whether the value since the incident began is unusual against the same time on earlier
    days (or is this hour's usual level), from :func:`history_table`."""
    table = case.state.get("history_table")
    if table is None or table.empty:
        return None
    now = float(table["mean"].iloc[0])
    earlier = table.iloc[2:].dropna()
    if earlier.empty:
        return None
    usual = float(earlier["mean"].median())
    found = case.state.get("onset")
    direction = case.state.get("onset_series", (None, None, "up", ""))[2]
    low, high = min(now, usual), max(now, usual)
    unusual = high > factor * max(low, 1e-9) and abs(now - usual) > 0.0
    days = "; ".join(f"{r.when}: {_num(r.mean)}" for r in earlier.itertuples())
    if not unusual:
        return Finding(
            kind="history",
            title=f"{label} is at its usual level for this time of day ({_num(now)} against "
            f"{_num(usual)} on earlier days)",
            detail=f"Since the incident began: {_num(now)}; {days}. The alarm may be set too close "
            "to the daily pattern.",
            severity="info",
            evidence=(Evidence(label="the same minutes on earlier days", ref=f"metric:{qid}"),),
        )
    since = f" since {found.time:%H:%M} UTC" if found is not None else ""
    moved = "fell" if direction == "down" or now < usual else "rose"
    return Finding(
        kind="history",
        title=f"{label} {moved} to {_num(now)}{since}; the same minutes yesterday and last week: "
        f"{_num(usual)}: not this hour's pattern",
        detail=f"Since the incident began: {_num(now)}; {days}.",
        severity="warning",
        time=found.time if found is not None else None,
        evidence=(Evidence(label="the same minutes on earlier days", ref=f"metric:{qid}"),),
    )


# -- structured log lines: what the incident's lines have in common ----------------------------
#: A field with more distinct values than this (ids, timestamps) says nothing in common.
MAX_VALUES = 25


def _fields(message: str) -> dict[str, str]:
    """The top-level scalar fields of the JSON object a log line carries (a Lambda line's
    ``ts<TAB>id<TAB>LEVEL<TAB>{...}``, or a bare JSON line)."""
    text = str(message)
    at = text.find("{")
    if at < 0:
        return {}
    try:
        body = json.loads(text[at:])
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    return {str(k): str(v) for k, v in body.items() if isinstance(v, str | int | float | bool)}


def field_shift(
    case: Case, baseline: pd.DataFrame | None, incident: pd.DataFrame | None
) -> pd.DataFrame:
    """Per field of structured log lines and per value (fields with at most
    :data:`MAX_VALUES` values: a provider, a reason, a route, not an id): lines per minute in
    the incident window against the baseline, the largest surge first. What the new lines have
    in common. Kept for :func:`field_shift_finding`."""
    start = incident_start(case)
    windows = {
        "baseline": (baseline, max((start - case.start).total_seconds() / 60, 1.0)),
        "incident": (incident, max((case.end - start).total_seconds() / 60, 1.0)),
    }
    counts: dict[str, pd.Series] = {}
    for name, (frame, _minutes) in windows.items():
        if frame is None or frame.empty or "@message" not in frame:
            counts[name] = pd.Series(dtype=float)
            continue
        rows = [_fields(m) for m in frame["@message"]]
        long = pd.DataFrame(
            [(k, v) for r in rows for k, v in r.items()], columns=["field", "value"]
        )
        counts[name] = long.value_counts() if not long.empty else pd.Series(dtype=float)
    if counts["incident"].empty:
        raise NoDataError("the application's lines carry no JSON fields to compare")
    table = pd.concat(
        {"incident": counts["incident"], "baseline": counts["baseline"]}, axis=1
    ).fillna(0)
    flat = table.reset_index()
    distinct = flat.groupby("field")["value"].nunique()
    seen_before = flat.groupby("field")["baseline"].sum() > 0
    # One value on every line before and since (a level, a service name) has nothing to say.
    keep = distinct[(distinct <= MAX_VALUES) & ~((distinct == 1) & seen_before)].index
    table = table[table.index.get_level_values(0).isin(keep)].reset_index()
    if table.empty:
        raise NoDataError("no field of the lines has few enough values to compare")
    table["per_min_before"] = (table["baseline"] / windows["baseline"][1]).round(2)
    table["per_min_since"] = (table["incident"] / windows["incident"][1]).round(2)
    floor = 1 / windows["baseline"][1]
    table["surge_x"] = (table["per_min_since"] / table["per_min_before"].clip(lower=floor)).round(1)
    table = table.sort_values(["surge_x", "incident"], ascending=False, ignore_index=True)
    case.state["field_shift"] = table
    return table[
        ["field", "value", "baseline", "incident", "per_min_before", "per_min_since", "surge_x"]
    ]


def field_shift_finding(case: Case, *, surge: float = 5.0, least: int = 20) -> Finding | None:
    """The field values the incident's lines have in common and the baseline's did not: each
    field's value that surged most (at least ``surge`` times, ``least`` lines)."""
    table = case.state.get("field_shift")
    if table is None or table.empty:
        return None
    hot = table[(table["surge_x"] >= surge) & (table["incident"] >= least)]
    if hot.empty:
        return None
    top = hot.drop_duplicates("field").head(4)
    pairs = ", ".join(f"{r.field} = {r.value}" for r in top.itertuples())
    first = top.iloc[0]
    return Finding(
        kind="cause",
        title=f"The incident's log lines have in common: {pairs}",
        detail="Lines per minute since the incident began against the hour before: "
        + "; ".join(
            f"{r.field} = {r.value}: {r.per_min_since:g}/min against {r.per_min_before:g}/min"
            for r in top.itertuples()
        )
        + ". A value that appears only now names what changed: an input, a provider, a route.",
        severity="warning",
        evidence=(Evidence(label="the application's log lines, by field", ref="logs:fields"),),
        data={"field": str(first["field"]), "value": str(first["value"])},
    )
