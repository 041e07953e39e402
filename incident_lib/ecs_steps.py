"""Steps of the ECS and Prometheus notebooks (``prom_error_rate``, ``prom_latency``,
``ecs_service``, ``ecs_resources``): the Prometheus alert's own expression and labels, the
breakdowns of what it measures, the ECS service's deployments, task definitions and stopped
tasks, and the findings built from them.

Like :mod:`incident_lib.steps`, these take what a notebook cell fetched with the ``case``
verbs and return a table, a figure or a finding; what a step concludes is kept in
``case.state`` for the findings.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from incident_lib.errors import NoDataError
from incident_lib.findings import Evidence, Finding
from incident_lib.notebook import Case

__all__ = [
    "BREAKDOWN_LABELS",
    "active_service",
    "alert_facts",
    "alert_labels",
    "breakdown_finding",
    "breakdown_queries",
    "breakdown_table",
    "cluster_names",
    "deployments_table",
    "image_finding",
    "own_series",
    "parse_labels",
    "selectors",
    "service_matchers",
    "split_rule",
    "task_definition_changes",
]

#: Labels a service's HTTP series are commonly broken down by (prometheus-client, the
#: OpenTelemetry and Micrometer conventions), after the ones the alert's expression groups on.
BREAKDOWN_LABELS = (
    "type",
    "handler",
    "route",
    "path",
    "uri",
    "endpoint",
    "method",
    "status",
    "code",
    "status_code",
    "instance",
)
_COMPARISONS = {">", "<", ">=", "<=", "==", "!="}


# -- the alert ---------------------------------------------------------------------------------
def alert_labels(case: Case) -> dict[str, str]:
    """The alert's labels (``alertname`` included); for a CloudWatch alarm, its dimensions."""
    p = case.alarm.prometheus
    if p is not None:
        return dict(p.labels)
    m = case.alarm.metric
    return dict(m.dimensions) if m is not None else {}


def alert_facts(case: Case) -> pd.DataFrame:
    """What fired: the alert's name, state, start, labels, annotations, expression and where
    it came from, as a two-column table."""
    a, p = case.alarm, case.alarm.prometheus
    if p is None:
        raise NoDataError("not a Prometheus alert")
    rows: list[tuple[str, Any]] = [
        ("Alert", a.name),
        ("Status", p.status),
        ("Firing since", a.state_change_time.isoformat()),
        ("Labels", ", ".join(f"{k}={v}" for k, v in sorted(p.labels.items()))),
    ]
    rows += [(f"Annotation {k}", v) for k, v in sorted(p.annotations.items())]
    rows += [
        ("Expression", p.expression or "(unknown: the generator URL has no g0.expr)"),
        ("Generator", p.generator_url or ""),
        ("Receiver / delivery", f"{p.receiver or '?'} / {p.delivery}"),
    ]
    return pd.DataFrame(rows, columns=["", "value"]).astype({"value": str})


def split_rule(expr: str) -> tuple[str, str | None, float | None]:
    """An alerting expression split into the measured part, the comparison and the threshold:
    ``a / b > 0.1`` -> ``("a / b", ">", 0.1)``; an expression without a comparison against a
    number is returned whole with no threshold."""
    import promql_parser as pp

    try:
        tree = pp.parse(expr)
    except (ValueError, TypeError) as exc:
        raise NoDataError(f"the alert's expression is not PromQL: {exc}") from None
    while isinstance(tree, pp.ParenExpr):
        tree = tree.expr
    if isinstance(tree, pp.BinaryExpr) and str(tree.op).strip() in _COMPARISONS:
        if isinstance(tree.rhs, pp.NumberLiteral):
            return str(tree.lhs), str(tree.op).strip(), float(tree.rhs.val)
        if isinstance(tree.lhs, pp.NumberLiteral):  # 0.1 < a / b
            flipped = {">": "<", "<": ">", ">=": "<=", "<=": ">="}.get(str(tree.op).strip())
            return str(tree.rhs), flipped or str(tree.op).strip(), float(tree.lhs.val)
    return str(tree), None, None


_RANGE = re.compile(r"\[(\d+(?:ms|[smhdwy]))(?=[\]:])")


def sharper(expr: str, window: str = "2m") -> str:
    """The expression with its rate windows narrowed to ``window`` (``rate(x[5m])`` ->
    ``rate(x[2m])``): the same measure, less smoothed, so the onset is placed to the minute
    rather than spread over the rule's five-minute window."""
    return _RANGE.sub(f"[{window}", expr)


def failing_per_minute(expr: str) -> tuple[str, bool]:
    """What places the onset best, and whether it counts events: for a ratio ``failing /
    total`` (an error rate) the failing part per minute over 2-minute windows (a count that
    leaves zero when errors start); for a rate of counters, the same rate per minute; else
    :func:`sharper` of the expression, a level."""
    import promql_parser as pp

    tree = pp.parse(expr)
    while isinstance(tree, pp.ParenExpr):
        tree = tree.expr
    if isinstance(tree, pp.BinaryExpr) and str(tree.op).strip() == "/":
        return f"60 * ({sharper(str(tree.lhs))})", True
    rates = any(
        isinstance(n, pp.Call) and n.func.name in ("rate", "irate", "increase") for n in _walk(tree)
    )
    if rates and not any(isinstance(n, pp.BinaryExpr) for n in _walk(tree)):
        return f"60 * ({sharper(expr)})", True
    return sharper(expr), False


def quantile_of(expr: str, default: float = 0.95) -> float:
    """The quantile of the expression's ``histogram_quantile`` (``0.95``), else ``default``."""
    import promql_parser as pp

    for node in _walk(pp.parse(expr)):
        if isinstance(node, pp.Call) and node.func.name == "histogram_quantile":
            arg = node.args[0]
            if isinstance(arg, pp.NumberLiteral):
                return float(arg.val)
    return default


def _walk(node: Any) -> Iterable[Any]:
    yield node
    for attr in ("expr", "lhs", "rhs", "vector_selector", "param"):
        child = getattr(node, attr, None)
        if child is not None and not isinstance(child, str | int | float):
            yield from _walk(child)
    for child in getattr(node, "args", None) or []:
        yield from _walk(child)


def selectors(expr: str, *, numerator: bool = False) -> list[str]:
    """The vector selectors an expression reads, as written (``name{a="b"}``), once each;
    ``numerator``: of a ratio ``a / b`` only those of ``a`` (the failing part of an error
    ratio)."""
    import promql_parser as pp

    # The measured part: an alerting rule's comparison is not part of the ratio.
    tree = pp.parse(split_rule(expr)[0] if numerator else expr)
    while isinstance(tree, pp.ParenExpr):
        tree = tree.expr
    if numerator and isinstance(tree, pp.BinaryExpr) and str(tree.op).strip() == "/":
        tree = tree.lhs
    out: dict[str, None] = {}
    for node in _walk(tree):
        if isinstance(node, pp.VectorSelector):
            out.setdefault(str(node), None)
    return list(out)


def group_labels(expr: str) -> list[str]:
    """The labels the expression's aggregations keep (``sum by (type)`` -> ``["type"]``)."""
    import promql_parser as pp

    out: dict[str, None] = {}
    for node in _walk(pp.parse(expr)):
        mod = getattr(node, "modifier", None)
        if isinstance(node, pp.AggregateExpr) and mod is not None and "by" in str(mod):
            for label in mod.labels:
                if label != "le":
                    out.setdefault(str(label), None)
    return list(out)


def service_matchers(expr: str) -> str:
    """The equality matchers of the expression's first selector (the service it is about:
    ``service="x",job="y"``), for the runbook's other queries on the same service."""
    import promql_parser as pp

    for node in _walk(pp.parse(expr)):
        if isinstance(node, pp.VectorSelector):
            parts = [
                f'{m.name}="{m.value}"'
                for m in node.matchers.matchers
                if str(m.op) == "MatchOp.Equal" and m.name != "__name__"
            ]
            return ",".join(parts)
    return ""


_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_labels(label: str) -> dict[str, str]:
    """A series label as :func:`~incident_lib.sources.prometheus.series_label` prints it
    (``name{a="1", b="2"}``) back into its labels."""
    return {k: v.replace('\\"', '"') for k, v in _LABEL.findall(str(label))}


def own_series(case: Case, frame: pd.DataFrame, qid: str) -> pd.DataFrame:
    """The rows of query ``qid`` for the alert's own series: those whose labels all have the
    alert's values (an expression grouped by ``service`` returns one series per service; the
    alert is one of them). Kept under ``qid`` for :meth:`Case.series` and the findings."""
    part = frame[frame["id"] == qid]
    if part.empty:
        raise NoDataError(f"the alert's expression returned no series in the window ({qid})")
    labels = alert_labels(case)
    keep = [
        lab
        for lab in part["label"].unique()
        if all(labels.get(k) == v for k, v in parse_labels(lab).items())
    ]
    if not keep:
        raise NoDataError(
            f"none of the {part['label'].nunique()} series of the expression has the alert's labels"
        )
    own = part[part["label"] == keep[0]]
    case._series[qid] = own  # the alert's series is the one the findings read
    return own


#: The rate window of :func:`sharper`: an onset found on it may lag the first event by as much.
ONSET_LAG = pd.Timedelta(minutes=2)


def log_split(case: Case) -> pd.Timestamp:
    """Where the logs' baseline ends: the earliest the onset may have begun, less the rate
    window it was found over (a rate over 2 minutes rises from the first event, and a new
    counter's first increments show one scrape late), else the incident's start. The lines
    between this and the onset are in neither window."""
    from incident_lib.steps import incident_start

    found = case.state.get("onset")
    if found is not None:
        return min(found.earliest or found.time, found.time) - ONSET_LAG
    return incident_start(case)


# -- breakdowns --------------------------------------------------------------------------------
def breakdown_queries(
    expr: str, *, histogram: bool = False, quantile: float = 0.95, extra: Sequence[str] = ()
) -> dict[str, str]:
    """One query per label to break what the alert measures down by: the labels its
    expression groups on first, then :data:`BREAKDOWN_LABELS`. For a ratio, the failing part
    (the numerator's selectors) per second; for a latency (``histogram``), the quantile per
    label over the ``_bucket`` selector."""
    labels = list(dict.fromkeys([*group_labels(expr), *extra, *BREAKDOWN_LABELS]))
    sels = selectors(expr, numerator=not histogram)
    if histogram:
        sels = [s for s in sels if "_bucket" in s] or sels
    if not sels:
        raise NoDataError("the alert's expression reads no series")
    sel = sels[0]
    out = {}
    for label in labels:
        if histogram:
            out[f"by_{label}"] = (
                f"histogram_quantile({quantile:g}, sum by (le, {label}) (rate({sel}[5m])))"
            )
        else:
            out[f"by_{label}"] = f"sum by ({label}) (rate({sel}[5m]))"
    return out


def breakdown_table(case: Case, frame: pd.DataFrame, *, unit: str = "/s") -> pd.DataFrame:
    """Per breakdown label and value: the mean in the hour before the incident and since it,
    and each value's share of the total since (for a rate). Labels with a single value (or
    absent from the series) are left out. Kept for :func:`breakdown_finding`."""
    from incident_lib.steps import incident_start

    if frame.empty:
        raise NoDataError("no series to break down")
    start = incident_start(case)
    rows = []
    for qid, part in frame.groupby("id", sort=False):
        label = str(qid).removeprefix("by_")
        values = {lab: parse_labels(lab).get(label) for lab in part["label"].unique()}
        if sum(v is not None for v in values.values()) < 2:
            continue
        for lab, value in values.items():
            if value is None:
                continue
            s = part[part["label"] == lab].set_index("timestamp")["value"]
            before = s[(s.index < start) & (s.index >= start - pd.Timedelta(hours=1))]
            since = s[s.index >= start]
            if since.empty:  # a series that ended before the incident (a replaced task)
                continue
            rows.append(
                {
                    "label": label,
                    "value": value,
                    "before": round(float(before.mean()), 4) if len(before) else 0.0,
                    "since": round(float(since.mean()), 4) if len(since) else 0.0,
                    "peak": round(float(since.max()), 4) if len(since) else 0.0,
                }
            )
    if not rows:
        raise NoDataError("the series carry none of the breakdown labels with several values")
    table = pd.DataFrame(rows)
    totals = table.groupby("label")["since"].transform("sum").clip(lower=1e-12)
    table["share_since_%"] = (100 * table["since"] / totals).round(1)
    table["unit"] = unit
    table = table.sort_values(["label", "since"], ascending=[True, False], ignore_index=True)
    case.state["prom_breakdown"] = table
    return table


def breakdown_finding(
    case: Case, *, what: str = "failures", concentrated: float = 60.0, ratio: bool = True
) -> list[Finding]:
    """Where the incident concentrates, per label (a handler, an error type, a task): for a
    rate (``ratio``) the value carrying most of it since the onset; for a latency, the values
    that slowed by half or more against the hour before while others did not."""
    table = case.state.get("prom_breakdown")
    if table is None or table.empty:
        return []
    out = []
    for label, part in table.groupby("label", sort=False):
        part = part.sort_values("since", ascending=False)
        top = part.iloc[0]
        ev = (Evidence(label=f"breakdown by {label}", ref=f"promql:by_{label}"),)
        detail = "; ".join(
            f"{r.value}: {r.before:g} before, {r.since:g} since" for r in part.head(6).itertuples()
        )
        if ratio:
            grew = top["since"] > 2 * max(top["before"], 1e-9)
            if top["share_since_%"] >= concentrated and grew and len(part) > 1:
                out.append(
                    Finding(
                        kind="breakdown",
                        title=f"{what.capitalize()} concentrated on {label}={top['value']}: "
                        f"{top['share_since_%']:.0f}% of them since the onset "
                        f"({top['since']:g}{top['unit']}, {top['before']:g} before)",
                        detail=f"Per {label}: {detail}.",
                        severity="warning",
                        evidence=ev,
                        data={"label": str(label), "value": str(top["value"])},
                    )
                )
        else:
            slowed = part[part["since"] >= 1.5 * part["before"].clip(lower=1e-9)]
            steady = part[part["since"] < 1.5 * part["before"].clip(lower=1e-9)]
            if len(slowed) and len(steady):
                names = ", ".join(str(v) for v in slowed["value"])
                out.append(
                    Finding(
                        kind="breakdown",
                        title=f"Slower since the onset: {label} {names}; "
                        f"{', '.join(str(v) for v in steady['value'])} unchanged",
                        detail=f"{what} per {label}: {detail}.",
                        severity="warning",
                        evidence=ev,
                        data={"label": str(label), "values": list(map(str, slowed["value"]))},
                    )
                )
    return out


# -- ECS ---------------------------------------------------------------------------------------
def cluster_names(listed: Mapping[str, Any]) -> list[str]:
    """The cluster names of an ``ecs list-clusters`` answer."""
    names = [str(arn).rsplit("/", 1)[-1] for arn in listed.get("clusterArns", [])]
    if not names:
        raise NoDataError("ecs list-clusters lists no cluster")
    return names


def active_service(answer: Mapping[str, Any]) -> dict[str, Any] | None:
    """The service of a ``describe-services`` answer, unless missing or INACTIVE."""
    found = [s for s in answer.get("services", []) if s.get("status") != "INACTIVE"]
    return dict(found[0]) if found else None


def _revision(arn: str) -> str:
    """``arn:...:task-definition/family:15`` -> ``family:15``."""
    return str(arn).rsplit("/", 1)[-1]


def deployments_table(described: Mapping[str, Any]) -> pd.DataFrame:
    """The service's deployments (newest first): status, rollout state and reason, task
    definition revision, desired/running/pending/failed tasks, when created and updated."""
    rows = [
        {
            "status": d.get("status"),
            "rollout": d.get("rolloutState", ""),
            "task_definition": _revision(d.get("taskDefinition", "")),
            "desired": d.get("desiredCount"),
            "running": d.get("runningCount"),
            "pending": d.get("pendingCount"),
            "failed_tasks": d.get("failedTasks", 0),
            "created": pd.to_datetime(d.get("createdAt"), utc=True),
            "updated": pd.to_datetime(d.get("updatedAt"), utc=True),
            "reason": d.get("rolloutStateReason", ""),
        }
        for d in described.get("deployments", [])
    ]
    if not rows:
        raise NoDataError("the service lists no deployment")
    return pd.DataFrame(rows).sort_values("created", ascending=False, ignore_index=True)


def service_events(described: Mapping[str, Any], case: Case) -> pd.DataFrame:
    """The service's event messages in the window (ECS keeps the latest 100)."""
    rows = [
        {"time": pd.to_datetime(e.get("createdAt"), utc=True), "message": e.get("message", "")}
        for e in described.get("events", [])
    ]
    frame = pd.DataFrame(rows, columns=["time", "message"])
    if frame.empty:
        raise NoDataError("no service events")
    frame = frame[(frame["time"] >= case.start) & (frame["time"] <= case.end)]
    return frame.sort_values("time", ascending=False, ignore_index=True)


def previous_revisions(case: Case, described: Mapping[str, Any]) -> list[str]:
    """``family:revision`` of the service's task definition now and of the revisions the
    window's changes (RegisterTaskDefinition, UpdateService) name, oldest first, and the one
    before the current when none does: what to compare."""
    current = _revision(described.get("taskDefinition", ""))
    revs = [_revision(d.get("taskDefinition", "")) for d in described.get("deployments", [])]
    family, _, number = current.rpartition(":")
    if family and number.isdigit() and int(number) > 1:
        revs.append(f"{family}:{int(number) - 1}")
    revs.append(current)
    ordered = sorted({r for r in revs if r}, key=lambda r: int(r.rpartition(":")[2] or 0))
    return ordered


def _pair(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    return f"{old.get('family')}:{old.get('revision')} → {new.get('family')}:{new.get('revision')}"


def task_definition_changes(definitions: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Consecutive task definition revisions compared, container by container: image, CPU,
    memory (hard and soft limits), environment variables added, removed or changed. Kept for
    :func:`image_finding`."""
    rows = []
    defs = [d.get("taskDefinition", d) for d in definitions]
    for old, new in itertools.pairwise(defs):
        before = {c["name"]: c for c in old.get("containerDefinitions", [])}
        for c in new.get("containerDefinitions", []):
            was = before.get(c["name"], {})
            what = _pair(old, new)
            for key in ("image", "cpu", "memory", "memoryReservation"):
                if was.get(key) != c.get(key):
                    rows.append(
                        {
                            "revisions": what,
                            "container": c["name"],
                            "setting": key,
                            "before": was.get(key),
                            "after": c.get(key),
                        }
                    )
            env_old = {e["name"]: e.get("value") for e in was.get("environment", [])}
            env_new = {e["name"]: e.get("value") for e in c.get("environment", [])}
            for name in sorted(set(env_old) | set(env_new)):
                if env_old.get(name) != env_new.get(name):
                    rows.append(
                        {
                            "revisions": what,
                            "container": c["name"],
                            "setting": f"environment {name}",
                            "before": env_old.get(name),
                            "after": env_new.get(name),
                        }
                    )
        for key in ("cpu", "memory"):
            if old.get(key) != new.get(key):
                rows.append(
                    {
                        "revisions": _pair(old, new),
                        "container": "(task)",
                        "setting": key,
                        "before": old.get(key),
                        "after": new.get(key),
                    }
                )
    frame = pd.DataFrame(rows, columns=["revisions", "container", "setting", "before", "after"])
    frame = frame.astype(str)
    return frame


def image_finding(case: Case, changes: pd.DataFrame) -> Finding | None:
    """What the newest revision changed (image, limits, environment), as a finding tied to the
    culprit when the change ranking named a deploy of the service, else informational."""
    if changes is None or changes.empty:
        return None
    last = changes[changes["revisions"] == changes["revisions"].iloc[-1]]
    parts = [f"{r.setting} {r.before} → {r.after}" for r in last.itertuples()]
    culprit = case.state.get("ranked_changes")
    named = (
        culprit is not None
        and not culprit.empty
        and str(culprit.iloc[0].get("status", "")) == "candidate"
    )
    return Finding(
        kind="deploy_contents",
        title=f"Task definition {last['revisions'].iloc[0]} changed: {'; '.join(parts)}",
        detail="From describe-task-definition of the revisions before and after the deploy.",
        severity="warning" if named else "info",
        evidence=(Evidence(label="task definitions", ref="aws:ecs:DescribeTaskDefinition"),),
    )


# -- stopped tasks ----------------------------------------------------------------------------
def task_ids(listed: Mapping[str, Any]) -> list[str]:
    """The task ARNs of an ``ecs list-tasks`` answer (describe-tasks takes 100 at a time)."""
    arns = [str(a) for a in listed.get("taskArns", [])]
    if not arns:
        raise NoDataError("no stopped task (ECS shows stopped tasks for about an hour)")
    return arns[:100]


def last_stopped(case: Case, n: int = 3) -> list[str]:
    """The ids of the ``n`` tasks that stopped last (from :func:`stopped_table`)."""
    table = case.state.get("stopped_tasks")
    if table is None or table.empty:
        raise NoDataError("no stopped task")
    return list(dict.fromkeys(table["task"]))[:n]


def stopped_table(case: Case, described: Mapping[str, Any]) -> pd.DataFrame:
    """Each stopped task (``describe-tasks``): its revision, when it started and stopped, how
    long it ran, ECS' stop code and reason, and each container's exit code and reason. Kept
    for :func:`stopped_finding`."""
    rows = []
    for t in described.get("tasks", []):
        started = pd.to_datetime(t.get("startedAt"), utc=True)
        stopped = pd.to_datetime(t.get("stoppingAt") or t.get("stoppedAt"), utc=True)
        for c in t.get("containers", []) or [{}]:
            rows.append(
                {
                    "task": str(t.get("taskArn", "")).rsplit("/", 1)[-1],
                    "task_definition": _revision(t.get("taskDefinitionArn", "")),
                    "started": started,
                    "stopped": stopped,
                    "ran_s": (stopped - started).total_seconds()
                    if pd.notna(started) and pd.notna(stopped)
                    else None,
                    "stop_code": t.get("stopCode", ""),
                    "stopped_reason": t.get("stoppedReason", ""),
                    "container": c.get("name", ""),
                    "exit_code": c.get("exitCode"),
                    "container_reason": c.get("reason", ""),
                }
            )
    if not rows:
        raise NoDataError("describe-tasks returned no task")
    table = pd.DataFrame(rows).sort_values("stopped", ascending=False, ignore_index=True)
    case.state["stopped_tasks"] = table
    return table


def stopped_summary(case: Case) -> pd.DataFrame:
    """The stopped tasks grouped by revision, reason and exit code: how many, first and last,
    how long they ran (median)."""
    table = case.state.get("stopped_tasks")
    if table is None or table.empty:
        raise NoDataError("no stopped task")
    keys = ["task_definition", "stop_code", "stopped_reason", "exit_code", "container_reason"]
    grouped = (
        table.fillna({"exit_code": -1})
        .groupby(keys, dropna=False)
        .agg(
            tasks=("task", "nunique"),
            first=("stopped", "min"),
            last=("stopped", "max"),
            median_ran_s=("ran_s", "median"),
        )
        .reset_index()
        .sort_values("tasks", ascending=False, ignore_index=True)
    )
    grouped["exit_code"] = grouped["exit_code"].map(lambda v: "" if v == -1 else int(v))
    case.state["stopped_summary"] = grouped
    return grouped


def _exit_text(code: Any, reason: str) -> str:
    if code in ("", None):
        return reason or "no exit code"
    meaning = {
        137: " (SIGKILL: out of memory or killed)",
        139: " (SIGSEGV)",
        143: " (SIGTERM)",
        1: " (the application exited with an error)",
    }.get(int(code), "")
    return f"exit code {int(code)}{meaning}" + (f", {reason}" if reason else "")


def stopped_finding(case: Case) -> Finding | None:
    """The tasks that stopped since the incident started, by revision and reason: a revision
    whose tasks all exit soon after they start is crash-looping."""
    from incident_lib.steps import incident_start

    table = case.state.get("stopped_tasks")
    if table is None or table.empty:
        return None
    since = table[table["stopped"] >= incident_start(case) - pd.Timedelta(minutes=2)]
    if since.empty:
        return Finding(
            kind="stopped_tasks_quiet",
            title="No task stopped since the incident started",
            severity="info",
            evidence=(Evidence(label="stopped tasks", ref="aws:ecs:DescribeTasks"),),
        )
    top = (
        since.fillna({"exit_code": -1, "container_reason": ""})
        .groupby(["task_definition", "stopped_reason", "exit_code", "container_reason"])
        .agg(tasks=("task", "nunique"), ran=("ran_s", "median"), first=("stopped", "min"))
        .sort_values("tasks", ascending=False)
    )
    (rev, reason, code, creason), row = next(iter(top.iterrows()))
    code = "" if code == -1 else code
    looping = row["ran"] is not None and row["ran"] < 120 and row["tasks"] >= 3
    title = (
        f"{int(row['tasks'])} tasks of {rev} stopped since {row['first']:%H:%M} UTC: "
        f"{reason} ({_exit_text(code, creason)})"
        + (f", each after about {row['ran']:.0f} s: crash-looping" if looping else "")
    )
    others = ", ".join(f"{k[0]}: {int(v['tasks'])}" for k, v in top.iloc[1:].iterrows())
    return Finding(
        kind="cause" if looping else "stopped_tasks",
        title=title,
        detail=f"Stopped tasks since the incident: {len(since['task'].unique())}"
        + (f"; others: {others}" if others else ""),
        severity="critical" if looping else "warning",
        time=row["first"],
        evidence=(Evidence(label="stopped tasks", ref="aws:ecs:DescribeTasks"),),
        data={"task_definition": str(rev), "exit_code": code, "tasks": int(row["tasks"])},
    )


# -- per task and container: Container Insights performance events -----------------------------
def performance_log_group(cluster: str) -> str:
    """Where Container Insights writes an ECS cluster's performance log events."""
    return f"/aws/ecs/containerinsights/{cluster}/performance"


def family_of(described: Mapping[str, Any]) -> str:
    """The task definition family the service runs (``family`` of ``family:revision``)."""
    return _revision(described.get("taskDefinition", "")).rpartition(":")[0]


def per_task_frame(
    rows: pd.DataFrame, *, value: str, of: str | None = None, key: str = "TaskId"
) -> pd.DataFrame:
    """A Logs Insights ``stats ... by bin(1m), TaskId`` frame as the long ``id, label,
    timestamp, value`` frame the charts take: one series per task (``value``, as a percentage
    of ``of`` when given). Kept for :func:`growth_finding`."""
    if rows.empty:
        raise NoDataError("no Container Insights performance events for the service's tasks")
    time_col = next(c for c in rows.columns if c.startswith("bin("))
    v = pd.to_numeric(rows[value], errors="coerce")
    if of is not None:
        v = 100 * v / pd.to_numeric(rows[of], errors="coerce").where(lambda x: x > 0)
    frame = pd.DataFrame(
        {
            "id": rows[key].astype(str),
            "label": rows[key].astype(str).str[:12],
            "timestamp": pd.to_datetime(rows[time_col], utc=True),
            "value": v,
        }
    ).dropna()
    return frame.sort_values(["id", "timestamp"], ignore_index=True)


def growth_finding(
    case: Case, frame: pd.DataFrame, *, what: str = "memory", limit_text: str = ""
) -> Finding | None:
    """Whether every task's ``frame`` value (% of its limit) climbs steadily since the onset
    (a leak: a slope per task, fitted by least squares, and how soon it reaches 100%), or one
    task only, or none. ``frame`` from :func:`per_task_frame`."""
    import numpy as np

    from incident_lib.steps import incident_start

    if frame is None or frame.empty:
        return None
    start = incident_start(case)
    slopes = {}
    peaks = {}
    for task, part in frame[frame["timestamp"] >= start].groupby("id"):
        if len(part) < 8:
            continue
        minutes = (part["timestamp"] - part["timestamp"].iloc[0]).dt.total_seconds() / 60
        slope = float(np.polyfit(minutes.to_numpy(), part["value"].to_numpy(), 1)[0])
        slopes[str(task)] = slope
        peaks[str(task)] = float(part["value"].max())
    if not slopes:
        return None
    growing = {t: s for t, s in slopes.items() if s >= 0.2}
    ev = (Evidence(label=f"{what} per task (Container Insights)", ref="insights:per_task"),)
    full = [t for t, p in peaks.items() if p >= 95]
    if len(growing) >= max(2, len(slopes) - 1):
        mean = float(np.mean(list(growing.values())))
        title = (
            f"{what.capitalize()} climbs steadily in {len(growing)} of {len(slopes)} tasks since "
            f"{start:%H:%M} UTC (about {mean:.1f}% of the limit a minute): a leak, not a spike"
        )
        if full:
            title += f"; {len(full)} reached its limit{limit_text}"
        return Finding(
            kind="cause",
            title=title,
            detail="Slope per task (% of its limit a minute): "
            + "; ".join(f"{t[:12]}: {s:.2f} (peak {peaks[t]:.0f}%)" for t, s in slopes.items()),
            severity="critical" if full else "warning",
            time=start,
            evidence=ev,
            data={"tasks": len(slopes), "growing": len(growing), "mean_slope": mean},
        )
    if growing:
        t, s = max(growing.items(), key=lambda kv: kv[1])
        return Finding(
            kind="breakdown",
            title=f"{what.capitalize()} climbs in task {t[:12]} only ({s:.1f}% a minute)",
            severity="warning",
            evidence=ev,
        )
    return Finding(
        kind="related_metric_quiet",
        title=f"No task's {what} climbs since the onset",
        severity="info",
        evidence=ev,
    )


def limits_table(definition: Mapping[str, Any]) -> pd.DataFrame:
    """A task definition's limits: the task's CPU units and memory (MiB), each container's
    CPU, hard memory limit (``memory``) and soft reservation (``memoryReservation``)."""
    td = definition.get("taskDefinition", definition)
    rows = [
        {
            "scope": f"task {td.get('family')}:{td.get('revision')}",
            "cpu_units": td.get("cpu"),
            "memory_mib": td.get("memory"),
            "memory_reservation_mib": None,
        }
    ]
    rows += [
        {
            "scope": f"container {c.get('name')}",
            "cpu_units": c.get("cpu"),
            "memory_mib": c.get("memory"),
            "memory_reservation_mib": c.get("memoryReservation"),
        }
        for c in td.get("containerDefinitions", [])
    ]
    return pd.DataFrame(rows).astype(str).replace({"None": ""})


# -- Postgres connections -------------------------------------------------------------------------
#: postgres_exporter labels naming who holds a connection (``application_name`` is the
#: client's, usually the service; ``usename`` the database user).
CLIENT_LABELS = ("application_name", "usename", "datname", "state")


def db_matchers(case: Case) -> str:
    """Matchers for the alert's database server (its ``instance``/``server`` labels, as
    postgres_exporter labels its series), for the runbook's queries."""
    labels = alert_labels(case)
    keys = [k for k in ("instance", "server", "job") if labels.get(k)]
    return ",".join(f'{k}="{labels[k]}"' for k in keys)


def grown_clients(case: Case, *, label: str = "application_name") -> list[str]:
    """The ``label`` values (clients) whose connections grew since the incident started
    (from :func:`breakdown_table`), most first."""
    table = case.state.get("prom_breakdown")
    if table is None or table.empty:
        return []
    part = table[(table["label"] == label) & (table["since"] >= 1.3 * table["before"] + 2)]
    return [str(v) for v in part.sort_values("since", ascending=False)["value"]]


def deployed_revisions(changes: pd.DataFrame, services: Sequence[str]) -> list[list[str]]:
    """``[previous, deployed]`` task definition revisions of each UpdateService of these
    services in CloudTrail (its ``taskDefinition``), to compare."""
    import json

    out = []
    if changes is None or changes.empty:
        return out
    for row in changes[changes["event_name"] == "UpdateService"].itertuples():
        try:
            params = json.loads(row.request_parameters or "{}")
        except (TypeError, ValueError):
            continue
        if str(params.get("service", "")).rsplit("/", 1)[-1] not in services:
            continue
        family, _, number = str(params.get("taskDefinition", "")).rpartition(":")
        if family and number.isdigit() and int(number) > 1:
            out.append([f"{family}:{int(number) - 1}", f"{family}:{number}"])
    return out


def targets_down_onset(case: Case, down: pd.Series, *, label: str) -> Any:
    """The onset of scrape targets going down (``count(up == 0)``, zero-filled): an exact
    count with no noise, so its spread floor is a fraction of one target (``steps.onset``'s
    Poisson floor would call one target down noise). Kept in ``case.state`` as
    :func:`incident_lib.steps.onset` keeps it."""
    from incident_lib.analysis import detect_onset
    from incident_lib.errors import SourceError

    try:
        history = case.alarm_history()
    except SourceError:
        history = None
    found = detect_onset(
        down,
        alarm_time=case.alarm_time,
        alarm_history=history,
        counts=False,
        direction="up",
        min_spread=0.05,
    )
    case.state["onset_series"] = (down, False, "up", label)
    if found is not None:
        case.state["onset"] = found
        case.state["onset_label"] = label
    return found
