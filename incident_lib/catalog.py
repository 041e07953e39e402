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
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

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


# --------------------------------------------------------------------------------------------
# The data: what a catalogue file may say


class MatchRule(BaseModel):
    """A metric an alert type investigates: namespace, metric names (empty = any) and
    dimension names of which at least one must be present (empty = any), and ``labels``:
    dimension (a Prometheus alert's label) -> shell-style glob its value must match, all of
    them (``alertname`` is a Prometheus alert's name)."""

    model_config = _STRICT

    namespace: str
    metrics: list[str] = Field(default_factory=list)
    dimensions: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)

    def matches(self, metric: MetricSpec) -> bool:
        return (
            metric.namespace == self.namespace
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
        labels = "".join(f" {k}={v}" for k, v in self.labels.items())
        return f"{self.namespace} {names}{dims}{labels}"


class AlertType(BaseModel):
    """One alert type: its notebook, the metrics it matches and how its parameters are made."""

    model_config = _STRICT

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = ""
    notebook: str
    parameters: str = "generic"
    match: list[MatchRule] = Field(default_factory=list)
    planned: bool = False


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


# -- ecs: ECS services and their Prometheus alerts ----------------------------------------------
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
        self, alarm: Alarm, *, window_before: str = "60m", window_after: str = "15m"
    ) -> Investigation:
        """The :class:`Investigation` for ``alarm`` (see :func:`resolve`)."""
        match = self.match(alarm)
        at = match.alert_type
        log.info("alarm %r -> %s (%s)", alarm.name, at.name, match.reason)
        start, end = alarm.time_window(window_before, window_after)
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
    window_before: str = "60m",
    window_after: str = "15m",
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
        The investigation window around the state change (``"60m"``, ``"2h"`` ...).
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
