"""Ready-made pieces for scenarios of hosts (seed runbook 002: EC2 behind an Application Load
Balancer in an auto scaling group, VPC flow logs), for :mod:`incident_lib.scenarios.services`
declarations, in the shapes AWS uses.

A host is a **request stream** of its own (the requests the load balancer sends it), so that the
load balancer's metrics (the sum over its targets), each host's CPU and the application's log
lines (one log stream per instance, as the CloudWatch agent names them) agree. A slot of the
group whose instance is replaced mid-window (an instance refresh) is one stream whose rows
belong to the old instance before the replacement and to the new one after (:class:`Slot`).
Levels that are not requests (CPU %, CPU credits, disk %, log bytes) are :class:`Gauge` levels
computed from the streams.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from incident_lib.scenarios.services import (
    ACCOUNT,
    REGION,
    Call,
    Context,
    Gauge,
    Logs,
    Metric,
    Where,
    iso,
    recorded,
)

#: Outcomes of requests the load balancer answers itself (no target response).
ELB_OUTCOMES = ("elb_timeout", "elb_error")


def not_elb(frame: pd.DataFrame) -> pd.Series:
    """Requests a target answered (not those the load balancer answered itself)."""
    return ~frame["outcome"].isin(ELB_OUTCOMES)


@dataclass(frozen=True)
class Slot:
    """One place in the group: request stream ``stream`` served by ``instance``, or by
    ``then`` from ``at`` (the instance that replaced it)."""

    stream: str
    instance: str
    then: str = ""
    at: pd.Timestamp | None = None

    def instances(self) -> list[str]:
        return [self.instance, *([self.then] if self.then else [])]

    def serving(self, instance: str) -> Where:
        """The stream's rows that ``instance`` served."""
        if not self.then:
            return lambda f: pd.Series(True, index=f.index)
        if instance == self.instance:
            return lambda f: f["time"] < self.at
        return lambda f: f["time"] >= self.at

    def alive(self, instance: str, index: pd.DatetimeIndex) -> np.ndarray:
        """1 for the minutes ``instance`` runs (a replaced one stops, its successor starts)."""
        if not self.then:
            return np.ones(len(index))
        before = np.asarray(index < self.at.floor("min"), float)
        return before if instance == self.instance else 1.0 - before


def step_level(changes: Sequence[tuple[pd.Timestamp | None, float]]) -> Callable[[Context], Any]:
    """A level that takes each value from its time on (``None``: from the start)."""

    def level(ctx: Context) -> np.ndarray:
        out = np.zeros(len(ctx.index))
        for at, value in changes:
            out = np.where(ctx.index >= at if at is not None else True, value, out)
        return out

    return level


# -- Application Load Balancer -----------------------------------------------------------------
def alb_metrics(load_balancer: str, target_group: str, streams: tuple[str, ...]) -> list:
    """``AWS/ApplicationELB`` for a load balancer with one target group over ``streams``:
    RequestCount, HTTPCode_Target_2XX/4XX/5XX_Count, HTTPCode_ELB_5XX_Count (requests the
    load balancer answered itself: ``elb_*`` outcomes, 502/503/504 apart) and
    TargetResponseTime (seconds, every response a target gave) per load balancer and per
    target group."""
    out: list = []

    def target(lo: int, hi: int) -> Where:
        return lambda f: (
            (f["status"] >= lo) & (f["status"] <= hi) & ~f["outcome"].isin(ELB_OUTCOMES)
        )

    def elb(code: int | None = None) -> Where:
        if code is None:
            return lambda f: f["outcome"].isin(ELB_OUTCOMES)
        return lambda f: f["outcome"].isin(ELB_OUTCOMES) & (f["status"] == code)

    for dims in (
        {"LoadBalancer": load_balancer},
        {"LoadBalancer": load_balancer, "TargetGroup": target_group},
    ):
        ns = "AWS/ApplicationELB"
        out += [
            Metric(ns, "RequestCount", dims, streams, "count"),
            Metric(ns, "HTTPCode_Target_2XX_Count", dims, streams, "count", target(200, 299)),
            Metric(ns, "HTTPCode_Target_4XX_Count", dims, streams, "count", target(400, 499)),
            Metric(ns, "HTTPCode_Target_5XX_Count", dims, streams, "count", target(500, 599)),
            Metric(ns, "HTTPCode_ELB_5XX_Count", dims, streams, "count", elb()),
            Metric(ns, "HTTPCode_ELB_502_Count", dims, streams, "count", elb(502)),
            Metric(ns, "HTTPCode_ELB_503_Count", dims, streams, "count", elb(503)),
            Metric(ns, "HTTPCode_ELB_504_Count", dims, streams, "count", elb(504)),
            Metric(
                ns,
                "TargetResponseTime",
                dims,
                streams,
                "samples",
                lambda f: ~f["outcome"].isin(ELB_OUTCOMES),
                unit="Seconds",
                scale=0.001,
            ),
        ]
    return out


def target_health_metrics(
    load_balancer: str, target_group: str, healthy: Any, unhealthy: Any = 0.0
) -> list[Gauge]:
    """HealthyHostCount and UnHealthyHostCount of the target group (numbers or levels)."""
    dims = {"LoadBalancer": load_balancer, "TargetGroup": target_group}
    return [
        Gauge("AWS/ApplicationELB", "HealthyHostCount", dims, healthy, noise=0.0),
        Gauge("AWS/ApplicationELB", "UnHealthyHostCount", dims, unhealthy, noise=0.0),
    ]


def arn_of(kind: str, name: str) -> str:
    """``loadbalancer``/``targetgroup`` ARN of a CloudWatch dimension value."""
    body = name if kind == "targetgroup" else f"loadbalancer/{name}"
    return f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:{body}"


def alb_calls(
    load_balancer: str,
    target_group: str,
    targets: Mapping[str, str],
    *,
    port: int = 8080,
    health_path: str = "/health",
) -> list[Call]:
    """DescribeTargetGroups (of the load balancer) and DescribeTargetHealth (``targets``:
    instance id -> state, ``healthy``, ``unhealthy``, ``draining`` ...)."""
    tg_arn = arn_of("targetgroup", target_group)
    lb_arn = arn_of("loadbalancer", load_balancer)
    tg_name = target_group.split("/")[1]
    reasons = {
        "unhealthy": (
            "Target.ResponseCodeMismatch",
            "Health checks failed with these codes: [500]",
        ),
        "draining": ("Target.DeregistrationInProgress", "Target deregistration is in progress"),
        "initial": ("Elb.RegistrationInProgress", "Target registration is in progress"),
    }
    descriptions = []
    for instance, state in targets.items():
        health: dict[str, Any] = {"State": state}
        if state in reasons:
            health["Reason"], health["Description"] = reasons[state]
        descriptions.append(
            {
                "Target": {"Id": instance, "Port": port},
                "HealthCheckPort": str(port),
                "TargetHealth": health,
            }
        )
    return [
        recorded(
            "elbv2",
            "DescribeTargetGroups",
            {
                "TargetGroups": [
                    {
                        "TargetGroupArn": tg_arn,
                        "TargetGroupName": tg_name,
                        "Protocol": "HTTP",
                        "Port": port,
                        "TargetType": "instance",
                        "HealthCheckPath": health_path,
                        "HealthCheckIntervalSeconds": 15,
                        "HealthyThresholdCount": 3,
                        "UnhealthyThresholdCount": 2,
                        "Matcher": {"HttpCode": "200"},
                        "LoadBalancerArns": [lb_arn],
                    }
                ]
            },
            LoadBalancerArn=lb_arn,
        ),
        recorded(
            "elbv2",
            "DescribeTargetHealth",
            {"TargetHealthDescriptions": descriptions},
            TargetGroupArn=tg_arn,
        ),
    ]


# -- EC2 and the auto scaling group ------------------------------------------------------------
def cpu_level(
    streams: Sequence[tuple[str, Where | None]], *, base: float, per_request: float, cap: float
) -> Callable[[Context], np.ndarray]:
    """CPU % of a host: ``base`` plus ``per_request`` % for each request per minute it served
    (the rows ``where`` selects of each stream), at most ``cap``."""

    def level(ctx: Context) -> np.ndarray:
        n = sum(ctx.counts(s, w) for s, w in streams)
        return np.minimum(base + per_request * n, cap)

    return level


def alive_level(
    level: Callable[[Context], np.ndarray], alive: Callable[[pd.DatetimeIndex], np.ndarray]
) -> Callable[[Context], np.ndarray]:
    """``level`` only while the instance runs (0 otherwise: the sample is dropped)."""
    return lambda ctx: level(ctx) * alive(ctx.index)


def credits(
    cpu: Callable[[Context], np.ndarray],
    *,
    vcpus: int,
    baseline_pct: float,
    balance: float,
    max_balance: float,
) -> tuple[Callable[[Context], np.ndarray], ...]:
    """A burstable instance's CPUCreditUsage, CPUCreditBalance and CPUSurplusCreditBalance per
    minute from its CPU level (unlimited mode): a credit is one vCPU at 100 % for a minute;
    it earns ``vcpus * baseline_pct / 100`` a minute; below an empty balance it spends surplus
    credits (charged)."""

    def run(ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        used = cpu(ctx) / 100.0 * vcpus
        earned = vcpus * baseline_pct / 100.0
        bal, surplus = balance, 0.0
        b, s = np.zeros(len(used)), np.zeros(len(used))
        for i, u in enumerate(used):
            net = earned - u
            if net >= 0:  # pay back surplus first, then earn
                pay = min(surplus, net)
                surplus -= pay
                bal = min(bal + net - pay, max_balance)
            elif bal + net >= 0:
                bal += net
            else:
                surplus += -(bal + net)
                bal = 0.0
            b[i], s[i] = bal, surplus
        return used, b, s

    return (
        lambda ctx: run(ctx)[0],
        lambda ctx: run(ctx)[1],
        lambda ctx: run(ctx)[2],
    )


def ec2_metrics(
    instance: str,
    asg: str,
    cpu: Callable[[Context], np.ndarray],
    *,
    burstable: Mapping[str, float] | None = None,
    noise: float = 0.04,
) -> list[Gauge]:
    """``AWS/EC2`` CPUUtilization of ``instance`` (detailed monitoring: per minute) and, for a
    burstable type (``burstable``: vcpus, baseline_pct, balance, max_balance), its CPU credit
    metrics."""
    dims = {"InstanceId": instance}
    out = [Gauge("AWS/EC2", "CPUUtilization", dims, cpu, noise=noise, unit="Percent")]
    if burstable:
        usage, balance, surplus = credits(
            cpu,
            vcpus=int(burstable["vcpus"]),
            baseline_pct=burstable["baseline_pct"],
            balance=burstable["balance"],
            max_balance=burstable["max_balance"],
        )
        out += [
            Gauge("AWS/EC2", "CPUCreditUsage", dims, usage, noise=0.0),
            Gauge("AWS/EC2", "CPUCreditBalance", dims, balance, noise=0.0),
            Gauge("AWS/EC2", "CPUSurplusCreditBalance", dims, surplus, noise=0.0),
            Gauge("AWS/EC2", "CPUSurplusCreditsCharged", dims, 0.0, noise=0.0),
        ]
    return out


def asg_cpu(asg: str, levels: Sequence[Callable[[Context], np.ndarray]]) -> Gauge:
    """CPUUtilization by AutoScalingGroupName: the mean of its running instances."""

    def level(ctx: Context) -> np.ndarray:
        values = np.vstack([f(ctx) for f in levels])
        running = np.maximum((values > 0).sum(axis=0), 1)
        return values.sum(axis=0) / running

    return Gauge(
        "AWS/EC2",
        "CPUUtilization",
        {"AutoScalingGroupName": asg},
        level,
        noise=0.02,
        unit="Percent",
    )


def instance_item(
    instance: str,
    asg: str,
    *,
    instance_type: str = "t3.medium",
    launched: str = "2026-11-02T09:12:44+00:00",
    ip: str = "10.0.1.10",
    subnet: str = "subnet-0a1b2c3d4e5f60718",
    groups: Sequence[tuple[str, str]] = (("sg-0app5c0ffee123456", "web-prod-app"),),
    eni: str = "",
    template_version: str = "7",
    state: str = "running",
    cpu_credits: str = "unlimited",
) -> dict[str, Any]:
    """One DescribeInstances ``Instances`` item, tagged with its group and launch template."""
    return {
        "InstanceId": instance,
        "InstanceType": instance_type,
        "LaunchTime": launched,
        "State": {"Code": 16 if state == "running" else 48, "Name": state},
        "PrivateIpAddress": ip,
        "SubnetId": subnet,
        "VpcId": "vpc-0f1e2d3c4b5a69788",
        "Placement": {"AvailabilityZone": f"{REGION}a"},
        "ImageId": "ami-0c7217cdde317cfec",
        "SecurityGroups": [{"GroupId": g, "GroupName": n} for g, n in groups],
        "NetworkInterfaces": [
            {"NetworkInterfaceId": eni or f"eni-{instance[2:]}"[:21], "PrivateIpAddress": ip}
        ],
        "CpuOptions": {"CoreCount": 1, "ThreadsPerCore": 2},
        "Monitoring": {"State": "enabled"},
        "CreditSpecification": {"CpuCredits": cpu_credits},
        "Tags": [
            {"Key": "aws:autoscaling:groupName", "Value": asg},
            {"Key": "aws:ec2launchtemplate:version", "Value": template_version},
            {"Key": "Name", "Value": asg.removesuffix("-asg")},
        ],
    }


def describe_instances(items: Sequence[Mapping[str, Any]], **parameters: Any) -> Call:
    """DescribeInstances answering ``items`` (one reservation)."""
    return recorded(
        "ec2",
        "DescribeInstances",
        {"Reservations": [{"ReservationId": "r-0b1c2d3e4f5a6b7c8", "Instances": list(items)}]},
        **parameters,
    )


def asg_calls(
    asg: str,
    instances: Mapping[str, str],
    activities: Sequence[Mapping[str, Any]],
    *,
    desired: int,
    min_size: int = 2,
    max_size: int = 8,
    target_group: str = "",
    template: str = "web-prod-lt",
    template_version: str = "7",
    instance_type: str = "t3.medium",
) -> list[Call]:
    """DescribeAutoScalingGroups (``instances``: id -> lifecycle state) and
    DescribeScalingActivities (``activities``: newest first, as AWS lists them)."""
    group = {
        "AutoScalingGroupName": asg,
        "AutoScalingGroupARN": f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:"
        f"5d1f3b3e-8c4a-4d6e-9a61-2f7d0c1b9e44:autoScalingGroupName/{asg}",
        "LaunchTemplate": {
            "LaunchTemplateId": "lt-0a9b8c7d6e5f40312",
            "LaunchTemplateName": template,
            "Version": template_version,
        },
        "MinSize": min_size,
        "MaxSize": max_size,
        "DesiredCapacity": desired,
        "DefaultCooldown": 300,
        "HealthCheckType": "ELB",
        "HealthCheckGracePeriod": 300,
        "TargetGroupARNs": [arn_of("targetgroup", target_group)] if target_group else [],
        "Instances": [
            {
                "InstanceId": i,
                "InstanceType": instance_type,
                "AvailabilityZone": f"{REGION}a",
                "LifecycleState": state,
                "HealthStatus": "Healthy",
                "LaunchTemplate": {
                    "LaunchTemplateId": "lt-0a9b8c7d6e5f40312",
                    "LaunchTemplateName": template,
                    "Version": template_version,
                },
                "ProtectedFromScaleIn": False,
            }
            for i, state in instances.items()
        ],
    }
    return [
        recorded(
            "autoscaling",
            "DescribeAutoScalingGroups",
            {"AutoScalingGroups": [group]},
            AutoScalingGroupNames=[asg],
        ),
        recorded(
            "autoscaling",
            "DescribeScalingActivities",
            {"Activities": [dict(a) for a in activities]},
            AutoScalingGroupName=asg,
        ),
    ]


def activity(
    asg: str,
    start: pd.Timestamp,
    description: str,
    cause: str,
    *,
    seconds: float = 45,
    status: str = "Successful",
) -> dict[str, Any]:
    """One DescribeScalingActivities ``Activities`` item."""
    end = start + pd.Timedelta(seconds=seconds)
    return {
        "ActivityId": f"{abs(hash((asg, str(start), description))) % 16**8:08x}-5c1e-4b1e-9f00-"
        f"{int(start.timestamp()) % 16**12:012x}",
        "AutoScalingGroupName": asg,
        "Description": description,
        "Cause": cause,
        "StartTime": start.isoformat(),
        **({"EndTime": end.isoformat()} if status == "Successful" else {}),
        "StatusCode": status,
        "Progress": 100 if status == "Successful" else 50,
    }


def log_group_calls(
    groups: Mapping[str, Sequence[str]], instance: str, *, created: str = "2025-06-02T08:00:00Z"
) -> list[Call]:
    """DescribeLogGroups (``groups``: name -> its log stream names) and, for each group,
    DescribeLogStreams with ``instance`` as the prefix (how a notebook finds the groups the
    CloudWatch agent ships an instance's files to: ``log_stream_name`` ``{instance_id}``)."""
    ms = int(pd.Timestamp(created).timestamp() * 1000)
    out = [
        recorded(
            "logs",
            "DescribeLogGroups",
            {
                "logGroups": [
                    {
                        "logGroupName": g,
                        "creationTime": ms,
                        "retentionInDays": 30,
                        "storedBytes": 0,
                        "arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{g}:*",
                    }
                    for g in groups
                ]
            },
            limit=50,
        )
    ]
    for g, streams in groups.items():
        hits = [s for s in streams if s.startswith(instance)][:1]
        out.append(
            recorded(
                "logs",
                "DescribeLogStreams",
                {"logStreams": [{"logStreamName": s, "creationTime": ms} for s in hits]},
                logGroupName=g,
                logStreamNamePrefix=instance,
                limit=1,
            )
        )
    return out


# -- the application's logs on the hosts -------------------------------------------------------
def app_access_line(row: Mapping[str, Any]) -> str:
    """The application's JSON request line (an access line; an ERROR line with the exception
    for a failed request)."""
    method, _, path = str(row["kind"]).partition(" ")
    status = int(row["status"])
    end = row["time"] + pd.Timedelta(milliseconds=float(row["latency_ms"]))
    body: dict[str, Any] = {
        "time": iso(end),
        "level": "ERROR" if status >= 500 else "INFO",
        "logger": "web.access",
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(float(row["latency_ms"]), 1),
        "request_id": row["request_id"],
        "client_ip": row["client"],
    }
    if status >= 500 and row["error"]:
        body["error"] = str(row["error"])
    return json.dumps(body, separators=(",", ":"))


def host_logs(
    group: str, slot: Slot, line: Callable[[Mapping[str, Any]], str], where: Where | None = None
) -> list[Logs]:
    """``line`` for each of ``slot``'s requests (``where`` selects) in ``group``, in the log
    stream of the instance that served it."""
    out = []
    for instance in slot.instances():
        serving = slot.serving(instance)
        pick = serving if where is None else (lambda f, s=serving: s(f) & where(f))
        out.append(Logs(group, slot.stream, line, where=pick, stream_names=(instance,)))
    return out


# -- VPC flow logs -----------------------------------------------------------------------------
def flow_log_line(
    eni_of: Mapping[str, str],
    *,
    account: str = ACCOUNT,
    log_format: str = "",
    vpc: str = "vpc-0f1e2d3c4b5a69788",
    subnet_of: Mapping[str, str] | None = None,
) -> Callable[[Mapping[str, Any]], str]:
    """A flow log record per row in ``log_format`` (default: the version 2 default format):
    ``client`` is the source address, ``kind`` ``"dst:port"``, ``reject`` outcomes are
    REJECT; the interface is the one that saw the packet (``eni_of`` the destination address,
    else the source's); a field the row does not give is ``-``, as AWS writes it."""
    fmt = log_format or DEFAULT_FLOW_FORMAT
    subnets = dict(subnet_of or {})

    def line(row: Mapping[str, Any]) -> str:
        dst, _, port = str(row["kind"]).partition(":")
        src = str(row["client"])
        rid = str(row["request_id"])
        rejected = row["outcome"] == "reject"
        packets = 1 + int(rid[4:6], 16) % 3 if rejected else 6 + int(rid[4:6], 16) % 40
        t0 = int(pd.Timestamp(row["time"]).timestamp())
        eni = eni_of.get(dst) or eni_of.get(src) or "eni-0000000000000000"
        values = {
            "version": "2" if not log_format else "5",
            "account-id": account,
            "interface-id": eni,
            "srcaddr": src,
            "dstaddr": dst,
            "srcport": str(32768 + int(rid[:4], 16) % 28000),
            "dstport": port,
            "protocol": "6",
            "packets": str(packets),
            "bytes": str(packets * (60 if rejected else 420)),
            "start": str(t0),
            "end": str(t0 + 60),
            "action": "REJECT" if rejected else "ACCEPT",
            "log-status": "OK",
            "vpc-id": vpc,
            "subnet-id": subnets.get(dst, "-"),
            "tcp-flags": "2" if rejected else "19",
            "flow-direction": "ingress",
        }
        return re.sub(r"\$\{([a-z0-9-]+)\}", lambda m: values.get(m.group(1), "-"), fmt)

    return line


def launch_template_versions(
    template_id: str, name: str, versions: Sequence[Mapping[str, Any]]
) -> Call:
    """DescribeLaunchTemplateVersions of ``template_id`` (newest first; each ``versions`` item:
    number, created, by, instance_type, image, default, description)."""
    return recorded(
        "ec2",
        "DescribeLaunchTemplateVersions",
        {
            "LaunchTemplateVersions": [
                {
                    "LaunchTemplateId": template_id,
                    "LaunchTemplateName": name,
                    "VersionNumber": int(v["number"]),
                    "VersionDescription": v.get("description", ""),
                    "CreateTime": v["created"],
                    "CreatedBy": v.get("by", f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/deploy"),
                    "DefaultVersion": bool(v.get("default", False)),
                    "LaunchTemplateData": {
                        "ImageId": v.get("image", "ami-0c7217cdde317cfec"),
                        "InstanceType": v.get("instance_type", "t3.medium"),
                        "CreditSpecification": {"CpuCredits": v.get("credits", "unlimited")},
                    },
                }
                for v in versions
            ]
        },
        LaunchTemplateId=template_id,
        MaxResults=5,
    )


# -- disks and log volume ----------------------------------------------------------------------
def log_bytes(
    stream: str,
    *,
    info_bytes: float,
    debug_bytes: float = 0.0,
    debug_from: pd.Timestamp | None = None,
) -> Callable[[Context], np.ndarray]:
    """Bytes a host's application logs per minute: ``info_bytes`` a request, plus
    ``debug_bytes`` a request from ``debug_from`` (a DEBUG level dumping bodies). The stored log
    events stand for these bytes (a DEBUG event keeps the first part of its body): the
    volumes are modelled, not the sum of the stored messages."""

    def level(ctx: Context) -> np.ndarray:
        n = ctx.counts(stream)
        extra = (
            np.where(ctx.index >= debug_from, debug_bytes, 0.0) if debug_from is not None else 0.0
        )
        return n * (info_bytes + extra)

    return level


def disk_used(
    written: Callable[[Context], np.ndarray] | None,
    *,
    start_pct: float,
    size_gib: float,
    kept: float = 1.0,
) -> Callable[[Context], np.ndarray]:
    """``disk_used_percent`` of a file system from ``start_pct``: ``kept`` of the bytes
    ``written`` a minute stay on it (log rotation compresses and deletes the rest)."""
    size = size_gib * 1024**3

    def level(ctx: Context) -> np.ndarray:
        if written is None:
            return np.full(len(ctx.index), start_pct)
        return start_pct + np.cumsum(written(ctx)) * kept / size * 100.0

    return level


def disk_metrics(
    instance: str, mounts: Sequence[tuple[str, str, str, Callable[[Context], np.ndarray]]]
) -> list[Gauge]:
    """``CWAgent`` ``disk_used_percent`` per mount (path, device, fstype, level) of
    ``instance``."""
    return [
        Gauge(
            "CWAgent",
            "disk_used_percent",
            {"InstanceId": instance, "path": path, "device": device, "fstype": fstype},
            level,
            noise=0.0002,
            unit="Percent",
        )
        for path, device, fstype, level in mounts
    ]


def log_group_metrics(group: str, levels: Sequence[Callable[[Context], np.ndarray]]) -> list[Gauge]:
    """``AWS/Logs`` IncomingBytes of ``group``: the sum of its writers' bytes a minute."""
    return [
        Gauge(
            "AWS/Logs",
            "IncomingBytes",
            {"LogGroupName": group},
            lambda ctx: sum(f(ctx) for f in levels),
            noise=0.02,
            unit="Bytes",
        )
    ]


def debug_line(row: Mapping[str, Any]) -> str:
    """A DEBUG line dumping a request's response body (cut: the whole body is ~250 KB)."""
    method, _, path = str(row["kind"]).partition(" ")
    end = row["time"] + pd.Timedelta(milliseconds=float(row["latency_ms"]) * 0.9)
    body = {
        "time": iso(end),
        "level": "DEBUG",
        "logger": "web.http.wire",
        "msg": "response body",
        "method": method,
        "path": path,
        "request_id": row["request_id"],
        "bytes": 254_311,
        "body": '{"items":[{"sku":"A-1001","name":"Desk lamp","price":{"amount":29.9,'
        '"currency":"EUR"},"stock":{"warehouse":"FRA1","qty":41}},{"sku":"A-1002",...',
    }
    return json.dumps(body, separators=(",", ":"))


DEFAULT_FLOW_FORMAT = (
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} "
    "${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"
)


def flow_log_calls(
    group: str,
    *,
    metric: tuple[str, str],
    flow_log_id: str = "fl-0a1b2c3d4e5f60718",
    vpc: str = "vpc-0f1e2d3c4b5a69788",
    log_format: str = "",
    pattern: str = "",
) -> list[Call]:
    """DescribeMetricFilters (the REJECT count on ``group``: ``metric`` namespace and name) and
    DescribeFlowLogs (the VPC's flow log into ``group``, default format)."""
    namespace, name = metric
    return [
        recorded(
            "logs",
            "DescribeMetricFilters",
            {
                "metricFilters": [
                    {
                        "filterName": "flowlogs-rejects",
                        "filterPattern": pattern
                        or "[version, account, eni, source, destination, srcport, "
                        "destport, protocol, packets, bytes, windowstart, windowend, "
                        "action=REJECT, flowlogstatus]",
                        "metricTransformations": [
                            {"metricName": name, "metricNamespace": namespace, "metricValue": "1"}
                        ],
                        "creationTime": 1_750_000_000_000,
                        "logGroupName": group,
                    }
                ]
            },
            metricName=name,
            metricNamespace=namespace,
        ),
        recorded(
            "ec2",
            "DescribeFlowLogs",
            {
                "FlowLogs": [
                    {
                        "FlowLogId": flow_log_id,
                        "ResourceId": vpc,
                        "TrafficType": "ALL",
                        "LogDestinationType": "cloud-watch-logs",
                        "LogGroupName": group,
                        "LogFormat": log_format or DEFAULT_FLOW_FORMAT,
                        "MaxAggregationInterval": 60,
                        "FlowLogStatus": "ACTIVE",
                        "DeliverLogsStatus": "SUCCESS",
                    }
                ]
            },
            Filters=[{"Name": "log-group-name", "Values": [group]}],
        ),
    ]


def network_calls(
    interfaces: Mapping[str, Mapping[str, Any]],
    groups: Mapping[str, Sequence[Mapping[str, Any]]],
    acls: Mapping[str, str],
) -> list[Call]:
    """DescribeNetworkInterfaces (``interfaces``: ENI id -> ip, subnet, groups, description),
    DescribeSecurityGroups (``groups``: id -> its ingress rules as IpPermissions) and
    DescribeNetworkAcls (``acls``: subnet -> ACL id), each for exactly those ids."""
    enis = sorted(interfaces)
    return [
        recorded(
            "ec2",
            "DescribeNetworkInterfaces",
            {
                "NetworkInterfaces": [
                    {
                        "NetworkInterfaceId": e,
                        "PrivateIpAddress": interfaces[e]["ip"],
                        "SubnetId": interfaces[e]["subnet"],
                        "VpcId": "vpc-0f1e2d3c4b5a69788",
                        "Description": interfaces[e].get("description", ""),
                        "InterfaceType": interfaces[e].get("type", "interface"),
                        "Groups": [{"GroupId": g, "GroupName": g} for g in interfaces[e]["groups"]],
                        "Status": "in-use",
                    }
                    for e in enis
                ]
            },
            NetworkInterfaceIds=enis,
        ),
        recorded(
            "ec2",
            "DescribeSecurityGroups",
            {
                "SecurityGroups": [
                    {
                        "GroupId": g,
                        "GroupName": g,
                        "VpcId": "vpc-0f1e2d3c4b5a69788",
                        "IpPermissions": [dict(p) for p in perms],
                    }
                    for g, perms in sorted(groups.items())
                ]
            },
            GroupIds=sorted(groups),
        ),
        recorded(
            "ec2",
            "DescribeNetworkAcls",
            {
                "NetworkAcls": [
                    {
                        "NetworkAclId": acl,
                        "VpcId": "vpc-0f1e2d3c4b5a69788",
                        "Associations": [{"SubnetId": subnet, "NetworkAclId": acl}],
                        "Entries": [
                            {
                                "RuleNumber": 100,
                                "Protocol": "-1",
                                "RuleAction": "allow",
                                "Egress": False,
                                "CidrBlock": "10.0.0.0/16",
                            },
                            {
                                "RuleNumber": 32767,
                                "Protocol": "-1",
                                "RuleAction": "deny",
                                "Egress": False,
                                "CidrBlock": "0.0.0.0/0",
                            },
                        ],
                    }
                    for subnet, acl in sorted(acls.items())
                ]
            },
            Filters=[{"Name": "association.subnet-id", "Values": sorted(acls)}],
        ),
    ]
