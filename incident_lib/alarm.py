"""Alarms in, normalised: every shape a CloudWatch alarm arrives in, read into one :class:`Alarm`.

Shapes (documented with their AWS sources in ``docs/alarms.md``):

- ``sns_records``: a Lambda SNS event, ``{"Records": [{"Sns": {..., "Message": "<json>"}}]}``;
- ``sns_envelope``: one SNS notification (``Type: Notification``, ``Message`` a JSON string), also
  what an SQS queue subscribed to the topic holds in a message body;
- ``sns_message``: the alarm JSON itself (``AlarmName``, ``NewStateValue``, ``Trigger`` ...), as
  delivered with raw message delivery;
- ``sqs_event``: a Lambda SQS event whose record ``body`` holds any of the shapes above or an
  EventBridge event;
- ``eventbridge``: a "CloudWatch Alarm State Change" event (``detail``);
- ``alarm_action``: the event an alarm sends when it invokes a Lambda function (``alarmData``);
- ``describe_alarms``: a DescribeAlarms item (see :func:`alarm_from_description`);
- ``alertmanager``: a Prometheus Alertmanager webhook (version 4: ``receiver``, ``status``,
  ``alerts[]``); the same JSON as an SNS ``Message`` (Amazon Managed Service for Prometheus with
  the JSON template), or AMP's default plain-text SNS message. These are ``kind="prometheus"``
  alarms, one per alert: :func:`parse_alarms` gives them all (``docs/prometheus.md``).

Region and account come from the alarm ARN. The SNS ``Region`` field is a display name
(``"EU (Ireland)"``) and is used only as a last resort, mapped through botocore's region table.
Whatever had to be repaired or guessed is said in :attr:`Alarm.warnings`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import re
import urllib.parse
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    computed_field,
    field_serializer,
    field_validator,
    model_validator,
)

from incident_lib import limits
from incident_lib.errors import AlarmParseError, BadInputError, InputLimitError, MetricQueryError
from incident_lib.sources.base import MetricQuery
from incident_lib.timeutil import format_iso, parse_duration, parse_time

__all__ = [
    "Alarm",
    "CompositeSpec",
    "MetricDataItem",
    "MetricSpec",
    "PrometheusAlert",
    "TriggeringChild",
    "alarm_from_description",
    "normalise_statistic",
    "parse_alarm",
    "parse_alarms",
]

log = logging.getLogger(__name__)

State = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
Kind = Literal["metric", "metric_math", "composite", "anomaly_detection", "prometheus"]
Shape = Literal[
    "sns_records",
    "sns_envelope",
    "sns_message",
    "sqs_event",
    "eventbridge",
    "alarm_action",
    "describe_alarms",
    "alertmanager",
]
#: The namespace a Prometheus alert's :class:`MetricSpec` carries (catalogue rules match it).
PROMETHEUS_NAMESPACE = "Prometheus"
STATES: tuple[str, ...] = ("OK", "ALARM", "INSUFFICIENT_DATA")
TREAT_MISSING = ("missing", "ignore", "breaching", "notBreaching")
# TreatMissingData as each shape spells it -> the API value. SNS text writes the console's words
# ("- TreatMissingData: NonBreaching", "Breaching", "Ignore", "Missing"); keys are lower case
# with separators removed.
_TREAT_MISSING_SPELLINGS = {
    "missing": "missing",
    "ignore": "ignore",
    "breaching": "breaching",
    "notbreaching": "notBreaching",
    "nonbreaching": "notBreaching",
}

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_ARN = re.compile(
    r"^arn:(?P<partition>[^:]+):cloudwatch:(?P<region>[^:]*):(?P<account>[^:]*):"
    r"alarm:(?P<name>.+)$"
)
_REGION_CODE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_ACCOUNT = re.compile(r"^\d{12}$")
_QUERY_ID = re.compile(r"^[a-z][A-Za-z0-9_]{0,254}$")
# An Alertmanager notification has ``alerts`` and at least one of these.
_ALERTMANAGER_KEYS = ("receiver", "groupKey", "version", "groupLabels", "commonLabels", "status")
# AMP's default SNS message (Alertmanager's sns.default.message template).
_AMP_TEXT = re.compile(r"^\s*Alerts (Firing|Resolved):\s*$", re.MULTILINE)
# Go's time.String(): "2024-05-01 12:00:00.123 +0000 UTC" (with "m=+0.1" on a monotonic clock).
_GO_TIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?) ([+-]\d{4}) [A-Za-z0-9+-]+(?: m=\S+)?$"
)

# CloudWatch statistic names by their case- and underscore-free spelling: SNS messages carry
# them upper case (AVERAGE, SAMPLE_COUNT), the API wants SampleCount.
_SIMPLE_STATS = {
    s.lower(): s for s in ("SampleCount", "Sum", "Average", "Minimum", "Maximum", "IQM")
}
_SHORT_EXTENDED = re.compile(r"^(p|tm|wm|tc|ts)(\d+(\.\d+)?)$", re.IGNORECASE)
_RANGE_EXTENDED = re.compile(r"^(tm|wm|tc|ts|pr)\((.*)\)$", re.IGNORECASE)

# Reason text, §4.3: "1 out of the last 3 datapoints [...] was greater than the threshold (50.0)
# (minimum 2 datapoints for OK -> ALARM transition)". Used only when the payload lacks the
# configuration (EventBridge and alarm-action events carry no threshold or operator).
_REASON_THRESHOLD = re.compile(r"\bthe threshold \((-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\)")
_REASON_COUNTS = re.compile(
    r"out of the last (\d+) datapoints?.*?\(minimum (\d+) datapoints?", re.DOTALL
)
_REASON_OPERATORS = (
    ("less than the lower thresholds", "LessThanLowerOrGreaterThanUpperThreshold"),
    ("greater than or equal to the threshold", "GreaterThanOrEqualToThreshold"),
    ("less than or equal to the threshold", "LessThanOrEqualToThreshold"),
    ("greater than the threshold", "GreaterThanThreshold"),
    ("less than the threshold", "LessThanThreshold"),
)


class MetricSpec(BaseModel):
    """One metric and how it is aggregated."""

    model_config = _FROZEN

    namespace: str
    name: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    stat: str | None = None
    period: int | None = None
    unit: str | None = None


class MetricDataItem(BaseModel):
    """One entry of a metric-math alarm's ``Metrics``: an expression or a metric stat."""

    model_config = _FROZEN

    id: str
    expression: str | None = None
    metric: MetricSpec | None = None
    label: str | None = None
    return_data: bool = True
    period: int | None = None


class TriggeringChild(BaseModel):
    """A child alarm named as the trigger of a composite alarm's state change."""

    model_config = _FROZEN

    name: str
    arn: str | None = None
    state: State | None = None
    timestamp: AwareDatetime | None = None

    @field_serializer("timestamp", when_used="json")
    def _ser_time(self, value: datetime | None) -> str | None:
        return format_iso(value) if value else None


class CompositeSpec(BaseModel):
    """A composite alarm's rule, the children that triggered it, and its actions suppressor."""

    model_config = _FROZEN

    rule: str
    triggering_children: list[TriggeringChild] = Field(default_factory=list)
    actions_suppressor: str | None = None
    actions_suppressor_wait_period: int | None = None
    actions_suppressor_extension_period: int | None = None
    actions_suppressed_by: str | None = None
    actions_suppressed_reason: str | None = None


class PrometheusAlert(BaseModel):
    """One alert of an Alertmanager notification, as it came (``docs/prometheus.md``)."""

    model_config = _FROZEN

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    #: The PromQL of the rule, from ``generatorURL``'s ``g0.expr``.
    expression: str | None = None
    generator_url: str | None = None
    fingerprint: str | None = None
    receiver: str | None = None
    group_key: str | None = None
    group_labels: dict[str, str] = Field(default_factory=dict)
    common_labels: dict[str, str] = Field(default_factory=dict)
    external_url: str | None = None
    #: ``webhook`` (Alertmanager's JSON, bare or in SNS) or ``sns_text`` (AMP's default text).
    delivery: Literal["webhook", "sns_text"] = "webhook"
    #: This alert's place in its notification, and how many the notification held.
    index: int = 0
    count: int = 1

    @field_serializer("starts_at", "ends_at", when_used="json")
    def _ser_time(self, value: datetime | None) -> str | None:
        return format_iso(value) if value else None

    def identity(self) -> str:
        """The alert's identity: its fingerprint, else its sorted labels."""
        if self.fingerprint:
            return self.fingerprint
        return ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))


class Alarm(BaseModel):
    """A CloudWatch alarm state change, whatever shape it came in.

    Exactly one of :attr:`metric` (kind ``metric``), :attr:`metric_queries` (``metric_math``,
    ``anomaly_detection``) or :attr:`composite` (``composite``) describes what is alarmed.
    """

    model_config = _FROZEN

    name: str
    arn: str | None = None
    region: str | None = None
    account: str | None = None
    description: str | None = None
    new_state: State
    previous_state: State | None = None
    state_change_time: AwareDatetime
    reason: str | None = None
    reason_data: dict[str, Any] | None = None
    kind: Kind
    metric: MetricSpec | None = None
    metric_queries: list[MetricDataItem] = Field(default_factory=list)
    composite: CompositeSpec | None = None
    #: The Alertmanager alert (kind ``prometheus``): labels, annotations, expression, group.
    prometheus: PrometheusAlert | None = None
    threshold: float | None = None
    comparison_operator: str | None = None
    evaluation_periods: int | None = None
    datapoints_to_alarm: int | None = None
    treat_missing_data: str | None = None
    # Where :attr:`threshold` was read, as a path in the payload: "Trigger.Threshold",
    # "detail.state.reasonData.threshold", "detail.previousState.reasonData.threshold",
    # "detail.state.reason" (the reason text), "NewStateReason" ...
    threshold_source: str | None = None
    shape: Shape
    warnings: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _drop_computed(cls, data: Any) -> Any:
        # ``incident_id`` is in the JSON (computed); reading that JSON back must work.
        if isinstance(data, dict) and "incident_id" in data:
            data = {k: v for k, v in data.items() if k != "incident_id"}
        return data

    @field_validator("state_change_time")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return pd.Timestamp(value).tz_convert("UTC").to_pydatetime()

    @field_serializer("state_change_time", when_used="json")
    def _ser_time(self, value: datetime) -> str:
        return format_iso(value)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def incident_id(self) -> str:
        """``<slug of name>-<yyyymmddThhmmssZ>-<8 hex>``: the same for the same alarm and state
        change (duplicate deliveries), distinct otherwise; safe as a folder name."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")[:48].strip("-")
        when = pd.Timestamp(self.state_change_time)
        ident = self.arn or (self.prometheus.identity() if self.prometheus else None)
        key = f"{ident or self.name}|{format_iso(when)}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:8]
        return f"{slug or 'alarm'}-{when.strftime('%Y%m%dT%H%M%SZ')}-{digest}"

    def time_window(
        self, before: str | timedelta = "60m", after: str | timedelta = "15m"
    ) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The investigation window around the state change, tz-aware UTC.

        >>> alarm.time_window("2h", "30m")  # doctest: +SKIP
        """
        at = pd.Timestamp(self.state_change_time)
        return at - parse_duration(before), at + parse_duration(after)

    def metrics(self) -> list[MetricSpec]:
        """Every metric this alarm reads (one for a metric alarm, the stats of a math alarm)."""
        if self.metric is not None:
            return [self.metric]
        return [q.metric for q in self.metric_queries if q.metric is not None]

    def to_metric_queries(self) -> list[MetricQuery]:
        """The alarmed series as :class:`~incident_lib.sources.base.MetricQuery` objects.

        A metric alarm gives one query (its own id when that is a valid query id, else ``m1``);
        a metric-math or anomaly-detection alarm gives all its queries. A composite alarm has
        no series of its own, and a Prometheus alert none in CloudWatch: an empty list (its
        expression is :attr:`PrometheusAlert.expression`, for ``case.promql``).
        """
        if self.kind == "prometheus":
            return []
        if self.metric is not None:
            m = self.metric
            return [
                MetricQuery(
                    id="m1",
                    namespace=m.namespace,
                    metric_name=m.name,
                    dimensions=m.dimensions,
                    stat=m.stat or "Average",
                    period=m.period or 60,
                    unit=m.unit,
                    label=self.name,
                )
            ]
        # An expression's period is that of the metrics it reads unless it gives its own.
        periods = [q.period or (q.metric.period if q.metric else None) for q in self.metric_queries]
        default_period = next((p for p in periods if p), 60)
        out = []
        for q in self.metric_queries:
            try:
                if q.metric is not None:
                    out.append(
                        MetricQuery(
                            id=q.id,
                            namespace=q.metric.namespace,
                            metric_name=q.metric.name,
                            dimensions=q.metric.dimensions,
                            stat=q.metric.stat or "Average",
                            period=q.metric.period or q.period or default_period,
                            unit=q.metric.unit,
                            label=q.label,
                            return_data=q.return_data,
                        )
                    )
                else:
                    out.append(
                        MetricQuery(
                            id=q.id,
                            expression=q.expression,
                            period=q.period or default_period,
                            label=q.label,
                            return_data=q.return_data,
                        )
                    )
            except MetricQueryError as exc:
                raise BadInputError(f"alarm {self.name!r}: {exc}") from None
        return out

    def to_json(self) -> str:
        """The alarm as JSON (indent 2, times ISO-8601 with ``Z``), ``incident_id`` included."""
        return self.model_dump_json(indent=2)


# --------------------------------------------------------------------------------------------
# Entry points


def parse_alarm(payload: str | bytes | dict | Path, *, source: str | None = None) -> Alarm:
    """Read an alarm notification in any shape CloudWatch delivers it.

    Parameters
    ----------
    payload
        JSON text or bytes, an already decoded ``dict``, or a :class:`~pathlib.Path` to a file.
    source
        Where the payload came from (a file name, a queue), used in error messages.

    Returns
    -------
    Alarm
        The normalised alarm; :attr:`Alarm.shape` says which shape it came in.

    Raises
    ------
    AlarmParseError
        Not JSON, not an alarm, or a required field missing or wrong; ``field`` names it.

    Examples
    --------
    >>> alarm = parse_alarm(Path("event.json"))  # doctest: +SKIP
    >>> alarm.region, alarm.metric.name  # doctest: +SKIP
    ('us-east-1', 'CPUUtilization')

    An Alertmanager notification holding several alerts gives its first here, with a warning
    naming the count: :func:`parse_alarms` gives them all.
    """
    return parse_alarms(payload, source=source)[0]


def parse_alarms(payload: str | bytes | dict | Path, *, source: str | None = None) -> list[Alarm]:
    """Every alarm a payload holds: one per alert of an Alertmanager notification (in payload
    order, a notification being one alert group), else the one CloudWatch alarm.

    Takes and raises what :func:`parse_alarm` does; an Alertmanager notification with no alert
    is an :class:`~incident_lib.errors.AlarmParseError`.
    """
    if isinstance(payload, Path):
        source = source or str(payload)
        try:
            with payload.open("rb") as fh:
                payload = fh.read(limits.MAX_ALARM_BYTES + 1)
        except OSError as exc:
            raise AlarmParseError(f"cannot read file: {exc.strerror}", source=source) from None
    if isinstance(payload, dict):
        try:
            limits.check_json(payload, what="alarm payload")
        except InputLimitError as exc:
            raise AlarmParseError(str(exc), source=source) from None
        doc = payload
    else:
        if len(payload) > limits.MAX_ALARM_BYTES:
            raise AlarmParseError(
                f"payload larger than {limits.MAX_ALARM_BYTES // 1024} KiB: not an alarm "
                "notification (SNS, SQS and EventBridge deliver at most 256 KiB)",
                source=source,
            )
        doc = _loads(payload, "$", source)
    parser = _Parser(source)
    first = _guarded(lambda: parser.document(doc), source)
    return parser.alerts or [first]


def alarm_from_description(
    describe_alarms_item: Mapping[str, Any],
    *,
    region: str | None = None,
    account: str | None = None,
    source: str | None = None,
) -> Alarm:
    """An :class:`Alarm` from a DescribeAlarms item (``MetricAlarms`` or ``CompositeAlarms``).

    Use it when only an alarm name is known: the caller fetches the definition (from AWS or a
    store's ``alarms`` table) and this reads it. The alarm's current state is taken as the state
    change, at ``StateTransitionedTimestamp`` (else ``StateUpdatedTimestamp``).

    Parameters
    ----------
    describe_alarms_item
        One item as DescribeAlarms returns it (timestamps as datetimes or ISO strings).
    region, account
        Where the alarm was described; used when the ARN lacks them.
    source
        Where the item came from, for error messages.
    """
    return _guarded(
        lambda: _Parser(source).describe(dict(describe_alarms_item), "$", region, account), source
    )


def _guarded(parse: Any, source: str | None) -> Alarm:
    """A field the parser let through but a model refuses is bad input, not a traceback."""
    try:
        return parse()
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        raise AlarmParseError(f"{exc.title}: {err['msg']}", field=field, source=source) from None


def normalise_statistic(stat: str | None) -> str | None:
    """CloudWatch's own spelling of a statistic: ``AVERAGE`` -> ``Average``,
    ``SAMPLE_COUNT`` -> ``SampleCount``, ``P99`` -> ``p99``, ``tm(10%:90%)`` -> ``TM(10%:90%)``."""
    if stat is None or not str(stat).strip():
        return None
    text = str(stat).strip()
    simple = _SIMPLE_STATS.get(text.replace("_", "").lower())
    if simple:
        return simple
    if m := _SHORT_EXTENDED.match(text):
        return m.group(1).lower() + m.group(2)
    if m := _RANGE_EXTENDED.match(text):
        return f"{m.group(1).upper()}({m.group(2)})"
    return text


# --------------------------------------------------------------------------------------------
# The parser: one method per shape, all building the same keyword set for Alarm.


def _loads(text: str | bytes, path: str, source: str | None) -> Any:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise AlarmParseError("not UTF-8 text", field=path, source=source) from None
    try:
        return limits.load_json(text, what="JSON")
    except json.JSONDecodeError as exc:
        raise AlarmParseError(
            f"not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
            field=path,
            source=source,
        ) from None
    except InputLimitError as exc:
        raise AlarmParseError(str(exc).removeprefix("JSON: "), field=path, source=source) from None


@functools.cache
def _region_names() -> dict[str, str]:
    """Display name -> region code, from botocore's endpoint table (the well-kept source)."""
    import botocore.loaders

    out: dict[str, str] = {}
    for partition in botocore.loaders.Loader().load_data("endpoints")["partitions"]:
        for code, info in partition.get("regions", {}).items():
            if desc := info.get("description"):
                out[desc.lower()] = code
    return out


def _region_from_display(name: str) -> str | None:
    text = name.strip().lower()
    # Alarm messages still say "EU (Ireland)" where botocore now says "Europe (Ireland)".
    candidates = [text, re.sub(r"^eu \(", "europe (", text)]
    return next((_region_names()[c] for c in candidates if c in _region_names()), None)


class _Parser:
    def __init__(self, source: str | None) -> None:
        self.source = source
        self.warnings: list[str] = []
        #: Every alert of an Alertmanager notification, once read (the first is returned).
        self.alerts: list[Alarm] = []

    # -- helpers ----------------------------------------------------------------------------

    def fail(self, message: str, path: str) -> AlarmParseError:
        # Messages quote the payload's own values, which may be of any size: kept short.
        return AlarmParseError(
            _shorten(message, MAX_MESSAGE_CHARS),
            field=_shorten(path, MAX_MESSAGE_CHARS // 2),
            source=self.source,
        )

    def warn(self, message: str) -> None:
        message = _shorten(message, MAX_MESSAGE_CHARS)
        log.info("%s%s", f"{self.source}: " if self.source else "", message)
        self.warnings.append(message)

    def obj(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"expected a JSON object, got {_type_name(value)}", path)
        return value

    def json_obj(self, value: Any, path: str) -> dict[str, Any]:
        """A field holding a JSON object as a string (SNS Message, SQS body), or the object."""
        if isinstance(value, str):
            value = _loads(value, path, self.source)
        return self.obj(value, path)

    def text(self, doc: Mapping[str, Any], key: str, path: str, *, required: bool) -> str | None:
        value = doc.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.fail("missing", _join(path, key))
            return None
        if not isinstance(value, str):
            raise self.fail(f"expected a string, got {_type_name(value)}", _join(path, key))
        return value

    def state(self, value: Any, path: str, *, required: bool) -> str | None:
        if value is None and not required:
            return None
        if value is None:
            raise self.fail("missing", path)
        if not isinstance(value, str) or value.strip().upper() not in STATES:
            raise self.fail(f"unknown state {value!r}; expected one of {', '.join(STATES)}", path)
        return value.strip().upper()

    def time(self, value: Any, path: str) -> datetime:
        if value is None or value == "":
            raise self.fail("missing", path)
        if isinstance(value, str) and re.search(r"\s", value.strip()):
            # Seen in a published sample (aws-lambda-rust-runtime): "2023-08-04T12: 56: 46.138".
            fixed = re.sub(r"\s+", "", value)
            self.warn(f"{path}: removed spaces from time {value!r}")
            value = fixed
        try:
            return limits.check_time(parse_time(value, name="time")).to_pydatetime()
        except BadInputError as exc:
            raise self.fail(str(exc).removeprefix("time: "), path) from None
        except (ValueError, OverflowError):  # pandas: out of its bounds
            raise self.fail(f"time {str(value)[:40]!r} is out of range", path) from None

    def number(self, value: Any, path: str) -> float | None:
        if value is None or value == "":
            return None
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise self.fail(f"expected a number, got {_clip(value)}", path) from None
        if not math.isfinite(number):
            raise self.fail(f"expected a finite number, got {_clip(value)}", path)
        return number

    def integer(self, value: Any, path: str) -> int | None:
        number = self.number(value, path)
        if number is None:
            return None
        if number != int(number):
            raise self.fail(f"expected a whole number, got {_clip(value)}", path)
        if not 0 <= number < 2**31:
            raise self.fail(f"{_clip(value)} is out of range (0 to 2147483647)", path)
        return int(number)

    def reason_data(self, value: Any, path: str) -> dict[str, Any] | None:
        if value is None or value == "":
            return None
        if isinstance(value, dict):
            return value
        try:
            parsed = limits.load_json(value, what=path) if isinstance(value, str) else None
        except (json.JSONDecodeError, InputLimitError):
            parsed = None
        if parsed is None:
            self.warn(f"{path}: not JSON, ignored")
            return None
        if not isinstance(parsed, dict):
            self.warn(f"{path}: not a JSON object, ignored")
            return None
        return parsed

    def treat_missing(self, value: Any, path: str) -> str | None:
        if value is None or not str(value).strip():
            return None
        # SNS sends "- TreatMissingData:                    missing" (or "NonBreaching"):
        # keep what follows the last colon.
        token = str(value).split(":")[-1].strip()
        canonical = _TREAT_MISSING_SPELLINGS.get(re.sub(r"[\s_-]+", "", token).lower())
        if canonical is None:
            self.warn(f"{path}: unknown value {value!r}, kept as {token!r}")
            return token
        return canonical

    def dimensions(self, value: Any, path: str) -> dict[str, str]:
        """EventBridge gives a map, SNS a list of ``{name, value}``, DescribeAlarms
        ``{Name, Value}``."""
        if value is None:
            return {}
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        if isinstance(value, list):
            out: dict[str, str] = {}
            for i, item in enumerate(value):
                item = self.obj(item, f"{path}[{i}]")
                name, val = _ci(item, "name"), _ci(item, "value")
                if name is None or val is None:
                    raise self.fail("a dimension needs name and value", f"{path}[{i}]")
                out[str(name)] = str(val)
            return out
        raise self.fail(f"expected a map or a list, got {_type_name(value)}", path)

    def arn_parts(
        self,
        arn: str | None,
        name: str,
        path: str,
        *,
        region_hints: list[tuple[str, str | None]],
        account_hints: list[tuple[str, str | None]],
    ) -> tuple[str | None, str | None, str | None]:
        """(arn, region, account): from the ARN, else the first usable hint, with warnings."""
        region = account = None
        if arn is not None:
            head, sep, tail = arn.partition(":alarm:")
            if re.search(r"\s", head):
                # Seen in a published sample: "arn:aws:cloudwatch:us-east-1: 111122223333:...".
                # Only the fields before the name: alarm names may hold spaces.
                self.warn(f"{path}: removed spaces from ARN {arn!r}")
                arn = re.sub(r"\s+", "", head) + sep + tail
            m = _ARN.match(arn)
            if not m:
                raise self.fail(f"not a CloudWatch alarm ARN: {arn!r}", path)
            if _REGION_CODE.match(m["region"]):
                region = m["region"]
            else:
                self.warn(f"{path}: region {m['region']!r} in the ARN is not a region code")
            if _ACCOUNT.match(m["account"]):
                account = m["account"]
            else:
                self.warn(f"{path}: account {m['account']!r} in the ARN is not an account id")
            if m["name"] != name:
                self.warn(f"{path}: ARN names alarm {m['name']!r}, payload says {name!r}")
        else:
            self.warn("no alarm ARN in the payload")
        for hint_path, hint in region_hints:
            if not hint or not isinstance(hint, str):
                continue
            code = hint if _REGION_CODE.match(hint) else _region_from_display(hint)
            if region is None and code:
                region = code
                self.warn(f"region {code!r} taken from {hint_path} ({hint!r})")
            elif code and code != region:
                self.warn(f"{hint_path} {hint!r} differs from the ARN's region {region!r}")
        for hint_path, hint in account_hints:
            if not hint or not _ACCOUNT.match(str(hint)):
                continue
            if account is None:
                account = str(hint)
                self.warn(f"account {account!r} taken from {hint_path}")
            elif str(hint) != account:
                self.warn(f"{hint_path} {hint!r} differs from the ARN's account {account!r}")
        if region is None:
            self.warn("region unknown: no region code in the ARN or the payload")
        if account is None:
            self.warn("account unknown: no account id in the ARN or the payload")
        return arn, region, account

    def threshold_from_states(
        self,
        fields: dict[str, Any],
        data: list[tuple[str, dict | None]],
        reasons: list[tuple[str, str | None]],
    ) -> None:
        """The threshold when the configuration does not give it, from the first of: the
        ``reasonData`` objects in ``data`` (the new state's, then the previous state's), then
        the reason texts in ``reasons`` ("... the threshold (50.0) ..."). Each pair is (JSON
        path, value); :attr:`Alarm.threshold_source` records the path used."""
        if fields.get("threshold") is not None:
            return
        for path, doc in data:
            if doc and doc.get("threshold") is not None:
                value = self.number(doc["threshold"], _join(path, "threshold"))
                if value is not None:
                    fields["threshold"] = value
                    fields["threshold_source"] = _join(path, "threshold")
                    break
        else:
            for path, text in reasons:
                m = _REASON_THRESHOLD.search(text or "")
                if m:
                    fields["threshold"] = float(m.group(1))
                    fields["threshold_source"] = path
                    break
        if fields.get("threshold_source") and fields["threshold_source"] != _first_path(data):
            self.warn(f"threshold {fields['threshold']:g} taken from {fields['threshold_source']}")

    def from_reason(self, fields: dict[str, Any], reason: str | None, data: dict | None) -> None:
        """Operator and datapoint counts from the state reason when the payload has no
        configuration for them (EventBridge, alarm actions)."""
        if not reason:
            return
        # Real reasons are a few hundred characters; the lazy ``.*?`` below is quadratic on
        # a long hostile one (14 s for 234 KB), so only the head is read.
        reason = reason[:4096] if isinstance(reason, str) else ""
        if fields.get("comparison_operator") is None:
            for phrase, operator in _REASON_OPERATORS:
                if phrase in reason:
                    fields["comparison_operator"] = operator
                    break
        if m := _REASON_COUNTS.search(reason):
            fields.setdefault("evaluation_periods", None)
            fields.setdefault("datapoints_to_alarm", None)
            if fields["evaluation_periods"] is None:
                fields["evaluation_periods"] = int(m.group(1))
            if fields["datapoints_to_alarm"] is None:
                fields["datapoints_to_alarm"] = int(m.group(2))

    def metric_items(self, value: Any, path: str) -> list[MetricDataItem]:
        """``Metrics`` / ``metrics``: PascalCase (SNS, DescribeAlarms) or camelCase."""
        if not isinstance(value, list):
            raise self.fail(f"expected a list, got {_type_name(value)}", path)
        items = []
        for i, raw in enumerate(value):
            p = f"{path}[{i}]"
            raw = self.obj(raw, p)
            qid = _ci(raw, "id")
            if not isinstance(qid, str) or not qid:
                raise self.fail("missing", f"{p}.id")
            expression, stat = _ci(raw, "expression"), _ci(raw, "metricStat")
            metric = None
            if stat is not None:
                stat = self.obj(stat, f"{p}.metricStat")
                spec = self.obj(_ci(stat, "metric"), f"{p}.metricStat.metric")
                metric = self.metric_spec(
                    spec,
                    f"{p}.metricStat.metric",
                    stat=_ci(stat, "stat"),
                    period=_ci(stat, "period"),
                    unit=_ci(stat, "unit"),
                )
            elif not expression:
                raise self.fail("neither expression nor metricStat", p)
            return_data = _ci(raw, "returnData")
            items.append(
                MetricDataItem(
                    id=qid,
                    expression=expression or None,
                    metric=metric,
                    label=_ci(raw, "label") or None,
                    return_data=True if return_data is None else bool(return_data),
                    period=self.integer(_ci(raw, "period"), f"{p}.period"),
                )
            )
        return items

    def metric_spec(
        self, spec: Mapping[str, Any], path: str, *, stat: Any, period: Any, unit: Any
    ) -> MetricSpec:
        namespace = _ci(spec, "namespace")
        name = _ci(spec, "metricName") or _ci(spec, "name")
        if not namespace:
            raise self.fail("missing", f"{path}.namespace")
        if not name:
            raise self.fail("missing", f"{path}.name")
        return MetricSpec(
            namespace=namespace,
            name=name,
            dimensions=self.dimensions(_ci(spec, "dimensions"), f"{path}.dimensions"),
            stat=normalise_statistic(stat),
            period=self.integer(period, f"{path}.period"),
            unit=unit or None,
        )

    def configure_metrics(self, fields: dict[str, Any], items: list[MetricDataItem]) -> None:
        """Kind and metric fields from a ``metrics`` list: one plain stat is a metric alarm."""
        if len(items) == 1 and items[0].metric is not None:
            item = items[0]
            if not _QUERY_ID.match(item.id):
                self.warn(f"metric id {item.id!r} is not a valid query id; queried as 'm1'")
            fields.update(kind="metric", metric=item.metric)
            return
        anomaly = any(
            q.expression and "ANOMALY_DETECTION_BAND" in q.expression.upper() for q in items
        )
        fields.update(kind="anomaly_detection" if anomaly else "metric_math", metric_queries=items)

    def composite(
        self,
        rule: str,
        config: Mapping[str, Any],
        state: Mapping[str, Any],
        data: dict | None,
        children: Any,
        path: str,
    ) -> CompositeSpec:
        parsed: list[TriggeringChild] = []
        raw_children = children if children is not None else (data or {}).get("triggeringAlarms")
        for i, child in enumerate(raw_children or []):
            p = f"{path}[{i}]"
            if isinstance(child, str):  # the SNS doc schema: a list of ARNs or names
                parsed.append(TriggeringChild(name=child.rsplit(":alarm:", 1)[-1], arn=_arn(child)))
                continue
            child = self.obj(child, p)
            arn = _ci(child, "arn")
            child_state = _ci(child, "state") or {}
            when = _ci(child_state, "timestamp")
            parsed.append(
                TriggeringChild(
                    name=(_ci(child, "name") or str(arn or "").rsplit(":alarm:", 1)[-1]),
                    arn=arn or None,
                    state=self.state(_ci(child_state, "value"), f"{p}.state.value", required=False),
                    timestamp=self.time(when, f"{p}.state.timestamp") if when else None,
                )
            )
        return CompositeSpec(
            rule=rule,
            triggering_children=parsed,
            actions_suppressor=_ci(config, "actionsSuppressor") or None,
            actions_suppressor_wait_period=self.integer(
                _ci(config, "actionsSuppressorWaitPeriod"), "actionsSuppressorWaitPeriod"
            ),
            actions_suppressor_extension_period=self.integer(
                _ci(config, "actionsSuppressorExtensionPeriod"), "actionsSuppressorExtensionPeriod"
            ),
            actions_suppressed_by=_ci(state, "actionsSuppressedBy") or None,
            actions_suppressed_reason=_ci(state, "actionsSuppressedReason") or None,
        )

    def build(self, path: str, **fields: Any) -> Alarm:
        fields["warnings"] = list(self.warnings)
        return Alarm(**fields)

    # -- shapes -----------------------------------------------------------------------------

    def document(self, doc: Any, path: str = "$", shape: str | None = None) -> Alarm:
        """Dispatch on the shape of ``doc``; ``shape`` is the outer shape when nested."""
        doc = self.obj(doc, path)
        if "Records" in doc:
            records = doc["Records"]
            if not isinstance(records, list) or not records:
                raise self.fail("expected a non-empty list of records", _join(path, "Records"))
            if len(records) > 1:
                self.warn(f"{len(records)} records in the event; read the first")
            rpath = f"{_join(path, 'Records')}[0]"
            record = self.obj(records[0], rpath)
            if "Sns" in record:
                envelope = self.obj(record["Sns"], f"{rpath}.Sns")
                return self.envelope(envelope, f"{rpath}.Sns", shape or "sns_records")
            if record.get("eventSource") == "aws:sqs" or "body" in record:
                body = self.json_obj(record.get("body"), f"{rpath}.body")
                return self.document(body, f"{rpath}.body", shape or "sqs_event")
            raise self.fail("a record with neither Sns nor an SQS body", rpath)
        if "Message" in doc and ("Type" in doc or "TopicArn" in doc):
            return self.envelope(doc, path, shape or "sns_envelope")
        if "detail" in doc or "detail-type" in doc:
            return self.eventbridge(doc, path, shape or "eventbridge")
        if "alarmData" in doc:
            return self.alarm_action(doc, path, shape or "alarm_action")
        if "NewStateValue" in doc or "Trigger" in doc:
            return self.sns_message(doc, path, shape or "sns_message", {})
        if "alerts" in doc and any(k in doc for k in _ALERTMANAGER_KEYS):
            return self.alertmanager(doc, path, shape or "alertmanager", {})
        if "StateValue" in doc:
            return self.describe(doc, path, None, None)
        if "AlarmName" not in doc and "alarmName" not in doc:
            raise self.fail(
                "not an alarm payload: expected SNS Records, an SNS notification, an SQS event, "
                "an EventBridge event, an alarm-action event, an alarm message or an "
                "Alertmanager webhook",
                _join(path, "AlarmName"),
            )
        return self.sns_message(doc, path, shape or "sns_message", {})

    def envelope(self, env: dict[str, Any], path: str, shape: str) -> Alarm:
        kind = env.get("Type", "Notification")
        if kind != "Notification":
            raise self.fail(f"SNS message type {kind!r} is not a Notification", _join(path, "Type"))
        mpath = _join(path, "Message")
        if env.get("Message") in (None, ""):
            raise self.fail("missing", mpath)
        topic = env.get("TopicArn")
        hints = {}
        if isinstance(topic, str) and (m := re.match(r"^arn:[^:]+:sns:([^:]+):(\d{12}):", topic)):
            hints = {
                "region": (f"{_join(path, 'TopicArn')}", m.group(1)),
                "account": (f"{_join(path, 'TopicArn')}", m.group(2)),
            }
        raw = env["Message"]
        if isinstance(raw, str) and _AMP_TEXT.search(raw) and not raw.lstrip().startswith("{"):
            # Amazon Managed Service for Prometheus with its default (text) SNS template.
            return self.amp_text(raw, env, mpath, shape, hints)
        message = self.json_obj(raw, mpath)
        if "detail" in message or "alarmData" in message:  # EventBridge -> SNS target
            return self.document(message, mpath, shape)
        if "alerts" in message and any(k in message for k in _ALERTMANAGER_KEYS):
            return self.alertmanager(message, mpath, shape, hints)
        return self.sns_message(message, mpath, shape, hints)

    def sns_message(
        self, msg: dict[str, Any], path: str, shape: str, hints: dict[str, tuple[str, str]]
    ) -> Alarm:
        name = self.text(msg, "AlarmName", path, required=True)
        assert name is not None
        arn, region, account = self.arn_parts(
            self.text(msg, "AlarmArn", path, required=False),
            name,
            _join(path, "AlarmArn"),
            region_hints=[
                hints.get("region", ("", None)),
                (_join(path, "Region"), msg.get("Region")),
            ],
            account_hints=[
                (_join(path, "AWSAccountId"), msg.get("AWSAccountId")),
                hints.get("account", ("", None)),
            ],
        )
        fields: dict[str, Any] = dict(
            name=name,
            arn=arn,
            region=region,
            account=account,
            description=self.text(msg, "AlarmDescription", path, required=False),
            new_state=self.state(
                msg.get("NewStateValue"), _join(path, "NewStateValue"), required=True
            ),
            previous_state=self.state(
                msg.get("OldStateValue"), _join(path, "OldStateValue"), required=False
            ),
            state_change_time=self.time(msg.get("StateChangeTime"), _join(path, "StateChangeTime")),
            reason=msg.get("NewStateReason") or None,
            reason_data=self.reason_data(
                msg.get("NewStateReasonData"), _join(path, "NewStateReasonData")
            ),
            shape=shape,
        )
        if msg.get("AlarmRule"):
            fields["kind"] = "composite"
            fields["composite"] = self.composite(
                msg["AlarmRule"],
                msg,
                {},
                fields["reason_data"],
                msg.get("TriggeringChildren"),
                _join(path, "TriggeringChildren"),
            )
            return self.build(path, **fields)
        tpath = _join(path, "Trigger")
        if msg.get("Trigger") is None:
            raise self.fail("missing (a metric alarm message needs its Trigger)", tpath)
        trigger = self.obj(msg["Trigger"], tpath)
        self.trigger_fields(fields, trigger, tpath)
        self.threshold_from_states(
            fields,
            [(_join(path, "NewStateReasonData"), fields["reason_data"])],
            [(_join(path, "NewStateReason"), fields["reason"])],
        )
        return self.build(path, **fields)

    def trigger_fields(self, fields: dict[str, Any], trig: dict[str, Any], path: str) -> None:
        """SNS ``Trigger`` and DescribeAlarms items share their PascalCase keys."""
        period = self.integer(trig.get("Period"), _join(path, "Period"))
        if trig.get("Metrics"):
            items = self.metric_items(trig["Metrics"], _join(path, "Metrics"))
            self.configure_metrics(fields, items)
            if trig.get("ThresholdMetricId"):
                fields["kind"] = "anomaly_detection"
        else:
            if trig.get("StatisticType") == "ExtendedStatistic" or (
                trig.get("ExtendedStatistic") and not trig.get("Statistic")
            ):
                stat = trig.get("ExtendedStatistic")
                spath = _join(path, "ExtendedStatistic")
            else:
                stat = trig.get("Statistic")
                spath = _join(path, "Statistic")
            if not stat:
                raise self.fail("missing", spath)
            fields["kind"] = "metric"
            fields["metric"] = self.metric_spec(
                trig, path, stat=stat, period=period, unit=trig.get("Unit")
            )
        threshold = self.number(trig.get("Threshold"), _join(path, "Threshold"))
        fields.update(
            threshold=threshold,
            threshold_source=_join(path, "Threshold") if threshold is not None else None,
            comparison_operator=trig.get("ComparisonOperator") or None,
            evaluation_periods=self.integer(
                trig.get("EvaluationPeriods"), _join(path, "EvaluationPeriods")
            ),
            datapoints_to_alarm=self.integer(
                trig.get("DatapointsToAlarm"), _join(path, "DatapointsToAlarm")
            ),
            treat_missing_data=self.treat_missing(
                trig.get("TreatMissingData"), _join(path, "TreatMissingData")
            ),
        )

    def eventbridge(self, event: dict[str, Any], path: str, shape: str) -> Alarm:
        detail_type = event.get("detail-type")
        if detail_type != "CloudWatch Alarm State Change":
            raise self.fail(
                f"expected 'CloudWatch Alarm State Change', got {_clip(detail_type)}",
                _join(path, "detail-type"),
            )
        resources = event.get("resources") or []
        arn = next((r for r in resources if isinstance(r, str) and ":alarm:" in r), None)
        return self.state_change(
            self.obj(event.get("detail"), _join(path, "detail")),
            _join(path, "detail"),
            shape,
            arn=arn,
            arn_path=_join(path, "resources"),
            region=(_join(path, "region"), event.get("region")),
            account=(_join(path, "account"), event.get("account")),
            event_time=event.get("time"),
        )

    def alarm_action(self, event: dict[str, Any], path: str, shape: str) -> Alarm:
        arn = self.text(event, "alarmArn", path, required=False)
        return self.state_change(
            self.obj(event.get("alarmData"), _join(path, "alarmData")),
            _join(path, "alarmData"),
            shape,
            arn=arn,
            arn_path=_join(path, "alarmArn"),
            region=(_join(path, "region"), event.get("region")),
            account=(_join(path, "accountId"), event.get("accountId")),
            event_time=event.get("time"),
        )

    def state_change(
        self,
        data: dict[str, Any],
        path: str,
        shape: str,
        *,
        arn: str | None,
        arn_path: str,
        region: tuple[str, Any],
        account: tuple[str, Any],
        event_time: Any,
    ) -> Alarm:
        """The inner shape shared by EventBridge ``detail`` and alarm-action ``alarmData``."""
        name = self.text(data, "alarmName", path, required=True)
        assert name is not None
        arn, region_code, account_id = self.arn_parts(
            arn, name, arn_path, region_hints=[region], account_hints=[account]
        )
        spath = _join(path, "state")
        state = self.obj(data.get("state"), spath)
        previous = data.get("previousState") or {}
        previous = self.obj(previous, _join(path, "previousState"))
        if state.get("timestamp"):
            when = self.time(state["timestamp"], _join(spath, "timestamp"))
        else:
            self.warn(f"{spath}.timestamp missing; used the event time")
            when = self.time(event_time, f"{spath}.timestamp")
        reason = state.get("reason") or None
        fields: dict[str, Any] = dict(
            name=name,
            arn=arn,
            region=region_code,
            account=account_id,
            new_state=self.state(state.get("value"), _join(spath, "value"), required=True),
            previous_state=self.state(
                previous.get("value"), _join(path, "previousState.value"), required=False
            ),
            state_change_time=when,
            reason=reason,
            reason_data=self.reason_data(state.get("reasonData"), _join(spath, "reasonData")),
            shape=shape,
        )
        cpath = _join(path, "configuration")
        config = self.obj(data.get("configuration") or {}, cpath)
        fields["description"] = config.get("description") or None
        if config.get("alarmRule"):
            fields["kind"] = "composite"
            fields["composite"] = self.composite(
                config["alarmRule"],
                config,
                state,
                fields["reason_data"],
                None,
                _join(spath, "reasonData.triggeringAlarms"),
            )
            return self.build(path, **fields)
        if not config.get("metrics"):
            raise self.fail("missing (neither metrics nor alarmRule)", _join(cpath, "metrics"))
        self.configure_metrics(
            fields, self.metric_items(config["metrics"], _join(cpath, "metrics"))
        )
        ppath = _join(path, "previousState")
        self.threshold_from_states(
            fields,
            [
                (_join(spath, "reasonData"), fields["reason_data"]),
                (
                    _join(ppath, "reasonData"),
                    self.reason_data(previous.get("reasonData"), _join(ppath, "reasonData")),
                ),
            ],
            [(_join(spath, "reason"), reason), (_join(ppath, "reason"), previous.get("reason"))],
        )
        self.from_reason(fields, reason, fields["reason_data"])
        return self.build(path, **fields)

    def describe(
        self, item: dict[str, Any], path: str, region: str | None, account: str | None
    ) -> Alarm:
        item = self.obj(item, path)
        name = self.text(item, "AlarmName", path, required=True)
        assert name is not None
        arn, region_code, account_id = self.arn_parts(
            self.text(item, "AlarmArn", path, required=False),
            name,
            _join(path, "AlarmArn"),
            region_hints=[("the region argument", region)],
            account_hints=[("the account argument", account)],
        )
        stamp_key = next(
            (k for k in ("StateTransitionedTimestamp", "StateUpdatedTimestamp") if item.get(k)),
            "StateUpdatedTimestamp",
        )
        fields: dict[str, Any] = dict(
            name=name,
            arn=arn,
            region=region_code,
            account=account_id,
            description=item.get("AlarmDescription") or None,
            new_state=self.state(item.get("StateValue"), _join(path, "StateValue"), required=True),
            previous_state=None,
            state_change_time=self.time(item.get(stamp_key), _join(path, stamp_key)),
            reason=item.get("StateReason") or None,
            reason_data=self.reason_data(
                item.get("StateReasonData"), _join(path, "StateReasonData")
            ),
            shape="describe_alarms",
        )
        if item.get("AlarmRule"):
            fields["kind"] = "composite"
            fields["composite"] = self.composite(
                item["AlarmRule"],
                item,
                item,
                fields["reason_data"],
                None,
                _join(path, "StateReasonData.triggeringAlarms"),
            )
            return self.build(path, **fields)
        self.trigger_fields(fields, item, path)
        self.threshold_from_states(
            fields,
            [(_join(path, "StateReasonData"), fields["reason_data"])],
            [(_join(path, "StateReason"), fields["reason"])],
        )
        return self.build(path, **fields)

    # -- Prometheus Alertmanager ------------------------------------------------------------

    def labels(self, value: Any, path: str, *, required: bool = False) -> dict[str, str]:
        """A label or annotation set: an object of strings."""
        if value is None and not required:
            return {}
        obj = self.obj(value, path)
        out: dict[str, str] = {}
        for key, item in obj.items():
            if not isinstance(item, str):
                raise self.fail(f"expected a string, got {_type_name(item)}", _join(path, key))
            out[str(key)] = item
        return out

    def prom_time(self, value: Any, path: str) -> datetime | None:
        """Alertmanager's times: RFC 3339, or Go's ``time.String()`` as AMP's JSON template
        writes them (``2024-05-01 12:00:00.5 +0000 UTC``); year 1 (Go's zero time) is none."""
        if value is None or value == "":
            return None
        if isinstance(value, str):
            text = value.strip()
            if m := _GO_TIME.match(text):
                text = f"{m.group(1)}T{m.group(2)}{m.group(3)}"
            if text.startswith("0001-01-01"):
                return None
            # Alertmanager writes nanoseconds; a datetime holds microseconds.
            value = re.sub(r"(\.\d{6})\d+", r"\1", text)
        return self.time(value, path)

    def alertmanager(
        self, doc: dict[str, Any], path: str, shape: str, hints: dict[str, tuple[str, str]]
    ) -> Alarm:
        """An Alertmanager notification: one alarm per alert, in :attr:`alerts`."""
        apath = _join(path, "alerts")
        alerts = doc.get("alerts")
        if not isinstance(alerts, list):
            raise self.fail(f"expected a list of alerts, got {_type_name(alerts)}", apath)
        if not alerts:
            raise self.fail("an Alertmanager notification with no alert", apath)
        version = doc.get("version")
        if version is not None and str(version) != "4":
            self.warn(f"{_join(path, 'version')}: webhook version {_clip(version)}; read as 4")
        group = dict(
            receiver=self.text(doc, "receiver", path, required=False),
            group_key=self.text(doc, "groupKey", path, required=False),
            group_labels=self.labels(doc.get("groupLabels"), _join(path, "groupLabels")),
            common_labels=self.labels(doc.get("commonLabels"), _join(path, "commonLabels")),
            external_url=self.text(doc, "externalURL", path, required=False),
        )
        common = self.labels(doc.get("commonAnnotations"), _join(path, "commonAnnotations"))
        truncated = doc.get("truncatedAlerts")
        if isinstance(truncated, int) and not isinstance(truncated, bool) and truncated > 0:
            self.warn(f"Alertmanager left {truncated} alerts out of this notification (max_alerts)")
        region, account = hints.get("region", ("", None))[1], hints.get("account", ("", None))[1]
        shared = list(self.warnings)
        for i, item in enumerate(alerts):
            ipath = f"{apath}[{i}]"
            alert = self.obj(item, ipath)
            self.warnings = list(shared)
            labels = self.labels(alert.get("labels"), _join(ipath, "labels"), required=True)
            annotations = {
                **common,
                **self.labels(alert.get("annotations"), _join(ipath, "annotations")),
            }
            status = alert.get("status", doc.get("status"))
            if status not in ("firing", "resolved"):
                raise self.fail(
                    f"unknown status {_clip(status)}; expected firing or resolved",
                    _join(ipath, "status"),
                )
            starts = self.prom_time(alert.get("startsAt"), _join(ipath, "startsAt"))
            if starts is None:
                raise self.fail("missing", _join(ipath, "startsAt"))
            url = self.text(alert, "generatorURL", ipath, required=False)
            spec = PrometheusAlert(
                status=status,
                labels=labels,
                annotations=annotations,
                starts_at=starts,
                ends_at=self.prom_time(alert.get("endsAt"), _join(ipath, "endsAt")),
                expression=self.expression(url, _join(ipath, "generatorURL")),
                generator_url=url,
                fingerprint=self.text(alert, "fingerprint", ipath, required=False),
                index=i,
                count=len(alerts),
                **group,
            )
            self.alerts.append(self.prom_alarm(spec, ipath, shape, region, account))
        if len(alerts) > 1:
            self.warnings = shared
            first = self.alerts[0]
            note = f"{len(alerts)} alerts in the notification; each is an alarm (parse_alarms)"
            self.alerts[0] = first.model_copy(update={"warnings": [*first.warnings, note]})
        return self.alerts[0]

    def expression(self, url: str | None, path: str) -> str | None:
        """The rule's PromQL from a generator URL (``/graph?g0.expr=...``)."""
        if not url:
            return None
        query = urllib.parse.urlsplit(url.replace("&amp;", "&")).query
        values = urllib.parse.parse_qs(query).get("g0.expr")
        if not values:
            self.warn(f"{path}: no g0.expr in the generator URL: the expression is unknown")
            return None
        return values[0]

    def prom_alarm(
        self,
        spec: PrometheusAlert,
        path: str,
        shape: str,
        region: str | None,
        account: str | None,
    ) -> Alarm:
        name = spec.labels.get("alertname")
        if not name or not name.strip():
            raise self.fail("missing (an alert needs its alertname label)", _join(path, "labels"))
        notes = spec.annotations
        dims = {k: v for k, v in spec.labels.items() if k != "alertname"}
        assert spec.starts_at is not None
        return self.build(
            path,
            name=name,
            region=region,
            account=account,
            description=notes.get("description") or notes.get("summary") or None,
            new_state="ALARM" if spec.status == "firing" else "OK",
            previous_state="ALARM" if spec.status == "resolved" else None,
            state_change_time=spec.starts_at,
            reason=notes.get("summary") or notes.get("description") or None,
            kind="prometheus",
            metric=MetricSpec(namespace=PROMETHEUS_NAMESPACE, name=name, dimensions=dims),
            prometheus=spec,
            shape=shape,
        )

    def amp_text(
        self,
        text: str,
        env: dict[str, Any],
        path: str,
        shape: str,
        hints: dict[str, tuple[str, str]],
    ) -> Alarm:
        """AMP's default SNS message: ``Alerts Firing:`` / ``Alerts Resolved:`` then, per alert,
        ``Labels:`` and ``Annotations:`` lists (`` - name = value``) and ``Source: URL``. It has
        no alert times: the SNS ``Timestamp`` stands for the start, and the alarm says so."""
        alerts: list[dict[str, Any]] = []
        status, block = None, None
        for line in text.splitlines():
            stripped = line.strip()
            if stripped in ("Alerts Firing:", "Alerts Resolved:"):
                status = "firing" if "Firing" in stripped else "resolved"
            elif stripped == "Labels:" and status:
                alerts.append({"status": status, "labels": {}, "annotations": {}})
                block = "labels"
            elif stripped == "Annotations:" and alerts:
                block = "annotations"
            elif stripped.startswith("- ") and alerts and block and " = " in stripped:
                key, _, value = stripped[2:].partition(" = ")
                alerts[-1][block][key.strip()] = value
            elif stripped.startswith("Source:") and alerts:
                alerts[-1]["generatorURL"] = stripped.removeprefix("Source:").strip()
                block = None
        if not alerts:
            raise self.fail("an AMP alert message with no alert (no Labels: list)", path)
        tpath = path.rsplit(".", 1)[0] + ".Timestamp" if "." in path else "Timestamp"
        stamp = env.get("Timestamp")
        if stamp in (None, ""):
            raise self.fail("missing (AMP's text message has no alert time)", tpath)
        for alert in alerts:
            alert["startsAt"] = stamp
        self.warn(
            "AMP's default text message carries no alert start time: the SNS Timestamp is used "
            "(configure AMP's JSON template for startsAt)"
        )
        first = self.alertmanager({"alerts": alerts, "status": "firing"}, path, shape, hints)
        self.alerts = [
            a.model_copy(
                update={"prometheus": a.prometheus.model_copy(update={"delivery": "sns_text"})}
            )
            for a in self.alerts
            if a.prometheus is not None
        ]
        return self.alerts[0] if self.alerts else first


def _first_path(data: list[tuple[str, dict | None]]) -> str | None:
    """The threshold path of the new state's reasonData: the expected source, not warned."""
    return _join(data[0][0], "threshold") if data else None


def _join(path: str, key: str) -> str:
    return key if path == "$" else f"{path}.{key}"


def _ci(doc: Mapping[str, Any], key: str) -> Any:
    """A key looked up case-insensitively: the same structures come camelCase from EventBridge
    and PascalCase from SNS and DescribeAlarms."""
    if key in doc:
        return doc[key]
    lowered = key.lower()
    return next((v for k, v in doc.items() if k.lower() == lowered), None)


def _arn(text: str) -> str | None:
    return text if text.startswith("arn:") else None


#: An error or warning about a payload says what is wrong in at most this many characters.
MAX_MESSAGE_CHARS = 400


def _shorten(text: str, size: int) -> str:
    """``text`` with its middle cut to fit ``size`` characters."""
    if len(text) <= size:
        return text
    keep = (size - 5) // 2
    return f"{text[:keep]} ... {text[-keep:]}"


def _clip(value: Any, size: int = 60) -> str:
    """``repr`` of a value for an error message, cut to ``size`` characters."""
    text = repr(value)
    return text if len(text) <= size else text[: size - 3] + "..."


def _type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        type(None): "null",
        bool: "a boolean",
    }.get(type(value), "a number")
