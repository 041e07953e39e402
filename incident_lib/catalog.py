"""The alert-type catalogue: which notebook investigates an alarm, with which parameters.

Alert types are data (``catalog.toml`` in this package, checked with pydantic) held in a
:class:`Catalog` registry, papermill-style: ``register()``, lookup by name, an unknown name raises
:class:`~incident_lib.errors.UnknownNameError` listing the valid ones. A user's own TOML file
(``config=`` or ``$INCIDENT_CATALOG``) adds or replaces alert types, adds alarm-name overrides and
says which log groups belong to which function or service.

>>> investigation = resolve(parse_alarm(Path("event.json")))  # doctest: +SKIP
>>> investigation.alert_type, investigation.parameters["function_name"]  # doctest: +SKIP
('lambda_errors', 'checkout')
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from incident_lib.alarm import Alarm, MetricSpec
from incident_lib.errors import BadInputError, UnknownNameError
from incident_lib.paths import notebooks_dir
from incident_lib.timeutil import format_iso

__all__ = [
    "PARAMETER_BUILDERS",
    "AlertType",
    "Catalog",
    "CatalogFile",
    "Investigation",
    "Match",
    "MatchRule",
    "Override",
    "check_notebook",
    "load_catalog",
    "notebooks_dir",
    "register_parameters",
    "resolve",
]

log = logging.getLogger(__name__)

ENV_CONFIG = "INCIDENT_CATALOG"
_STRICT = ConfigDict(frozen=True, extra="forbid")
#: A window length in a catalogue file: ``90s``, ``60m``, ``6h``, ``3d``.
_DURATION_TEXT = r"^[0-9]+(s|m|h|d)$"
#: The window when neither the options nor the alert type say.
DEFAULT_BEFORE, DEFAULT_AFTER = "60m", "15m"


# --------------------------------------------------------------------------------------------
# The data: what a catalogue file may say


class MatchRule(BaseModel):
    """A metric an alert type investigates: namespace, metric names (empty = any) and
    dimension names of which at least one must be present (empty = any), and ``labels``:
    dimension (a Prometheus alert's label) -> shell-style glob its value must match, all of
    them (``alertname`` is a Prometheus alert's name)."""

    model_config = _STRICT

    #: A namespace, or a shell-style glob of them (``"*"``: any).
    namespace: str
    metrics: list[str] = Field(default_factory=list)
    dimensions: list[str] = Field(default_factory=list)
    #: Globs of namespaces the rule does not match (``["AWS/*"]``: an application's own).
    except_namespaces: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)

    def matches(self, metric: MetricSpec) -> bool:
        namespace = metric.namespace or ""
        return (
            fnmatch.fnmatchcase(namespace, self.namespace)
            and not any(fnmatch.fnmatchcase(namespace, g) for g in self.except_namespaces)
            and (not self.metrics or metric.name in self.metrics)
            and (not self.dimensions or any(d in metric.dimensions for d in self.dimensions))
            and self._labels_match(metric)
        )

    def _labels_match(self, metric: MetricSpec) -> bool:
        values = {**metric.dimensions}
        if metric.namespace == "Prometheus":
            values["alertname"] = metric.name
        return all(
            k in values and fnmatch.fnmatchcase(str(values[k]), pattern)
            for k, pattern in self.labels.items()
        )

    def describe(self) -> str:
        names = "|".join(self.metrics) or "*"
        dims = f" [{'|'.join(self.dimensions)}]" if self.dimensions else ""
        but = f" (not {', '.join(self.except_namespaces)})" if self.except_namespaces else ""
        labels = "".join(f" {k}={v}" for k, v in self.labels.items())
        return f"{self.namespace}{but} {names}{dims}{labels}"


class AlertType(BaseModel):
    """One alert type: its notebook, the metrics it matches and how its parameters are made."""

    model_config = _STRICT

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = ""
    notebook: str
    parameters: str = "generic"
    match: list[MatchRule] = Field(default_factory=list)
    #: Alarm kinds this type takes whatever they read (``composite``): tried before the rules.
    alarm_kinds: list[Literal["metric", "metric_math", "composite", "anomaly_detection"]] = Field(
        default_factory=list
    )
    planned: bool = False
    #: The investigation window's default for this type (``"3d"`` for a daily cost metric;
    #: ``--before``/``--after`` override it): before and after the state change.
    window_before: str | None = Field(default=None, pattern=_DURATION_TEXT)
    window_after: str | None = Field(default=None, pattern=_DURATION_TEXT)


class Override(BaseModel):
    """Alarms whose name matches ``alarm_name`` (a shell-style glob, case-sensitive) go to
    ``alert_type``; ``parameters`` are added to the notebook's parameters."""

    model_config = _STRICT

    alarm_name: str
    alert_type: str
    parameters: dict[str, Any] = Field(default_factory=dict)


class CatalogFile(BaseModel):
    """A catalogue file: the package's own ``catalog.toml`` or a user's configuration."""

    model_config = _STRICT

    fallback: str | None = None
    alert_type: list[AlertType] = Field(default_factory=list)
    override: list[Override] = Field(default_factory=list)
    #: Resource name (function, service, table ...) -> the log groups that belong to it.
    log_groups: dict[str, list[str]] = Field(default_factory=dict)
    #: API, queue or table name -> the Lambda functions behind it (added to those found).
    backends: dict[str, list[str]] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Investigation:
    """What to run: the alert type, its notebook and the papermill parameters
    (JSON-serialisable)."""

    alert_type: str
    notebook: Path
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Match:
    """Why an alarm goes to an alert type: the metric that matched (if any) and the reason."""

    alert_type: AlertType
    reason: str
    metric: MetricSpec | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Parameter builders: the code behind ``parameters = "<name>"`` in the data

ParameterBuilder = Callable[[Alarm, Match, "Catalog"], dict[str, Any]]
PARAMETER_BUILDERS: dict[str, ParameterBuilder] = {}


def register_parameters(name: str) -> Callable[[ParameterBuilder], ParameterBuilder]:
    """Register a parameter builder under ``name`` (decorator)."""

    def decorate(fn: ParameterBuilder) -> ParameterBuilder:
        PARAMETER_BUILDERS[name] = fn
        return fn

    return decorate


def _resource_names(alarm: Alarm) -> list[str]:
    seen: dict[str, None] = {}
    for metric in alarm.metrics():
        for value in metric.dimensions.values():
            seen.setdefault(value, None)
    return list(seen)


@register_parameters("generic")
def _generic_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    names = _resource_names(alarm)
    groups: dict[str, None] = {}
    for name in names:
        for group in catalog.log_groups.get(name, []):
            groups.setdefault(group, None)
    return {"resource_names": names, "log_groups": list(groups)}


@register_parameters("lambda_function")
def _lambda_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    function = match.parameters.get("function_name")
    metrics = [match.metric] if match.metric else []
    metrics += [m for m in alarm.metrics() if m.namespace == "AWS/Lambda"]
    for metric in metrics:
        if function:
            break
        dims = metric.dimensions
        # Resource is "fn" or "fn:alias" / "fn:version"; FunctionName is always the bare name.
        function = dims.get("FunctionName") or (dims.get("Resource") or "").split(":")[0]
    if not function:
        raise BadInputError(
            f"alarm {alarm.name!r} goes to {match.alert_type.name} but names no function: it "
            "has no FunctionName or Resource dimension; set function_name in the override's "
            "parameters"
        )
    groups = catalog.log_groups.get(function) or [f"/aws/lambda/{function}"]
    return {"function_name": function, "log_groups": list(groups)}


def _dimension(alarm: Alarm, match: Match, namespace: str, *names: str) -> dict[str, str]:
    """The dimensions of the matched metric (else the alarm's first in ``namespace``) that
    are among ``names``."""
    metrics = [match.metric] if match.metric else []
    metrics += [m for m in alarm.metrics() if m.namespace == namespace]
    for metric in metrics:
        found = {n: metric.dimensions[n] for n in names if metric.dimensions.get(n)}
        if found:
            return found
    return {}


@register_parameters("apigateway")
def _apigateway_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    """The API (``ApiName`` for a REST API, ``ApiId`` for an HTTP API), its stage, the Lambda
    functions the user's ``[backends]`` puts behind it (the notebook adds those its
    integrations name), its access log groups (``[log_groups]`` by API name or id) and the
    log-group map for the backends."""
    dims = _dimension(alarm, match, "AWS/ApiGateway", "ApiName", "ApiId", "Stage")
    api_name, api_id = dims.get("ApiName", ""), dims.get("ApiId", "")
    api = match.parameters.get("api_name") or api_name or api_id
    if not api:
        raise BadInputError(
            f"alarm {alarm.name!r} goes to {match.alert_type.name} but names no API: it has no "
            "ApiName or ApiId dimension; set api_name in the override's parameters"
        )
    stage = dims.get("Stage", "")
    groups = catalog.log_groups.get(api) or catalog.log_groups.get(f"{api}/{stage}") or []
    return {
        "api_name": api_name,
        "api_id": api_id,
        "stage": stage,
        "backend_functions": list(catalog.backends.get(api, [])),
        "log_groups": list(groups),
        "log_group_map": {k: list(v) for k, v in catalog.log_groups.items()},
        "resource_names": [n for n in (api_name, api_id) if n],
    }


@register_parameters("dynamodb_table")
def _dynamodb_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    """The table (``TableName``), the index when the alarm names one
    (``GlobalSecondaryIndexName``), the functions the user's ``[backends]`` lists as its
    callers (the notebook adds those whose environment names the table) and the log-group
    map for them."""
    dims = _dimension(alarm, match, "AWS/DynamoDB", "TableName", "GlobalSecondaryIndexName")
    table = match.parameters.get("table_name") or dims.get("TableName", "")
    if not table:
        raise BadInputError(
            f"alarm {alarm.name!r} goes to {match.alert_type.name} but names no table: it has "
            "no TableName dimension; set table_name in the override's parameters"
        )
    return {
        "table_name": table,
        "index_name": dims.get("GlobalSecondaryIndexName", ""),
        "backend_functions": list(catalog.backends.get(table, [])),
        "log_groups": list(catalog.log_groups.get(table, [])),
        "log_group_map": {k: list(v) for k, v in catalog.log_groups.items()},
        "resource_names": [table],
    }


@register_parameters("sqs_queue")
def _sqs_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    """The queue (``QueueName``: for ``sqs_dlq`` the dead-letter queue), the functions the
    user's ``[backends]`` lists as consumers of it or of its source queues (the notebook adds
    the event source mappings'), and the log-group map for them."""
    dims = _dimension(alarm, match, "AWS/SQS", "QueueName")
    queue = match.parameters.get("queue_name") or dims.get("QueueName", "")
    if not queue:
        raise BadInputError(
            f"alarm {alarm.name!r} goes to {match.alert_type.name} but names no queue: it has "
            "no QueueName dimension; set queue_name in the override's parameters"
        )
    return {
        "queue_name": queue,
        "backend_functions": list(catalog.backends.get(queue, [])),
        "log_groups": list(catalog.log_groups.get(queue, [])),
        "log_group_map": {k: list(v) for k, v in catalog.log_groups.items()},
        "resource_names": [queue],
    }


# -- CloudFront, cost, custom metrics --


@register_parameters("cloudfront")
def _cloudfront_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    """The distribution (``DistributionId``), its log groups from the user's ``[log_groups]``
    (the notebook looks for standard logging v2 groups named after it otherwise), the
    ``[backends]`` behind it and the log-group map."""
    dims = _dimension(alarm, match, "AWS/CloudFront", "DistributionId")
    dist = match.parameters.get("distribution_id") or dims.get("DistributionId", "")
    if not dist:
        raise BadInputError(
            f"alarm {alarm.name!r} goes to {match.alert_type.name} but names no distribution: "
            "it has no DistributionId dimension; set distribution_id in the override's "
            "parameters"
        )
    return {
        "distribution_id": dist,
        "backend_functions": list(catalog.backends.get(dist, [])),
        "log_groups": list(catalog.log_groups.get(dist, [])),
        "log_group_map": {k: list(v) for k, v in catalog.log_groups.items()},
        "resource_names": [dist],
    }


@register_parameters("billing")
def _billing_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    """The service whose charges the alarm watches (``ServiceName``; none for the account's
    total) and the currency. The notebook finds the resources behind the growth itself."""
    dims = _dimension(alarm, match, "AWS/Billing", "ServiceName", "Currency", "LinkedAccount")
    service = match.parameters.get("service_name") or dims.get("ServiceName", "")
    return {
        "service_name": service,
        "currency": dims.get("Currency", "USD"),
        "linked_account": dims.get("LinkedAccount", ""),
        "log_groups": [],
        "log_group_map": {k: list(v) for k, v in catalog.log_groups.items()},
        "resource_names": [],
    }


#: Dimension names that name the service or function behind a custom metric.
SERVICE_DIMENSIONS = (
    "FunctionName",
    "Function",
    "Service",
    "ServiceName",
    "Application",
    "App",
    "Component",
)


@register_parameters("custom_metric")
def _custom_metric_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    """The service a custom metric's dimensions name (``Service``, ``FunctionName`` ...), the
    log groups the user's ``[log_groups]`` maps any dimension value to (else the service's
    Lambda log group, when it is a function), and the dimension values as resource names."""
    metric = match.metric or next(iter(alarm.metrics()), None)
    dims = dict(metric.dimensions) if metric is not None else {}
    service = match.parameters.get("service_name") or next(
        (dims[d] for d in SERVICE_DIMENSIONS if dims.get(d)), ""
    )
    groups: dict[str, None] = {}
    for value in dims.values():
        for group in catalog.log_groups.get(value, []):
            groups.setdefault(group, None)
    return {
        "service_name": service,
        "log_groups": list(groups),
        "log_group_map": {k: list(v) for k, v in catalog.log_groups.items()},
        "backend_functions": list(catalog.backends.get(service, [])) if service else [],
        "resource_names": list(dict.fromkeys(str(v) for v in dims.values())),
    }


# -- data pipelines, composite alarms, RDS ------------------------------------------------
#: Dimensions that name a pipeline or its job, most telling first.
_PIPELINE_DIMENSIONS = ("Pipeline", "PipelineName", "JobName", "Job", "RuleName", "FunctionName")


@register_parameters("data_pipeline")
def _pipeline_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    """The pipeline: ``pipeline`` (the override's, else the alarm's ``Pipeline``, ``JobName``,
    ``RuleName`` ... dimension, else its first dimension value, else the alarm name's first
    word), used as the name prefix of its functions, rules and jobs; ``pipeline_functions``
    the user's ``[backends]`` for it (its stages, in order), and its log groups."""
    metric = match.metric or next(iter(alarm.metrics()), None)
    dims = dict(metric.dimensions) if metric is not None else {}
    named = [dims[d] for d in _PIPELINE_DIMENSIONS if dims.get(d)]
    pipeline = (
        match.parameters.get("pipeline")
        or (named[0] if named else "")
        or next(iter(dims.values()), "")
        or alarm.name.split("-")[0]
    )
    return {
        "pipeline": pipeline,
        "pipeline_functions": list(catalog.backends.get(pipeline, [])),
        "log_groups": list(catalog.log_groups.get(pipeline, [])),
        "log_group_map": {k: list(v) for k, v in catalog.log_groups.items()},
        "resource_names": list(dict.fromkeys([pipeline, *dims.values()])),
    }


#: A child alarm in a composite's rule: ``ALARM(name)``, ``OK("name")``, ``ALARM(arn:...)``.
_RULE_TERM = re.compile(r"\b(?:ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*\"?([^\")]+?)\"?\s*\)")


@register_parameters("composite")
def _composite_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    """The composite's children: every alarm its rule names (an ARN as its alarm name), in
    the rule's order, then the triggering children it did not name; and the log-group map."""
    rule = alarm.composite.rule if alarm.composite is not None else ""
    names = [n.strip().rsplit(":alarm:", 1)[-1] for n in _RULE_TERM.findall(rule)]
    if alarm.composite is not None:
        names += [c.name for c in alarm.composite.triggering_children]
    return {
        "children": list(dict.fromkeys(n for n in names if n)),
        "log_group_map": {k: list(v) for k, v in catalog.log_groups.items()},
        "resource_names": [],
    }


@register_parameters("rds_database")
def _rds_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    """The database: ``db_instance`` (``DBInstanceIdentifier``) or ``db_cluster``
    (``DBClusterIdentifier``), the functions the user's ``[backends]`` lists as its clients
    (the notebook adds those whose environment names it) and the log-group map for them."""
    dims = _dimension(alarm, match, "AWS/RDS", "DBInstanceIdentifier", "DBClusterIdentifier")
    instance = match.parameters.get("db_instance") or dims.get("DBInstanceIdentifier", "")
    cluster = match.parameters.get("db_cluster") or dims.get("DBClusterIdentifier", "")
    name = instance or cluster
    if not name:
        raise BadInputError(
            f"alarm {alarm.name!r} goes to {match.alert_type.name} but names no database: it "
            "has no DBInstanceIdentifier or DBClusterIdentifier dimension; set db_instance in "
            "the override's parameters"
        )
    return {
        "db_instance": instance,
        "db_cluster": cluster,
        "backend_functions": list(catalog.backends.get(name, [])),
        "log_groups": list(catalog.log_groups.get(name, [])),
        "log_group_map": {k: list(v) for k, v in catalog.log_groups.items()},
        "resource_names": [name],
    }


# -- hosts: seed runbook 002 (EC2, ALB, auto scaling, VPC flow logs) ------------------------
@register_parameters("alb")
def _alb_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    """The load balancer (``LoadBalancer``: ``app/<name>/<id>``), the target group when the
    alarm names one, and the application's log groups the user's ``[log_groups]`` maps to
    either (by dimension value or name; the notebook otherwise reads the CloudWatch agent's
    configuration)."""
    dims = _dimension(alarm, match, "AWS/ApplicationELB", "LoadBalancer", "TargetGroup")
    lb = match.parameters.get("load_balancer") or dims.get("LoadBalancer", "")
    if not lb:
        raise BadInputError(
            f"alarm {alarm.name!r} goes to {match.alert_type.name} but names no load balancer: "
            "it has no LoadBalancer dimension; set load_balancer in the override's parameters"
        )
    tg = match.parameters.get("target_group") or dims.get("TargetGroup", "")
    keys = [lb, tg, *(v.split("/")[1] for v in (lb, tg) if v.count("/") >= 2)]
    groups = [g for k in keys if k for g in catalog.log_groups.get(k, [])]
    return {
        "load_balancer": lb,
        "target_group": tg,
        "log_groups": list(dict.fromkeys(groups)),
        "resource_names": [n for n in (lb, tg) if n],
    }


@register_parameters("ec2_instance")
def _ec2_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    """The instance (``InstanceId``) or auto scaling group (``AutoScalingGroupName``) the alarm
    names, and the log groups the user's ``[log_groups]`` maps to either."""
    dims = _dimension(
        alarm,
        match,
        match.metric.namespace if match.metric else "AWS/EC2",
        "InstanceId",
        "AutoScalingGroupName",
    )
    instance = match.parameters.get("instance_id") or dims.get("InstanceId", "")
    group = match.parameters.get("asg_name") or dims.get("AutoScalingGroupName", "")
    if not instance and not group:
        raise BadInputError(
            f"alarm {alarm.name!r} goes to {match.alert_type.name} but names no instance: it "
            "has no InstanceId or AutoScalingGroupName dimension; set instance_id in the "
            "override's parameters"
        )
    groups = [g for k in (instance, group) if k for g in catalog.log_groups.get(k, [])]
    return {
        "instance_id": instance,
        "asg_name": group,
        "log_groups": list(dict.fromkeys(groups)),
        "resource_names": [n for n in (instance, group) if n],
    }


@register_parameters("cwagent_disk")
def _disk_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    """The instance and file system (``InstanceId``, ``path``, ``device``, ``fstype``) of a
    CloudWatch agent disk alarm, and the log groups the user's ``[log_groups]`` maps to the
    instance (the notebook otherwise finds the groups holding its log streams)."""
    namespace = match.metric.namespace if match.metric else "CWAgent"
    dims = _dimension(alarm, match, namespace, "InstanceId", "path", "device", "fstype")
    instance = match.parameters.get("instance_id") or dims.get("InstanceId", "")
    return {
        "instance_id": instance,
        "path": dims.get("path", ""),
        "device": dims.get("device", ""),
        "fstype": dims.get("fstype", ""),
        "log_groups": list(catalog.log_groups.get(instance, [])) if instance else [],
        "resource_names": [instance] if instance else [],
    }


@register_parameters("flow_logs")
def _flow_logs_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    """The flow log groups the user's ``[log_groups]`` maps to the alarmed metric's name (the
    notebook otherwise reads them from the metric filter that publishes it)."""
    metric = match.metric or alarm.metric
    name = metric.name if metric else ""
    groups = list(match.parameters.get("flow_log_groups") or catalog.log_groups.get(name, []))
    return {"flow_log_groups": groups, "log_groups": groups, "resource_names": []}


# -- ECS services and their Prometheus alerts ----------------------------------------------
#: Alert labels naming the service, in the order tried (Prometheus' ECS service discovery,
#: the usual relabelling, the scrape job).
SERVICE_LABELS = ("ecs_service", "service", "service_name", "container_name", "app", "job")
CLUSTER_LABELS = ("ecs_cluster", "cluster", "cluster_name")


@register_parameters("prometheus_alert")
def _prometheus_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    """A Prometheus alert about an ECS service: the service (``service_name`` in the override's
    parameters, else the first of :data:`SERVICE_LABELS` among the alert's labels), its
    cluster (likewise, else the notebook looks it up), the alert's expression and labels, and
    the service's log groups (``[log_groups]`` by service name, else ``/ecs/<service>``)."""
    labels = dict(alarm.prometheus.labels) if alarm.prometheus else {}
    if not labels and alarm.metric is not None:
        labels = dict(alarm.metric.dimensions)
    service = match.parameters.get("service_name") or next(
        (labels[k] for k in SERVICE_LABELS if labels.get(k)), ""
    )
    if not service:
        raise BadInputError(
            f"alarm {alarm.name!r} goes to {match.alert_type.name} but names no service: it has "
            f"none of the labels {', '.join(SERVICE_LABELS)}; set service_name in the "
            "override's parameters"
        )
    cluster = match.parameters.get("cluster_name") or next(
        (labels[k] for k in CLUSTER_LABELS if labels.get(k)), ""
    )
    groups = catalog.log_groups.get(service) or [f"/ecs/{service}"]
    return {
        "service_name": service,
        "cluster_name": cluster,
        "expression": (alarm.prometheus.expression if alarm.prometheus else None) or "",
        "log_groups": list(groups),
        "resource_names": [n for n in (service, cluster) if n],
    }


@register_parameters("ecs_service")
def _ecs_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    """An ECS service's CloudWatch alarm (``ServiceName``, ``ClusterName``) or Prometheus alert
    (as ``prometheus_alert``): the service, its cluster and its log groups."""
    if alarm.kind == "prometheus":
        return _prometheus_parameters(alarm, match, catalog)
    metrics = [match.metric] if match.metric else []
    metrics += [m for m in alarm.metrics() if m.namespace in ("AWS/ECS", "ECS/ContainerInsights")]
    dims = next((m.dimensions for m in metrics if m.dimensions.get("ServiceName")), {})
    service = match.parameters.get("service_name") or dims.get("ServiceName", "")
    cluster = match.parameters.get("cluster_name") or dims.get("ClusterName", "")
    if not service:
        raise BadInputError(
            f"alarm {alarm.name!r} goes to {match.alert_type.name} but names no service: it "
            "has no ServiceName dimension; set service_name in the override's parameters"
        )
    groups = catalog.log_groups.get(service) or [f"/ecs/{service}"]
    return {
        "service_name": service,
        "cluster_name": cluster,
        "expression": "",
        "log_groups": list(groups),
        "resource_names": [n for n in (service, cluster) if n],
    }


@register_parameters("postgres_alert")
def _postgres_parameters(alarm: Alarm, match: Match, catalog: Catalog) -> dict[str, Any]:
    """A Prometheus alert from postgres_exporter's series: the database server (``server``,
    ``instance`` or ``datname`` label, or ``db_instance`` in the override's parameters), the
    log groups the user maps to it, and the log-group map for the clients the notebook finds
    (``application_name``: their ``[log_groups]``, else ``/ecs/<name>``)."""
    labels = dict(alarm.prometheus.labels) if alarm.prometheus else {}
    if not labels and alarm.metric is not None:
        labels = dict(alarm.metric.dimensions)
    db = match.parameters.get("db_instance") or next(
        (
            labels[k]
            for k in ("server", "instance", "datname", "dbinstance_identifier")
            if labels.get(k)
        ),
        "",
    )
    if not db:
        raise BadInputError(
            f"alarm {alarm.name!r} goes to {match.alert_type.name} but names no database: it has "
            "no server, instance or datname label; set db_instance in the override's parameters"
        )
    host = db.split(":")[0]
    return {
        "db_instance": db,
        "expression": (alarm.prometheus.expression if alarm.prometheus else None) or "",
        "log_groups": list(catalog.log_groups.get(db) or catalog.log_groups.get(host) or []),
        "log_group_map": {k: list(v) for k, v in catalog.log_groups.items()},
        "resource_names": list(dict.fromkeys([host, db.split(".")[0]])),
    }


# --------------------------------------------------------------------------------------------
# The registry


class Catalog:
    """Alert types by name, the alarm-name overrides and the user's log-group map.

    Types registered with ``first=True`` (a user's own) are tried before the package's.
    """

    def __init__(self, *, fallback: str = "generic", notebooks: Path | None = None) -> None:
        self._types: dict[str, AlertType] = {}
        self._order: list[str] = []
        self.overrides: list[Override] = []
        self.log_groups: dict[str, list[str]] = {}
        self.backends: dict[str, list[str]] = {}
        self.fallback = fallback
        self.notebooks = notebooks
        #: Where a user file's relative notebook paths start: the folder of that file.
        self._bases: dict[str, Path] = {}

    # registry ---------------------------------------------------------------------------

    def register(self, alert_type: AlertType, *, first: bool = False) -> None:
        """Add ``alert_type``, replacing one of the same name."""
        if alert_type.parameters not in PARAMETER_BUILDERS:
            raise UnknownNameError(
                "parameter builder", alert_type.parameters, list(PARAMETER_BUILDERS)
            )
        if alert_type.name in self._types:
            self._order.remove(alert_type.name)
        self._types[alert_type.name] = alert_type
        if first:
            self._order.insert(0, alert_type.name)
        else:
            self._order.append(alert_type.name)

    def get(self, name: str) -> AlertType:
        """The alert type called ``name``; :class:`UnknownNameError` lists the valid ones."""
        try:
            return self._types[name]
        except KeyError:
            raise UnknownNameError("alert type", name, list(self._types)) from None

    def names(self) -> list[str]:
        return list(self._order)

    def __iter__(self) -> Iterator[AlertType]:
        return (self._types[n] for n in self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def add_file(
        self, data: CatalogFile, *, user: bool, origin: str, base: Path | None = None
    ) -> None:
        """Merge a catalogue file: types, overrides (a user's go first), log groups. ``base``
        is where the file's relative notebook paths start (its own folder)."""
        types = list(reversed(data.alert_type)) if user else data.alert_type
        for alert_type in types:
            self.register(alert_type, first=user)
            if base is not None:
                self._bases[alert_type.name] = base
            else:
                self._bases.pop(alert_type.name, None)
        self.overrides = (
            [*data.override, *self.overrides] if user else [*self.overrides, *data.override]
        )
        self.log_groups.update(data.log_groups)
        self.backends.update(data.backends)
        if data.fallback:
            self.fallback = data.fallback
        for target in [o.alert_type for o in self.overrides] + [self.fallback]:
            if self.get(target).planned:
                raise BadInputError(f"{origin}: alert type {target!r} is planned, not available")

    def notebook_path(self, alert_type: AlertType | str) -> Path:
        """The notebook file of an alert type: absolute as written; a relative name in a
        user's file is relative to that file's folder, in the package's own catalogue to
        :func:`notebooks_dir`."""
        at = self.get(alert_type) if isinstance(alert_type, str) else alert_type
        path = Path(at.notebook).expanduser()
        if path.is_absolute():
            return path
        base = self._bases.get(at.name) or self.notebooks or notebooks_dir()
        return base / path

    # matching ---------------------------------------------------------------------------

    def match(self, alarm: Alarm) -> Match:
        """Alarm-name overrides first, then metric rules in order, then the fallback."""
        for override in self.overrides:
            if fnmatch.fnmatchcase(alarm.name, override.alarm_name):
                return Match(
                    self.get(override.alert_type),
                    f"alarm name matches {override.alarm_name!r}",
                    next(iter(alarm.metrics()), None),
                    dict(override.parameters),
                )
        for alert_type in self:
            if not alert_type.planned and alarm.kind in alert_type.alarm_kinds:
                return Match(alert_type, f"{alarm.kind} alarm")
        if alarm.kind != "composite":
            for alert_type in self:
                if alert_type.planned:
                    continue
                for rule in alert_type.match:
                    for metric in alarm.metrics():
                        if rule.matches(metric):
                            return Match(alert_type, f"metric matches {rule.describe()}", metric)
        why = "composite alarm" if alarm.kind == "composite" else "no rule matched"
        return Match(self.get(self.fallback), f"fallback: {why}")

    def investigation(
        self, alarm: Alarm, *, window_before: str | None = None, window_after: str | None = None
    ) -> Investigation:
        """The :class:`Investigation` for ``alarm`` (see :func:`resolve`)."""
        match = self.match(alarm)
        at = match.alert_type
        log.info("alarm %r -> %s (%s)", alarm.name, at.name, match.reason)
        before = window_before or at.window_before or DEFAULT_BEFORE
        after = window_after or at.window_after or DEFAULT_AFTER
        start, end = alarm.time_window(before, after)
        params: dict[str, Any] = {
            "alarm_json": alarm.model_dump_json(),
            "alarm_name": alarm.name,
            "region": alarm.region,
            "account_id": alarm.account,
            "start": format_iso(start),
            "end": format_iso(end),
            "alert_type": at.name,
        }
        params.update(PARAMETER_BUILDERS[at.parameters](alarm, match, self))
        params.update(match.parameters)
        return Investigation(at.name, self.notebook_path(at), params)


def check_notebook(path: Path) -> Path:
    """``path`` if it is a readable notebook file, else a :class:`BadInputError` saying so
    (before any kernel starts)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise BadInputError(f"notebook {path} does not exist")
    if path.suffix != ".ipynb":
        raise BadInputError(f"notebook {path} is not a .ipynb file")
    return path.resolve()


# --------------------------------------------------------------------------------------------
# Loading


def _read(text: str, origin: str) -> CatalogFile:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"{origin}: not valid TOML ({exc})") from None
    except RecursionError:
        raise BadInputError(f"{origin}: not valid TOML (nested too deeply)") from None
    try:
        return CatalogFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise BadInputError(f"{origin}: {where}: {first['msg']}{more}") from None


def load_catalog(config: Path | None = None) -> Catalog:
    """The package catalogue merged with a user's configuration file.

    Parameters
    ----------
    config
        A TOML file with ``[[alert_type]]``, ``[[override]]`` and ``[log_groups]``; when not
        given, ``$INCIDENT_CATALOG`` if set. Its alert types and overrides are tried before the
        package's.

    Raises
    ------
    BadInputError
        The file is missing, not TOML, or breaks the schema (the message names the key).
    UnknownNameError
        An override or fallback names an alert type that does not exist.
    """
    catalog = Catalog()
    text = resources.files("incident_lib").joinpath("catalog.toml").read_text("utf-8")
    catalog.add_file(
        _read(text, "incident_lib/catalog.toml"), user=False, origin="incident_lib/catalog.toml"
    )
    if config is None and os.environ.get(ENV_CONFIG):
        config = Path(os.environ[ENV_CONFIG])
    if config is not None:
        path = Path(config).expanduser()
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise BadInputError(f"catalogue config {path}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise BadInputError(
                f"catalogue config {path}: not UTF-8 text (byte {exc.start}); binary file?"
            ) from None
        catalog.add_file(
            _read(text, str(path)), user=True, origin=str(path), base=path.resolve().parent
        )
    return catalog


def resolve(
    alarm: Alarm,
    *,
    config: Path | None = None,
    window_before: str | None = None,
    window_after: str | None = None,
    catalog: Catalog | None = None,
) -> Investigation:
    """Which notebook investigates ``alarm``, and with which parameters.

    Parameters
    ----------
    alarm
        The parsed alarm (:func:`incident_lib.alarm.parse_alarm`).
    config
        A user catalogue file (else ``$INCIDENT_CATALOG``); ignored when ``catalog`` is given.
    window_before, window_after
        The investigation window around the state change (``"60m"``, ``"2h"`` ...); not
        given, the alert type's ``window_before``/``window_after``, else 60 min and 15 min.
    catalog
        An already loaded catalogue.

    Returns
    -------
    Investigation
        ``parameters`` always holds ``alarm_json``, ``alarm_name``, ``region``, ``account_id``,
        ``start``, ``end`` (ISO UTC) and ``alert_type``; Lambda types add ``function_name`` and
        ``log_groups``, the generic type ``resource_names`` and ``log_groups``.
    """
    catalog = catalog or load_catalog(config)
    return catalog.investigation(alarm, window_before=window_before, window_after=window_after)
