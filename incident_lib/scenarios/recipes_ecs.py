"""Pieces for ECS services and their Prometheus metrics in :mod:`~incident_lib.scenarios.services`
declarations (``catalog_ecs.py``): the tasks of each deployment, Prometheus counters, histograms
and gauges derived from the same request rows as the CloudWatch metrics and logs, a Prometheus
alerting rule evaluated honestly over the samples written (its Alertmanager notification is the
scenario's alarm event), the ECS log lines, the ECS deploys in CloudTrail and the recorded
``ecs describe-*``/``list-*`` answers.

:class:`PrometheusScenario` is a :class:`~incident_lib.scenarios.services.ServiceScenario` whose
alarm is a Prometheus alert instead of a CloudWatch alarm; it also writes ``prometheus_samples``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import numpy as np
import pandas as pd

from incident_lib.scenarios.cloudtrail import lookup_event
from incident_lib.scenarios.services import (
    ACCOUNT,
    CI,
    REGION,
    Call,
    ChangeEvent,
    Context,
    ServiceScenario,
    iso,
    json_line,
    recorded,
    write_calls,
    write_changes,
)
from incident_lib.scenarios.traffic import minute_index
from incident_lib.store import StoreWriter

#: A label's value per request row (``instance``, ``handler``, ``status`` ...).
LabelFn = Callable[[pd.DataFrame], Any]


# -- tasks -----------------------------------------------------------------------------------
def task_id(service: str, revision: int, n: int) -> str:
    """A stable 32-hex ECS task id."""
    return hashlib.md5(f"{service}|{revision}|{n}".encode()).hexdigest()


@dataclass(frozen=True)
class Deployment:
    """The tasks of one task definition revision serving from ``start`` to ``stop``."""

    revision: int
    start: pd.Timestamp
    stop: pd.Timestamp | None = None
    tasks: int = 3
    image: str = ""

    def ids(self, service: str) -> list[str]:
        return [task_id(service, self.revision, n) for n in range(self.tasks)]


def _unit(request_ids: pd.Series) -> np.ndarray:
    return np.asarray([int(str(r)[:8], 16) for r in request_ids], dtype=np.int64)


def task_of(service: str, deployments: Sequence[Deployment]) -> LabelFn:
    """Each request's task: the deployment serving at its time, a task picked by request id."""

    def fn(frame: pd.DataFrame) -> np.ndarray:
        out = np.empty(len(frame), dtype=object)
        pick = _unit(frame["request_id"])
        t = frame["time"]
        for d in deployments:
            ids = np.asarray(d.ids(service), dtype=object)
            stop = d.stop if d.stop is not None else pd.Timestamp.max.tz_localize("UTC")
            sel = ((t >= d.start) & (t < stop)).to_numpy(bool)
            out[sel] = ids[pick[sel] % len(ids)]
        return out

    return fn


def instance_of(service: str, deployments: Sequence[Deployment]) -> LabelFn:
    """Each request's Prometheus ``instance`` (the task's private IP and port)."""
    task = task_of(service, deployments)

    def fn(frame: pd.DataFrame) -> np.ndarray:
        return np.asarray([task_ip(t) for t in task(frame)], dtype=object)

    return fn


def task_ip(task: str) -> str:
    h = int(task[:6], 16)
    return f"10.0.{(h >> 8) % 200 + 10}.{h % 250 + 4}:8000"


# -- Prometheus samples ------------------------------------------------------------------------
@dataclass(frozen=True)
class PromCounter:
    """A counter of ``stream``'s requests (those ``where`` selects) by label functions,
    incremented when each request ends; a series exists from its first increment until its
    instance's last request (a task that stops stops being scraped)."""

    name: str
    stream: str
    labels: Mapping[str, str]
    by: Mapping[str, LabelFn]
    where: Callable[[pd.DataFrame], Any] | None = None


@dataclass(frozen=True)
class PromHistogram:
    """A classic histogram (``_bucket`` with ``le``, ``_sum``, ``_count``) of ``column``
    (milliseconds, written in seconds) over ``stream``'s requests, by label functions."""

    name: str
    stream: str
    labels: Mapping[str, str]
    by: Mapping[str, LabelFn]
    buckets: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
    column: str = "latency_ms"


@dataclass(frozen=True)
class PromGauge:
    """A gauge (or, ``counter=True``, a counter that grows by ``level`` per second) with fixed
    labels: ``level(ctx)`` per minute, scraped from ``alive[0]`` to ``alive[1]``."""

    name: str
    labels: Mapping[str, str]
    level: float | Callable[[Context], np.ndarray]
    noise: float = 0.02
    counter: bool = False
    alive: tuple[pd.Timestamp | None, pd.Timestamp | None] = (None, None)


PromSpec = PromCounter | PromHistogram | PromGauge


def _scrapes(start: pd.Timestamp, end: pd.Timestamp, seconds: int) -> np.ndarray:
    stamps = pd.date_range(start, end, freq=f"{seconds}s", inclusive="left", tz="UTC", unit="ms")
    return _epoch_ms(pd.Series(stamps))


def _rows(metric: str, labels: Mapping[str, str], ms: np.ndarray, values: np.ndarray) -> dict:
    return {
        "metric_name": metric,
        "labels": json.dumps(dict(sorted(labels.items())), separators=(",", ":")),
        "ms": ms,
        "value": values,
    }


def _grouped(spec: PromCounter | PromHistogram, frame: pd.DataFrame):
    """``(labels, part, alive_until_ms)`` per label set of the spec's rows."""
    frame = frame.assign(_end=_epoch_ms(frame["time"]))
    frame["_end"] = frame["_end"] + frame["latency_ms"].to_numpy(float).astype(np.int64)
    for name, fn in spec.by.items():
        frame[f"_l_{name}"] = np.asarray(fn(frame), dtype=object)
    # The instance's last request: its series stop being scraped after it.
    last = frame.groupby("_l_instance")["_end"].max().to_dict() if "instance" in spec.by else {}
    if getattr(spec, "where", None) is not None:
        frame = frame[np.asarray(spec.where(frame), bool)]
    cols = [f"_l_{n}" for n in spec.by]
    if not cols:
        yield dict(spec.labels), frame, None
        return
    for key, part in frame.groupby(cols, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        labels = {**spec.labels, **{n: str(v) for n, v in zip(spec.by, key, strict=True)}}
        until = last.get(labels.get("instance")) if last else None
        yield labels, part, until


def _epoch_ms(times: pd.Series) -> np.ndarray:
    return ((times - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)).to_numpy(np.int64)


def _live(scrapes: np.ndarray, first: int, until: int | None) -> np.ndarray:
    keep = scrapes >= first
    if until is not None:
        keep &= scrapes <= until + 30_000
    return scrapes[keep]


def prometheus_samples(
    specs: Sequence[PromSpec],
    frames: Mapping[str, pd.DataFrame],
    ctx: Context,
    start: pd.Timestamp,
    end: pd.Timestamp,
    rng: np.random.Generator,
    *,
    scrape_seconds: int = 30,
) -> pd.DataFrame:
    """The samples a Prometheus scraping every ``scrape_seconds`` holds for ``specs``."""
    scrapes = _scrapes(start, end, scrape_seconds)
    out: list[dict] = []
    for spec in specs:
        if isinstance(spec, PromGauge):
            lo, hi = spec.alive
            ms = scrapes[
                (scrapes >= (lo.value // 1_000_000 if lo is not None else 0))
                & (scrapes < (hi.value // 1_000_000 if hi is not None else np.iinfo(np.int64).max))
            ]
            level = spec.level(ctx) if callable(spec.level) else np.full(len(ctx.index), spec.level)
            minute_ms = _epoch_ms(pd.Series(ctx.index)) + 30_000
            values = np.interp(ms, minute_ms, np.asarray(level, float))
            values = np.maximum(values * (1 + rng.normal(0, spec.noise, len(ms))), 0.0)
            if spec.counter:
                values = np.cumsum(values * scrape_seconds)
            out.append(_rows(spec.name, spec.labels, ms, np.round(values, 4)))
            continue
        frame = frames[spec.stream]
        for labels, part, until in _grouped(spec, frame):
            if part.empty:
                continue
            order = np.argsort(part["_end"].to_numpy(), kind="stable")
            ends = part["_end"].to_numpy()[order]
            ms = _live(scrapes, int(ends[0]), until)
            if not len(ms):
                continue
            if isinstance(spec, PromCounter):
                counts = np.searchsorted(ends, ms, side="right").astype(float)
                out.append(_rows(spec.name, labels, ms, counts))
                continue
            seconds = part[spec.column].to_numpy(float)[order] / 1000.0
            upto = np.searchsorted(ends, ms, side="right")
            for le in (*spec.buckets, np.inf):
                within = np.concatenate([[0], np.cumsum(seconds <= le)])[upto].astype(float)
                le_text = "+Inf" if np.isinf(le) else f"{le:g}"
                out.append(_rows(f"{spec.name}_bucket", {**labels, "le": le_text}, ms, within))
            total = np.concatenate([[0.0], np.cumsum(seconds)])[upto]
            out.append(_rows(f"{spec.name}_sum", labels, ms, np.round(total, 6)))
            out.append(_rows(f"{spec.name}_count", labels, ms, upto.astype(float)))
    parts = [
        pd.DataFrame(
            {
                "metric_name": r["metric_name"],
                "labels": r["labels"],
                "timestamp": pd.to_datetime(r["ms"], unit="ms", utc=True),
                "value": r["value"],
            }
        )
        for r in out
    ]
    return pd.concat(parts, ignore_index=True)


def sample_reader(samples: pd.DataFrame):
    """The offline PromQL engine's sample reader over an in-memory samples frame."""
    series: dict[str, dict[tuple, tuple[np.ndarray, np.ndarray]]] = {}
    ms_all = _epoch_ms(samples["timestamp"])
    frame = samples.assign(ms=ms_all)
    for (metric, labels), part in frame.groupby(["metric_name", "labels"], sort=False):
        key = {**json.loads(labels), "__name__": metric}
        series.setdefault(metric, {})[tuple(sorted(key.items()))] = (
            part["ms"].to_numpy(np.int64),
            part["value"].to_numpy(float),
        )

    def read(name: str | None, t0: pd.Timestamp, t1: pd.Timestamp):
        lo, hi = t0.value // 1_000_000, t1.value // 1_000_000
        chosen = (
            series.get(name, {})
            if name is not None
            else {k: v for part in series.values() for k, v in part.items()}
        )
        out = {}
        for key, (ms, values) in chosen.items():
            keep = (ms >= lo) & (ms <= hi)
            if keep.any():
                out[key] = (ms[keep], values[keep])
        return out

    return read


# -- the Prometheus alert ------------------------------------------------------------------------
FIVE_MINUTES = pd.Timedelta(minutes=5)


@dataclass(frozen=True)
class PromRule:
    """An alerting rule as a Prometheus rule file states it: ``alert``, ``expr``, ``for``,
    ``labels``, ``annotations`` (``{{ $value }}`` and ``{{ $labels.x }}`` filled in)."""

    alert: str
    expr: str
    for_: pd.Timedelta = FIVE_MINUTES
    labels: Mapping[str, str] = field(default_factory=lambda: {"severity": "warning"})
    annotations: Mapping[str, str] = field(default_factory=dict)
    interval: int = 30
    prometheus_url: str = "http://prometheus.monitoring.internal:9090"
    alertmanager_url: str = "http://alertmanager.monitoring.internal:9093"


def _fill(text: str, labels: Mapping[str, str], value: float) -> str:
    out = text.replace("{{ $value }}", f"{value:.4g}")
    for k, v in labels.items():
        out = out.replace(f"{{{{ $labels.{k} }}}}", v)
    return out


def fire(
    rule: PromRule, samples: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.Timestamp, dict[str, str], float]:
    """When the rule first fires (evaluated every ``interval`` seconds: pending while the
    expression returns the series, firing once it has for ``for_``), its labels and value."""
    from incident_lib.sources.promql_local import _Vector, evaluate_range

    steps, result = evaluate_range(rule.expr, start, end, rule.interval, sample_reader(samples))
    if not isinstance(result, _Vector):
        raise ValueError(f"rule {rule.alert}: the expression is not a vector")
    best: tuple[pd.Timestamp, dict[str, str], float] | None = None
    for labels, values in result.series.items():
        active = None
        for when, v in zip(steps, values, strict=True):
            if np.isnan(v):
                active = None
                continue
            active = active if active is not None else when
            if when - active >= rule.for_:
                if best is None or when < best[0]:
                    best = (when, {k: v2 for k, v2 in labels if k != "__name__"}, float(v))
                break
    if best is None:
        raise RuntimeError(f"alert {rule.alert} never fired")
    return best


def alertmanager_payload(
    rule: PromRule, fired: pd.Timestamp, series_labels: Mapping[str, str], value: float
) -> dict[str, Any]:
    """The Alertmanager webhook notification (version 4) of the firing alert."""
    labels = {**series_labels, **rule.labels, "alertname": rule.alert}
    annotations = {k: _fill(v, labels, value) for k, v in rule.annotations.items()}
    fingerprint = hashlib.sha256(json.dumps(sorted(labels.items())).encode()).hexdigest()[:16]
    started = fired + pd.Timedelta(milliseconds=148)
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{rule.alert}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "oncall-webhook",
        "groupLabels": {"alertname": rule.alert},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": rule.alertmanager_url,
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": annotations,
                "startsAt": iso(started),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": f"{rule.prometheus_url}/graph?g0.expr={quote_plus(rule.expr)}"
                "&g0.tab=1",
                "fingerprint": fingerprint,
            }
        ],
    }


@dataclass(frozen=True)
class PrometheusScenario(ServiceScenario):
    """A service scenario whose alarm is a Prometheus alert: ``prometheus`` are the series the
    service exposes (derived from the request rows), ``rule`` the alerting rule, evaluated
    over them; the alarm event is its Alertmanager notification. Give ``alarm=None``."""

    prometheus: Sequence[PromSpec] = ()
    rule: PromRule | None = None
    scrape_seconds: int = 30
    #: Each request's task (``task_of``): its log lines go to ``ecs/<container>/<task>``.
    tasks: LabelFn | None = None
    container: str = "app"

    def _log_lines(self, spec: Any, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        if self.tasks is None:
            return super()._log_lines(spec, frame, rng)
        return ecs_log_lines(spec, frame, rng, self.tasks, self.container)

    def generate(self, writer: StoreWriter, rng: np.random.Generator) -> dict[str, Any]:
        if self.rule is None:
            raise ValueError(f"scenario {self.name}: a PrometheusScenario needs a rule")
        frames = {r.name: self._frame(r, rng) for r in self.requests}
        self._shared_capacity(frames, rng)
        if self.metrics:
            writer.add_metrics(
                pd.concat(
                    [self._metric_rows(m, frames, rng) for m in self.metrics], ignore_index=True
                )
            )
        for spec in self.logs:
            writer.add_log_events(
                self._log_lines(spec, frames[spec.stream], rng), log_group=spec.group
            )
        ctx = Context(minute_index(self.start, self.end), frames)
        samples = prometheus_samples(
            self.prometheus,
            frames,
            ctx,
            self.start,
            self.end,
            rng,
            scrape_seconds=self.scrape_seconds,
        )
        writer.add_prometheus_samples(samples)
        culprit_id, culprit_what, change_ids = write_changes(self.changes, writer, rng)
        write_calls(self.calls, writer, self.end)
        fired, labels, value = fire(self.rule, samples, self.start, self.end)
        payload = alertmanager_payload(self.rule, fired, labels, value)
        failed = {name: int((f["outcome"] != "ok").sum()) for name, f in frames.items()}
        truth = {
            "onset": self.true_onset().isoformat(),
            "cause": self.cause,
            "culprit_event_id": culprit_id,
            "culprit": culprit_what,
            "change_event_ids": change_ids,
            "alarm_name": self.rule.alert,
            "alarm_state_change_time": fired.isoformat(),
            "first_alarm_time": fired.isoformat(),
            "alarm_periods": 1,
            "failed_requests": failed,
            "window": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "must_say": list(self.must_say),
            "alert_labels": payload["alerts"][0]["labels"],
        }
        return {
            "alarm_name": self.rule.alert,
            "resources": dict(self.resources),
            "alarm_events": {"alertmanager": payload},
            "ground_truth": truth,
        }


def ecs_log_lines(
    spec: Any, frame: pd.DataFrame, rng: np.random.Generator, tasks: LabelFn, container: str
) -> pd.DataFrame:
    """A :class:`~incident_lib.scenarios.services.Logs` spec's lines as the awslogs driver
    writes them: each request's lines in its task's stream ``ecs/<container>/<task>`` (as
    ``ServiceScenario._log_lines`` does, with ECS' stream names)."""
    if spec.where is not None:
        frame = frame[spec.where(frame).to_numpy(bool)]
    cols = ["time", "kind", "status", "outcome", "error", "latency_ms", "request_id", "client"]
    messages = [spec.line(r) for r in frame[cols].to_dict("records")]
    ts = frame["time"]
    if spec.at == "end":
        ts = ts + pd.to_timedelta(frame["latency_ms"].to_numpy(float), unit="ms")
    streams = [ecs_log_stream(container, str(t)) for t in tasks(frame)]
    out = pd.DataFrame(
        {"timestamp": ts.dt.floor("ms").to_numpy(), "message": messages, "log_stream": streams}
    )
    out["ingestion_time"] = out["timestamp"] + pd.to_timedelta(
        rng.integers(150, 2500, size=len(out)), unit="ms"
    )
    return out.sort_values("timestamp", kind="stable", ignore_index=True)


# -- ECS ---------------------------------------------------------------------------------------
def cluster_arn(cluster: str) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{cluster}"


def service_arn(cluster: str, service: str) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{service}"


def task_definition_arn(family: str, revision: int) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{revision}"


def task_arn(cluster: str, task: str) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{cluster}/{task}"


@dataclass(frozen=True)
class TaskDefinition:
    """One revision of a task definition: image, CPU units and memory (MiB), environment."""

    family: str
    revision: int
    image: str
    cpu: int = 512
    memory: int = 1024
    environment: Mapping[str, str] = field(default_factory=dict)
    container: str = "app"
    registered: pd.Timestamp | None = None

    def describe(self) -> dict[str, Any]:
        """``ecs describe-task-definition``'s answer."""
        container = {
            "name": self.container,
            "image": self.image,
            "cpu": 0,
            "memory": self.memory,
            "essential": True,
            "portMappings": [{"containerPort": 8000, "hostPort": 8000, "protocol": "tcp"}],
            "environment": [{"name": k, "value": v} for k, v in self.environment.items()],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": f"/ecs/{self.family}",
                    "awslogs-region": REGION,
                    "awslogs-stream-prefix": "ecs",
                },
            },
            "healthCheck": {
                "command": ["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"],
                "interval": 30,
                "timeout": 5,
                "retries": 3,
                "startPeriod": 10,
            },
        }
        item = {
            "taskDefinitionArn": task_definition_arn(self.family, self.revision),
            "containerDefinitions": [container],
            "family": self.family,
            "revision": self.revision,
            "status": "ACTIVE",
            "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc",
            "cpu": str(self.cpu),
            "memory": str(self.memory),
        }
        if self.registered is not None:
            item["registeredAt"] = self.registered.isoformat()
        return {"taskDefinition": item}


def describe_task_definitions(*defs: TaskDefinition) -> list[Call]:
    """Recorded ``ecs describe-task-definition`` for each revision (by ``family:revision``)."""
    return [
        recorded(
            "ecs", "DescribeTaskDefinition", d.describe(), taskDefinition=f"{d.family}:{d.revision}"
        )
        for d in defs
    ]


def ecs_deployment(
    cluster: str,
    service: str,
    td: TaskDefinition,
    *,
    status: str,
    rollout: str,
    desired: int,
    running: int,
    created: pd.Timestamp,
    updated: pd.Timestamp,
    failed: int = 0,
    reason: str = "",
) -> dict[str, Any]:
    """One entry of ``describe-services``' ``deployments``."""
    dep = {
        "id": "ecs-svc/"
        + str(int(hashlib.md5(f"{service}{td.revision}".encode()).hexdigest()[:15], 16)),
        "status": status,
        "taskDefinition": task_definition_arn(td.family, td.revision),
        "desiredCount": desired,
        "pendingCount": max(desired - running, 0) if status == "PRIMARY" else 0,
        "runningCount": running,
        "failedTasks": failed,
        "createdAt": created.isoformat(),
        "updatedAt": updated.isoformat(),
        "launchType": "FARGATE",
        "rolloutState": rollout,
        "rolloutStateReason": reason,
    }
    return dep


def describe_services(
    cluster: str,
    service: str,
    deployments: Sequence[dict[str, Any]],
    *,
    desired: int,
    running: int,
    events: Sequence[tuple[pd.Timestamp, str]] = (),
) -> Call:
    """Recorded ``ecs describe-services`` of one service."""
    primary = next(d for d in deployments if d["status"] == "PRIMARY")
    answer = {
        "services": [
            {
                "serviceArn": service_arn(cluster, service),
                "serviceName": service,
                "clusterArn": cluster_arn(cluster),
                "status": "ACTIVE",
                "desiredCount": desired,
                "runningCount": running,
                "pendingCount": max(desired - running, 0),
                "launchType": "FARGATE",
                "taskDefinition": primary["taskDefinition"],
                "deploymentConfiguration": {
                    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
                    "maximumPercent": 200,
                    "minimumHealthyPercent": 100,
                },
                "deployments": list(deployments),
                "events": [
                    {
                        "id": hashlib.md5(f"{service}{t}{m}".encode()).hexdigest()[:8]
                        + "-0000-4000-8000-"
                        + hashlib.md5(m.encode()).hexdigest()[:12],
                        "createdAt": t.isoformat(),
                        "message": m,
                    }
                    for t, m in sorted(events, key=lambda e: e[0], reverse=True)
                ],
            }
        ],
        "failures": [],
    }
    return recorded("ecs", "DescribeServices", answer, cluster=cluster, services=[service])


@dataclass(frozen=True)
class StoppedTask:
    """A task that stopped: when, why (``stoppedReason``), its container's exit code."""

    task: str
    revision: int
    started: pd.Timestamp
    stopped: pd.Timestamp
    reason: str
    exit_code: int | None
    container_reason: str = ""
    stop_code: str = "EssentialContainerExited"


def stopped_tasks(
    cluster: str, service: str, family: str, tasks: Sequence[StoppedTask], container: str = "app"
) -> list[Call]:
    """Recorded ``ecs list-tasks --desired-status STOPPED`` and ``describe-tasks`` of them.
    (ECS keeps stopped tasks visible for about an hour.)"""
    arns = [task_arn(cluster, t.task) for t in tasks]
    described = []
    for t in tasks:
        c: dict[str, Any] = {
            "containerArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:container/{cluster}/{t.task}/"
            + hashlib.md5(t.task.encode()).hexdigest()[:8],
            "taskArn": task_arn(cluster, t.task),
            "name": container,
            "lastStatus": "STOPPED",
            "healthStatus": "UNHEALTHY" if t.exit_code not in (None, 0) else "UNKNOWN",
        }
        if t.exit_code is not None:
            c["exitCode"] = t.exit_code
        if t.container_reason:
            c["reason"] = t.container_reason
        described.append(
            {
                "taskArn": task_arn(cluster, t.task),
                "clusterArn": cluster_arn(cluster),
                "taskDefinitionArn": task_definition_arn(family, t.revision),
                "group": f"service:{service}",
                "lastStatus": "STOPPED",
                "desiredStatus": "STOPPED",
                "launchType": "FARGATE",
                "startedAt": t.started.isoformat(),
                "stoppingAt": t.stopped.isoformat(),
                "stoppedAt": (t.stopped + pd.Timedelta(seconds=25)).isoformat(),
                "stopCode": t.stop_code,
                "stoppedReason": t.reason,
                "containers": [c],
            }
        )
    return [
        recorded(
            "ecs",
            "ListTasks",
            {"taskArns": arns},
            cluster=cluster,
            serviceName=service,
            desiredStatus="STOPPED",
        ),
        recorded(
            "ecs",
            "DescribeTasks",
            {"tasks": described, "failures": []},
            cluster=cluster,
            tasks=arns,
        ),
    ]


def ecs_deploy_change(
    at: pd.Timestamp,
    cluster: str,
    service: str,
    td: TaskDefinition,
    *,
    culprit: bool = False,
    what: str = "",
) -> ChangeEvent:
    """A CI deploy: RegisterTaskDefinition (the new image) 35 s before ``at``, then
    UpdateService pointing the service at the new revision at ``at``."""

    def make(rng: np.random.Generator) -> list[dict[str, Any]]:
        register = lookup_event(
            rng,
            when=at - pd.Timedelta(seconds=35),
            event_name="RegisterTaskDefinition",
            event_source="ecs.amazonaws.com",
            identity=CI,
            region=REGION,
            resources=[("AWS::ECS::TaskDefinition", f"{td.family}:{td.revision}")],
            request_parameters={
                "family": td.family,
                "containerDefinitions": [
                    {
                        "name": td.container,
                        "image": td.image,
                        "memory": td.memory,
                        "environment": [{"name": k, "value": v} for k, v in td.environment.items()],
                    }
                ],
                "cpu": str(td.cpu),
                "memory": str(td.memory),
            },
            response_elements={
                "taskDefinition": {
                    "taskDefinitionArn": task_definition_arn(td.family, td.revision),
                    "revision": td.revision,
                }
            },
        )
        update = lookup_event(
            rng,
            when=at,
            event_name="UpdateService",
            event_source="ecs.amazonaws.com",
            identity=CI,
            region=REGION,
            resources=[("AWS::ECS::Service", service), ("AWS::ECS::Cluster", cluster)],
            request_parameters={
                "cluster": cluster,
                "service": service,
                "taskDefinition": f"{td.family}:{td.revision}",
                "forceNewDeployment": False,
            },
            response_elements={
                "service": {
                    "serviceArn": service_arn(cluster, service),
                    "taskDefinition": task_definition_arn(td.family, td.revision),
                }
            },
        )
        return [register, update]

    image_tag = td.image.rsplit(":", 1)[-1]
    return ChangeEvent(
        at,
        what or f"deploy of {service} ({td.family}:{td.revision}, image {image_tag})",
        make,
        culprit,
    )


def ecs_log_stream(container: str, task: str) -> str:
    """An awslogs stream of an ECS task: ``ecs/<container>/<task id>``."""
    return f"ecs/{container}/{task}"


def app_log_line(service: str) -> Callable[[Mapping[str, Any]], str]:
    """The service's JSON access line per request (INFO, WARNING when slow, ERROR with the
    exception when it failed)."""

    def line(row: Mapping[str, Any]) -> str:
        failed = row["outcome"] not in ("ok", "slow")
        slow = row["latency_ms"] >= 1000
        server = int(row["status"]) >= 500
        level = "ERROR" if failed and server else ("WARNING" if failed or slow else "INFO")
        method, _, path = str(row["kind"]).partition(" ")
        fields: dict[str, Any] = {
            "time": iso(pd.Timestamp(row["time"])),
            "level": level,
            "logger": f"{service}.http",
            "method": method,
            "path": path,
            "status": int(row["status"]),
            "duration_ms": round(float(row["latency_ms"]), 1),
            "request_id": row["request_id"],
        }
        if failed and row["error"]:
            fields["error"] = row["error"]
            fields["message"] = f"request failed: {row['error']}"
        elif slow:
            fields["message"] = f"slow request: {path} took {row['latency_ms']:.0f} ms"
        else:
            fields["message"] = "request completed"
        return json_line(**fields)

    return line


def db_log_line(row: Mapping[str, Any]) -> str:
    """A slow-query warning of the service's database client, for a slowed request."""
    ms = float(row["latency_ms"]) * 0.9
    return json_line(
        time=iso(pd.Timestamp(row["time"])),
        level="WARNING",
        logger="sqlalchemy.pool",
        message=f"slow query: {ms:.0f} ms: SELECT reports.* FROM reports WHERE reports.id = %(id)s",
        request_id=row["request_id"],
    )


def list_clusters(*clusters: str) -> Call:
    """Recorded ``ecs list-clusters``."""
    return recorded("ecs", "ListClusters", {"clusterArns": [cluster_arn(c) for c in clusters]})


def no_such_service(cluster: str, service: str) -> Call:
    """``describe-services`` of a service a cluster does not have (ECS answers a failure)."""
    return recorded(
        "ecs",
        "DescribeServices",
        {
            "services": [],
            "failures": [{"arn": service_arn(cluster, service), "reason": "MISSING"}],
        },
        cluster=cluster,
        services=[service],
    )


LIVES, RESTART = pd.Timedelta(seconds=25), pd.Timedelta(seconds=45)


# -- tasks that crash ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CrashLoop:
    """Tasks of a revision that start and exit again: ``slots`` tasks at a time from ``start``,
    each running ``lives`` before its essential container exits with ``exit_code``, replaced
    ``restart`` after (ECS' back-off between attempts), until ``until``."""

    service: str
    container: str
    revision: int
    start: pd.Timestamp
    until: pd.Timestamp
    slots: int = 2
    lives: pd.Timedelta = LIVES
    restart: pd.Timedelta = RESTART
    exit_code: int = 1
    reason: str = "Essential container in task exited"
    stop_code: str = "EssentialContainerExited"
    container_reason: str = ""
    #: The lines the container writes before it exits (``{task}`` is replaced).
    lines: tuple[str, ...] = ()

    def tasks(self) -> list[StoppedTask]:
        out, n = [], 0
        for slot in range(self.slots):
            t = self.start + pd.Timedelta(seconds=11 * slot)
            while t + self.lives < self.until:
                out.append(
                    StoppedTask(
                        task_id(self.service, self.revision * 1000 + n, slot),
                        self.revision,
                        t,
                        t + self.lives,
                        self.reason,
                        self.exit_code,
                        self.container_reason,
                        self.stop_code,
                    )
                )
                n += 1
                t = t + self.lives + self.restart
        return sorted(out, key=lambda s: s.started)

    def running(self, index: pd.DatetimeIndex) -> np.ndarray:
        """The crashing tasks running, on average over each minute of ``index``."""
        out = np.zeros(len(index))
        starts = index.asi8
        width = pd.Timedelta(minutes=1).value // 1000 if index.unit == "us" else 60 * 10**9
        for t in self.tasks():
            a = _as_index_unit(t.started, index)
            b = _as_index_unit(t.stopped, index)
            overlap = np.clip(np.minimum(starts + width, b) - np.maximum(starts, a), 0, None)
            out += overlap / width
        return out

    def log_events(self) -> pd.DataFrame:
        """What each crashing task logs before it exits, in its ``ecs/<container>/<task>``."""
        rows = []
        for t in self.tasks():
            stream = ecs_log_stream(self.container, t.task)
            for i, line in enumerate(self.lines):
                rows.append(
                    {
                        "timestamp": t.started + pd.Timedelta(seconds=2, milliseconds=137 * i),
                        "message": line.replace("{task}", t.task),
                        "log_stream": stream,
                    }
                )
        frame = pd.DataFrame(rows)
        frame["ingestion_time"] = frame["timestamp"] + pd.Timedelta(milliseconds=640)
        return frame


def _as_index_unit(ts: pd.Timestamp, index: pd.DatetimeIndex) -> int:
    return pd.DatetimeIndex([ts]).as_unit(index.unit).asi8[0]


@dataclass(frozen=True)
class EcsScenario(ServiceScenario):
    """A service scenario (a CloudWatch alarm) that also writes log events not tied to a
    request: ``extra_logs`` are ``(log group, frame of timestamp, message, log_stream)``."""

    extra_logs: Sequence[tuple[str, pd.DataFrame]] = ()
    #: Each request's task (``task_of``): its log lines go to ``ecs/<container>/<task>``.
    tasks: LabelFn | None = None
    container: str = "app"

    def _log_lines(self, spec: Any, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        if self.tasks is None:
            return super()._log_lines(spec, frame, rng)
        return ecs_log_lines(spec, frame, rng, self.tasks, self.container)

    def generate(self, writer: StoreWriter, rng: np.random.Generator) -> dict[str, Any]:
        entry = super().generate(writer, rng)
        for group, frame in self.extra_logs:
            writer.add_log_events(frame, log_group=group)
        return entry


# -- tasks whose memory grows ------------------------------------------------------------------
@dataclass(frozen=True)
class MemoryLeak:
    """``tasks`` tasks of a revision (started at ``since``) whose memory (% of the task's
    limit) sits at ``base`` (+ a few points per task) until ``start``, then grows by ``rate``
    points a minute; a task reaching 100% is OOM-killed (exit code 137) and replaced a minute
    later by a fresh one at ``base``. Deterministic: the same tasks in the metrics, the
    Container Insights performance events and the recorded describe-tasks."""

    service: str
    family: str
    revision: int
    since: pd.Timestamp
    start: pd.Timestamp
    end: pd.Timestamp
    tasks: int = 3
    base: float = 38.0
    spread: float = 7.0
    rate: float = 1.5
    memory_mb: int = 2048
    cpu_units: int = 1024

    def timeline(self) -> list[tuple[str, pd.Timestamp, pd.Timestamp | None, np.ndarray]]:
        """``(task id, started, OOM-killed at or None, memory % per minute of the window)``."""
        index = minute_index(self.since.floor("min"), self.end)
        out = []
        for slot in range(self.tasks):
            started, level0, n = self.since, self.base + self.spread * slot, 0
            while started < self.end:
                grow = np.clip((index - max(self.start, started)).total_seconds() / 60, 0, None)
                level = level0 + self.rate * grow
                alive = index >= started.floor("min")
                full = np.nonzero(alive & (level >= 100.0))[0]
                killed = index[full[0]] if len(full) else None
                mem = np.where(alive, np.minimum(level, 100.0), np.nan)
                if killed is not None:
                    mem = np.where(index <= killed, mem, np.nan)
                task = task_id(self.service, self.revision * 1000 + n, slot)
                out.append((task, started, killed, mem))
                if killed is None:
                    break
                started, level0, n = killed + pd.Timedelta(seconds=70), self.base, n + 1
        return out

    def index(self) -> pd.DatetimeIndex:
        return minute_index(self.since.floor("min"), self.end)

    def service_memory(self, ctx: Context) -> np.ndarray:
        """AWS/ECS MemoryUtilization of the service: the mean over its running tasks."""
        idx = self.index()
        stack = np.vstack([m for *_, m in self.timeline()])
        with np.errstate(all="ignore"):
            mean = np.nanmean(stack, axis=0)
        series = pd.Series(mean, index=idx).reindex(ctx.index)
        return series.ffill().bfill().to_numpy(float)

    def stopped(self, *, before: pd.Timestamp) -> list[StoppedTask]:
        reason = "OutOfMemoryError: Container killed due to memory usage"
        return [
            StoppedTask(
                task,
                self.revision,
                started,
                killed,
                reason,
                137,
                reason,
                "EssentialContainerExited",
            )
            for task, started, killed, _ in self.timeline()
            if killed is not None and killed <= before
        ]

    def replacements(self, *, before: pd.Timestamp) -> list[tuple[pd.Timestamp, str]]:
        """``(started, task)`` of each task ECS started in place of a killed one."""
        line = self.timeline()
        return [
            (nxt[1], nxt[0])
            for cur, nxt in itertools.pairwise(line)
            if cur[2] is not None
            and nxt[1] == cur[2] + pd.Timedelta(seconds=70)
            and nxt[1] <= before
        ]

    def performance_events(self, cluster: str, rng: np.random.Generator) -> pd.DataFrame:
        """Container Insights performance log events (``Type`` Task and Container, once a
        minute per task) in ``/aws/ecs/containerinsights/<cluster>/performance``."""
        idx = self.index()
        rows = []
        for task, _started, _killed, mem in self.timeline():
            for when, pct in zip(idx, mem, strict=True):
                if np.isnan(pct):
                    continue
                used = round(self.memory_mb * pct / 100 * (1 + rng.normal(0, 0.004)), 1)
                cpu = round(self.cpu_units * 0.3 * (1 + rng.normal(0, 0.05)), 2)
                common = {
                    "Version": "0",
                    "TaskId": task,
                    "TaskDefinitionFamily": self.family,
                    "TaskDefinitionRevision": str(self.revision),
                    "ServiceName": self.service,
                    "ClusterName": cluster,
                    "LaunchType": "FARGATE",
                    "Timestamp": int(when.value // 1_000_000),
                    "CpuUtilized": cpu,
                    "CpuReserved": float(self.cpu_units),
                    "MemoryUtilized": used,
                    "MemoryReserved": self.memory_mb,
                }
                stream = f"FargateTelemetry-{int(task[:8], 16) % 10000:04d}"
                ts = when + pd.Timedelta(seconds=59)
                rows.append(
                    {
                        "timestamp": ts,
                        "message": json.dumps({**common, "Type": "Task"}),
                        "log_stream": stream,
                    }
                )
                rows.append(
                    {
                        "timestamp": ts,
                        "message": json.dumps(
                            {**common, "Type": "Container", "ContainerName": "app"}
                        ),
                        "log_stream": stream,
                    }
                )
        frame = pd.DataFrame(rows)
        frame["ingestion_time"] = frame["timestamp"] + pd.Timedelta(seconds=2)
        return frame
