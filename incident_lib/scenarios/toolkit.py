"""A small kit to declare a scenario in a few lines: traffic, failure modes, changes, the alarm.

A :class:`LambdaScenario` says what happens to one Lambda function (how busy it is, which
failures hit it and when, which CloudTrail changes happen around it, the alarm on its
``Errors``) and what the investigation must find (the onset, the cause, the culprit change or
none). :meth:`LambdaScenario.register` turns it into a registered
:class:`~incident_lib.scenarios.registry.Scenario`. Everything is drawn from the scenario's
seeded generator: the same seed writes the same tables.

>>> from incident_lib.scenarios.toolkit import LambdaScenario, Traffic, step, deploy
>>> t0 = pd.Timestamp("2026-11-18T12:00Z")
>>> demo = LambdaScenario(                                   # doctest: +SKIP
...     name="tiny", description="a deploy breaks it", function="orders-api",
...     start=t0, end=t0 + pd.Timedelta(hours=2), traffic=Traffic(30, 60),
...     failures=[step(t0 + pd.Timedelta(minutes=70), 0.2, error=("KeyError", "'id'"))],
...     changes=[deploy(t0 + pd.Timedelta(minutes=70), culprit=True)],
...     cause="a bad deploy")

What each part is made of:

- **traffic**: :class:`Traffic`, a daily cosine with AR(1) noise (``traffic.py``), simulated
  per invocation with warm and cold environments (``lambda_sim.py``);
- **failure modes**: :func:`step`, :func:`ramp`, :func:`bursts`, :func:`downstream_outage`
  (each the share of invocations that fail per minute, and the error they log); the
  ``background`` share fails with an old, steady error all along;
- **changes**: :func:`deploy` (UpdateFunctionCode, PublishVersion, UpdateAlias),
  :func:`config_change` (UpdateFunctionConfiguration), :func:`unrelated_change` (any other
  resource); ``culprit=True`` marks the one the investigation must name;
- **alarm**: :class:`AlarmRule` evaluated honestly over the generated Errors series
  (``alarms.py``): its history, DescribeAlarms item and the events of the ALARM transition
  the investigation starts from (the latest by default: a flapping alarm's last page).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from incident_lib.scenarios import alarms
from incident_lib.scenarios.cloudtrail import Identity, function_arn, lambda_deploy, lookup_event
from incident_lib.scenarios.ids import hex_id, new_uuids
from incident_lib.scenarios.lambda_logs import (
    app_line,
    end_line,
    error_payload,
    iso_ms_many,
    log_group_name,
    report_line,
    start_line,
)
from incident_lib.scenarios.lambda_sim import (
    OK,
    assign_environments,
    lambda_metrics,
    simulate_invocations,
    versions_by_alias,
)
from incident_lib.scenarios.registry import Scenario, register
from incident_lib.scenarios.traffic import minute_index, traffic_counts
from incident_lib.store import StoreWriter, canonical_dimensions

ACCOUNT = "123456789012"
REGION = "us-east-1"

#: ``(error type, error message)`` an invocation logs when it fails.
ErrorSpec = tuple[str, str]


@dataclass(frozen=True)
class Traffic:
    """Invocations per minute: a daily cosine between ``low`` and ``high`` (peak at
    ``peak_hour`` UTC) with AR(1) noise of relative size ``noise``; durations log-normal around
    ``duration_ms``."""

    low: float
    high: float
    peak_hour: float = 17.0
    noise: float = 0.08
    duration_ms: float = 45.0


@dataclass(frozen=True)
class FailureMode:
    """A share of invocations that fail, per minute, and the error they log.

    ``share(minutes)`` maps minutes since ``start`` (negative before it) to the probability
    that an invocation starting then fails. ``start`` is when the failure begins (the ground
    truth onset when it is the first failure); ``cause`` says what it is, for the ground truth.
    """

    start: pd.Timestamp
    share: Callable[[np.ndarray], np.ndarray]
    error: ErrorSpec
    cause: str
    stack: tuple[tuple[str, int, str, str], ...] = ()
    duration_ms: float | None = None  # failed calls take this long (a timeout), else quick


def step(
    at: pd.Timestamp,
    share: float,
    *,
    until: pd.Timestamp | None = None,
    error: ErrorSpec = ("RuntimeError", "request failed"),
    cause: str = "a failure that starts at once",
) -> FailureMode:
    """``share`` of invocations fail from ``at`` (to ``until``)."""
    stop = np.inf if until is None else (until - at).total_seconds() / 60

    def fn(m: np.ndarray) -> np.ndarray:
        return np.where((m >= 0) & (m < stop), share, 0.0)

    return FailureMode(at, fn, error, cause)


def ramp(
    start: pd.Timestamp,
    share: float,
    *,
    over: pd.Timedelta,
    until: pd.Timestamp | None = None,
    error: ErrorSpec = ("RuntimeError", "request failed"),
    cause: str = "a failure that grows slowly",
) -> FailureMode:
    """The failing share grows linearly from 0 at ``start`` to ``share`` after ``over``, then
    holds (to ``until``)."""
    span = over.total_seconds() / 60
    stop = np.inf if until is None else (until - start).total_seconds() / 60

    def fn(m: np.ndarray) -> np.ndarray:
        grown = share * np.clip(m / span, 0.0, 1.0)
        return np.where((m >= 0) & (m < stop), grown, 0.0)

    return FailureMode(start, fn, error, cause)


def bursts(
    spans: Sequence[tuple[pd.Timestamp, pd.Timedelta]],
    share: float,
    *,
    error: ErrorSpec = ("TimeoutError", "request timed out"),
    cause: str = "intermittent failures",
    duration_ms: float | None = None,
) -> FailureMode:
    """``share`` of invocations fail during each ``(start, length)`` span: a flapping alarm."""
    first = min(s for s, _ in spans)
    edges = [
        ((s - first).total_seconds() / 60, (s + d - first).total_seconds() / 60) for s, d in spans
    ]

    def fn(m: np.ndarray) -> np.ndarray:
        on = np.zeros(len(m), dtype=bool)
        for a, b in edges:
            on |= (m >= a) & (m < b)
        return np.where(on, share, 0.0)

    return FailureMode(first, fn, error, cause, duration_ms=duration_ms)


def downstream_outage(
    at: pd.Timestamp,
    share: float,
    *,
    until: pd.Timestamp | None = None,
    service: str = "payments-gateway",
    status: int = 503,
    ramp_minutes: float = 0.0,
) -> FailureMode:
    """A service the function calls fails (``status``): ``share`` of invocations fail from
    ``at`` (reached over ``ramp_minutes``), logging ``UpstreamError: <service> returned 503``.
    No change of ours is behind it."""
    text = {503: "Service Unavailable", 502: "Bad Gateway", 500: "Internal Server Error"}
    error = ("UpstreamError", f"{service} returned {status} {text.get(status, 'Error')}")
    cause = f"{service} (a downstream service) returned {status}"
    mode = (
        ramp(at, share, over=pd.Timedelta(minutes=ramp_minutes), until=until, error=error)
        if ramp_minutes
        else step(at, share, until=until, error=error)
    )
    return FailureMode(
        at,
        mode.share,
        error,
        cause,
        stack=(
            ("/var/task/app.py", 61, "handler", "charge = gateway.charge(order)"),
            ("/var/task/gateway.py", 44, "charge", "raise UpstreamError(resp)"),
        ),
    )


@dataclass(frozen=True)
class Change:
    """A CloudTrail change in a scenario: ``make(rng, scenario)`` returns its LookupEvents
    items; the last one is the call that took effect (the culprit's id when ``culprit``)."""

    at: pd.Timestamp
    what: str
    make: Callable[[np.random.Generator, LambdaScenario], list[dict[str, Any]]]
    culprit: bool = False
    function: str | None = None  # a deploy of this function (None: the scenario's own)
    version: str | None = None  # the version a deploy puts in front of traffic


CI = Identity(
    ACCOUNT,
    "gha-deploy-5512",
    role="github-actions-deploy",
    user_agent="aws-sdk-js/3.693.0 ua/2.1 os/linux lang/js md/nodejs#20.18.0",
    source_ip="140.82.112.21",
)
PLATFORM = Identity(
    ACCOUNT, "maria.lopez", source_ip="198.51.100.77", user_agent="console.amazonaws.com"
)


def deploy(
    at: pd.Timestamp,
    *,
    function: str | None = None,
    old_version: int = 41,
    new_version: int = 42,
    culprit: bool = False,
) -> Change:
    """A CI deploy through the ``live`` alias: UpdateFunctionCode 43 s and PublishVersion
    22 s before ``at``, UpdateAlias at ``at`` (the moment the code meets traffic).
    ``function`` defaults to the scenario's."""

    def make(rng: np.random.Generator, sc: LambdaScenario) -> list[dict[str, Any]]:
        fn = function or sc.function
        return lambda_deploy(
            rng,
            function=fn,
            alias="live",
            old_version=old_version,
            new_version=new_version,
            times=(at - pd.Timedelta(seconds=43), at - pd.Timedelta(seconds=22), at),
            identity=CI,
            region=REGION,
            code_sha=hex_id(rng, 43) + "=",
            artifact_key=f"{fn}/build-{new_version}/lambda.zip",
        )

    return Change(
        at,
        f"deploy of {function or 'the function'} v{new_version}",
        make,
        culprit,
        function=function,
        version=str(new_version),
    )


def config_change(
    at: pd.Timestamp,
    settings: dict[str, Any],
    *,
    function: str | None = None,
    culprit: bool = False,
) -> Change:
    """UpdateFunctionConfiguration of ``function`` (default the scenario's) to ``settings``."""

    def make(rng: np.random.Generator, sc: LambdaScenario) -> list[dict[str, Any]]:
        fn = function or sc.function
        return [
            lookup_event(
                rng,
                when=at,
                event_name="UpdateFunctionConfiguration20150331v2",
                event_source="lambda.amazonaws.com",
                identity=PLATFORM,
                region=REGION,
                resources=[("AWS::Lambda::Function", fn)],
                request_parameters={"functionName": fn, **settings},
                response_elements={
                    "functionName": fn,
                    "functionArn": function_arn(REGION, ACCOUNT, fn),
                    **settings,
                    "lastUpdateStatus": "InProgress",
                },
            )
        ]

    return Change(at, f"configuration change {settings}", make, culprit)


def unrelated_change(
    at: pd.Timestamp,
    *,
    resource: str = "reporting-etl-role",
    event_name: str = "PutRolePolicy",
    event_source: str = "iam.amazonaws.com",
    resource_type: str = "AWS::IAM::Role",
) -> Change:
    """A change to some other resource (an IAM role policy by default)."""

    def make(rng: np.random.Generator, sc: LambdaScenario) -> list[dict[str, Any]]:
        key = "roleName" if resource_type == "AWS::IAM::Role" else "name"
        return [
            lookup_event(
                rng,
                when=at,
                event_name=event_name,
                event_source=event_source,
                identity=PLATFORM,
                region=REGION,
                resources=[(resource_type, resource)],
                request_parameters={key: resource},
            )
        ]

    return Change(at, f"{event_name} on {resource}", make)


@dataclass(frozen=True)
class AlarmRule:
    """The alarm on the function's ``Errors``: ``statistic`` over ``period`` seconds compared
    with ``threshold``, ``datapoints_to_alarm`` of ``evaluation_periods``. ``page`` picks the
    ALARM transition whose event the investigation starts from: ``"last"`` (what the on-call
    was paged for most recently) or ``"first"``."""

    threshold: float = 5.0
    period: int = 60
    evaluation_periods: int = 3
    datapoints_to_alarm: int = 2
    statistic: str = "Sum"
    comparison: str = "GreaterThanThreshold"
    treat_missing: str = "notBreaching"
    page: str = "last"


_OLD_ERROR: ErrorSpec = ("TimeoutError", "inventory service did not respond after 3000 ms")
_OLD_STACK = (
    ("/var/task/app.py", 49, "handler", "stock = inventory.reserve(cart)"),
    ("/var/task/inventory.py", 74, "_post", "raise TimeoutError(msg)"),
)
_DEFAULT_STACK = (("/var/task/app.py", 57, "handler", "return process(event)"),)


@dataclass(frozen=True)
class LambdaScenario:
    """One Lambda function's incident, declared.

    Ground truth: the onset is the first failure mode's start (floored to the minute); the
    cause is its ``cause``; the culprit is the change marked ``culprit`` (its last call's
    event id) or ``None``.
    """

    name: str
    description: str
    function: str
    start: pd.Timestamp
    end: pd.Timestamp
    traffic: Traffic
    failures: Sequence[FailureMode]
    cause: str = ""  # default: the first failure mode's cause
    changes: Sequence[Change] = ()
    alarm: AlarmRule = field(default_factory=AlarmRule)
    background: float = 0.005
    siblings: Sequence[str] = ("cart-api",)
    history_days: int = 0
    must_say: Sequence[str] = ()

    @property
    def alarm_name(self) -> str:
        return f"{self.function}-errors"

    def onset(self) -> pd.Timestamp:
        return min(f.start for f in self.failures).floor("min")

    # -- generation --------------------------------------------------------------------

    def _invocations(self, rng: np.random.Generator) -> pd.DataFrame:
        index = minute_index(self.start, self.end)
        t = self.traffic
        frame = simulate_invocations(
            index,
            rng,
            low=t.low,
            high=t.high,
            duration_median_ms=t.duration_ms,
            peak_hour=t.peak_hour,
        )
        n = len(frame)
        frame["error"] = pd.Series([None] * n, dtype=object)
        old = rng.random(n) < self.background
        frame.loc[old, "outcome"] = "old_error"
        frame.loc[old, "error"] = 0
        for k, mode in enumerate(self.failures, start=1):
            minutes = (frame["start"] - mode.start).dt.total_seconds().to_numpy() / 60.0
            fails = (rng.random(n) < mode.share(minutes)) & (frame["outcome"] == OK).to_numpy()
            frame.loc[fails, "outcome"] = "new_error"
            frame.loc[fails, "error"] = k
            dur = mode.duration_ms or 12.0
            frame.loc[fails, "duration_ms"] = np.round(
                rng.lognormal(np.log(dur), 0.2, int(fails.sum())), 2
            )
        frame["version"] = "41"
        deploys = sorted(
            (c.at, c.version)
            for c in self.changes
            if c.version is not None and c.function in (None, self.function)
        )
        versions = versions_by_alias(frame["start"], deploys, "41")
        frame = assign_environments(frame, rng, versions=versions)
        frame["request_id"] = new_uuids(rng, n)
        return frame

    def _logs(self, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """START, one JSON application line, END and REPORT per invocation."""
        starts = frame["start"].astype("datetime64[ms, UTC]").astype("int64").to_numpy()
        ends = starts + np.round(frame["duration_ms"].to_numpy(float)).astype("int64")
        end_iso = iso_ms_many(ends - 1)
        errors: list[tuple[ErrorSpec, tuple]] = [(_OLD_ERROR, _OLD_STACK)] + [
            (m.error, m.stack or _DEFAULT_STACK) for m in self.failures
        ]
        stamps: list[int] = []
        streams: list[str] = []
        messages: list[str] = []
        cols = zip(
            frame["request_id"].tolist(),
            frame["log_stream"].tolist(),
            frame["version"].tolist(),
            frame["error"].tolist(),
            frame["duration_ms"].tolist(),
            frame["max_memory_mb"].tolist(),
            frame["init_ms"].tolist(),
            strict=True,
        )
        for i, (rid, stream, version, err, dur, mem, init) in enumerate(cols):
            start, end = int(starts[i]), int(ends[i])
            if err is None or (isinstance(err, float) and np.isnan(err)):
                body = {"level": "INFO", "message": "request completed", "requestId": rid}
                line = app_line(end_iso[i], rid, "INFO", body)
            else:
                (etype, emsg), stack = errors[int(err)]
                body = error_payload(rid, error_type=etype, error_message=emsg, stack=list(stack))
                line = app_line(end_iso[i], rid, "ERROR", body)
            cold = None if init is None or np.isnan(init) else float(init)
            for ts, msg in (
                (start, start_line(rid, version)),
                (end - 1, line),
                (end, end_line(rid)),
                (
                    end,
                    report_line(
                        rid, float(dur), memory_mb=512, max_memory_mb=int(mem), init_ms=cold
                    ),
                ),
            ):
                stamps.append(ts)
                streams.append(stream)
                messages.append(msg)
        arr = np.asarray(stamps, dtype="int64")
        order = np.argsort(arr, kind="stable")
        arr = arr[order]
        ingest = arr + rng.integers(150, 2500, size=len(arr))
        return pd.DataFrame(
            {
                "timestamp": pd.to_datetime(arr, unit="ms", utc=True).as_unit("us"),
                "ingestion_time": pd.to_datetime(ingest, unit="ms", utc=True).as_unit("us"),
                "message": [messages[j] for j in order.tolist()],
                "log_stream": [streams[j] for j in order.tolist()],
            }
        )

    def _history_metrics(self, rng: np.random.Generator) -> pd.DataFrame:
        """Invocations and Errors (statistic sets per minute) for the same hours on
        ``history_days`` previous days: the usual day, background errors only."""
        parts = []
        dims = canonical_dimensions({"FunctionName": self.function})
        t = self.traffic
        for d in range(1, self.history_days + 1):
            shift = pd.Timedelta(days=d)
            index = minute_index(self.start - shift, self.end - shift)
            n = traffic_counts(index, rng, low=t.low, high=t.high, peak_hour=t.peak_hour)
            err = rng.binomial(n, self.background)
            for metric, values in (("Invocations", n), ("Errors", err)):
                parts.append(
                    pd.DataFrame(
                        {
                            "namespace": "AWS/Lambda",
                            "metric_name": metric,
                            "dimensions": dims,
                            "timestamp": index,
                            "unit": "Count",
                            "sample_count": n.astype(float),
                            "sum": values.astype(float),
                            "minimum": (values == n).astype(float),
                            "maximum": (values > 0).astype(float),
                        }
                    )
                )
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def _alarm_spec(self) -> alarms.MetricAlarmSpec:
        a = self.alarm
        return alarms.MetricAlarmSpec(
            name=self.alarm_name,
            description=f"{self.function} is failing requests (Errors {a.statistic} > "
            f"{a.threshold:g} in {a.datapoints_to_alarm} of {a.evaluation_periods} periods)",
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions={"FunctionName": self.function},
            statistic=a.statistic,
            period=a.period,
            evaluation_periods=a.evaluation_periods,
            datapoints_to_alarm=a.datapoints_to_alarm,
            threshold=a.threshold,
            comparison=a.comparison,
            treat_missing=a.treat_missing,
            account_id=ACCOUNT,
            region=REGION,
            topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:oncall-{self.function}",
            configured=self.start - pd.Timedelta(days=8, hours=3, minutes=47),
        )

    def generate(self, writer: StoreWriter, rng: np.random.Generator) -> dict[str, Any]:
        """Write the telemetry into ``writer``; return the descriptor entry."""
        frame = self._invocations(rng)
        writer.add_log_events(self._logs(frame, rng), log_group=log_group_name(self.function))
        metrics = [lambda_metrics(frame, self.function)]
        index = minute_index(self.start, self.end)
        for name in self.siblings:
            sib = simulate_invocations(
                index,
                rng,
                low=self.traffic.low * 0.6,
                high=self.traffic.high * 0.6,
                duration_median_ms=38.0,
            )
            sib.loc[rng.random(len(sib)) < self.background, "outcome"] = "old_error"
            metrics.append(lambda_metrics(sib, name))
        if self.history_days:
            metrics.append(self._history_metrics(rng))
        writer.add_metrics(pd.concat(metrics, ignore_index=True))

        events: list[dict[str, Any]] = []
        culprit_id: str | None = None
        culprit_what: str | None = None
        change_ids: dict[str, str] = {}
        for change in sorted(self.changes, key=lambda c: c.at):
            made = change.make(rng, self)
            events.extend(made)
            change_ids[change.what] = made[-1]["EventId"]
            if change.culprit:
                culprit_id, culprit_what = made[-1]["EventId"], change.what
        writer.add_change_events(events)

        spec = self._alarm_spec()
        minute = frame["start"].dt.floor("min")
        errors = (frame["outcome"] != OK).groupby(minute).sum().astype(float)
        errors = errors.reindex(index, fill_value=0.0)
        invocations = frame.groupby(minute).size().astype(float).reindex(index, fill_value=0.0)
        created = alarms.creation_transition(spec, spec.configured + pd.Timedelta(seconds=61.2))
        transitions = alarms.evaluate_alarm(spec, errors, sample_counts=invocations, rng=rng)
        writer.add_alarm_history(alarms.history_items(spec, [created, *transitions]))
        writer.add_alarms([alarms.describe_alarms_item(spec, (transitions or [created])[-1])])
        fired_all = [t for t in transitions if t.new_state == "ALARM"]
        if not fired_all:
            raise RuntimeError(f"scenario {self.name}: the alarm never fired")
        fired = fired_all[-1] if self.alarm.page == "last" else fired_all[0]
        previous = next((t for t in reversed(transitions) if t.time < fired.time), created)
        onset = self.onset()
        first = min(self.failures, key=lambda f: f.start)
        truth = {
            "onset": onset.isoformat(),
            "cause": self.cause or first.cause,
            "culprit_event_id": culprit_id,
            "culprit": culprit_what,
            "change_event_ids": change_ids,
            "alarm_name": self.alarm_name,
            "alarm_state_change_time": fired.time.isoformat(),
            "first_alarm_time": fired_all[0].time.isoformat(),
            "alarm_periods": len(fired_all),
            "failed_invocations": int((frame["outcome"] == "new_error").sum()),
            "affected_functions": [self.function],
            "unaffected_functions": list(self.siblings),
            "new_signature": f"{first.error[0]}: {first.error[1]}",
            "window": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "must_say": list(self.must_say),
        }
        return {
            "alarm_name": self.alarm_name,
            "resources": {
                "function": self.function,
                "log_group": log_group_name(self.function),
                "siblings": list(self.siblings),
            },
            "alarm_events": {
                "eventbridge": alarms.eventbridge_event(spec, fired, previous, rng),
                "sns": alarms.sns_message(spec, fired),
                "sns_lambda_event": alarms.sns_lambda_event(spec, fired, rng),
            },
            "ground_truth": truth,
        }

    def register(self) -> Scenario:
        """Register this declaration as a scenario of alert type ``lambda_errors``."""
        return register(
            Scenario(
                name=self.name,
                alert_type="lambda_errors",
                description=self.description,
                generate=self.generate,
                account_id=ACCOUNT,
                region=REGION,
            )
        )
