"""Scenarios of the ECS and Prometheus alert types (seed runbook 004: an ECS service on Fargate
whose alerts come from Prometheus, with a Postgres database), declared with the service kit and
``recipes_ecs.py``. All on 2026-11-23 (UTC), account 123456789012, us-east-1.

- ``prom_error_rate_bad_image``: a deploy of ``ai-processor`` (task definition revision 15,
  image 1.9.0) fails ``POST /api/v1/process`` with 500s (``AttributeError`` in the new code);
  Prometheus' ``HighErrorRate`` fires. Culprit: the UpdateService of the deploy. A scale-out of
  the same service 40 min earlier is ruled out.
- ``prom_latency_db_slowdown``: ``report-api``'s Postgres slows (queries wait on locks); the
  routes that read it slow to ~2.5 s and ``HighLatencyP95`` fires. Culprit: **none** (a clean
  deploy of report-api 40 min before, which the findings must rule out).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from incident_lib.scenarios import recipes as r
from incident_lib.scenarios import recipes_ecs as e
from incident_lib.scenarios.services import (
    AlarmOn,
    Context,
    Gauge,
    Logs,
    Requests,
    Traffic,
    api_change,
    fail,
)
from incident_lib.scenarios.traffic import day_clock

DAY = "2026-11-23"


at = day_clock(DAY)


def _kind_part(i: int):
    """The method (0) or the path (1) of a ``"METHOD /path"`` kind, as a label."""
    return lambda f: f["kind"].str.split(" ", n=1).str[i].to_numpy()


def _status(f: pd.DataFrame):
    return f["status"].astype(str).to_numpy()


def _error_type(f: pd.DataFrame):
    """The ``type`` label of ``http_errors_total``, from the error each request raised."""
    err = f["error"].astype(str)
    return np.where(
        err.str.startswith("ValidationError"),
        "validation",
        np.where(err.str.startswith("TimeoutError"), "timeout", "internal"),
    )


def http_series(service: str, stream: str, deployments) -> list:
    """What a FastAPI service instrumented with prometheus-client exposes: requests by handler,
    method and status, errors by type, the request duration histogram, per task."""
    base = {"job": service, "service": service}
    inst = e.instance_of(service, deployments)
    by = {"instance": inst, "method": _kind_part(0), "handler": _kind_part(1), "status": _status}
    return [
        e.PromCounter("http_requests_total", stream, base, by),
        e.PromCounter(
            "http_errors_total",
            stream,
            base,
            {"instance": inst, "type": _error_type},
            where=lambda f: f["status"] >= 400,
        ),
        e.PromHistogram(
            "http_request_duration_seconds",
            stream,
            base,
            {"instance": inst, "handler": _kind_part(1)},
        ),
    ]


def task_series(service: str, deployments, *, cpu: float, memory_mb: float, limit_mb: int) -> list:
    """cAdvisor-style container series of each task: CPU seconds, memory used and its limit."""
    out: list = []
    for d in deployments:
        for t in d.ids(service):
            labels = {"job": "ecs-tasks", "container": "app", "ecs_service": service, "task": t}
            alive = (d.start, d.stop)
            out += [
                e.PromGauge("container_cpu_usage_seconds_total", labels, cpu, 0.08, True, alive),
                e.PromGauge(
                    "container_memory_usage_bytes", labels, memory_mb * 2**20, 0.01, False, alive
                ),
                e.PromGauge(
                    "container_spec_memory_limit_bytes", labels, limit_mb * 2**20, 0.0, False, alive
                ),
            ]
    return out


def up_series(service: str, deployments) -> list:
    return [
        e.PromGauge(
            "up",
            {"job": service, "instance": e.task_ip(t)},
            1.0,
            0.0,
            False,
            (d.start, d.stop),
        )
        for d in deployments
        for t in d.ids(service)
    ]


# -- prom_error_rate: a bad image ----------------------------------------------------------------
PROCESSOR = "ai-processor"
PROCESSOR_CLUSTER = "ai-processor-prod"
PROCESSOR_ROUTES = {
    "POST /api/v1/process": 0.6,
    "GET /api/v1/jobs/{id}": 0.3,
    "GET /api/v1/models": 0.1,
}
P_START, P_END = at("11:00:00"), at("13:00:00")
P_DEPLOY, P_SERVING = at("12:20:10"), at("12:22:00")
P_TD14 = e.TaskDefinition(
    PROCESSOR,
    14,
    f"{r.ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{PROCESSOR}:1.8.2",
    environment={"MODEL_ENDPOINT": "http://models.internal:8080", "LOG_LEVEL": "INFO"},
    registered=at("08:12:31"),
)
P_TD15 = e.TaskDefinition(
    PROCESSOR,
    15,
    f"{r.ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{PROCESSOR}:1.9.0",
    environment=dict(P_TD14.environment),
    registered=P_DEPLOY - pd.Timedelta(seconds=35),
)
P_DEPLOYMENTS = (
    e.Deployment(14, P_START - pd.Timedelta(hours=4), P_SERVING, tasks=3),
    e.Deployment(15, P_SERVING, None, tasks=3),
)
BAD_CODE = (
    "AttributeError: 'NoneType' object has no attribute 'tokenize' "
    "(processor/pipeline.py:88 in run_batch)"
)
P_TIMEOUT = "TimeoutError: model endpoint did not respond within 30 s"
P_LOG_GROUP = f"/ecs/{PROCESSOR}"

BAD_IMAGE = e.PrometheusScenario(
    name="prom_error_rate_bad_image",
    alert_type="prom_error_rate",
    description="a deploy of ai-processor (image 1.9.0) fails POST /api/v1/process with 500s: "
    "Prometheus HighErrorRate fires",
    start=P_START,
    end=P_END,
    requests=[Requests("api", Traffic(50, 110, duration_ms=180), PROCESSOR_ROUTES)],
    effects=[
        fail(
            "api",
            P_START,
            0.02,
            status=400,
            outcome="client_error",
            error="ValidationError: payload exceeds 1 MB",
        ),
        fail("api", P_START, 0.003, status=504, error=P_TIMEOUT),
        fail("api", P_SERVING, 0.45, kinds=["POST /api/v1/process"], status=500, error=BAD_CODE),
    ],
    logs=[Logs(P_LOG_GROUP, "api", e.app_log_line(PROCESSOR))],
    tasks=e.task_of(PROCESSOR, P_DEPLOYMENTS),
    prometheus=[
        *http_series(PROCESSOR, "api", P_DEPLOYMENTS),
        *task_series(PROCESSOR, P_DEPLOYMENTS, cpu=0.18, memory_mb=410, limit_mb=1024),
        *up_series(PROCESSOR, P_DEPLOYMENTS),
    ],
    alarm=None,  # the alarm is the Prometheus rule below
    rule=e.PromRule(
        "HighErrorRate",
        f'sum by (service) (rate(http_requests_total{{service="{PROCESSOR}",status=~"5.."}}[5m])) '
        f'/ sum by (service) (rate(http_requests_total{{service="{PROCESSOR}"}}[5m])) > 0.1',
        # Prometheus' external labels name the cluster it scrapes.
        labels={"severity": "warning", "team": "ml-platform", "cluster": PROCESSOR_CLUSTER},
        annotations={
            "summary": "High error rate on {{ $labels.service }}",
            "description": "{{ $value }} of requests answered 5xx over 5 minutes (above 10%)",
        },
    ),
    changes=[
        api_change(
            at("11:40:12"),
            "UpdateService",
            "ecs.amazonaws.com",
            [("AWS::ECS::Service", PROCESSOR), ("AWS::ECS::Cluster", PROCESSOR_CLUSTER)],
            {"cluster": PROCESSOR_CLUSTER, "service": PROCESSOR, "desiredCount": 3},
            what="scale-out of ai-processor to 3 tasks",
        ),
        e.ecs_deploy_change(P_DEPLOY, PROCESSOR_CLUSTER, PROCESSOR, P_TD15, culprit=True),
    ],
    calls=[
        e.describe_services(
            PROCESSOR_CLUSTER,
            PROCESSOR,
            [
                e.ecs_deployment(
                    PROCESSOR_CLUSTER,
                    PROCESSOR,
                    P_TD15,
                    status="PRIMARY",
                    rollout="COMPLETED",
                    desired=3,
                    running=3,
                    created=P_DEPLOY,
                    updated=P_SERVING + pd.Timedelta(minutes=2),
                    reason="ECS deployment ecs-svc completed.",
                ),
            ],
            desired=3,
            running=3,
            events=[
                (
                    P_DEPLOY + pd.Timedelta(seconds=20),
                    f"(service {PROCESSOR}) has started 3 tasks: (task 1) (task 2) (task 3).",
                ),
                (
                    P_SERVING + pd.Timedelta(minutes=2),
                    f"(service {PROCESSOR}) has reached a steady state.",
                ),
            ],
        ),
        *e.describe_task_definitions(P_TD14, P_TD15),
    ],
    onset=P_SERVING,
    cause="a deploy of ai-processor (task definition ai-processor:15, image 1.9.0) fails "
    "POST /api/v1/process with 500s (AttributeError)",
    must_say=["/api/v1/process", "AttributeError", "1.9.0"],
    resources={"service": PROCESSOR, "cluster": PROCESSOR_CLUSTER, "log_group": P_LOG_GROUP},
)


# -- prom_latency: the database slows, no change of ours -------------------------------------------
REPORTS = "report-api"
REPORTS_CLUSTER = "analytics-prod"
REPORT_ROUTES = {
    "GET /api/v1/reports/{id}": 0.5,
    "POST /api/v1/reports": 0.3,
    "GET /api/v1/templates": 0.2,
}
DB_ROUTES = ["GET /api/v1/reports/{id}", "POST /api/v1/reports"]
L_START, L_END = at("11:00:00"), at("13:00:00")
L_SLOW = at("12:15:00")
L_DEPLOY = at("11:35:20")
L_TD22 = e.TaskDefinition(
    REPORTS,
    22,
    f"{r.ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{REPORTS}:3.4.0",
    environment={"DB_POOL_SIZE": "20", "LOG_LEVEL": "INFO"},
    registered=at("07:02:10"),
)
L_TD23 = e.TaskDefinition(
    REPORTS,
    23,
    f"{r.ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{REPORTS}:3.4.1",
    environment={"DB_POOL_SIZE": "20", "LOG_LEVEL": "INFO"},
    registered=L_DEPLOY - pd.Timedelta(seconds=35),
)
L_DEPLOYMENTS = (
    e.Deployment(22, L_START - pd.Timedelta(hours=4), L_DEPLOY + pd.Timedelta(minutes=2), tasks=2),
    e.Deployment(23, L_DEPLOY + pd.Timedelta(minutes=2), None, tasks=2),
)
L_LOG_GROUP = f"/ecs/{REPORTS}"


def _slow(f: pd.DataFrame) -> pd.Series:
    return f["outcome"] == "slow"


def _etl(ctx: Context) -> np.ndarray:
    """The analytics ETL's run on the database (outside this service): 0, then 1."""
    return (ctx.index >= L_SLOW).astype(float)


def _db_active(ctx: Context) -> np.ndarray:
    """Connections busy in Postgres: a few; from the slowdown the ETL's workers and the
    queries blocked behind its locks, and the slowed requests holding one each."""
    held = ctx.counts("api", _slow) * ctx.mean("api", "latency_ms", _slow) / 60_000.0
    return 3.0 + held + 9.0 * _etl(ctx)


def _db_idle_in_tx(ctx: Context) -> np.ndarray:
    return 0.5 + 5.0 * _etl(ctx)


def _db_waiting(ctx: Context) -> np.ndarray:
    waiting = ctx.counts("api", _slow) * ctx.mean("api", "latency_ms", _slow) / 60_000.0
    return 0.2 + 0.8 * waiting + 6.0 * _etl(ctx)


def _db_tx(ctx: Context) -> np.ndarray:
    slow = ctx.mean("api", "latency_ms", _slow) / 1000.0
    return np.maximum(0.08, slow * 1.4)


def postgres_series(datname: str) -> list:
    """postgres_exporter's series for the service's database."""
    base = {"job": "postgres-exporter", "instance": "reports-db.internal:9187", "datname": datname}
    return [
        e.PromGauge("pg_stat_activity_count", {**base, "state": "active"}, _db_active, 0.05),
        e.PromGauge("pg_stat_activity_count", {**base, "state": "idle"}, 24.0, 0.03),
        e.PromGauge(
            "pg_stat_activity_count", {**base, "state": "idle in transaction"}, _db_idle_in_tx, 0.2
        ),
        e.PromGauge("pg_locks_count", {**base, "mode": "exclusivelock"}, _db_waiting, 0.05),
        e.PromGauge("pg_stat_activity_max_tx_duration", {**base, "state": "active"}, _db_tx, 0.05),
        e.PromGauge(
            "pg_settings_max_connections",
            {"job": "postgres-exporter", "instance": "reports-db.internal:9187"},
            100.0,
            0.0,
        ),
    ]


DB_SLOWDOWN = e.PrometheusScenario(
    name="prom_latency_db_slowdown",
    alert_type="prom_latency",
    description="report-api's Postgres slows (queries wait on locks): HighLatencyP95 fires; "
    "no culprit change (a clean deploy 40 min before)",
    start=L_START,
    end=L_END,
    requests=[Requests("api", Traffic(40, 90, duration_ms=120), REPORT_ROUTES)],
    effects=[
        fail(
            "api",
            L_START,
            0.015,
            status=404,
            outcome="client_error",
            error="NotFound: no such report",
        ),
        fail(
            "api",
            L_SLOW,
            0.7,
            ramp=pd.Timedelta(minutes=3),
            kinds=DB_ROUTES,
            status=200,
            outcome="slow",
            latency_ms=2600,
        ),
    ],
    logs=[
        Logs(L_LOG_GROUP, "api", e.app_log_line(REPORTS)),
        Logs(L_LOG_GROUP, "api", e.db_log_line, where=_slow),
    ],
    tasks=e.task_of(REPORTS, L_DEPLOYMENTS),
    prometheus=[
        *http_series(REPORTS, "api", L_DEPLOYMENTS),
        *task_series(REPORTS, L_DEPLOYMENTS, cpu=0.22, memory_mb=380, limit_mb=1024),
        *up_series(REPORTS, L_DEPLOYMENTS),
        *postgres_series("reports"),
    ],
    alarm=None,  # the alarm is the Prometheus rule below
    rule=e.PromRule(
        "HighLatencyP95",
        "histogram_quantile(0.95, sum by (le, service) "
        f'(rate(http_request_duration_seconds_bucket{{service="{REPORTS}"}}[5m]))) > 1',
        labels={"severity": "warning", "team": "analytics"},
        annotations={
            "summary": "P95 latency of {{ $labels.service }} above 1 s",
            "description": "p95 request duration is {{ $value }} s over 5 minutes",
        },
    ),
    changes=[
        e.ecs_deploy_change(L_DEPLOY, REPORTS_CLUSTER, REPORTS, L_TD23),
        api_change(
            at("12:05:40"),
            "PutRolePolicy",
            "iam.amazonaws.com",
            [("AWS::IAM::Role", "billing-exporter-role")],
            {"roleName": "billing-exporter-role", "policyName": "s3-write"},
        ),
    ],
    calls=[
        e.describe_services(
            REPORTS_CLUSTER,
            REPORTS,
            [
                e.ecs_deployment(
                    REPORTS_CLUSTER,
                    REPORTS,
                    L_TD23,
                    status="PRIMARY",
                    rollout="COMPLETED",
                    desired=2,
                    running=2,
                    created=L_DEPLOY,
                    updated=L_DEPLOY + pd.Timedelta(minutes=4),
                    reason="ECS deployment ecs-svc completed.",
                ),
            ],
            desired=2,
            running=2,
            events=[
                (
                    L_DEPLOY + pd.Timedelta(minutes=4),
                    f"(service {REPORTS}) has reached a steady state.",
                )
            ],
        ),
        *e.describe_task_definitions(L_TD22, L_TD23),
        e.list_clusters(REPORTS_CLUSTER, "analytics-batch"),
        e.no_such_service("analytics-batch", REPORTS),
    ],
    onset=L_SLOW,
    cause="report-api's Postgres database slows down: another client's long transaction holds "
    "locks and report queries wait on them; no change of ours",
    must_say=["No related change found", "pg_stat_activity_count", "/api/v1/reports"],
    resources={"service": REPORTS, "cluster": REPORTS_CLUSTER, "log_group": L_LOG_GROUP},
)


# -- ecs_service: a bad environment variable, tasks crash-looping --------------------------------
INDEXER = "doc-indexer"
INDEXER_CLUSTER = "ml-prod"
I_START, I_END = at("11:00:00"), at("13:00:00")
I_DEPLOY = at("12:18:40")
I_STOP_OLD = I_DEPLOY + pd.Timedelta(seconds=35)  # minimumHealthyPercent 50: two old tasks go
I_IMAGE = f"{r.ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{INDEXER}:2.4.0"
I_TD7 = e.TaskDefinition(
    INDEXER,
    7,
    I_IMAGE,
    environment={"DATABASE_URL": "postgresql://indexer@docs-db.internal:5432/docs", "WORKERS": "4"},
    registered=at("09:02:41"),
)
I_TD8 = e.TaskDefinition(
    INDEXER,
    8,
    I_IMAGE,
    environment={"DATABASE_URL": "postgres//indexer@docs-db.internal:5432/docs", "WORKERS": "8"},
    registered=I_DEPLOY - pd.Timedelta(seconds=35),
)
BAD_URL = (
    "pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings\n"
    "database_url\n  Input should be a valid URL, relative URL without a base "
    "[type=url_parsing, input_value='postgres//indexer@docs-db.internal:5432/docs', "
    "input_type=str]"
)
I_CRASH = e.CrashLoop(
    INDEXER,
    "app",
    8,
    I_STOP_OLD + pd.Timedelta(seconds=5),
    I_END,
    slots=2,
    lines=(
        '{"level":"INFO","logger":"doc_indexer",'
        '"message":"starting doc-indexer 2.4.0 (task {task})"}',
        "Traceback (most recent call last):\n"
        '  File "/app/doc_indexer/main.py", line 14, in <module>\n'
        "    settings = Settings()\n"
        '  File "/usr/local/lib/python3.12/site-packages/pydantic_settings/main.py", line 171, '
        "in __init__\n"
        "    super().__init__(\n" + BAD_URL,
    ),
)
I_DEPLOYMENTS = (
    e.Deployment(7, I_START - pd.Timedelta(hours=6), I_STOP_OLD, tasks=4),
    e.Deployment(7, I_STOP_OLD, None, tasks=2),
)
INDEXER_DIMS = {"ClusterName": INDEXER_CLUSTER, "ServiceName": INDEXER}


def _indexer_running(ctx: Context) -> np.ndarray:
    old = np.where(ctx.index < I_STOP_OLD.floor("min"), 4.0, 2.0)
    return old + I_CRASH.running(ctx.index)


def _indexer_pending(ctx: Context) -> np.ndarray:
    return np.where(ctx.index >= I_STOP_OLD.floor("min"), 2.0 - I_CRASH.running(ctx.index), 0.0)


# What ECS shows when the on-call looks, 15 min after the page (12:22:40).
_I_STOPPED = [t for t in I_CRASH.tasks() if t.stopped <= at("12:37:00")]
CRASHLOOP = e.EcsScenario(
    name="ecs_service_bad_env_crashloop",
    alert_type="ecs_service",
    description="a task definition with a malformed DATABASE_URL: doc-indexer's new tasks exit "
    "at start and the service runs 2 of 4 tasks",
    start=I_START,
    end=I_END,
    requests=[
        Requests("api", Traffic(30, 70, duration_ms=140), {"POST /index": 0.7, "GET /search": 0.3})
    ],
    effects=[fail("api", I_START, 0.003, status=503, error="ConnectionResetError: peer closed")],
    metrics=[
        Gauge("ECS/ContainerInsights", "RunningTaskCount", INDEXER_DIMS, _indexer_running, 0.0),
        Gauge("ECS/ContainerInsights", "DesiredTaskCount", INDEXER_DIMS, 4.0, 0.0),
        Gauge("ECS/ContainerInsights", "PendingTaskCount", INDEXER_DIMS, _indexer_pending, 0.0),
        Gauge("AWS/ECS", "CPUUtilization", INDEXER_DIMS, 31.0, 0.05, unit="Percent"),
        Gauge("AWS/ECS", "MemoryUtilization", INDEXER_DIMS, 44.0, 0.02, unit="Percent"),
    ],
    logs=[Logs(f"/ecs/{INDEXER}", "api", e.app_log_line(INDEXER))],
    tasks=e.task_of(INDEXER, I_DEPLOYMENTS),
    extra_logs=[(f"/ecs/{INDEXER}", I_CRASH.log_events())],
    changes=[
        api_change(
            at("11:48:05"),
            "RegisterScalableTarget",
            "application-autoscaling.amazonaws.com",
            [
                (
                    "AWS::ApplicationAutoScaling::ScalableTarget",
                    f"service/{INDEXER_CLUSTER}/{INDEXER}",
                ),
                ("AWS::ECS::Service", INDEXER),
            ],
            {
                "serviceNamespace": "ecs",
                "resourceId": f"service/{INDEXER_CLUSTER}/{INDEXER}",
                "minCapacity": 4,
                "maxCapacity": 8,
            },
            what="autoscaling range of doc-indexer set to 4-8",
        ),
        e.ecs_deploy_change(I_DEPLOY, INDEXER_CLUSTER, INDEXER, I_TD8, culprit=True),
    ],
    calls=[
        e.describe_services(
            INDEXER_CLUSTER,
            INDEXER,
            [
                e.ecs_deployment(
                    INDEXER_CLUSTER,
                    INDEXER,
                    I_TD8,
                    status="PRIMARY",
                    rollout="IN_PROGRESS",
                    desired=4,
                    running=0,
                    created=I_DEPLOY,
                    updated=I_END - pd.Timedelta(minutes=1),
                    failed=len(_I_STOPPED),
                    reason="ECS deployment ecs-svc in progress.",
                ),
                e.ecs_deployment(
                    INDEXER_CLUSTER,
                    INDEXER,
                    I_TD7,
                    status="ACTIVE",
                    rollout="COMPLETED",
                    desired=2,
                    running=2,
                    created=at("09:03:20"),
                    updated=I_STOP_OLD,
                ),
            ],
            desired=4,
            running=2,
            events=[
                (
                    I_DEPLOY + pd.Timedelta(seconds=30),
                    f"(service {INDEXER}) has stopped 2 running tasks: "
                    f"(task {e.task_id(INDEXER, 7, 2)}) (task {e.task_id(INDEXER, 7, 3)}).",
                ),
                *[
                    (t.started, f"(service {INDEXER}) has started 1 tasks: (task {t.task}).")
                    for t in _I_STOPPED[-6:]
                ],
                (
                    I_DEPLOY + pd.Timedelta(minutes=9),
                    f"(service {INDEXER}) is unable to consistently start tasks successfully. For "
                    "more information, see the Troubleshooting section of the Amazon ECS "
                    "Developer Guide.",
                ),
            ],
        ),
        *e.describe_task_definitions(I_TD7, I_TD8),
        *e.stopped_tasks(INDEXER_CLUSTER, INDEXER, INDEXER, _I_STOPPED[::-1]),
    ],
    alarm=AlarmOn(
        "doc-indexer-running-tasks",
        "ECS/ContainerInsights",
        "RunningTaskCount",
        INDEXER_DIMS,
        threshold=4,
        statistic="Average",
        comparison="LessThanThreshold",
        evaluation_periods=3,
        datapoints_to_alarm=3,
        treat_missing="breaching",
    ),
    onset=I_STOP_OLD,
    cause="task definition doc-indexer:8 sets a malformed DATABASE_URL: every new task exits "
    "with code 1 at start (pydantic ValidationError) and the service runs 2 of 4 tasks",
    must_say=["DATABASE_URL", "exit code 1", "doc-indexer:8", "ValidationError"],
    resources={"service": INDEXER, "cluster": INDEXER_CLUSTER, "log_group": f"/ecs/{INDEXER}"},
)


# -- ecs_resources: a memory leak, no change of ours -----------------------------------------------
EMBED = "embedding-api"
EMBED_CLUSTER = "ml-prod"
M_START, M_END = at("11:00:00"), at("12:50:00")
M_DEPLOY = at("11:32:20")
M_LEAK = at("12:00:00")
M_TD30 = e.TaskDefinition(
    EMBED,
    30,
    f"{r.ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{EMBED}:1.12.0",
    cpu=1024,
    memory=2048,
    environment={"CACHE_TTL_S": "600"},
    registered=at("06:40:12"),
)
M_TD31 = e.TaskDefinition(
    EMBED,
    31,
    f"{r.ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{EMBED}:1.12.1",
    cpu=1024,
    memory=2048,
    environment={"CACHE_TTL_S": "600"},
    registered=M_DEPLOY - pd.Timedelta(seconds=35),
)
LEAK = e.MemoryLeak(
    EMBED, EMBED, 31, since=M_DEPLOY + pd.Timedelta(seconds=50), start=M_LEAK, end=M_END
)
EMBED_DIMS = {"ClusterName": EMBED_CLUSTER, "ServiceName": EMBED}
M_DEPLOYMENTS = (
    e.Deployment(30, M_START - pd.Timedelta(hours=5), LEAK.since, tasks=3),
    e.Deployment(31, LEAK.since, None, tasks=3),
)
# What ECS shows when the on-call looks, 15 min after the page (about 12:31).
_M_STOPPED = LEAK.stopped(before=at("12:42:00"))
M_PERF_GROUP = f"/aws/ecs/containerinsights/{EMBED_CLUSTER}/performance"
MEMORY_LEAK = e.EcsScenario(
    name="ecs_resources_memory_leak",
    alert_type="ecs_resources",
    description="embedding-api's tasks leak memory from 12:00 until OOM kills (exit 137); a "
    "clean deploy 28 min before: no culprit",
    start=M_START,
    end=M_END,
    requests=[
        Requests(
            "api", Traffic(40, 80, duration_ms=95), {"POST /embed": 0.85, "POST /embed/batch": 0.15}
        )
    ],
    effects=[fail("api", M_START, 0.002, status=503, error="TimeoutError: model warm-up")],
    metrics=[
        Gauge(
            "AWS/ECS", "MemoryUtilization", EMBED_DIMS, LEAK.service_memory, 0.01, unit="Percent"
        ),
        Gauge("AWS/ECS", "CPUUtilization", EMBED_DIMS, 29.0, 0.05, unit="Percent"),
        Gauge("ECS/ContainerInsights", "RunningTaskCount", EMBED_DIMS, 3.0, 0.0),
        Gauge("ECS/ContainerInsights", "DesiredTaskCount", EMBED_DIMS, 3.0, 0.0),
    ],
    logs=[Logs(f"/ecs/{EMBED}", "api", e.app_log_line(EMBED))],
    tasks=e.task_of(EMBED, M_DEPLOYMENTS),
    extra_logs=[(M_PERF_GROUP, LEAK.performance_events(EMBED_CLUSTER, np.random.default_rng(31)))],
    changes=[
        e.ecs_deploy_change(M_DEPLOY, EMBED_CLUSTER, EMBED, M_TD31),
        api_change(
            at("12:21:14"),
            "PutRolePolicy",
            "iam.amazonaws.com",
            [("AWS::IAM::Role", "search-indexer-role")],
            {"roleName": "search-indexer-role", "policyName": "opensearch-write"},
        ),
    ],
    calls=[
        e.describe_services(
            EMBED_CLUSTER,
            EMBED,
            [
                e.ecs_deployment(
                    EMBED_CLUSTER,
                    EMBED,
                    M_TD31,
                    status="PRIMARY",
                    rollout="COMPLETED",
                    desired=3,
                    running=3,
                    created=M_DEPLOY,
                    updated=M_DEPLOY + pd.Timedelta(minutes=3),
                    reason="ECS deployment ecs-svc completed.",
                )
            ],
            desired=3,
            running=3,
            events=[
                (when, f"(service {EMBED}) has started 1 tasks: (task {task}).")
                for when, task in LEAK.replacements(before=at("12:42:00"))
            ],
        ),
        *e.describe_task_definitions(M_TD30, M_TD31),
        *e.stopped_tasks(EMBED_CLUSTER, EMBED, EMBED, _M_STOPPED[::-1]),
    ],
    alarm=AlarmOn(
        "embedding-api-memory-high",
        "AWS/ECS",
        "MemoryUtilization",
        EMBED_DIMS,
        threshold=80,
        statistic="Average",
        evaluation_periods=3,
        datapoints_to_alarm=3,
        page="first",
    ),
    onset=M_LEAK,
    cause="embedding-api's tasks leak memory (about 1.5% of 2048 MiB a minute) until they are "
    "OOM-killed; no change of ours (the deploy at 11:32 ran clean for 28 min)",
    must_say=["No related change found", "OutOfMemoryError", "exit code 137"],
    resources={"service": EMBED, "cluster": EMBED_CLUSTER, "log_group": f"/ecs/{EMBED}"},
)


# -- db_connections: a deploy raises the pool size -------------------------------------------------
D_START, D_END = at("11:00:00"), at("13:00:00")
D_DEPLOY = at("12:10:30")
D_NEW, D_OLD_GONE = at("12:11:00"), at("12:13:30")
D_TD23 = e.TaskDefinition(
    REPORTS,
    23,
    f"{r.ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{REPORTS}:3.4.1",
    environment={"DB_POOL_SIZE": "20", "LOG_LEVEL": "INFO"},
    registered=at("08:02:10"),
)
D_TD24 = e.TaskDefinition(
    REPORTS,
    24,
    f"{r.ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{REPORTS}:3.5.0",
    environment={"DB_POOL_SIZE": "50", "LOG_LEVEL": "INFO"},
    registered=D_DEPLOY - pd.Timedelta(seconds=35),
)
D_DEPLOYMENTS = (
    e.Deployment(23, D_START - pd.Timedelta(hours=4), D_OLD_GONE, tasks=3),
    e.Deployment(24, D_OLD_GONE, None, tasks=3),
)
D_DB = "reports-db.internal:9187"


def _rollout(ctx: Context, a: pd.Timestamp, b: pd.Timestamp) -> np.ndarray:
    """0 before ``a``, 1 after ``b``, linear between (tasks coming up or draining)."""
    span = (b - a).total_seconds() / 60
    return np.clip(ctx.minutes_since(a) / span, 0.0, 1.0)


def _reports_idle(ctx: Context) -> np.ndarray:
    new = 3 * _rollout(ctx, D_NEW, D_NEW + pd.Timedelta(minutes=2))
    old = 3 * (1 - _rollout(ctx, D_OLD_GONE - pd.Timedelta(minutes=1), D_OLD_GONE))
    return np.maximum(20 * old + 50 * new - 3, 0)


def _pg(name: str, level, *, app: str = "", state: str = "", noise: float = 0.03):
    labels = {"job": "postgres-exporter", "instance": D_DB, "datname": "reports"}
    if app:
        labels |= {"application_name": app, "usename": app.replace("-", "_"), "state": state}
    return e.PromGauge(name, labels, level, noise)


POOL_DEPLOY = e.PrometheusScenario(
    name="db_connections_pool_deploy",
    alert_type="db_connections",
    description="a deploy of report-api raises DB_POOL_SIZE from 20 to 50: Postgres connections "
    "pass 80% of max_connections",
    start=D_START,
    end=D_END,
    requests=[Requests("api", Traffic(40, 90, duration_ms=120), REPORT_ROUTES)],
    effects=[fail("api", D_START, 0.015, status=404, outcome="client_error", error="NotFound")],
    logs=[Logs(L_LOG_GROUP, "api", e.app_log_line(REPORTS))],
    tasks=e.task_of(REPORTS, D_DEPLOYMENTS),
    prometheus=[
        _pg("pg_stat_activity_count", 3.0, app=REPORTS, state="active", noise=0.2),
        _pg("pg_stat_activity_count", _reports_idle, app=REPORTS, state="idle", noise=0.0),
        _pg("pg_stat_activity_count", 4.0, app="billing-etl", state="active", noise=0.2),
        _pg("pg_stat_activity_count", 8.0, app="billing-etl", state="idle", noise=0.0),
        _pg("pg_stat_activity_count", 3.0, app="grafana", state="idle", noise=0.0),
        _pg("pg_stat_activity_max_tx_duration", 0.4, app=REPORTS, state="active", noise=0.1),
        e.PromGauge(
            "pg_settings_max_connections",
            {"job": "postgres-exporter", "instance": D_DB},
            200.0,
            0.0,
        ),
    ],
    alarm=None,  # the alarm is the Prometheus rule below
    rule=e.PromRule(
        "PostgresqlTooManyConnections",
        "sum by (instance) (pg_stat_activity_count) "
        "> 0.8 * max by (instance) (pg_settings_max_connections)",
        for_=pd.Timedelta(minutes=2),
        labels={"severity": "warning"},
        annotations={
            "summary": "Postgresql too many connections (instance {{ $labels.instance }})",
            "description": "PostgreSQL instance has too many connections (> 80%). "
            "VALUE = {{ $value }}",
        },
    ),
    changes=[
        e.ecs_deploy_change(
            at("11:41:05"),
            "analytics-batch",
            "billing-etl",
            e.TaskDefinition(
                "billing-etl", 9, f"{r.ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/billing-etl:0.9.4"
            ),
        ),
        e.ecs_deploy_change(D_DEPLOY, REPORTS_CLUSTER, REPORTS, D_TD24, culprit=True),
    ],
    calls=[*e.describe_task_definitions(D_TD23, D_TD24)],
    onset=D_NEW,
    cause="a deploy of report-api (report-api:24) raises DB_POOL_SIZE from 20 to 50: its three "
    "tasks hold 150 connections of the database's 200 (max_connections)",
    must_say=["report-api", "DB_POOL_SIZE", "max_connections"],
    resources={"db": D_DB, "service": REPORTS},
)


ALL = (BAD_IMAGE, DB_SLOWDOWN, CRASHLOOP, MEMORY_LEAK, POOL_DEPLOY)
for _scenario in ALL:
    _scenario.register()
