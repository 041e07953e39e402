"""Scenarios of hosts (seed runbook 002: EC2 behind an Application Load Balancer in an auto
scaling group, VPC flow logs), declared with the service kit (``services.py``,
``recipes_hosts.py``). All on 2026-11-20 (UTC), account 123456789012, us-east-1.

- ``alb_bad_deploy_half_targets``: an instance refresh to launch template v8 (app 2.8.0)
  replaces two of ``web-prod-asg``'s four instances and pauses at its 50 % checkpoint; the two
  new targets fail 45 % of their requests (``PricingConfigError``), the old two are fine and
  every target passes its health check. Culprit: the StartInstanceRefresh.
- ``alb_traffic_overload``: traffic to ``web-prod-alb`` nearly triples (a campaign); every
  target slows alike, the load balancer answers some requests 504 itself, the group scales
  out late. Culprit: **none** (a target group attribute change 22 min before, a group size
  change 35 min before).
- ``ec2_cpu_credits_exhausted``: steady traffic growth takes ``web-prod-asg``'s three
  t3.medium (at the group's maximum size) past 80 % CPU and through their CPU credits.
  Culprit: **none** (a launch template version not rolled out, a ModifyInstanceAttribute).
- ``ec2_disk_debug_logging``: an SSM command sets one instance's log level to DEBUG; its root
  volume fills with response bodies. Culprit: the SendCommand.
- ``vpc_rejects_sg_revoked``: a RevokeSecurityGroupIngress on the database's security group
  cuts the app's connections (default flow log format). Culprit: the revoke.
- ``vpc_rejects_new_client``: a new job on a batch host connects to the database, which never
  allowed it (custom flow log format). Culprit: **none** (a bastion rule added 24 min before).
"""

from __future__ import annotations

from incident_lib.scenarios import recipes_hosts as h
from incident_lib.scenarios.services import (
    CI,
    PLATFORM,
    AlarmOn,
    Logs,
    Metric,
    Requests,
    ServiceScenario,
    Traffic,
    api_change,
    fail,
    recorded,
    surge,
)
from incident_lib.scenarios.traffic import day_clock, minutes

DAY = "2026-11-20"


at = day_clock(DAY)


START, END = at("11:00:00"), at("13:20:00")
LB = "app/web-prod-alb/50dc6c495c0c9188"
TG = "targetgroup/web-prod-tg/73e2d6bc24d8a067"
ASG = "web-prod-asg"
APP_LOGS = "/aws/application/prod"
ROUTES = {"GET /products": 0.5, "GET /products/{id}": 0.3, "POST /cart": 0.2}
OLD_ERROR = "TimeoutError: inventory lookup exceeded 2000 ms"
INSTANCES = [f"i-0a1b2c3d4e5f6000{n}" for n in range(1, 5)]
NEW = ["i-0e5f6a7b8c9d00011", "i-0e5f6a7b8c9d00012"]


def _background(streams: list[str]) -> list:
    """What a web tier always has: 2 % not-found, a trickle of an old inventory timeout."""
    out = []
    for s in streams:
        out += [
            fail(s, START, 0.02, status=404, outcome="client_error"),
            fail(s, START, 0.002, status=500, error=OLD_ERROR),
        ]
    return out


def _groups(instances: list[str]) -> dict[str, list[str]]:
    """The account's log groups and their streams: the application's (one per instance), the
    flow logs, a function's."""
    return {
        "/aws/lambda/thumbnailer": ["2026/11/20/[$LATEST]4f1c2a9e0b7d4c3a"],
        APP_LOGS: list(instances),
        "/aws/vpc/flowlogs": ["eni-0a1b2c3d4e5f60718-all"],
    }


def _web_tier(slots: list[h.Slot], *, per_request_cpu: float, base_cpu: float = 8.0) -> dict:
    """Metrics and logs of the tier: the load balancer over every slot, each instance's CPU and
    its application log stream."""
    streams = tuple(s.stream for s in slots)
    metrics: list = [*h.alb_metrics(LB, TG, streams)]
    levels = []
    for slot in slots:
        for instance in slot.instances():
            level = h.alive_level(
                h.cpu_level(
                    [(slot.stream, slot.serving(instance))],
                    base=base_cpu,
                    per_request=per_request_cpu,
                    cap=97.0,
                ),
                lambda index, s=slot, i=instance: s.alive(i, index),
            )
            levels.append(level)
            metrics += h.ec2_metrics(instance, ASG, level)
    metrics.append(h.asg_cpu(ASG, levels))
    answered = h.not_elb  # a request the load balancer answered itself never reached the app
    logs = [
        log for slot in slots for log in h.host_logs(APP_LOGS, slot, h.app_access_line, answered)
    ]
    return {"metrics": metrics, "logs": logs}


# -- a bad deploy on half the targets --------------------------------------------------------
REFRESH, IN_SERVICE = at("12:12:00"), at("12:16:30")
DEPLOY_SLOTS = [
    h.Slot("slot1", INSTANCES[0], NEW[0], IN_SERVICE),
    h.Slot("slot2", INSTANCES[1], NEW[1], IN_SERVICE),
    h.Slot("slot3", INSTANCES[2]),
    h.Slot("slot4", INSTANCES[3]),
]
BAD = "PricingConfigError: PRICING_API_URL is not set (pricing client not initialised)"
_DEPLOY_TIER = _web_tier(DEPLOY_SLOTS, per_request_cpu=0.45)
_REFRESH_ACTIVITIES = [
    h.activity(
        ASG,
        at("12:13:05"),
        f"Launching a new EC2 instance: {n}",
        f"At {at('12:13:01'):%Y-%m-%dT%H:%M:%SZ} an instance was launched in response to an "
        "instance refresh.",
        seconds=210,
    )
    for n in NEW
] + [
    h.activity(
        ASG,
        at("12:16:40"),
        f"Terminating EC2 instance: {o}",
        f"At {at('12:16:35'):%Y-%m-%dT%H:%M:%SZ} an instance was taken out of service in "
        "response to an instance refresh.",
        seconds=320,
    )
    for o in INSTANCES[:2]
]
BAD_DEPLOY = ServiceScenario(
    name="alb_bad_deploy_half_targets",
    alert_type="alb_5xx",
    description="an instance refresh puts app 2.8.0 on two of four targets: web-prod-alb's "
    "target 5XX alarm fires",
    start=START,
    end=END,
    requests=[Requests(s.stream, Traffic(50, 75, duration_ms=45), ROUTES) for s in DEPLOY_SLOTS],
    effects=[
        *_background([s.stream for s in DEPLOY_SLOTS]),
        fail("slot1", IN_SERVICE, 0.45, status=500, error=BAD),
        fail("slot2", IN_SERVICE, 0.45, status=500, error=BAD),
    ],
    metrics=[
        *_DEPLOY_TIER["metrics"],
        *h.target_health_metrics(
            LB,
            TG,
            h.step_level([(None, 4.0), (at("12:13:30"), 4.0), (at("12:17:00"), 4.0)]),
            h.step_level([(None, 0.0), (at("12:13:30"), 2.0), (at("12:16:00"), 0.0)]),
        ),
    ],
    logs=_DEPLOY_TIER["logs"],
    changes=[
        api_change(
            at("11:31:40"),
            "AuthorizeSecurityGroupIngress",
            "ec2.amazonaws.com",
            [("AWS::EC2::SecurityGroup", "sg-0bastion77aa11bb2")],
            {"groupId": "sg-0bastion77aa11bb2", "ipPermissions": {"items": [{"fromPort": 22}]}},
        ),
        api_change(
            at("12:11:10"),
            "CreateLaunchTemplateVersion",
            "ec2.amazonaws.com",
            [("AWS::EC2::LaunchTemplate", "lt-0a9b8c7d6e5f40312")],
            {
                "CreateLaunchTemplateVersionRequest": {
                    "LaunchTemplateId": "lt-0a9b8c7d6e5f40312",
                    "SourceVersion": "7",
                    "VersionDescription": "web 2.8.0",
                    "LaunchTemplateData": {"ImageId": "ami-0f2e3d4c5b6a79801"},
                }
            },
            who=CI,
        ),
        api_change(
            REFRESH,
            "StartInstanceRefresh",
            "autoscaling.amazonaws.com",
            [("AWS::AutoScaling::AutoScalingGroup", ASG)],
            {
                "autoScalingGroupName": ASG,
                "strategy": "Rolling",
                "desiredConfiguration": {
                    "launchTemplate": {"launchTemplateName": "web-prod-lt", "version": "8"}
                },
                "preferences": {
                    "minHealthyPercentage": 50,
                    "checkpointPercentages": [50],
                    "checkpointDelay": 3600,
                },
            },
            response={"instanceRefreshId": "c7a1d0e2-6b3f-4f0e-9d55-1e2f3a4b5c6d"},
            who=CI,
            culprit=True,
            what="instance refresh of web-prod-asg to launch template v8 (web 2.8.0)",
        ),
    ],
    calls=[
        *h.alb_calls(LB, TG, {i: "healthy" for i in [*NEW, *INSTANCES[2:]]}),
        *h.asg_calls(
            ASG,
            {i: "InService" for i in [*NEW, *INSTANCES[2:]]},
            _REFRESH_ACTIVITIES[::-1],
            desired=4,
            target_group=TG,
            template_version="8",
        ),
        h.describe_instances(
            [
                *[
                    h.instance_item(
                        i,
                        ASG,
                        ip=f"10.0.1.{11 + n}",
                        template_version="8",
                        launched=at("12:13:01").isoformat(),
                    )
                    for n, i in enumerate(NEW)
                ],
                *[
                    h.instance_item(i, ASG, ip=f"10.0.1.{21 + n}")
                    for n, i in enumerate(INSTANCES[2:])
                ],
            ],
            InstanceIds=sorted([*NEW, *INSTANCES[2:]]),
        ),
        *h.log_group_calls(_groups([*NEW, *INSTANCES[2:]]), NEW[0]),
    ],
    alarm=AlarmOn(
        "web-prod-alb-target-5xx",
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
        {"LoadBalancer": LB, "TargetGroup": TG},
        threshold=20,
    ),
    cause="an instance refresh of web-prod-asg to launch template v8 puts app 2.8.0 on two "
    f"of four targets ({NEW[0]}, {NEW[1]}), which fail with PricingConfigError",
    must_say=[NEW[0], NEW[1], "PricingConfigError", "The targets answer the 5XX"],
    resources={"load_balancer": LB, "target_group": TG, "asg": ASG, "app_log_group": APP_LOGS},
)


# -- a traffic overload, no culprit ----------------------------------------------------------
CAMPAIGN = at("12:20:00")
OVERLOAD_SLOTS = [h.Slot(f"slot{n + 1}", i) for n, i in enumerate(INSTANCES)]
_OVERLOAD_TIER = _web_tier(OVERLOAD_SLOTS, per_request_cpu=0.5, base_cpu=10.0)
_OVERLOAD_EFFECTS: list = [*_background([s.stream for s in OVERLOAD_SLOTS])]
for _s in OVERLOAD_SLOTS:
    _OVERLOAD_EFFECTS += [
        surge(_s.stream, CAMPAIGN, 2.8, ramp=minutes(6)),
        # Queueing on every host: most requests wait, and more the more traffic there is.
        fail(_s.stream, CAMPAIGN, 0.8, ramp=minutes(6), status=200, outcome="ok", latency_ms=1500),
        fail(
            _s.stream,
            at("12:24:00"),
            0.02,
            status=504,
            outcome="elb_timeout",
            latency_ms=60000,
            error="504 Gateway Time-out",
        ),
    ]
OVERLOAD = ServiceScenario(
    name="alb_traffic_overload",
    alert_type="alb_latency",
    description="a traffic surge slows every target of web-prod-alb: its p99 latency alarm "
    "fires; no culprit change",
    start=START,
    end=END,
    requests=[Requests(s.stream, Traffic(55, 70, duration_ms=60), ROUTES) for s in OVERLOAD_SLOTS],
    effects=_OVERLOAD_EFFECTS,
    metrics=[*_OVERLOAD_TIER["metrics"], *h.target_health_metrics(LB, TG, 4.0)],
    logs=_OVERLOAD_TIER["logs"],
    changes=[
        api_change(
            at("11:45:10"),
            "UpdateAutoScalingGroup",
            "autoscaling.amazonaws.com",
            [("AWS::AutoScaling::AutoScalingGroup", ASG)],
            {"autoScalingGroupName": ASG, "maxSize": 8},
            what="UpdateAutoScalingGroup of web-prod-asg (MaxSize 6 -> 8)",
        ),
        api_change(
            at("11:58:20"),
            "ModifyTargetGroupAttributes",
            "elasticloadbalancing.amazonaws.com",
            [("AWS::ElasticLoadBalancingV2::TargetGroup", h.arn_of("targetgroup", TG))],
            {
                "targetGroupArn": h.arn_of("targetgroup", TG),
                "attributes": [{"key": "deregistration_delay.timeout_seconds", "value": "30"}],
            },
            who=PLATFORM,
        ),
    ],
    calls=[
        *h.alb_calls(LB, TG, {i: "healthy" for i in INSTANCES}),
        *h.asg_calls(
            ASG,
            {**{i: "InService" for i in INSTANCES}, "i-0c7d8e9f0a1b20031": "Pending"},
            [
                h.activity(
                    ASG,
                    at("12:31:10"),
                    "Launching a new EC2 instance: i-0c7d8e9f0a1b20031",
                    f"At {at('12:31:02'):%Y-%m-%dT%H:%M:%SZ} a monitor alarm "
                    "web-prod-asg-cpu-high in state ALARM triggered policy cpu-target-60 "
                    "changing the desired capacity from 4 to 5.",
                    status="InProgress",
                ),
            ],
            desired=5,
            target_group=TG,
        ),
        h.describe_instances(
            [h.instance_item(i, ASG, ip=f"10.0.1.{21 + n}") for n, i in enumerate(INSTANCES)],
            InstanceIds=sorted(INSTANCES),
        ),
        *h.log_group_calls(_groups(INSTANCES), INSTANCES[0]),
    ],
    alarm=AlarmOn(
        "web-prod-alb-p99-latency",
        "AWS/ApplicationELB",
        "TargetResponseTime",
        {"LoadBalancer": LB},
        threshold=1.0,
        statistic="p99",
    ),
    cause="traffic to web-prod-alb nearly triples (a surge, no change): every target slows "
    "alike and the load balancer answers some requests 504",
    must_say=["Requests per minute rose", "no target stands out", "504"],
    resources={"load_balancer": LB, "target_group": TG, "asg": ASG, "app_log_group": APP_LOGS},
)

# -- CPU credits running out under steady growth, no culprit ---------------------------------
GROWTH = at("12:08:00")
CPU_INSTANCES = [f"i-0d4e5f6a7b8c9000{n}" for n in range(1, 4)]
CPU_SLOTS = [h.Slot(f"slot{n + 1}", i) for n, i in enumerate(CPU_INSTANCES)]
T3_MEDIUM = {"vcpus": 2, "baseline_pct": 20.0, "balance": 50.0, "max_balance": 576.0}


def _cpu_tier() -> dict:
    """Three t3.medium (unlimited) behind the load balancer, CPU tracking their requests."""
    streams = tuple(s.stream for s in CPU_SLOTS)
    metrics: list = [*h.alb_metrics(LB, TG, streams), *h.target_health_metrics(LB, TG, 3.0)]
    levels = []
    for slot in CPU_SLOTS:
        level = h.cpu_level([(slot.stream, None)], base=6.0, per_request=0.7, cap=99.0)
        levels.append(level)
        metrics += h.ec2_metrics(slot.instance, ASG, level, burstable=T3_MEDIUM, noise=0.03)
    metrics.append(h.asg_cpu(ASG, levels))
    return {"metrics": metrics}


_CPU_EFFECTS: list = [*_background([s.stream for s in CPU_SLOTS])]
for _s in CPU_SLOTS:
    _CPU_EFFECTS.append(surge(_s.stream, GROWTH, 2.4, ramp=minutes(30)))
CPU_CREDITS = ServiceScenario(
    name="ec2_cpu_credits_exhausted",
    alert_type="ec2_cpu",
    description="steady traffic growth drives web-prod-asg's t3.medium instances past 80 % CPU "
    "and through their CPU credits; no culprit change",
    start=START,
    end=END,
    requests=[Requests(s.stream, Traffic(45, 50, duration_ms=45), ROUTES) for s in CPU_SLOTS],
    effects=_CPU_EFFECTS,
    onset=GROWTH,
    metrics=_cpu_tier()["metrics"],
    changes=[
        api_change(
            at("11:44:30"),
            "CreateLaunchTemplateVersion",
            "ec2.amazonaws.com",
            [("AWS::EC2::LaunchTemplate", "lt-0a9b8c7d6e5f40312")],
            {
                "CreateLaunchTemplateVersionRequest": {
                    "LaunchTemplateId": "lt-0a9b8c7d6e5f40312",
                    "SourceVersion": "7",
                    "VersionDescription": "web 2.7.4 (security patches)",
                    "LaunchTemplateData": {"ImageId": "ami-0e1f2a3b4c5d6e7f8"},
                }
            },
            who=CI,
            what="launch template web-prod-lt v8 (new AMI, not rolled out)",
        ),
        api_change(
            at("11:52:05"),
            "ModifyInstanceAttribute",
            "ec2.amazonaws.com",
            [("AWS::EC2::Instance", CPU_INSTANCES[2])],
            {"instanceId": CPU_INSTANCES[2], "disableApiTermination": {"value": True}},
            who=PLATFORM,
        ),
    ],
    calls=[
        describe
        for describe in [
            h.describe_instances(
                [h.instance_item(CPU_INSTANCES[2], ASG, ip="10.0.1.33")],
                InstanceIds=[CPU_INSTANCES[2]],
            ),
            h.describe_instances(
                [
                    h.instance_item(i, ASG, ip=f"10.0.1.{31 + n}")
                    for n, i in enumerate(CPU_INSTANCES)
                ],
                InstanceIds=sorted(CPU_INSTANCES),
            ),
        ]
    ]
    + [
        *h.asg_calls(
            ASG,
            {i: "InService" for i in CPU_INSTANCES},
            [
                h.activity(
                    ASG,
                    at("09:12:40"),
                    f"Launching a new EC2 instance: {CPU_INSTANCES[2]}",
                    "At 2026-11-20T09:12:31Z an instance was started in response to a "
                    "difference between desired and actual capacity, increasing the capacity "
                    "from 2 to 3.",
                )
            ],
            desired=3,
            max_size=3,
            target_group=TG,
        ),
        *h.alb_calls(LB, TG, {i: "healthy" for i in CPU_INSTANCES}),
        recorded(
            "elbv2",
            "DescribeTargetGroups",
            {
                "TargetGroups": [
                    {
                        "TargetGroupArn": h.arn_of("targetgroup", TG),
                        "TargetGroupName": TG.split("/")[1],
                        "LoadBalancerArns": [h.arn_of("loadbalancer", LB)],
                    }
                ]
            },
            TargetGroupArns=[h.arn_of("targetgroup", TG)],
        ),
        h.launch_template_versions(
            "lt-0a9b8c7d6e5f40312",
            "web-prod-lt",
            [
                {
                    "number": 8,
                    "created": at("11:44:30").isoformat(),
                    "description": "web 2.7.4 (security patches)",
                    "image": "ami-0e1f2a3b4c5d6e7f8",
                },
                {
                    "number": 7,
                    "created": "2026-11-02T09:05:12+00:00",
                    "description": "web 2.7.3",
                    "default": True,
                },
            ],
        ),
    ],
    alarm=AlarmOn(
        "web-prod-cpu-high-i-0d4e5f6a7b8c90003",
        "AWS/EC2",
        "CPUUtilization",
        {"InstanceId": CPU_INSTANCES[2]},
        threshold=80,
        statistic="Average",
        evaluation_periods=3,
        datapoints_to_alarm=3,
        page="first",
    ),
    cause="traffic to web-prod-alb grows steadily (×2.4 over 30 min); every t3.medium of "
    "web-prod-asg climbs past 80 % CPU and spends its CPU credits; no change, the group is "
    "at its maximum size (3)",
    must_say=["Requests per minute rose", "all 3 instances", "CPU credit"],
    resources={"instance": CPU_INSTANCES[2], "asg": ASG, "load_balancer": LB},
)

# -- a disk filling with DEBUG logs after a config change -------------------------------------
DEBUG_AT = at("12:05:00")
DISK_INSTANCES = [f"i-0f1e2d3c4b5a6000{n}" for n in range(1, 4)]
DISK_SLOTS = [h.Slot(f"slot{n + 1}", i) for n, i in enumerate(DISK_INSTANCES)]
_WRITTEN = [
    h.log_bytes("slot1", info_bytes=450, debug_bytes=254_000, debug_from=DEBUG_AT),
    h.log_bytes("slot2", info_bytes=450),
    h.log_bytes("slot3", info_bytes=450),
]
ROOT = ("/", "nvme0n1p1", "xfs")
DISK_FULL = ServiceScenario(
    name="ec2_disk_debug_logging",
    alert_type="ec2_disk",
    description="an SSM command sets one instance's log level to DEBUG: its root volume fills "
    "with response bodies and the disk alarm fires",
    start=START,
    end=END,
    requests=[Requests(s.stream, Traffic(55, 65, duration_ms=45), ROUTES) for s in DISK_SLOTS],
    effects=[*_background([s.stream for s in DISK_SLOTS])],
    onset=DEBUG_AT,
    metrics=[
        *h.disk_metrics(
            DISK_INSTANCES[0],
            [
                (*ROOT, h.disk_used(_WRITTEN[0], start_pct=74.8, size_gib=8)),
                ("/data", "nvme1n1", "xfs", h.disk_used(None, start_pct=41.2, size_gib=100)),
            ],
        ),
        *h.disk_metrics(
            DISK_INSTANCES[1], [(*ROOT, h.disk_used(_WRITTEN[1], start_pct=62.3, size_gib=8))]
        ),
        *h.disk_metrics(
            DISK_INSTANCES[2], [(*ROOT, h.disk_used(_WRITTEN[2], start_pct=63.1, size_gib=8))]
        ),
        *h.log_group_metrics(APP_LOGS, _WRITTEN),
    ],
    logs=[
        *[log for slot in DISK_SLOTS for log in h.host_logs(APP_LOGS, slot, h.app_access_line)],
        *h.host_logs(APP_LOGS, DISK_SLOTS[0], h.debug_line, lambda f: f["time"] >= DEBUG_AT),
    ],
    changes=[
        api_change(
            at("11:40:15"),
            "PutRetentionPolicy",
            "logs.amazonaws.com",
            [("AWS::Logs::LogGroup", APP_LOGS)],
            {"logGroupName": APP_LOGS, "retentionInDays": 30},
            who=PLATFORM,
        ),
        api_change(
            DEBUG_AT,
            "SendCommand",
            "ssm.amazonaws.com",
            [
                ("AWS::EC2::Instance", DISK_INSTANCES[0]),
                ("AWS::SSM::Document", "AWS-RunShellScript"),
            ],
            {
                "documentName": "AWS-RunShellScript",
                "instanceIds": [DISK_INSTANCES[0]],
                "comment": "web: log level DEBUG to chase PROD-4411 (sed logging.yaml, reload)",
                "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS",
            },
            response={"command": {"commandId": "5c2f7a1e-3b4d-4e8f-9a0b-1c2d3e4f5a6b"}},
            who=PLATFORM,
            culprit=True,
            what="SSM SendCommand on i-0f1e2d3c4b5a60001: log level DEBUG",
        ),
    ],
    calls=[
        h.describe_instances(
            [h.instance_item(DISK_INSTANCES[0], ASG, ip="10.0.1.41")],
            InstanceIds=[DISK_INSTANCES[0]],
        ),
        *h.log_group_calls(_groups(DISK_INSTANCES), DISK_INSTANCES[0]),
    ],
    alarm=AlarmOn(
        "web-prod-disk-root-i-0f1e2d3c4b5a60001",
        "CWAgent",
        "disk_used_percent",
        {"InstanceId": DISK_INSTANCES[0], "path": "/", "device": "nvme0n1p1", "fstype": "xfs"},
        threshold=80,
        statistic="Average",
        evaluation_periods=3,
        datapoints_to_alarm=3,
        page="first",
    ),
    cause="an SSM command sets i-0f1e2d3c4b5a60001's log level to DEBUG: each request logs "
    "its response body and the root volume (/) fills at ~10 % an hour",
    must_say=["DEBUG", "full in about", "SendCommand"],
    resources={"instance": DISK_INSTANCES[0], "app_log_group": APP_LOGS},
)

# -- a security group change cuts app -> database traffic -------------------------------------
FLOW_LOGS = "/aws/vpc/flowlogs"
REVOKE = at("12:14:20")
DB_IP, DB_ENI, DB_SG = "10.0.2.30", "eni-0db5432aa11bb22cc", "sg-0db1c2d3e4f5a6b7c"
DB_SUBNET, DB_ACL = "subnet-0db0a1b2c3d4e5f60", "acl-0db9f8e7d6c5b4a39"
APP_SG = "sg-0app5c0ffee123456"
APP_IPS = ["10.0.1.21", "10.0.1.22", "10.0.1.23"]
ALB_IPS = ["10.0.0.14", "10.0.0.87"]
SCANNERS = ["198.51.100.23", "203.0.113.77", "192.0.2.41", "45.155.205.12", "185.220.101.9"]
ENI_OF = {
    DB_IP: DB_ENI,
    **{ip: f"eni-0app00000000000{n + 1}" for n, ip in enumerate(APP_IPS)},
}
_FLOWS = ("app_db", "alb_app", "scan")
SG_REVOKED = ServiceScenario(
    name="vpc_rejects_sg_revoked",
    alert_type="vpc_rejects",
    description="a RevokeSecurityGroupIngress on the database's security group cuts the app's "
    "connections to Postgres: the flow logs' REJECT count alarm fires",
    start=START,
    end=END,
    requests=[
        Requests("app_db", Traffic(100, 130, duration_ms=5), {f"{DB_IP}:5432": 1.0}, APP_IPS),
        Requests(
            "alb_app",
            Traffic(140, 170, duration_ms=5),
            {f"{ip}:8080": 1 / 3 for ip in APP_IPS},
            ALB_IPS,
        ),
        Requests(
            "scan",
            Traffic(10, 16, duration_ms=5),
            {f"{ip}:{port}": 1.0 for ip in APP_IPS for port in (22, 23, 3389, 445)},
            SCANNERS,
        ),
    ],
    effects=[
        fail("scan", START, 1.0, status=0, outcome="reject"),
        fail("app_db", REVOKE, 1.0, status=0, outcome="reject"),
    ],
    onset=REVOKE,
    metrics=[
        Metric(
            "VPCFlowLogs",
            "RejectedConnections",
            {},
            _FLOWS,
            "count",
            lambda f: f["outcome"] == "reject",
        )
    ],
    logs=[
        Logs(FLOW_LOGS, flow, h.flow_log_line(ENI_OF), stream_names=(f"{DB_ENI}-all",))
        for flow in _FLOWS
    ],
    changes=[
        api_change(
            at("11:49:30"),
            "ReplaceNetworkAclEntry",
            "ec2.amazonaws.com",
            [("AWS::EC2::NetworkAcl", DB_ACL)],
            {
                "networkAclId": DB_ACL,
                "ruleNumber": 100,
                "egress": False,
                "ruleAction": "allow",
                "protocol": "-1",
                "cidrBlock": "10.0.0.0/16",
            },
            who=PLATFORM,
        ),
        api_change(
            REVOKE,
            "RevokeSecurityGroupIngress",
            "ec2.amazonaws.com",
            [("AWS::EC2::SecurityGroup", DB_SG)],
            {
                "groupId": DB_SG,
                "ipPermissions": {
                    "items": [
                        {
                            "ipProtocol": "tcp",
                            "fromPort": 5432,
                            "toPort": 5432,
                            "groups": {"items": [{"groupId": APP_SG}]},
                        }
                    ]
                },
            },
            response={"_return": True},
            who=PLATFORM,
            culprit=True,
            what=f"RevokeSecurityGroupIngress on {DB_SG}: tcp 5432 from {APP_SG}",
        ),
    ],
    calls=[
        *h.flow_log_calls(FLOW_LOGS, metric=("VPCFlowLogs", "RejectedConnections")),
        *h.network_calls(
            {
                DB_ENI: {
                    "ip": DB_IP,
                    "subnet": DB_SUBNET,
                    "groups": [DB_SG],
                    "description": "RDSNetworkInterface",
                }
            },
            {
                DB_SG: [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 5432,
                        "ToPort": 5432,
                        "UserIdGroupPairs": [{"GroupId": "sg-0bastion77aa11bb2"}],
                        "IpRanges": [],
                    }
                ]
            },
            {DB_SUBNET: DB_ACL},
        ),
    ],
    alarm=AlarmOn(
        "vpc-flowlogs-rejects",
        "VPCFlowLogs",
        "RejectedConnections",
        {},
        threshold=50,
    ),
    cause=f"a RevokeSecurityGroupIngress removes tcp 5432 from {APP_SG} on the database's "
    f"security group {DB_SG}: every app connection to {DB_IP}:5432 is rejected",
    must_say=[f"{DB_IP}", "5432", DB_SG],
    resources={"flow_log_group": FLOW_LOGS, "security_group": DB_SG},
)

# -- a new client the security group never allowed, custom flow log format, no culprit -------
CUSTOM_FLOW_LOGS = "/vpc/prod/flow-logs-v5"
V5_FORMAT = (
    "${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} "
    "${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${tcp-flags} "
    "${flow-direction}"
)
BATCH_IP, BATCH_START = "10.0.3.15", at("12:20:00")
_NEW_FLOWS = ("app_db", "scan", "batch")
NEW_CLIENT = ServiceScenario(
    name="vpc_rejects_new_client",
    alert_type="vpc_rejects",
    description="a new reporting job on a batch host starts connecting to the database its "
    "security group never allowed: the REJECT count alarm fires; no culprit change",
    start=START,
    end=END,
    requests=[
        Requests("app_db", Traffic(100, 130, duration_ms=5), {f"{DB_IP}:5432": 1.0}, APP_IPS),
        Requests(
            "scan",
            Traffic(10, 16, duration_ms=5),
            {f"{ip}:{port}": 1.0 for ip in APP_IPS for port in (22, 23, 3389, 445)},
            SCANNERS,
        ),
        # Next to nothing before the job starts (its traffic is the surge).
        Requests("batch", Traffic(0.01, 0.01, duration_ms=5), {f"{DB_IP}:5432": 1.0}, [BATCH_IP]),
    ],
    effects=[
        fail("scan", START, 1.0, status=0, outcome="reject"),
        fail("batch", START, 1.0, status=0, outcome="reject"),
        surge("batch", BATCH_START, 9000.0, ramp=minutes(1)),
    ],
    onset=BATCH_START,
    metrics=[
        Metric(
            "VPC/FlowLogs",
            "RejectCount",
            {},
            _NEW_FLOWS,
            "count",
            lambda f: f["outcome"] == "reject",
        )
    ],
    logs=[
        Logs(
            CUSTOM_FLOW_LOGS,
            flow,
            h.flow_log_line(ENI_OF, log_format=V5_FORMAT, subnet_of={DB_IP: DB_SUBNET}),
            stream_names=(f"{DB_ENI}-all",),
        )
        for flow in _NEW_FLOWS
    ],
    changes=[
        api_change(
            at("11:56:10"),
            "AuthorizeSecurityGroupIngress",
            "ec2.amazonaws.com",
            [("AWS::EC2::SecurityGroup", DB_SG)],
            {
                "groupId": DB_SG,
                "ipPermissions": {
                    "items": [
                        {
                            "ipProtocol": "tcp",
                            "fromPort": 5432,
                            "toPort": 5432,
                            "groups": {"items": [{"groupId": "sg-0bastion77aa11bb2"}]},
                        }
                    ]
                },
            },
            who=PLATFORM,
        ),
    ],
    calls=[
        *h.flow_log_calls(
            CUSTOM_FLOW_LOGS,
            metric=("VPC/FlowLogs", "RejectCount"),
            log_format=V5_FORMAT,
            pattern="[vpc, subnet, instance, eni, source, destination, srcport, destport, "
            "protocol, packets, bytes, windowstart, windowend, action=REJECT, flags, direction]",
        ),
        *h.network_calls(
            {
                DB_ENI: {
                    "ip": DB_IP,
                    "subnet": DB_SUBNET,
                    "groups": [DB_SG],
                    "description": "RDSNetworkInterface",
                }
            },
            {
                DB_SG: [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 5432,
                        "ToPort": 5432,
                        "UserIdGroupPairs": [
                            {"GroupId": APP_SG},
                            {"GroupId": "sg-0bastion77aa11bb2"},
                        ],
                        "IpRanges": [],
                    }
                ]
            },
            {DB_SUBNET: DB_ACL},
        ),
    ],
    alarm=AlarmOn("vpc-prod-reject-count", "VPC/FlowLogs", "RejectCount", {}, threshold=40),
    cause=f"a new reporting job on {BATCH_IP} connects to {DB_IP}:5432, which the database's "
    f"security group {DB_SG} never allowed from it; no change (an ingress rule added for the "
    "bastion 24 min before is ruled out)",
    must_say=[BATCH_IP, "5432", "No related change found"],
    resources={"flow_log_group": CUSTOM_FLOW_LOGS, "security_group": DB_SG},
)

ALL = tuple(
    s.register() for s in (BAD_DEPLOY, OVERLOAD, CPU_CREDITS, DISK_FULL, SG_REVOKED, NEW_CLIENT)
)
