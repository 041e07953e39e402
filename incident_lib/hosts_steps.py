"""Analysis steps for the notebooks of hosts (seed runbook 002): an Application Load Balancer
and its targets, EC2 instances in an auto scaling group, their disks, VPC flow logs.

Each function turns what an earlier step fetched (recorded AWS answers, metric frames, Logs
Insights results) into a table for the report or a :class:`~incident_lib.findings.Finding`;
the notebooks keep the queries themselves in their cells.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from incident_lib.errors import NoDataError
from incident_lib.findings import Evidence, Finding
from incident_lib.notebook import Case
from incident_lib.service_steps import add_resources
from incident_lib.steps import incident_start, series

# -- names ----------------------------------------------------------------------------------------


def elb_arn(case: Case, kind: str, name: str) -> str:
    """The ARN of a load balancer (``app/web/123``) or target group (``targetgroup/tg/456``)
    dimension value, in the alarm's Region and account."""
    if not name:
        return ""
    body = name if kind == "targetgroup" else f"loadbalancer/{name}"
    region = case.alarm.region or "us-east-1"
    return f"arn:aws:elasticloadbalancing:{region}:{case.alarm.account or ''}:{body}"


def short_name(dimension: str) -> str:
    """``app/web-prod-alb/50dc...`` -> ``web-prod-alb``; ``targetgroup/web-tg/73e2...`` ->
    ``web-tg``."""
    parts = str(dimension).split("/")
    return parts[1] if len(parts) >= 3 else str(dimension)


# -- the load balancer's targets ------------------------------------------------------------------


def target_groups_table(answer: Mapping[str, Any]) -> pd.DataFrame:
    """DescribeTargetGroups as a table: name, protocol, port, health check."""
    rows = [
        {
            "target group": g.get("TargetGroupName"),
            "protocol": g.get("Protocol"),
            "port": g.get("Port"),
            "target type": g.get("TargetType"),
            "health check": f"{g.get('HealthCheckPath', '')} every "
            f"{g.get('HealthCheckIntervalSeconds', '?')} s, healthy after "
            f"{g.get('HealthyThresholdCount', '?')}, unhealthy after "
            f"{g.get('UnhealthyThresholdCount', '?')}; codes "
            f"{(g.get('Matcher') or {}).get('HttpCode', '?')}",
            "arn": g.get("TargetGroupArn"),
        }
        for g in answer.get("TargetGroups", [])
    ]
    if not rows:
        raise NoDataError("the load balancer has no target group")
    return pd.DataFrame(rows)


def target_health_table(case: Case, answer: Mapping[str, Any]) -> pd.DataFrame:
    """DescribeTargetHealth as a table (one row per target: state and reason); kept for the
    findings."""
    rows = [
        {
            "target": (d.get("Target") or {}).get("Id"),
            "port": (d.get("Target") or {}).get("Port"),
            "state": (d.get("TargetHealth") or {}).get("State"),
            "reason": (d.get("TargetHealth") or {}).get("Reason", ""),
            "description": (d.get("TargetHealth") or {}).get("Description", ""),
        }
        for d in answer.get("TargetHealthDescriptions", [])
    ]
    if not rows:
        raise NoDataError("the target group has no registered target")
    table = pd.DataFrame(rows)
    case.state["target_health"] = table
    return table


def instances_table(case: Case, answer: Mapping[str, Any]) -> pd.DataFrame:
    """DescribeInstances as a table: type, launch time, launch template version, credit mode,
    group; kept for the findings (which instance is new, which type)."""
    rows = []
    for reservation in answer.get("Reservations", []):
        for i in reservation.get("Instances", []):
            tags = {t.get("Key"): t.get("Value") for t in i.get("Tags", [])}
            rows.append(
                {
                    "instance": i.get("InstanceId"),
                    "type": i.get("InstanceType"),
                    "state": (i.get("State") or {}).get("Name"),
                    "launched": pd.Timestamp(i["LaunchTime"]).tz_convert("UTC")
                    if i.get("LaunchTime")
                    else pd.NaT,
                    "template version": tags.get("aws:ec2launchtemplate:version", ""),
                    "cpu credits": (i.get("CreditSpecification") or {}).get("CpuCredits", ""),
                    "group": tags.get("aws:autoscaling:groupName", ""),
                    "private ip": i.get("PrivateIpAddress"),
                    "security groups": ", ".join(
                        g.get("GroupId", "") for g in i.get("SecurityGroups", [])
                    ),
                }
            )
    if not rows:
        raise NoDataError("DescribeInstances returned no instance")
    table = pd.DataFrame(rows)
    case.state["instances"] = table
    return table


def groups_of(answer: Mapping[str, Any]) -> list[str]:
    """Auto scaling group names of DescribeInstances' instances (their ``aws:autoscaling:
    groupName`` tag)."""
    out: dict[str, None] = {}
    for reservation in answer.get("Reservations", []):
        for i in reservation.get("Instances", []):
            for t in i.get("Tags", []):
                if t.get("Key") == "aws:autoscaling:groupName" and t.get("Value"):
                    out.setdefault(t["Value"], None)
    return list(out)


def group_table(case: Case, answer: Mapping[str, Any]) -> pd.DataFrame:
    """DescribeAutoScalingGroups as a table: sizes, launch template and version, health check;
    the launch templates' names and ids count among the alarm's resources."""
    rows = []
    for g in answer.get("AutoScalingGroups", []):
        lt = g.get("LaunchTemplate") or {}
        add_resources(case, [lt.get("LaunchTemplateName", ""), lt.get("LaunchTemplateId", "")])
        case.state.setdefault("group_sizes", []).append(
            (
                g.get("AutoScalingGroupName"),
                g.get("MinSize"),
                g.get("DesiredCapacity"),
                g.get("MaxSize"),
            )
        )
        rows.append(
            {
                "group": g.get("AutoScalingGroupName"),
                "min / desired / max": f"{g.get('MinSize')} / {g.get('DesiredCapacity')} / "
                f"{g.get('MaxSize')}",
                "launch template": f"{lt.get('LaunchTemplateName', '')} v{lt.get('Version', '?')}",
                "health check": f"{g.get('HealthCheckType')} (grace "
                f"{g.get('HealthCheckGracePeriod')} s)",
                "instances": ", ".join(
                    f"{i.get('InstanceId')} {i.get('LifecycleState')}"
                    for i in g.get("Instances", [])
                ),
            }
        )
    if not rows:
        raise NoDataError("no such auto scaling group")
    return pd.DataFrame(rows)


def activities_table(case: Case, answer: Mapping[str, Any]) -> pd.DataFrame:
    """DescribeScalingActivities in the window, oldest first: launches, terminations, their
    cause (an instance refresh, a scaling policy, a health check); kept for the findings."""
    rows = [
        {
            "start": pd.Timestamp(a["StartTime"]).tz_convert("UTC"),
            "status": a.get("StatusCode"),
            "activity": a.get("Description"),
            "cause": a.get("Cause"),
        }
        for a in answer.get("Activities", [])
        if a.get("StartTime")
    ]
    frame = pd.DataFrame(rows, columns=["start", "status", "activity", "cause"])
    frame = frame[(frame["start"] >= case.start) & (frame["start"] <= case.end)]
    case.state["activities"] = frame.sort_values("start", ignore_index=True)
    if frame.empty:
        raise NoDataError("no scaling activity in the window")
    return case.state["activities"]


# -- errors and latency ------------------------------------------------------------------------


def series_or_alarmed(case: Case, frame: pd.DataFrame, qid: str) -> pd.Series:
    """Query ``qid``'s values from ``frame``, else the alarm's own series (the first section
    fetched it): an alarm on a narrower dimension set than the step asks for (a target
    group's metric only) still gives the onset."""
    try:
        return series(frame, qid)
    except NoDataError:
        alarmed = case.state.get("alarmed_series")
        if alarmed is None or alarmed.empty:
            raise NoDataError(f"no datapoints for {qid} nor for the alarmed metric") from None
        return series(alarmed, str(alarmed["id"].iloc[0]))


def _before_since(case: Case, values: pd.Series) -> tuple[pd.Series, pd.Series]:
    start = incident_start(case)
    values = values.sort_index()
    before = values[(values.index < start) & (values.index >= start - pd.Timedelta(hours=1))]
    since = values[values.index >= start]
    return before, since


def elb_vs_target_finding(case: Case) -> Finding | None:
    """Who answers the 5XX: the targets (HTTPCode_Target_5XX_Count) or the load balancer itself
    (HTTPCode_ELB_5XX_Count: 502 a bad answer or a closed connection, 503 no healthy target,
    504 a target too slow), from the onset on."""
    totals = {}
    for qid in ("target5xx", "elb5xx", "elb502", "elb503", "elb504"):
        try:
            totals[qid] = float(_before_since(case, case.series(qid))[1].sum())
        except NoDataError:
            totals[qid] = 0.0
    target, elb = totals["target5xx"], totals["elb5xx"]
    if target + elb < 1:
        return None
    codes = ", ".join(
        f"{totals[q]:,.0f} × {q[3:]}" for q in ("elb502", "elb503", "elb504") if totals[q] >= 1
    )
    meaning = {
        "elb502": "502: targets closed the connection or answered garbage",
        "elb503": "503: no healthy target to send to",
        "elb504": "504: targets did not answer within the idle timeout",
    }
    top = max(("elb502", "elb503", "elb504"), key=lambda q: totals[q])
    if target >= elb:
        title = (
            f"The targets answer the 5XX: {target:,.0f} HTTPCode_Target_5XX_Count since the "
            f"onset against {elb:,.0f} from the load balancer itself"
        )
        detail = "The application on the targets returns the errors: look at which targets and "
        detail += "at their logs, not at the load balancer."
    else:
        title = (
            f"The load balancer answers the 5XX itself: {elb:,.0f} HTTPCode_ELB_5XX_Count "
            f"({codes}) against {target:,.0f} from the targets"
        )
        detail = f"Mostly {meaning[top]}."
    return Finding(
        kind="cause",
        title=title,
        detail=detail + (f" Load balancer codes: {codes}." if codes and target >= elb else ""),
        severity="warning",
        evidence=(
            Evidence(label="HTTPCode_Target_5XX_Count", ref="metric:target5xx"),
            Evidence(label="HTTPCode_ELB_5XX_Count", ref="metric:elb5xx"),
        ),
        data={k: round(v, 1) for k, v in totals.items()},
    )


def level_finding(
    case: Case,
    qid: str,
    *,
    what: str,
    unit: str = "",
    factor: float = 1.5,
    kind: str = "related_metric",
    quiet: str = "",
    digits: int = 2,
) -> Finding | None:
    """A finding when ``qid``'s mean since the onset is ``factor`` times its mean in the hour
    before (``what`` rose from X to Y); with ``quiet``, an info finding when it did not."""
    try:
        before, since = _before_since(case, case.series(qid))
    except NoDataError:
        return None
    if before.empty or since.empty:
        return None
    b, s = float(before.mean()), float(since.mean())
    fmt = f"{{:,.{digits}f}}{unit}"
    facts = f"from {fmt.format(b)} in the hour before to {fmt.format(s)} since the onset"
    evidence = (Evidence(label=what, ref=f"metric:{qid}"),)
    if s >= b * factor and s > 0:
        return Finding(
            kind=kind,
            title=f"{what} rose {facts} (×{s / b:.1f})" if b > 0 else f"{what} rose {facts}",
            detail=f"Peak {fmt.format(float(since.max()))}.",
            severity="warning",
            evidence=evidence,
            data={"query": qid, "before": b, "since": s},
        )
    if quiet:
        return Finding(
            kind=f"{kind}_quiet",
            title=quiet.format(before=fmt.format(b), since=fmt.format(s)),
            detail=f"{what}: {facts}; no rise that explains the alarm.",
            severity="info",
            evidence=evidence,
        )
    return None


def health_finding(case: Case, *, latency: bool = False) -> Finding | None:
    """Target health over the incident: targets that went unhealthy, or every target healthy
    while requests fail (the health check does not see the failure)."""
    try:
        _, unhealthy = _before_since(case, case.series("unhealthy"))
        _, healthy = _before_since(case, case.series("healthy"))
    except NoDataError:
        return None
    if unhealthy.empty:
        return None
    start = incident_start(case) + pd.Timedelta(minutes=1)
    later = unhealthy[unhealthy.index >= start]
    worst = float(later.max()) if len(later) else 0.0
    refs = (
        Evidence(label="UnHealthyHostCount", ref="metric:unhealthy"),
        Evidence(label="HealthyHostCount", ref="metric:healthy"),
    )
    if worst >= 1:
        first = later[later >= 1].index[0]
        return Finding(
            kind="related_metric",
            title=f"Up to {worst:.0f} unhealthy targets from {first:%H:%M} "
            f"(healthy: {float(healthy.min()):.0f}-{float(healthy.max()):.0f})",
            detail="The load balancer's health checks fail on some targets.",
            severity="warning",
            time=first,
            evidence=refs,
        )
    title = f"Every target stayed healthy ({float(healthy.min()):.0f} healthy, none unhealthy "
    title += "since the onset)"
    return Finding(
        kind="related_metric_quiet",
        title=title if latency else f"{title}: the health check does not see the failure",
        detail="Slow targets still answer their health checks in time."
        if latency
        else "The health check path passes while requests fail: the failing code path is "
        "not the one the health check exercises.",
        severity="info",
        evidence=refs,
    )


def targets_table(case: Case, frame: pd.DataFrame, *, before: pd.DataFrame) -> pd.DataFrame:
    """Requests, 5XX and the 5XX share per target (the app's log stream: its instance id),
    before the incident against since, from two Logs Insights results (``requests``,
    ``errors``, ``avg_ms`` by ``@logStream``); kept for :func:`targets_finding`."""
    if frame.empty:
        raise NoDataError("no request lines from the targets since the onset")

    def tidy(f: pd.DataFrame) -> pd.DataFrame:
        if f.empty:
            return pd.DataFrame(columns=["requests", "errors", "avg_ms"])
        f = f.rename(columns={"@logStream": "target"}).set_index("target")
        return f[["requests", "errors", "avg_ms"]].astype(float)

    since, base = tidy(frame), tidy(before)
    table = since.join(base, how="outer", lsuffix=" since", rsuffix=" before").fillna(0.0)
    table["5XX % since"] = (
        100 * table["errors since"] / table["requests since"].clip(lower=1)
    ).round(1)
    table["5XX % before"] = (
        100 * table["errors before"] / table["requests before"].clip(lower=1)
    ).round(1)
    table = table.sort_values("5XX % since", ascending=False)
    inst = case.state.get("instances")
    if inst is not None and not inst.empty:
        info = inst.set_index("instance")[["launched", "template version", "type"]]
        table = table.join(info, how="left")
    table = table.reset_index().rename(columns={"index": "target"})
    case.state["targets"] = table
    return table


def targets_finding(case: Case, *, latency: bool = False) -> Finding | None:
    """Which targets carry the failure (5XX share, or the mean response time with
    ``latency``): a few standing out (named, with their launch and launch template version
    when known), or every target alike."""
    table = case.state.get("targets")
    if table is None or table.empty:
        return None
    col = "avg_ms since" if latency else "5XX % since"
    base = "avg_ms before" if latency else "5XX % before"
    active = table[table["requests since"] > 0]
    health = case.state.get("target_health")
    gone: list[str] = []
    if health is not None and not health.empty:
        # Compared among the targets registered now: one replaced early in the window served
        # a few requests since the onset and says nothing about the others.
        registered = set(health["target"].astype(str))
        gone = [t for t in active["target"].astype(str) if t not in registered]
        active = active[active["target"].astype(str).isin(registered)]
    if active.empty:
        return None
    values = active[col].astype(float)
    median = float(values.median())
    floor = 100.0 if latency else 2.0
    bad = active[(values >= max(median * 3, floor)) | ((values >= floor) & (median < floor / 2))]
    what = "mean response time" if latency else "5XX share"
    unit = " ms" if latency else " %"
    ref = (Evidence(label="requests and 5XX per target (app logs)", ref="logs:targets"),)
    if 0 < len(bad) < len(active):
        names = list(bad["target"].astype(str))
        parts = []
        for _, row in bad.iterrows():
            extra = []
            if "launched" in row and pd.notna(row.get("launched")):
                extra.append(f"launched {pd.Timestamp(row['launched']):%H:%M}")
            if row.get("template version"):
                extra.append(f"launch template v{row['template version']}")
            parts.append(
                f"{row['target']} {float(row[col]):,.1f}{unit}"
                + (f" ({', '.join(extra)})" if extra else "")
            )
        others = active[~active["target"].isin(names)]
        return Finding(
            kind="cause",
            title=f"{len(bad)} of {len(active)} targets carry the failure: {', '.join(names)}",
            detail=f"{what[0].upper() + what[1:]} since the onset: {'; '.join(parts)}. The "
            "others: "
            + ", ".join(f"{r['target']} {float(r[col]):,.1f}{unit}" for _, r in others.iterrows())
            + "."
            + (f" No longer registered: {', '.join(gone)}." if gone else ""),
            severity="critical",
            evidence=ref,
            data={"targets": names},
        )
    rose = float(active[col].mean()) > float(active[base].astype(float).mean()) * 1.5
    return Finding(
        kind="cause" if rose else "related_metric_quiet",
        title=f"Every target alike ({len(active)} of {len(active)}): no target stands out "
        f"({what} {float(values.min()):,.1f}-{float(values.max()):,.1f}{unit} since the onset)",
        detail="The failure is not one host's: look at what every target shares (traffic, a "
        "dependency, the load balancer) rather than at one instance.",
        severity="warning" if rose else "info",
        evidence=ref,
    )


def activity_finding(case: Case) -> Finding | None:
    """Scaling activities near the incident (launches and terminations, their cause)."""
    acts = case.state.get("activities")
    if acts is None or acts.empty:
        return None
    start = incident_start(case)
    near = acts[(acts["start"] >= start - pd.Timedelta(minutes=30))]
    if near.empty:
        return None
    first = near.iloc[0]
    return Finding(
        kind="related_change",
        title=f"{noun(len(near), 'scaling activity')} from {first['start']:%H:%M}: "
        + "; ".join(str(a) for a in near["activity"].head(4)),
        detail="Causes: " + " | ".join(dict.fromkeys(str(c) for c in near["cause"])),
        severity="info",
        time=first["start"],
        evidence=(
            Evidence(label="DescribeScalingActivities", ref="aws:DescribeScalingActivities"),
        ),
    )


def per_minute(frame: pd.DataFrame, column: str, *, time_col: str = "minute") -> pd.Series:
    """A Logs Insights ``stats ... by bin(1m)`` column as a series indexed by time."""
    if frame.empty:
        raise NoDataError("no rows")
    return frame.set_index(pd.to_datetime(frame[time_col], utc=True))[column].astype(float)


def noun(n: int, word: str) -> str:
    """``1 activity``, ``2 activities``."""
    if n == 1:
        return f"1 {word}"
    return f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"


__all__ = [
    "activities_table",
    "activity_finding",
    "add_resources",
    "elb_arn",
    "elb_vs_target_finding",
    "group_table",
    "groups_of",
    "health_finding",
    "instances_table",
    "level_finding",
    "noun",
    "per_minute",
    "series_or_alarmed",
    "short_name",
    "target_groups_table",
    "target_health_table",
    "targets_finding",
    "targets_table",
]


# -- EC2 CPU ---------------------------------------------------------------------------------------

#: Burstable types: (vCPUs, baseline utilisation per vCPU in %), from the EC2 user guide's
#: "Key concepts and definitions for burstable performance instances" table.
BURSTABLE: dict[str, tuple[int, float]] = {
    **{
        f"{family}.{size}": spec
        for family in ("t3", "t3a", "t4g")
        for size, spec in {
            "nano": (2, 5.0),
            "micro": (2, 10.0),
            "small": (2, 20.0),
            "medium": (2, 20.0),
            "large": (2, 30.0),
            "xlarge": (4, 40.0),
            "2xlarge": (8, 40.0),
        }.items()
    },
    "t2.nano": (1, 5.0),
    "t2.micro": (1, 10.0),
    "t2.small": (1, 20.0),
    "t2.medium": (2, 20.0),
    "t2.large": (2, 30.0),
    "t2.xlarge": (4, 22.5),
    "t2.2xlarge": (8, 17.0),
}


def burstable_table(case: Case) -> pd.DataFrame:
    """The burstable instances among those described: vCPUs, baseline per vCPU, credits earned
    per hour (a credit is one vCPU at 100 % for a minute) and the credit mode (``standard``:
    throttled to the baseline when the balance is empty; ``unlimited``: surplus credits,
    charged). Kept for the findings."""
    inst = case.state.get("instances")
    if inst is None or inst.empty:
        raise NoDataError("no instance described")
    rows = []
    for _, row in inst.iterrows():
        spec = BURSTABLE.get(str(row["type"]))
        if spec is None:
            continue
        vcpus, baseline = spec
        rows.append(
            {
                "instance": row["instance"],
                "type": row["type"],
                "vCPUs": vcpus,
                "baseline % per vCPU": baseline,
                "credits earned per hour": vcpus * baseline / 100 * 60,
                "credit mode": row.get("cpu credits") or "standard",
            }
        )
    table = pd.DataFrame(rows)
    case.state["burstable"] = table
    if table.empty:
        raise NoDataError("no burstable (T) instance: CPU credits do not apply")
    return table


def siblings_cpu_finding(
    case: Case, ids: Mapping[str, str], *, alarmed: str, group: str
) -> Finding | None:
    """The alarmed instance against its group's other instances (query id -> instance id):
    all alike (the load, or something they share) or this one alone (the host, its process)."""
    means = {}
    for qid, inst in ids.items():
        try:
            before, since = _before_since(case, case.series(qid))
        except NoDataError:
            continue
        if len(since):
            means[inst] = (
                float(before.mean()) if len(before) else float("nan"),
                float(since.mean()),
            )
    if len(means) < 2:
        return None
    since = {k: v[1] for k, v in means.items()}
    before = {k: v[0] for k, v in means.items()}
    hi = since.get(alarmed, max(since.values()))
    others = {k: v for k, v in since.items() if k != alarmed}
    spread = f"{min(since.values()):.0f}-{max(since.values()):.0f} %"
    prior = f"{np.nanmin(list(before.values())):.0f}-{np.nanmax(list(before.values())):.0f} %"
    evidence = tuple(Evidence(label=i, ref=f"metric:{q}") for q, i in ids.items())
    if others and hi > 1.5 * max(others.values()) and hi - max(others.values()) > 15:
        return Finding(
            kind="cause",
            title=f"{alarmed} alone: {hi:.0f} % CPU since the onset against "
            f"{max(others.values()):.0f} % at most on the other {len(others)} instances of "
            f"{group or 'its group'}",
            detail="One host, not the load: look at its processes (the runbook's `top` over "
            "SSM), its launch template version and what ran on it.",
            severity="critical",
            evidence=evidence,
        )
    return Finding(
        kind="cause",
        title=f"CPU rose alike on all {len(means)} instances of {group or 'the group'} "
        f"({spread} since the onset, from {prior}): not one host",
        detail="Every instance climbs together: the load they share (requests from the load "
        "balancer, a job, a dependency) rather than one host's process.",
        severity="warning",
        evidence=evidence,
    )


def _fit(values: pd.Series) -> tuple[float, float, float]:
    """Least-squares line through ``values`` (per minute): slope, its standard error, and the
    last fitted value. numpy's polyfit with ``cov=True`` (a hand fit would be no shorter)."""
    x = (values.index - values.index[0]).total_seconds().to_numpy() / 60.0
    y = values.to_numpy(float)
    if len(y) < 4:
        raise NoDataError("too few points for a trend")
    coef, cov = np.polyfit(x, y, 1, cov=True)
    return float(coef[0]), float(np.sqrt(max(cov[0, 0], 0.0))), float(coef[0] * x[-1] + coef[1])


def credits_finding(
    case: Case, balance_qid: str, surplus_qid: str, instance: str
) -> Finding | None:
    """The burstable instance's CPU credits: the balance ran out (when, and the surplus spent
    since: charged in unlimited mode, throttled to the baseline in standard), or how long it
    lasts at its last half hour's rate."""
    table = case.state.get("burstable")
    if table is None or table.empty or instance not in set(table["instance"]):
        return None
    row = table[table["instance"] == instance].iloc[0]
    try:
        balance = case.series(balance_qid).sort_index()
    except NoDataError:
        return None
    evidence = (Evidence(label=f"{instance} CPUCreditBalance", ref=f"metric:{balance_qid}"),)
    empty = balance[balance <= 0.5]
    mode = str(row["credit mode"])
    if len(empty):
        when = empty.index[0]
        try:
            surplus = float(case.series(surplus_qid).max())
        except NoDataError:
            surplus = 0.0
        consequence = (
            f"since then it spends surplus credits ({surplus:,.1f} so far, charged unless "
            "repaid within 24 h): the CPU is not throttled"
            if mode == "unlimited"
            else f"since then the CPU is held at its baseline ({row['baseline % per vCPU']:.0f} % "
            "per vCPU): requests queue"
        )
        return Finding(
            kind="cause",
            title=f"{instance} ({row['type']}, {mode}) ran out of CPU credits at {when:%H:%M} "
            f"(CPU credit balance {float(balance.iloc[0]):,.0f} at the window's start)",
            detail=f"Above its baseline of {row['baseline % per vCPU']:.0f} % per vCPU it spends "
            f"more than the {row['credits earned per hour']:.0f} credits an hour it earns; "
            f"{consequence}.",
            severity="warning",
            time=when,
            evidence=evidence,
            data={"ran_out": when.isoformat(), "mode": mode},
        )
    recent = balance[balance.index >= balance.index[-1] - pd.Timedelta(minutes=30)]
    slope, err, last = _fit(recent)
    if slope >= -err or slope >= 0:
        return Finding(
            kind="related_metric_quiet",
            title=f"{instance}: CPU credit balance {last:,.0f}, not falling",
            detail=f"Slope {slope:+.2f} ± {err:.2f} credits a minute over the last 30 min.",
            severity="info",
            evidence=evidence,
        )
    lo, hi = last / -(slope - 2 * err), last / max(-(slope + 2 * err), 1e-9)
    return Finding(
        kind="related_metric",
        title=f"{instance}: CPU credit balance {last:,.0f} and falling {-slope:.1f} a minute: "
        f"empty in about {last / -slope:.0f} min",
        detail=f"A straight line through the last 30 min: {slope:+.2f} ± {err:.2f} credits a "
        f"minute, so between {lo:.0f} and {hi:.0f} min (two standard errors) if the load holds.",
        severity="warning",
        evidence=evidence,
    )


def group_parts(answer: Mapping[str, Any]) -> dict[str, list[str]]:
    """From DescribeAutoScalingGroups: its ``instances``, ``target_groups`` (ARNs) and
    ``templates`` (launch template ids)."""
    out: dict[str, list[str]] = {"instances": [], "target_groups": [], "templates": []}
    for g in answer.get("AutoScalingGroups", []):
        out["instances"] += [i["InstanceId"] for i in g.get("Instances", []) if i.get("InstanceId")]
        out["target_groups"] += list(g.get("TargetGroupARNs", []))
        lt = (g.get("LaunchTemplate") or {}).get("LaunchTemplateId")
        if lt:
            out["templates"].append(lt)
    return {k: list(dict.fromkeys(v)) for k, v in out.items()}


def template_versions_table(answer: Mapping[str, Any]) -> pd.DataFrame:
    """DescribeLaunchTemplateVersions as a table, newest first: when, by whom, instance type,
    image, credit mode, default."""
    rows = [
        {
            "version": v.get("VersionNumber"),
            "created": pd.Timestamp(v["CreateTime"]).tz_convert("UTC")
            if v.get("CreateTime")
            else pd.NaT,
            "by": str(v.get("CreatedBy", "")).rsplit("/", 1)[-1],
            "description": v.get("VersionDescription", ""),
            "instance type": (v.get("LaunchTemplateData") or {}).get("InstanceType", ""),
            "image": (v.get("LaunchTemplateData") or {}).get("ImageId", ""),
            "cpu credits": (
                (v.get("LaunchTemplateData") or {}).get("CreditSpecification") or {}
            ).get("CpuCredits", ""),
            "default": bool(v.get("DefaultVersion")),
        }
        for v in answer.get("LaunchTemplateVersions", [])
    ]
    if not rows:
        raise NoDataError("no launch template version")
    return pd.DataFrame(rows).sort_values("version", ascending=False, ignore_index=True)


def load_balancer_dims(answer: Mapping[str, Any]) -> list[dict[str, str]]:
    """``{"LoadBalancer": ..., "TargetGroup": ...}`` CloudWatch dimensions of each target group
    DescribeTargetGroups lists, with each load balancer it serves."""
    out = []
    for g in answer.get("TargetGroups", []):
        tg = str(g.get("TargetGroupArn", "")).split(":")[-1]
        for lb in g.get("LoadBalancerArns", []):
            out.append({"LoadBalancer": str(lb).split(":loadbalancer/")[-1], "TargetGroup": tg})
    return out


def group_capacity_finding(case: Case) -> Finding | None:
    """A group that runs at its maximum size cannot add instances: more load lands on the same
    hosts."""
    for name, _lo, desired, high in case.state.get("group_sizes", []):
        if desired is not None and high is not None and desired >= high:
            return Finding(
                kind="related_metric",
                title=f"{name} runs at its maximum size ({desired} of {high}): it cannot add "
                "instances",
                detail="Scaling policies cannot add capacity beyond MaxSize; more load lands on "
                "the same instances.",
                severity="warning",
                evidence=(
                    Evidence(
                        label="DescribeAutoScalingGroups", ref="aws:DescribeAutoScalingGroups"
                    ),
                ),
            )
    return None


# -- disks -----------------------------------------------------------------------------------------


def _duration(minutes: float) -> str:
    """``112`` -> ``1 h 52 min``; ``2950`` -> ``2 d 1 h``."""
    if not np.isfinite(minutes):
        return "never at this rate"
    m = max(round(minutes), 0)
    if m < 60:
        return f"{m} min"
    if m < 48 * 60:
        return f"{m // 60} h {m % 60} min"
    return f"{m // 1440} d {(m % 1440) // 60} h"


def growth(case: Case, values: pd.Series, *, full: float = 100.0) -> dict[str, Any]:
    """A straight line through ``values`` (a percentage) since the incident started (the onset,
    else the last 30 min): the rate an hour with two standard errors, the last fitted value,
    and the minutes until ``full`` with the interval the slope's uncertainty gives. Growth that
    two standard errors do not separate from zero has no time to full."""
    values = values.sort_index().dropna()
    start = (
        incident_start(case)
        if case.state.get("onset")
        else values.index[-1] - pd.Timedelta(minutes=30)
    )
    part = values[values.index >= start]
    slope, err, last = _fit(part)
    out = {
        "since": part.index[0],
        "points": len(part),
        "now %": round(float(values.iloc[-1]), 2),
        "growth % per hour": round(slope * 60, 2),
        "± (2 SE)": round(2 * err * 60, 2),
        "minutes to full": np.inf,
        "full in": "no steady growth",
        "range": "",
    }
    # Growth the fit cannot tell from zero, or too slow to matter (under 0.5 % an hour: months
    # to full), has no time to full.
    if last >= full:
        out.update({"minutes to full": 0.0, "full in": "full now", "range": "already full"})
    elif slope - 2 * err > 0 and slope * 60 >= 0.5:
        left = full - last
        eta, lo, hi = left / slope, left / (slope + 2 * err), left / (slope - 2 * err)
        out.update(
            {
                "minutes to full": eta,
                "full in": _duration(eta),
                "range": f"{_duration(lo)} to {_duration(hi)}",
                "full at": part.index[-1] + pd.Timedelta(minutes=eta),
            }
        )
    return out


def mounts_table(
    case: Case, frame: pd.DataFrame, dims: Mapping[str, Mapping[str, str]]
) -> pd.DataFrame:
    """Each file system's use now, its growth an hour since the incident started (a least-
    squares line, ± two standard errors) and the time to full if the growth holds (with the
    interval); ``dims`` maps each query id to its dimensions. Kept for the findings."""
    rows = []
    for qid, d in dims.items():
        try:
            fit = growth(case, series(frame, qid))
        except NoDataError:
            continue
        rows.append(
            {
                "query": qid,
                "instance": d.get("InstanceId", ""),
                "path": d.get("path", ""),
                "device": d.get("device", ""),
                "fstype": d.get("fstype", ""),
                **fit,
            }
        )
    if not rows:
        raise NoDataError("no disk series with enough points to fit")
    table = pd.DataFrame(rows)
    case.state["mounts"] = table
    return table.drop(columns=["minutes to full"])


def disk_finding(case: Case, alarmed_qid: str) -> list[Finding]:
    """The alarmed file system: its growth and time to full (honest about the fit), and
    whether the others grow too (one mount, one host, or every host)."""
    table = case.state.get("mounts")
    if table is None or table.empty or alarmed_qid not in set(table["query"]):
        return []
    row = table[table["query"] == alarmed_qid].iloc[0]
    where = f"{row['path']} ({row['device']}, {row['fstype']}) on {row['instance']}"
    evidence = (Evidence(label=f"disk_used_percent {row['path']}", ref=f"metric:{alarmed_qid}"),)
    out = []
    if row["minutes to full"] == 0:
        out.append(
            Finding(
                kind="cause",
                title=f"{where} is full ({row['now %']:.1f} % used)",
                detail="Writes to it fail now (No space left on device).",
                severity="critical",
                evidence=evidence,
            )
        )
    elif np.isfinite(row["minutes to full"]):
        out.append(
            Finding(
                kind="cause",
                title=f"{where} is {row['now %']:.1f} % used and grows "
                f"{row['growth % per hour']:.1f} % an hour since {row['since']:%H:%M}: full in "
                f"about {row['full in']} ({row['range']}) if the growth holds",
                detail=f"A least-squares line through {row['points']} points since "
                f"{row['since']:%H:%M} UTC: {row['growth % per hour']:.2f} ± "
                f"{row['± (2 SE)']:.2f} % an hour (two standard errors). Log rotation, "
                "compression or a cleanup job bends the line: the interval is of the fit, not "
                "a promise.",
                severity="critical" if row["minutes to full"] < 240 else "warning",
                evidence=evidence,
                data={"minutes_to_full": float(row["minutes to full"])},
            )
        )
    else:
        out.append(
            Finding(
                kind="related_metric_quiet",
                title=f"{where} is {row['now %']:.1f} % used, no steady growth since "
                f"{row['since']:%H:%M} ({row['growth % per hour']:+.2f} ± {row['± (2 SE)']:.2f} "
                "% an hour): no time to full",
                detail="The slope is within two standard errors of zero: a step (a file "
                "written once) rather than a fill.",
                severity="info",
                evidence=evidence,
            )
        )
    others = table[table["query"] != alarmed_qid]
    if not others.empty:
        growing = others[np.isfinite(others["minutes to full"].astype(float))]
        same_host = others[others["instance"] == row["instance"]]
        if growing.empty:
            out.append(
                Finding(
                    kind="related_metric_quiet",
                    title=f"Only {row['path']} on {row['instance']} fills: "
                    f"{noun(len(others), 'other file system')} ("
                    + ", ".join(
                        f"{r['path']} on {r['instance']}" for _, r in others.head(4).iterrows()
                    )
                    + (", ..." if len(others) > 4 else "")
                    + ") hold steady",
                    detail=f"Other mounts of the instance: {len(same_host)}; the same path on "
                    f"other instances: {len(others) - len(same_host)}. Something on this host "
                    "writes, not the whole fleet.",
                    severity="info",
                    evidence=evidence,
                )
            )
        else:
            out.append(
                Finding(
                    kind="related_metric",
                    title=f"{noun(len(growing), 'other file system')} fill too: "
                    + ", ".join(
                        f"{r['path']} on {r['instance']}" for _, r in growing.head(4).iterrows()
                    ),
                    detail="Several hosts or mounts grow: look at what they share (the "
                    "application's version, its log level, a job).",
                    severity="warning",
                    evidence=evidence,
                )
            )
    return out


def log_levels_table(case: Case, since: pd.DataFrame, *, before: pd.DataFrame) -> pd.DataFrame:
    """Lines and bytes a minute per level and log stream (Logs Insights ``stats count(*) as
    lines, sum(strlen(@message)) as bytes by level, @logStream``), before the incident against
    since; kept for :func:`log_levels_finding`."""
    start = incident_start(case)
    spans = {
        "before": max((start - case.start).total_seconds() / 60, 1.0),
        "since": max((case.end - start).total_seconds() / 60, 1.0),
    }
    parts = []
    for name, frame in (("before", before), ("since", since)):
        if frame is None or frame.empty:
            continue
        f = frame.rename(columns={"@logStream": "log stream"}).copy()
        f[f"lines/min {name}"] = f["lines"].astype(float) / spans[name]
        f[f"bytes/min {name}"] = f["bytes"].astype(float) / spans[name]
        parts.append(
            f.set_index(["level", "log stream"])[[f"lines/min {name}", f"bytes/min {name}"]]
        )
    if not parts:
        raise NoDataError("no log lines with a level")
    table = pd.concat(parts, axis=1).fillna(0.0).round(1)
    for col in ("lines/min before", "bytes/min before", "lines/min since", "bytes/min since"):
        if col not in table:
            table[col] = 0.0
    table = table.sort_values("bytes/min since", ascending=False).reset_index()
    case.state["log_levels"] = table
    return table


def log_levels_finding(case: Case) -> Finding | None:
    """The log level that appeared (none before) or grew the most in bytes since the onset, and
    on which log streams (instances)."""
    table = case.state.get("log_levels")
    if table is None or table.empty:
        return None
    by_level = table.groupby("level")[
        ["bytes/min before", "bytes/min since", "lines/min since"]
    ].sum()
    by_level["added"] = by_level["bytes/min since"] - by_level["bytes/min before"]
    top = by_level.sort_values("added", ascending=False)
    if top.empty or top["added"].iloc[0] <= 0:
        return None
    level = str(top.index[0])
    row = top.iloc[0]
    streams = table[
        (table["level"] == level) & (table["bytes/min since"] > 2 * table["bytes/min before"])
    ]
    where = ", ".join(streams["log stream"].astype(str).head(4)) or "every stream"
    new = row["bytes/min before"] == 0
    title = (
        f"{level} lines new since the onset on {where}: {row['lines/min since']:,.0f} a minute, "
        "none before"
        if new
        else f"{level} lines grew on {where}: {row['bytes/min before'] / 1024:,.1f} to "
        f"{row['bytes/min since'] / 1024:,.1f} KiB a minute"
    )
    return Finding(
        kind="cause",
        title=title,
        detail="From the application's log group, lines and bytes per level and log stream "
        "before the incident against since. A level that appears from one moment is a "
        "configuration change (the log level), not traffic.",
        severity="warning",
        evidence=(Evidence(label="log lines by level", ref="logs:levels"),),
        data={"level": level},
    )


def onset_of_shift(case: Case, values: pd.Series, *, label: str, resolution: float = 0.01) -> Any:
    """:func:`incident_lib.steps.onset` for a series whose departure began long before the
    alarm (a disk filling for half an hour before it crosses the threshold): the provisional
    baseline ends at the series' largest shift in mean (the CUSUM change point) instead of
    15 min before the alarm, which would put the fill itself in the baseline. ``resolution``
    floors the spread: a growth per minute near zero has no spread of its own (the agent
    reports two decimals)."""
    from incident_lib.analysis import detect_onset
    from incident_lib.errors import SourceError

    v = values.dropna().astype(float).sort_index()
    if len(v) < 10:
        raise NoDataError(f"too few points in {label} to place an onset")
    x = v.to_numpy()
    cusum = np.cumsum(x - x.mean())
    k = int(np.argmax(np.abs(cusum[:-1])))  # the last point before the shift
    baseline_end = v.index[max(k - 1, 0)]
    try:
        history = case.alarm_history()
    except SourceError:
        history = None
    result = detect_onset(
        v,
        baseline_end=baseline_end,
        alarm_time=case.alarm_time,
        alarm_history=history,
        counts=False,
        direction="up",
        min_spread=resolution,
    )
    case.state["onset_series"] = (v, False, "up", label)
    if result is not None:
        case.state["onset"] = result
        case.state["onset_label"] = label
    return result


# -- VPC flow logs --------------------------------------------------------------------------

#: Flow log format fields as Logs Insights names them on a flow log group (``${srcaddr}`` ->
#: ``srcAddr``); others are camel-cased from their dashes.
FLOW_FIELDS = {
    "account-id": "accountId",
    "interface-id": "interfaceId",
    "srcaddr": "srcAddr",
    "dstaddr": "dstAddr",
    "srcport": "srcPort",
    "dstport": "dstPort",
    "log-status": "logStatus",
    "pkt-srcaddr": "pktSrcAddr",
    "pkt-dstaddr": "pktDstAddr",
    "vpc-id": "vpcId",
    "subnet-id": "subnetId",
    "instance-id": "instanceId",
    "tcp-flags": "tcpFlags",
    "flow-direction": "flowDirection",
}
DEFAULT_FLOW_FORMAT = (
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} "
    "${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"
)


def flow_fields(log_format: str | None) -> list[str]:
    """The Logs Insights field names of a flow log format (``${version} ${account-id} ...``;
    empty: the default version 2 format)."""
    import re

    names = re.findall(r"\$\{([a-z0-9-]+)\}", log_format or DEFAULT_FLOW_FORMAT)
    out = []
    for n in names:
        head, *rest = n.split("-")
        out.append(FLOW_FIELDS.get(n, head + "".join(w.title() for w in rest)))
    return out


def flow_parse(log_format: str | None) -> str:
    """The Logs Insights ``parse`` command reading every field of a flow log format (a glob:
    the records are space-separated), so default and custom formats both work."""
    fields = flow_fields(log_format)
    missing = {"srcAddr", "dstAddr", "dstPort", "action"} - set(fields)
    if missing:
        raise NoDataError(
            f"the flow log format lacks {', '.join(sorted(missing))}: rejects cannot be told "
            "by source, destination and port"
        )
    return f'parse @message "{" ".join("*" for _ in fields)}" as {", ".join(fields)}'


def metric_filters_table(answer: Mapping[str, Any]) -> pd.DataFrame:
    """DescribeMetricFilters as a table: the log group and pattern behind the alarmed metric."""
    rows = [
        {
            "log group": f.get("logGroupName"),
            "filter": f.get("filterName"),
            "pattern": f.get("filterPattern"),
            "metric": ", ".join(
                f"{t.get('metricNamespace')}/{t.get('metricName')}"
                for t in f.get("metricTransformations", [])
            ),
        }
        for f in answer.get("metricFilters", [])
    ]
    if not rows:
        raise NoDataError("no metric filter publishes the alarmed metric")
    return pd.DataFrame(rows)


def reject_pairs_table(case: Case, since: pd.DataFrame, *, before: pd.DataFrame) -> pd.DataFrame:
    """REJECT records per interface, source, destination and port (two Logs Insights results:
    before the incident and since), as rates a minute, with ``status``: ``new`` (none before),
    ``surging`` (3x), ``steady``. Kept for the findings."""
    start = incident_start(case)
    span_before = max((start - case.start).total_seconds() / 60, 1.0)
    span_since = max((case.end - start).total_seconds() / 60, 1.0)
    keys = ["interfaceId", "srcAddr", "dstAddr", "dstPort"]
    if since.empty:
        raise NoDataError("no REJECT records since the onset")

    def rate(frame: pd.DataFrame, span: float, name: str) -> pd.DataFrame:
        if frame is None or frame.empty:
            return pd.DataFrame(columns=[name]).rename_axis(keys)
        f = frame.copy()
        f["dstPort"] = f["dstPort"].astype(str)
        return (f.set_index(keys)["rejects"].astype(float) / span).rename(name).to_frame()

    table = rate(since, span_since, "per min since").join(
        rate(before, span_before, "per min before"), how="outer"
    )
    table = table.fillna(0.0).reset_index()
    table["status"] = np.where(
        table["per min before"] == 0,
        "new",
        np.where(table["per min since"] >= 3 * table["per min before"], "surging", "steady"),
    )
    table = table.sort_values(["per min since"], ascending=False, ignore_index=True).round(2)
    case.state["reject_pairs"] = table
    return table


def new_reject_targets(case: Case, *, top: int = 5) -> pd.DataFrame:
    """The new or surging (source, destination, port) rejects, the busiest first."""
    table = case.state.get("reject_pairs")
    if table is None or table.empty:
        return pd.DataFrame()
    # A scanner's new (source, port) pair is background: only pairs that carry a share of the
    # rejects (at least one a minute, and 5 % of them) count.
    floor = max(1.0, 0.05 * float(table["per min since"].sum()))
    moved = table[(table["status"] != "steady") & (table["per min since"] >= floor)]
    return moved.head(top)


def interfaces_table(case: Case, answer: Mapping[str, Any]) -> pd.DataFrame:
    """DescribeNetworkInterfaces as a table: address, what it is, subnet, security groups."""
    rows = [
        {
            "interface": n.get("NetworkInterfaceId"),
            "address": n.get("PrivateIpAddress"),
            "description": n.get("Description", ""),
            "subnet": n.get("SubnetId"),
            "security groups": ", ".join(g.get("GroupId", "") for g in n.get("Groups", [])),
        }
        for n in answer.get("NetworkInterfaces", [])
    ]
    if not rows:
        raise NoDataError("no such network interface")
    table = pd.DataFrame(rows)
    case.state["interfaces"] = table
    return table


def ingress_table(case: Case, answer: Mapping[str, Any]) -> pd.DataFrame:
    """DescribeSecurityGroups' ingress rules, one row per rule and peer (a CIDR or a group);
    kept for :func:`port_finding`."""
    rows = []
    for g in answer.get("SecurityGroups", []):
        for p in g.get("IpPermissions", []):
            peers = [r.get("CidrIp") for r in p.get("IpRanges", [])]
            peers += [r.get("GroupId") for r in p.get("UserIdGroupPairs", [])]
            for peer in peers or ["(none)"]:
                rows.append(
                    {
                        "group": g.get("GroupId"),
                        "protocol": p.get("IpProtocol"),
                        "ports": f"{p.get('FromPort', 'all')}-{p.get('ToPort', 'all')}",
                        "from": peer,
                    }
                )
    table = pd.DataFrame(rows, columns=["group", "protocol", "ports", "from"])
    case.state["ingress"] = table
    if table.empty:
        raise NoDataError("the security groups allow no inbound traffic")
    return table


def rejects_finding(case: Case) -> Finding | None:
    """The new or surging rejects: who cannot reach what, and the security groups in front of
    the destination (now allowing the port from whom)."""
    moved = new_reject_targets(case)
    if moved.empty:
        table = case.state.get("reject_pairs")
        if table is None or table.empty:
            return None
        return Finding(
            kind="related_metric_quiet",
            title="No new kind of REJECT: the same sources, destinations and ports as before",
            detail="More of the usual rejects (scanners, a noisy client) rather than traffic "
            "that used to be accepted.",
            severity="info",
            evidence=(
                Evidence(label="REJECT records by source, destination, port", ref="logs:rejects"),
            ),
        )
    by_dest = moved.groupby(["dstAddr", "dstPort"], sort=False)
    (dst, port), part = next(iter(by_dest))
    sources = ", ".join(dict.fromkeys(part["srcAddr"].astype(str)))
    eni = str(part["interfaceId"].iloc[0])
    groups = ""
    inter = case.state.get("interfaces")
    if inter is not None and not inter.empty and eni in set(inter["interface"]):
        row = inter[inter["interface"] == eni].iloc[0]
        groups = f" ({row['description'] or eni}; security groups {row['security groups']})"
    allowed = ""
    ingress = case.state.get("ingress")
    if ingress is not None:
        rules = ingress[ingress["ports"].map(lambda p: _covers(p, port))]
        allowed = (
            f" Its security groups now allow port {port} only from "
            f"{', '.join(rules['from'].astype(str)) or 'nobody'}."
        )
    status = "new" if (part["status"] == "new").all() else "surging"
    return Finding(
        kind="cause",
        title=f"REJECT {status} since the onset: {sources} -> {dst}:{port}{groups}, "
        f"{part['per min since'].sum():,.0f} a minute",
        detail=f"Connections to {dst} port {port} from {sources} are refused at {eni} and were "
        f"not refused before: either traffic that used to be accepted (a rule removed: see "
        "Changes) or a client that never was allowed (a new host or job)."
        f"{allowed} Security groups are stateful: an inbound REJECT is a missing ingress rule "
        "(or a network ACL).",
        severity="critical",
        evidence=(
            Evidence(label="REJECT records by source, destination, port", ref="logs:rejects"),
        ),
        data={"destination": str(dst), "port": str(port)},
    )


def _covers(ports: str, port: Any) -> bool:
    lo, _, hi = str(ports).partition("-")
    try:
        p = int(port)
        return (lo in ("all", "-1", "None")) or int(lo) <= p <= int(hi)
    except ValueError:
        return False
