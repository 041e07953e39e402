"""Steps the catalogue's service notebooks share (API Gateway, Lambda throttles, DynamoDB ...):
what sits behind an API, which part of the traffic fails, whether a downstream metric moved
with the incident, and the findings built from them.

Like :mod:`incident_lib.steps` (which these build on), each takes what a notebook cell fetched
with the :class:`~incident_lib.notebook.Case` verbs and returns a table or a finding, keeping
what it concluded in ``case.state`` for the findings section.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from incident_lib.errors import NoDataError
from incident_lib.findings import Evidence, Finding
from incident_lib.notebook import Case
from incident_lib.steps import DEFAULT_LEAD

__all__ = [
    "Movement",
    "access_log_groups",
    "add_resources",
    "api_integrations",
    "arrivals",
    "backend_functions",
    "breakdown_finding",
    "breakdown_table",
    "callers_of",
    "callers_table",
    "capacity_finding",
    "concurrency_limits",
    "consumers_finding",
    "consumers_table",
    "dependency_finding",
    "dependency_table",
    "health_finding",
    "health_table",
    "indexes_of",
    "limit_finding",
    "moved_finding",
    "movement",
    "peak_since",
    "queue_name",
    "queues_of",
    "rate_limit_finding",
    "redrive_table",
    "runtime_findings",
    "sparse_sibling_finding",
    "stage_limits",
    "summary",
    "table_summary",
    "tables_of",
    "timeouts_finding",
    "top_caller_finding",
    "totals_since",
    "zero_filled",
]

#: A Lambda function named in an integration URI or an ARN: ``...:function:NAME[:qualifier]``.
_FUNCTION = re.compile(r":function:([A-Za-z0-9_-]+)")


# -- what is behind an API -----------------------------------------------------------------------
def api_integrations(resources: Mapping[str, Any]) -> pd.DataFrame:
    """The methods of a REST API (GetResources with ``embed=methods``) or the integrations of
    an HTTP API (apigatewayv2 GetIntegrations/GetRoutes): ``route, type, uri, timeout_ms,
    function``."""
    rows: list[dict[str, Any]] = []
    for res in resources.get("items", []) or []:
        for method, spec in (res.get("resourceMethods") or {}).items():
            integ = (spec or {}).get("methodIntegration") or {}
            rows.append(_integration_row(f"{method} {res.get('path', '')}", integ))
    for item in resources.get("Items", []) or []:  # apigatewayv2
        rows.append(
            _integration_row(
                str(item.get("RouteKey") or item.get("IntegrationId") or ""),
                {
                    "type": item.get("IntegrationType"),
                    "uri": item.get("IntegrationUri"),
                    "timeoutInMillis": item.get("TimeoutInMillis"),
                },
            )
        )
    if not rows:
        raise NoDataError("the API has no methods with an integration")
    return pd.DataFrame(rows)


def _integration_row(route: str, integ: Mapping[str, Any]) -> dict[str, Any]:
    uri = str(integ.get("uri") or "")
    found = _FUNCTION.search(uri)
    return {
        "route": route,
        "type": integ.get("type"),
        "uri": uri,
        "timeout_ms": integ.get("timeoutInMillis"),
        "function": found.group(1) if found else "",
    }


def backend_functions(case: Case, integrations: pd.DataFrame | None) -> list[str]:
    """The Lambda functions behind the API: the catalogue's ``backend_functions`` first, then
    those the integrations name. Added to the case's resources (for the change ranking)."""
    names = [str(f) for f in case.params.get("backend_functions") or []]
    if integrations is not None and "function" in integrations:
        names += [f for f in integrations["function"] if f]
    names = list(dict.fromkeys(names))
    case.params["backend_functions"] = names
    add_resources(case, names)
    return names


def access_log_groups(case: Case, stage: Mapping[str, Any] | None) -> list[str]:
    """The stage's access log groups: the catalogue's ``log_groups`` when it maps the API,
    else the stage's access log destination (GetStage ``accessLogSettings``), else none."""
    if case.log_groups:
        return list(case.log_groups)
    stage = stage or {}
    settings = stage.get("accessLogSettings") or stage.get("AccessLogSettings") or {}
    arn = str(settings.get("destinationArn") or settings.get("DestinationArn") or "")
    if ":log-group:" in arn:
        return [arn.split(":log-group:", 1)[1].removesuffix(":*")]
    return []


def tables_of(case: Case, configurations: Iterable[Mapping[str, Any]]) -> list[str]:
    """DynamoDB tables the backends use: the catalogue's ``tables``, then the values of
    environment variables named ``*TABLE*`` in the functions' configurations."""
    names = [str(t) for t in case.params.get("tables") or []]
    for config in configurations:
        env = ((config or {}).get("Environment") or {}).get("Variables") or {}
        names += [str(v) for k, v in env.items() if "TABLE" in k.upper() and v]
    names = list(dict.fromkeys(n for n in names if n and "*" not in n))
    case.params["tables"] = names
    add_resources(case, names)
    return names


def add_resources(case: Case, names: Iterable[str]) -> None:
    """Count ``names`` among the alarm's resources: changes to them are related."""
    current = [str(n) for n in case.params.get("resource_names") or []]
    case.params["resource_names"] = list(dict.fromkeys([*current, *[n for n in names if n]]))


# -- which part of the traffic fails -------------------------------------------------------------
def breakdown_table(
    case: Case, frame: pd.DataFrame, *, by: Sequence[str], failed: str, total: str, what: str
) -> pd.DataFrame:
    """A Logs Insights ``stats ... by`` frame with a failed and a total count per group, as
    a table with the failure rate and each group's share of the failures; kept for
    :func:`breakdown_finding` (``what`` names the groups: "route", "operation")."""
    if frame.empty:
        raise NoDataError(f"no requests per {what} in the window")
    out = frame.copy()
    out[failed] = pd.to_numeric(out[failed], errors="coerce").fillna(0).astype(int)
    out[total] = pd.to_numeric(out[total], errors="coerce").fillna(0).astype(int)
    label = out[list(by)].astype(str).agg(" ".join, axis=1).str.strip()
    out = out.drop(columns=[what], errors="ignore")
    out.insert(0, what, label)
    all_failed = max(int(out[failed].sum()), 1)
    out["failure_rate_%"] = (100 * out[failed] / out[total].clip(lower=1)).round(1)
    out["share_of_failures_%"] = (100 * out[failed] / all_failed).round(1)
    out = out.sort_values(failed, ascending=False, ignore_index=True)
    case.state["breakdown"] = (out, what, failed, total)
    return out


def breakdown_finding(case: Case, *, concentrated: float = 60.0) -> Finding | None:
    """Where the failures are: one group (route, operation) carrying most of them, or spread
    over all, from :func:`breakdown_table`."""
    kept = case.state.get("breakdown")
    if kept is None:
        return None
    table, what, failed, total = kept
    n_failed = int(table[failed].sum())
    if n_failed == 0:
        return Finding(
            kind="breakdown",
            title=f"No failures in the logs per {what} since the onset",
            severity="info",
        )
    top = table.iloc[0]
    share = float(top["share_of_failures_%"])
    rate = float(top["failure_rate_%"])
    others = table.iloc[1:]
    other_rate = 100 * others[failed].sum() / max(int(others[total].sum()), 1)
    if share >= concentrated:
        title = (
            f"Failures concentrated on {what} {top[what]}: {int(top[failed]):,} of {n_failed:,} "
            f"({share:.0f}%); {rate:.0f}% of its requests fail"
        )
    else:
        title = (
            f"Failures spread over {int((table[failed] > 0).sum())} {what}s; the most is "
            f"{top[what]} with {share:.0f}% of them"
        )
    rows = "; ".join(
        f"{r[what]}: {int(r[failed]):,} of {int(r[total]):,} ({r['failure_rate_%']:.1f}%)"
        for _, r in table.head(5).iterrows()
    )
    return Finding(
        kind="breakdown",
        title=title,
        detail=f"Since the onset, per {what}: {rows}. The other {what}s fail at {other_rate:.1f}%.",
        severity="warning",
        evidence=(Evidence(label=f"failures per {what} (logs)", ref=f"breakdown:{what}"),),
        data={what: str(top[what]), "share": share, "rate": rate},
    )


# -- did a related metric move with the incident -------------------------------------------------
@dataclass(frozen=True)
class Movement:
    """A series before and since the incident's start: per-minute means, the total since,
    and the first minute it stood out."""

    before: float
    since: float
    total: float
    first: pd.Timestamp | None

    @property
    def moved(self) -> bool:
        return self.first is not None


def movement(case: Case, qid: str, *, factor: float = 3.0, floor: float = 1.0) -> Movement:
    """How metric query ``qid`` (an earlier step's) behaved since the incident started (the
    onset, else 15 min before the alarm) against the hour before: ``moved`` when its mean
    since is ``factor`` times the mean before and above ``floor``; ``first`` is the first
    minute past both."""
    values = case.series(qid).sort_index()
    start = case.state["onset"].time if case.state.get("onset") else case.alarm_time - DEFAULT_LEAD
    before = values[(values.index < start) & (values.index >= start - pd.Timedelta(hours=1))]
    # From a minute before the onset: the onset is only as precise as its series.
    since = values[values.index >= start - pd.Timedelta(minutes=1)]
    b = float(before.mean()) if len(before) else 0.0
    s = float(since.mean()) if len(since) else 0.0
    level = max(b * factor, floor)
    first = None
    if s >= level:
        over = since[since >= level]
        first = over.index[0] if len(over) else None
    return Movement(b, s, float(since.sum()), first)


def moved_finding(
    case: Case,
    qid: str,
    *,
    title: str,
    quiet: str = "",
    unit: str = "/min",
    severity: str = "warning",
    kind: str = "related_metric",
    factor: float = 3.0,
    floor: float = 1.0,
    absent: str = "",
) -> Finding | None:
    """A finding when ``qid`` moved with the incident: ``title`` formatted with ``since``
    (first minute, HH:MM), ``total``, ``before`` and ``after`` (means). When it did not move
    and ``quiet`` is given, an info finding saying so (the suspect ruled out); ``absent`` the
    same when the metric has no datapoints at all."""
    try:
        m = movement(case, qid, factor=factor, floor=floor)
    except NoDataError:
        if not absent:
            return None
        # Some metrics (DynamoDB ThrottledRequests, SystemErrors) are only published when
        # they happen: none in the window is an answer.
        return Finding(
            kind=f"{kind}_quiet",
            title=absent,
            detail=f"No datapoints for {qid} in the window: the metric is published only when "
            "it happens.",
            severity="info",
            evidence=(Evidence(label=qid, ref=f"metric:{qid}"),),
        )
    facts = {
        "total": f"{m.total:,.0f}",
        "before": f"{m.before:,.1f}{unit}",
        "after": f"{m.since:,.1f}{unit}",
        "since": f"{m.first:%H:%M}" if m.first is not None else "",
    }
    evidence = (Evidence(label=qid, ref=f"metric:{qid}"),)
    if m.moved:
        return Finding(
            kind=kind,
            title=title.format(**facts),
            detail=f"Mean {facts['before']} in the hour before the incident, {facts['after']} "
            f"since; first stood out at {facts['since']} UTC.",
            severity=severity,  # type: ignore[arg-type]
            time=m.first,
            evidence=evidence,
            data={"query": qid, **facts},
        )
    if quiet:
        return Finding(
            kind=f"{kind}_quiet",
            title=quiet.format(**facts),
            detail=f"Mean {facts['before']} before, {facts['after']} since: no departure.",
            severity="info",
            evidence=evidence,
        )
    return None


def summary(case: Case, findings: Sequence[Finding | None]) -> str:
    """The banner line: the culprit change, else the causes found (a downstream that moved, a
    new error), else the first finding."""
    found = [f for f in findings if f is not None]
    head = [f.title for f in found if f.kind == "culprit_change"]
    head += [f.title for f in found if f.kind in ("related_metric", "new_signature", "cause")]
    if head:
        return "; ".join(head[:3])
    return found[0].title if found else f"{case.alarm.name}: no clear cause found"


# -- Lambda concurrency --------------------------------------------------------------------------
def concurrency_limits(
    case: Case, function: str, reserved: Mapping[str, Any], account: Mapping[str, Any]
) -> pd.DataFrame:
    """The limits a function's concurrency meets (GetFunctionConcurrency,
    GetAccountSettings): its reserved concurrency, else the account's unreserved pool shared
    with every function without a reservation. Kept for :func:`limit_finding`."""
    own = (reserved or {}).get("ReservedConcurrentExecutions")
    limit = (account or {}).get("AccountLimit") or {}
    total = limit.get("ConcurrentExecutions")
    unreserved = limit.get("UnreservedConcurrentExecutions")
    case.state["concurrency_limits"] = {
        "function": function,
        "reserved": own,
        "account": total,
        "unreserved": unreserved,
    }
    rows = [
        (
            "Reserved concurrency of " + function,
            own if own is not None else "none (shares the pool)",
        ),
        ("Account concurrency limit", total),
        ("Unreserved pool (functions without a reservation)", unreserved),
    ]
    return pd.DataFrame(rows, columns=["limit", "value"]).astype({"value": str})


def peak_since(case: Case, qid: str) -> tuple[float, float]:
    """(mean in the hour before the incident, maximum since) of metric query ``qid``."""
    m = movement(case, qid)
    values = case.series(qid)
    start = case.state["onset"].time if case.state.get("onset") else case.alarm_time - DEFAULT_LEAD
    since = values[values.index >= start - pd.Timedelta(minutes=1)]
    return m.before, float(since.max()) if len(since) else 0.0


def limit_finding(
    case: Case, *, function_qid: str, account_qid: str, near: float = 0.95
) -> Finding | None:
    """Which limit the throttles hit: the function's reserved concurrency, or the account's
    pool (full, or not: then a burst or a per-function limit)."""
    limits = case.state.get("concurrency_limits")
    if limits is None:
        return None
    fn = limits["function"]
    try:
        fn_before, fn_peak = peak_since(case, function_qid)
    except NoDataError:
        fn_before = fn_peak = float("nan")
    if limits["reserved"] is not None:
        cap = float(limits["reserved"])
        hit = fn_peak >= near * cap
        title = (
            f"{fn} reached its reserved concurrency: {fn_peak:.0f} of {cap:.0f}"
            if hit
            else f"{fn} stayed below its reserved concurrency ({fn_peak:.0f} of {cap:.0f})"
        )
        return Finding(
            kind="cause" if hit else "limit",
            title=title,
            detail=f"Its concurrency averaged {fn_before:.0f} in the hour before. A reservation "
            "is both a floor and a ceiling: traffic beyond it is throttled whatever the account "
            "has free.",
            severity="warning",
            evidence=(Evidence(label=function_qid, ref=f"metric:{function_qid}"),),
        )
    try:
        acc_before, acc_peak = peak_since(case, account_qid)
    except NoDataError:
        return None
    cap = float(limits["unreserved"] or limits["account"] or 0)
    if cap and acc_peak >= near * cap:
        return Finding(
            kind="cause",
            title=f"The account's concurrency pool is full: {acc_peak:.0f} of {cap:.0f} "
            f"executions ({fn} has no reserved concurrency)",
            detail=f"The account's ConcurrentExecutions averaged {acc_before:.0f} in the hour "
            f"before; {fn} itself peaked at {fn_peak:.0f}. Functions without a reservation "
            "share the unreserved pool: when others fill it, this one is throttled.",
            severity="critical",
            evidence=(Evidence(label=account_qid, ref=f"metric:{account_qid}"),),
            data={"account_peak": acc_peak, "limit": cap},
        )
    return Finding(
        kind="limit",
        title=f"The account's pool was not full ({acc_peak:.0f} of {cap:.0f}): a burst limit "
        "or a per-function limit throttles",
        severity="info",
        evidence=(Evidence(label=account_qid, ref=f"metric:{account_qid}"),),
    )


def consumers_table(case: Case, frame: pd.DataFrame) -> pd.DataFrame:
    """Each function's concurrency (a long metric frame, one label per function) before the
    incident and at its peak since, the largest growth first: who took the pool. Kept for
    :func:`consumers_finding`."""
    if frame.empty:
        raise NoDataError("no per-function concurrency in the window")
    start = case.state["onset"].time if case.state.get("onset") else case.alarm_time - DEFAULT_LEAD
    rows = []
    for label, part in frame.groupby("label"):
        t = pd.DatetimeIndex(part["timestamp"])
        before = part["value"][(t < start) & (t >= start - pd.Timedelta(hours=1))]
        since = part["value"][t >= start - pd.Timedelta(minutes=5)]
        rows.append(
            {
                "function": str(label),
                "before_mean": round(float(before.mean()) if len(before) else 0.0, 1),
                "peak_since": round(float(since.max()) if len(since) else 0.0, 1),
            }
        )
    table = pd.DataFrame(rows)
    table["growth"] = (table["peak_since"] - table["before_mean"]).round(1)
    table = table.sort_values("growth", ascending=False, ignore_index=True)
    case.state["consumers"] = table
    return table


def consumers_finding(case: Case) -> Finding | None:
    """The function whose concurrency grew most with the incident, and its share of the pool."""
    table = case.state.get("consumers")
    if table is None or table.empty:
        return None
    top = table.iloc[0]
    limits = case.state.get("concurrency_limits") or {}
    cap = limits.get("unreserved") or limits.get("account")
    share = f" ({100 * top['peak_since'] / cap:.0f}% of the account's {cap})" if cap else ""
    if top["growth"] <= max(5.0, top["before_mean"]):
        return Finding(
            kind="limit",
            title="No function's concurrency grew with the incident",
            severity="info",
        )
    return Finding(
        kind="cause",
        title=f"{top['function']} took the pool: its concurrency grew from "
        f"{top['before_mean']:.0f} to {top['peak_since']:.0f}{share}",
        detail="; ".join(
            f"{r.function}: {r.before_mean:.0f} -> {r.peak_since:.0f}"
            for r in table.head(5).itertuples()
        ),
        severity="warning",
        evidence=(Evidence(label="concurrency per function", ref="consumers"),),
        data={"function": str(top["function"])},
    )


def queues_of(mappings: Mapping[str, Any]) -> list[str]:
    """SQS queue names of a function's event source mappings (ListEventSourceMappings)."""
    names = []
    for m in (mappings or {}).get("EventSourceMappings", []) or []:
        arn = str(m.get("EventSourceArn") or "")
        if arn.startswith("arn:aws:sqs:"):
            names.append(arn.rsplit(":", 1)[-1])
    return names


# -- DynamoDB ------------------------------------------------------------------------------------
def table_summary(description: Mapping[str, Any]) -> pd.DataFrame:
    """DescribeTable as the rows a throttling runbook reads: billing mode, provisioned
    capacity and its last changes, the indexes."""
    t = (description or {}).get("Table") or {}
    if not t:
        raise NoDataError("DescribeTable returned no table")
    pt = t.get("ProvisionedThroughput") or {}
    mode = (t.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED"
    rows: list[tuple[str, Any]] = [
        ("Table", t.get("TableName")),
        ("Status", t.get("TableStatus")),
        ("Billing mode", mode),
    ]
    if mode != "PAY_PER_REQUEST":
        rows += [
            (
                "Provisioned read / write (units per second)",
                f"{pt.get('ReadCapacityUnits')} / {pt.get('WriteCapacityUnits')}",
            ),
            ("Last increase", pt.get("LastIncreaseDateTime", "")),
            ("Last decrease", pt.get("LastDecreaseDateTime", "")),
            ("Decreases today", pt.get("NumberOfDecreasesToday", "")),
        ]
    for gsi in t.get("GlobalSecondaryIndexes") or []:
        g = gsi.get("ProvisionedThroughput") or {}
        rows.append(
            (
                f"Index {gsi.get('IndexName')}",
                f"{g.get('ReadCapacityUnits')} / {g.get('WriteCapacityUnits')} "
                f"({gsi.get('IndexStatus')})",
            )
        )
    return pd.DataFrame(rows, columns=["", "value"]).astype({"value": str})


def indexes_of(description: Mapping[str, Any]) -> list[str]:
    """The table's global secondary index names (DescribeTable)."""
    t = (description or {}).get("Table") or {}
    return [
        str(g["IndexName"]) for g in t.get("GlobalSecondaryIndexes") or [] if g.get("IndexName")
    ]


def totals_since(case: Case, frame: pd.DataFrame) -> pd.Series:
    """Each query id's total from the incident's start (onset, else 15 min before the alarm)."""
    start = case.state["onset"].time if case.state.get("onset") else case.alarm_time - DEFAULT_LEAD
    part = frame[pd.DatetimeIndex(frame["timestamp"]) >= start]
    return part.groupby("id")["value"].sum()


def callers_of(case: Case, listing: Mapping[str, Any] | None, name: str) -> list[str]:
    """Lambda functions that use a table or queue: the catalogue's ``backend_functions``, then
    the functions whose environment names it (ListFunctions). Added to the resources."""
    names = [str(f) for f in case.params.get("backend_functions") or []]
    for fn in (listing or {}).get("Functions", []) or []:
        env = (fn.get("Environment") or {}).get("Variables") or {}
        if any(str(v) == name for v in env.values()):
            names.append(str(fn.get("FunctionName")))
    names = list(dict.fromkeys(n for n in names if n))
    case.params["backend_functions"] = names
    add_resources(case, names)
    return names


def capacity_finding(
    case: Case, *, consumed: str, provisioned: str, what: str, near: float = 0.9
) -> Finding | None:
    """Consumed capacity against provisioned (both per minute, query ids of an earlier step):
    at the ceiling since when, and whether the ceiling itself moved (a capacity change)."""
    try:
        used, cap = case.series(consumed).sort_index(), case.series(provisioned).sort_index()
    except NoDataError:
        return None
    both = pd.concat([used.rename("used"), cap.rename("cap")], axis=1).dropna()
    if both.empty:
        return None
    start = case.state["onset"].time if case.state.get("onset") else case.alarm_time - DEFAULT_LEAD
    before = both[both.index < start - pd.Timedelta(minutes=1)].tail(60)
    since = both[both.index >= start - pd.Timedelta(minutes=1)]
    at_cap = since[since["used"] >= near * since["cap"]]
    if at_cap.empty:
        return Finding(
            kind="limit",
            title=f"{what} stayed below its provisioned capacity",
            severity="info",
            evidence=(Evidence(label=consumed, ref=f"metric:{consumed}"),),
        )
    cap_before = float(before["cap"].median()) if len(before) else float("nan")
    cap_since = float(since["cap"].median())
    moved = len(before) and abs(cap_since - cap_before) > 0.05 * max(cap_before, 1.0)
    title = f"{what} at its provisioned ceiling from {at_cap.index[0]:%H:%M}"
    if moved:
        title += f": the ceiling fell from {cap_before / 60:g} to {cap_since / 60:g} units/s"
    return Finding(
        kind="cause",
        title=title,
        detail=f"Consumed {float(before['used'].mean()) if len(before) else 0:.0f} a minute "
        f"before against {cap_before:.0f} provisioned; {float(since['used'].mean()):.0f} since "
        f"against {cap_since:.0f}. Requests beyond it are throttled.",
        severity="critical" if moved else "warning",
        time=at_cap.index[0],
        evidence=(
            Evidence(label=consumed, ref=f"metric:{consumed}"),
            Evidence(label=provisioned, ref=f"metric:{provisioned}"),
        ),
    )


def zero_filled(case: Case, values: pd.Series, *, period: int = 60) -> pd.Series:
    """``values`` with a 0 for every period of the window it has no datapoint for: metrics
    published only when something happens (DynamoDB throttles, SystemErrors) are 0 then, and
    the onset needs that baseline. Datapoints never closer than ``period`` (a source that
    keeps coarser data) set the step instead."""
    gaps = pd.Series(values.index).diff().dropna()
    if len(gaps):
        period = max(period, int(gaps.min().total_seconds()))
    step = pd.Timedelta(seconds=period)
    # The grid runs through the datapoints (a 5-minute series need not start on the hour).
    first = values.index.min() if len(values) else case.start.floor(step)
    origin = first - ((first - case.start) // step) * step
    index = pd.date_range(origin, case.end, freq=step, inclusive="left")
    return values.reindex(index.union(values.index), fill_value=0.0).rename(values.name)


# -- SQS -----------------------------------------------------------------------------------------
def queue_name(url_or_arn: str) -> str:
    """The queue name of a queue URL or ARN."""
    return str(url_or_arn).rstrip("/").replace(":", "/").rsplit("/", 1)[-1]


def redrive_table(attributes: Mapping[str, Any]) -> pd.DataFrame:
    """A source queue's attributes that matter for a DLQ: its redrive policy (where failed
    messages go, after how many receives) and visibility timeout."""
    import json

    attrs = (attributes or {}).get("Attributes") or {}
    policy = attrs.get("RedrivePolicy") or "{}"
    try:
        redrive = json.loads(policy) if isinstance(policy, str) else dict(policy)
    except ValueError:
        redrive = {}
    rows = [
        ("Queue", queue_name(attrs.get("QueueArn", ""))),
        ("Dead-letter queue", queue_name(redrive.get("deadLetterTargetArn", "")) or "(none)"),
        ("Max receives before the DLQ", redrive.get("maxReceiveCount", "")),
        ("Visibility timeout (s)", attrs.get("VisibilityTimeout", "")),
        ("Retention (s)", attrs.get("MessageRetentionPeriod", "")),
    ]
    return pd.DataFrame(rows, columns=["", "value"]).astype({"value": str})


def arrivals(values: pd.Series) -> pd.Series:
    """Messages arriving per period in a queue nobody consumes (a DLQ): the increases of its
    visible count."""
    return values.sort_index().diff().clip(lower=0).fillna(0.0).rename("arrivals")


# -- Lambda duration -----------------------------------------------------------------------------
def _split(case: Case, frame: pd.DataFrame, time_col: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``frame``'s rows before the incident's start (the hour before) and since."""
    start = case.state["onset"].time if case.state.get("onset") else case.alarm_time - DEFAULT_LEAD
    t = pd.to_datetime(frame[time_col], utc=True)
    before = frame[(t < start) & (t >= start - pd.Timedelta(hours=1))]
    return before, frame[t >= start - pd.Timedelta(minutes=1)]


def dependency_table(
    case: Case,
    frame: pd.DataFrame,
    *,
    key: str,
    value: str,
    time_col: str,
    what: str = "Calls to",
) -> pd.DataFrame:
    """Per downstream dependency (``key``), the mean of ``value`` (a call's elapsed time) in
    the hour before the incident and since, slowest growth first. Kept for
    :func:`dependency_finding`. ``what`` starts the finding's title ("Calls to", "Route")."""
    if frame.empty:
        raise NoDataError(f"no {key} timings in the logs")
    before, since = _split(case, frame, time_col)
    table = pd.DataFrame(
        {
            "before_ms": before.groupby(key)[value].mean(),
            "since_ms": since.groupby(key)[value].mean(),
        }
    ).fillna(0.0)
    table["ratio"] = (table["since_ms"] / table["before_ms"].clip(lower=1.0)).round(1)
    table = table.round(1).sort_values("ratio", ascending=False).reset_index(names=key)
    case.state["dependencies"] = (table, key, what)
    return table


def dependency_finding(case: Case, *, factor: float = 2.0) -> Finding | None:
    """The downstream dependency whose calls slowed with the incident, or that none did."""
    kept = case.state.get("dependencies")
    if kept is None:
        return None
    table, key, what = kept
    top = table.iloc[0]
    if top["ratio"] < factor:
        return Finding(
            kind="related_metric_quiet",
            title=f"No {key} slowed with the incident",
            detail="; ".join(
                f"{r[key]}: {r['before_ms']:.0f} -> {r['since_ms']:.0f} ms"
                for _, r in table.iterrows()
            ),
            severity="info",
        )
    return Finding(
        kind="related_metric",
        title=f"{what} {top[key]} slowed from {top['before_ms']:,.0f} ms to "
        f"{top['since_ms']:,.0f} ms on average ({top['ratio']:g}x)",
        detail=f"Mean time per {key}, the hour before the incident against since, from the logs.",
        severity="warning",
        evidence=(Evidence(label="downstream calls (logs)", ref=f"dependencies:{top[key]}"),),
        data={"dependency": str(top[key])},
    )


def timeouts_finding(
    case: Case, frame: pd.DataFrame, *, count: str, time_col: str, timeout_s: float | None
) -> Finding | None:
    """Invocations that hit the configured timeout (a Logs Insights count per bin of
    ``Task timed out`` lines), since when."""
    if frame is None or frame.empty:
        return None
    frame = frame.sort_values(time_col)
    total = int(pd.to_numeric(frame[count]).sum())
    first = pd.to_datetime(frame[time_col], utc=True).iloc[0]
    limit = f" (the {timeout_s:g} s timeout)" if timeout_s else ""
    return Finding(
        kind="cause",
        title=f"{total:,} invocations timed out{limit}, from {first:%H:%M}",
        detail="Counted from the runtime's 'Task timed out' lines: each is an error and, for "
        "an event source, a retry.",
        severity="warning",
        time=first,
        evidence=(Evidence(label="Task timed out lines", ref="logs:timeouts"),),
    )


def runtime_findings(case: Case, frame: pd.DataFrame, *, time_col: str) -> list[Finding]:
    """From REPORT statistics per bin (``invocations``, ``cold_starts``, ``max_memory_mb``,
    ``memory_mb``): whether memory is near its size, and whether cold starts grew."""
    if frame is None or frame.empty:
        return []
    out = []
    latest = frame.sort_values(time_col).tail(3)
    used = float(pd.to_numeric(latest["max_memory_mb"]).max())
    size = float(pd.to_numeric(latest["memory_mb"]).max())
    near = size and used >= 0.9 * size
    out.append(
        Finding(
            kind="cause" if near else "limit",
            title=(
                f"Memory used reaches {used:.0f} of {size:.0f} MB: the function is memory bound"
                if near
                else f"Memory used peaks at {used:.0f} of {size:.0f} MB: not memory bound"
            ),
            severity="warning" if near else "info",
            evidence=(Evidence(label="REPORT lines", ref="logs:report"),),
        )
    )
    before, since = _split(case, frame, time_col)
    sizes = [
        float(pd.to_numeric(p["memory_mb"]).median()) if len(p) else 0.0 for p in (before, since)
    ]
    if all(sizes) and sizes[0] != sizes[1]:
        out.append(
            Finding(
                kind="cause",
                title=f"Memory size changed from {sizes[0]:.0f} to {sizes[1]:.0f} MB with the "
                "incident (Lambda's CPU share scales with it)",
                severity="warning",
                evidence=(Evidence(label="REPORT lines", ref="logs:report"),),
            )
        )
    rate = [
        float(pd.to_numeric(p["cold_starts"]).sum())
        / max(float(pd.to_numeric(p["invocations"]).sum()), 1.0)
        for p in (before, since)
    ]
    grew = rate[1] > 2 * rate[0] and rate[1] > 0.05
    out.append(
        Finding(
            kind="cause" if grew else "limit",
            title=(
                f"Cold starts grew: {100 * rate[1]:.1f}% of invocations since, "
                f"{100 * rate[0]:.1f}% before"
                if grew
                else f"Cold starts steady ({100 * rate[0]:.1f}% before, {100 * rate[1]:.1f}% since)"
            ),
            severity="warning" if grew else "info",
            evidence=(Evidence(label="REPORT lines", ref="logs:report"),),
        )
    )
    return out


# -- API throttling ------------------------------------------------------------------------------
def stage_limits(stage: Mapping[str, Any] | None, plans: Mapping[str, Any] | None) -> pd.DataFrame:
    """The request limits in front of a stage: its default method throttling (GetStage
    ``methodSettings``) and each usage plan's (GetUsagePlans)."""
    rows = []
    for key, setting in ((stage or {}).get("methodSettings") or {}).items():
        rows.append(
            {
                "limit": f"stage {key}",
                "rate_per_s": setting.get("throttlingRateLimit"),
                "burst": setting.get("throttlingBurstLimit"),
            }
        )
    for plan in (plans or {}).get("items", []) or []:
        throttle = plan.get("throttle") or {}
        rows.append(
            {
                "limit": f"usage plan {plan.get('name', plan.get('id'))}",
                "rate_per_s": throttle.get("rateLimit"),
                "burst": throttle.get("burstLimit"),
            }
        )
    if not rows:
        raise NoDataError("no throttling settings on the stage and no usage plan")
    return pd.DataFrame(rows)


def rate_limit_finding(case: Case, limits: pd.DataFrame | None, *, count: str) -> Finding | None:
    """Requests per second (metric query ``count``, Sum per minute / 60) against the lowest
    rate limit in front of the stage."""
    if limits is None or limits.empty:
        return None
    try:
        values = case.series(count)
    except NoDataError:
        return None
    rate = float(pd.to_numeric(limits["rate_per_s"], errors="coerce").min())
    if not rate or pd.isna(rate):
        return None
    m = movement(case, count)
    peak = float(values.max()) / 60.0
    over = peak >= 0.95 * rate
    return Finding(
        kind="cause" if over else "limit",
        title=(
            f"Requests reach the limit: {peak:,.1f} per second at the peak against {rate:g}"
            if over
            else f"Requests stay below the limit ({peak:,.1f} of {rate:g} per second)"
        ),
        detail=f"{m.before / 60:,.1f} requests per second on average in the hour before, "
        f"{m.since / 60:,.1f} since.",
        severity="warning" if over else "info",
        evidence=(Evidence(label=count, ref=f"metric:{count}"),),
    )


def callers_table(case: Case, frame: pd.DataFrame, *, key: str, time_col: str) -> pd.DataFrame:
    """Per caller (``key``: IP, API key), requests and 429s per minute (a Logs Insights
    ``stats`` frame with ``requests`` and ``throttled``) before the incident and since, the
    heaviest since first. Kept for :func:`top_caller_finding`."""
    if frame.empty:
        raise NoDataError("no requests in the access logs")
    before, since = _split(case, frame, time_col)
    minutes = max(since[time_col].nunique(), 1)
    table = (
        pd.DataFrame(
            {
                "requests_before": before.groupby(key)["requests"].sum(),
                "requests_since": since.groupby(key)["requests"].sum(),
                "throttled_since": since.groupby(key)["throttled"].sum(),
            }
        )
        .fillna(0)
        .astype(int)
    )
    total = max(int(table["requests_since"].sum()), 1)
    table["per_minute_since"] = (table["requests_since"] / minutes).round(1)
    table["share_since_%"] = (100 * table["requests_since"] / total).round(1)
    table = table.sort_values("requests_since", ascending=False).reset_index(names=key)
    case.state["callers"] = (table, key)
    return table


def top_caller_finding(case: Case, *, heavy: float = 40.0) -> Finding | None:
    """The caller sending most requests since the incident started: its share, whether it is
    new (barely seen in the hour before), and its share of the 429s."""
    kept = case.state.get("callers")
    if kept is None:
        return None
    table, key = kept
    top = table.iloc[0]
    if float(top["share_since_%"]) < heavy:
        return Finding(
            kind="limit",
            title=f"No single caller dominates: the heaviest, {top[key]}, sends "
            f"{top['share_since_%']:.0f}% of the requests",
            severity="info",
        )
    total_429 = max(int(table["throttled_since"].sum()), 1)
    new = int(top["requests_before"]) <= 0.05 * int(top["requests_since"])
    return Finding(
        kind="cause",
        title=f"One caller, {top[key]}, sends {top['share_since_%']:.0f}% of the requests since "
        f"the onset ({top['per_minute_since']:,.0f} a minute)"
        + (", and was barely seen in the hour before" if new else ""),
        detail=f"It got {100 * int(top['throttled_since']) / total_429:.0f}% of the 429s; "
        f"{int(top['requests_before']):,} requests in the hour before. "
        + (
            "A new, heavy caller: a runaway client or abuse, unless it is an expected launch."
            if new
            else "A known caller sending more than usual."
        ),
        severity="critical",
        evidence=(Evidence(label=f"requests per {key} (access logs)", ref=f"callers:{key}"),),
        data={key: str(top[key])},
    )


# -- AWS Health ----------------------------------------------------------------------------------
def health_table(events: Mapping[str, Any]) -> pd.DataFrame:
    """AWS Health DescribeEvents as a table: type, Region, status, start."""
    rows = [
        {
            "event_type": e.get("eventTypeCode"),
            "category": e.get("eventTypeCategory"),
            "region": e.get("region"),
            "status": e.get("statusCode"),
            "start": e.get("startTime"),
            "scope": e.get("eventScopeCode"),
        }
        for e in (events or {}).get("events", []) or []
    ]
    if not rows:
        raise NoDataError("no AWS Health event for this service")
    return pd.DataFrame(rows)


def health_finding(case: Case, events: Mapping[str, Any] | None) -> Finding | None:
    """An open AWS Health issue for the service in the alarm's Region: the likely cause of
    service-side errors (no change of ours needed)."""
    items = [
        e
        for e in (events or {}).get("events", []) or []
        if e.get("eventTypeCategory") == "issue" and e.get("region") in (case.alarm.region, None)
    ]
    if not items:
        return None
    e = items[0]
    return Finding(
        kind="cause",
        title=f"AWS Health reports {e.get('eventTypeCode')} in {e.get('region')} "
        f"({e.get('statusCode')}, since {e.get('startTime')})",
        detail="An operational issue of the service itself: errors on every table of the Region "
        "are expected until it closes; retries with backoff are the mitigation.",
        severity="critical",
        evidence=(Evidence(label="AWS Health DescribeEvents", ref="health"),),
    )


def sparse_sibling_finding(case: Case, *, what: str = "resource") -> Finding | None:
    """Which sibling series (from :func:`incident_lib.steps.sibling_queries`) count events
    since the incident started against the hour before, for metrics published only when the
    events happen (SystemErrors, throttles): a missing datapoint is a zero, which the
    baseline-based sibling scan cannot see."""
    ids = case.state.get("sibling_ids") or []
    frame = case.metric_frame(*ids)
    if frame.empty or len(ids) < 2:
        return None
    start = case.state["onset"].time if case.state.get("onset") else case.alarm_time - DEFAULT_LEAD
    t = pd.DatetimeIndex(frame["timestamp"])
    since = frame[t >= start - pd.Timedelta(minutes=1)].groupby("label")["value"].sum()
    before = frame[(t < start) & (t >= start - pd.Timedelta(hours=1))].groupby("label")["value"]
    before = before.sum()
    own = frame.loc[frame["id"] == "alarmed", "label"]
    alarmed = str(own.iloc[0]) if len(own) else ""
    hit = [
        str(label)
        for label, n in since.items()
        if label != alarmed and n > 0 and n >= 3 * before.get(label, 0.0)
    ]
    quiet = [str(x) for x in frame["label"].unique() if x != alarmed and str(x) not in hit]
    if hit:
        return Finding(
            kind="sibling_scan",
            title=f"Other {what}s fail too since the onset: {'; '.join(hit[:5])}",
            detail=f"Events since the onset against the hour before. Unaffected: "
            f"{'; '.join(quiet[:5]) or 'none'}. Several {what}s at once points at a shared "
            "cause (the service, the Region), not this one.",
            severity="warning",
            evidence=(Evidence(label="siblings", ref="siblings"),),
        )
    return Finding(
        kind="sibling_scan",
        title=f"Only this {what} fails: {len(quiet)} others have no events since the onset",
        severity="info",
        evidence=(Evidence(label="siblings", ref="siblings"),),
    )
