"""A service-agnostic kit to declare an incident scenario: requests, what goes wrong with them,
the metrics and logs they leave, changes, recorded AWS calls and the alarm over it all.

The Lambda kit (``toolkit.py``) simulates one function. This one describes any service as
**request streams** (API requests, invocations, table operations, messages ...) from which the
metrics and log lines are *derived*, so that what the metrics say and what the logs say always
agree, as they do on AWS:

- :class:`Requests`: a stream of requests per minute (``Traffic``: a daily cosine with AR(1)
  noise, ``traffic.py``), split between ``kinds`` (routes, operations) and clients, each
  with a latency;
- effects: :func:`fail` (a share of the stream's requests, or of some kinds, fail from a time:
  a step, a ramp, until a time), :func:`over_capacity` (requests beyond a capacity per
  minute are throttled), :func:`surge` (the traffic is multiplied);
- :class:`Metric` (a count, a 0/1 flag per request, raw samples or a per-minute total of the
  stream's rows) and :class:`Gauge` (any per-minute level: concurrency, queue depth,
  provisioned capacity) under any namespace and dimensions;
- :class:`Logs`: one log line per request (those ``where`` selects) in a log group, from a
  function of the row (an access-log JSON line, a Lambda application line);
- changes: :func:`api_change` (any CloudTrail write) and :func:`lambda_deploy_change`;
  ``culprit=True`` marks the one the investigation must name;
- :func:`recorded` read-only calls (``aws_calls``: GetFunctionConcurrency, DescribeTable ...);
- :class:`AlarmOn`: the alarm, evaluated honestly over the metric rows written (``alarms.py``).

A scenario is a short declaration (see ``catalog_incidents.py``); :meth:`ServiceScenario.register`
registers it under its alert type. Everything is drawn from the seeded generator.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from incident_lib.scenarios import alarms
from incident_lib.scenarios.cloudtrail import Identity, lambda_deploy, lookup_event
from incident_lib.scenarios.ids import hex_id, new_uuids
from incident_lib.scenarios.registry import Scenario, register
from incident_lib.scenarios.toolkit import CI, PLATFORM, Traffic
from incident_lib.scenarios.traffic import daily_rate, minute_index, traffic_counts
from incident_lib.store import StoreWriter, canonical_dimensions

ACCOUNT = "123456789012"
REGION = "us-east-1"

__all__ = [
    "ACCOUNT",
    "CI",
    "PLATFORM",
    "REGION",
    "AlarmOn",
    "Call",
    "ChangeEvent",
    "Effect",
    "Gauge",
    "Logs",
    "Metric",
    "Requests",
    "ServiceScenario",
    "Surge",
    "Traffic",
    "api_change",
    "fail",
    "lambda_deploy_change",
    "over_capacity",
    "recorded",
    "surge",
    "window",
]

#: ``shape(minutes since the effect's start) -> value``, vectorised.
Shape = Callable[[np.ndarray], np.ndarray]
#: Selects rows of a request frame.
Where = Callable[[pd.DataFrame], "pd.Series[bool]"]


def window(
    at: pd.Timestamp, *, until: pd.Timestamp | None = None, ramp: pd.Timedelta | None = None
) -> Shape:
    """1 from ``at`` to ``until`` (0 outside), reached linearly over ``ramp`` if given."""
    stop = np.inf if until is None else (until - at).total_seconds() / 60
    span = ramp.total_seconds() / 60 if ramp is not None else 0.0

    def fn(m: np.ndarray) -> np.ndarray:
        level = np.clip(m / span, 0.0, 1.0) if span > 0 else np.ones(len(m))
        return np.where((m >= 0) & (m < stop), level, 0.0)

    return fn


# -- requests and what happens to them ------------------------------------------------------------
@dataclass(frozen=True)
class Requests:
    """A stream of requests: ``traffic`` per minute (its ``duration_ms`` is the median latency),
    split between ``kinds`` (route, operation ... -> share) and ``clients`` (who sends them:
    IPs, API keys, callers)."""

    name: str
    traffic: Traffic
    kinds: Mapping[str, float] = field(default_factory=lambda: {"": 1.0})
    clients: Sequence[str] = ("203.0.113.10", "198.51.100.23", "192.0.2.41", "203.0.113.77")
    status: int = 200


@dataclass(frozen=True)
class Effect:
    """Something that happens to a stream's requests from ``start``: a share of them (of the
    ``kinds`` listed, else all) gets ``outcome``, ``status`` and ``error`` (and takes
    ``latency_ms`` when given). ``share(minutes since start)`` is the probability per request;
    ``capacity`` instead throttles what a minute holds beyond that many requests."""

    stream: str
    start: pd.Timestamp
    share: Shape
    kinds: tuple[str, ...] = ()
    status: int = 500
    error: str = ""
    outcome: str = "error"
    latency_ms: float | None = None
    cause: str = ""
    #: Requests (of ``kinds``) a minute holds: a number, or ``capacity(minutes since start)``.
    capacity: float | Shape | None = None
    #: Other streams that share the capacity (one stage limit for every client).
    shared_with: tuple[str, ...] = ()


@dataclass(frozen=True)
class Surge:
    """``stream``'s traffic multiplied by up to ``factor`` over ``shape`` (a :func:`window`)."""

    stream: str
    start: pd.Timestamp
    factor: float
    shape: Shape
    cause: str = ""


def fail(
    stream: str,
    at: pd.Timestamp,
    share: float,
    *,
    until: pd.Timestamp | None = None,
    ramp: pd.Timedelta | None = None,
    kinds: Sequence[str] = (),
    status: int = 500,
    error: str = "",
    outcome: str = "error",
    latency_ms: float | None = None,
    cause: str = "",
) -> Effect:
    """``share`` of ``stream``'s requests (of ``kinds``, else all) fail from ``at``."""
    shape = window(at, until=until, ramp=ramp)
    return Effect(
        stream,
        at,
        lambda m: share * shape(m),
        tuple(kinds),
        status,
        error,
        outcome,
        latency_ms,
        cause,
    )


def over_capacity(
    stream: str,
    per_minute: float | Shape,
    *,
    kinds: Sequence[str] = (),
    status: int = 429,
    error: str = "",
    outcome: str = "throttled",
    cause: str = "",
    start: pd.Timestamp | None = None,
    shared_with: Sequence[str] = (),
) -> Effect:
    """Requests of ``stream`` (of ``kinds``, else all) beyond ``per_minute`` in a minute are
    throttled (a concurrency limit, provisioned capacity, a rate limit). ``per_minute`` may be
    a function of the minutes since ``start`` (capacity lowered by a change at ``start``);
    ``shared_with`` names streams whose requests count against the same capacity (declare
    the effect on each of them)."""
    return Effect(
        stream,
        start if start is not None else pd.Timestamp("1970-01-01T00:00Z"),
        lambda m: np.zeros(len(m)),
        tuple(kinds),
        status,
        error,
        outcome,
        None,
        cause,
        capacity=per_minute,
        shared_with=tuple(shared_with),
    )


def surge(
    stream: str,
    at: pd.Timestamp,
    factor: float,
    *,
    until: pd.Timestamp | None = None,
    ramp: pd.Timedelta | None = None,
    cause: str = "",
) -> Surge:
    """``stream``'s traffic grows to ``factor`` times its usual level from ``at``."""
    return Surge(stream, at, factor, window(at, until=until, ramp=ramp), cause)


# -- what the requests leave behind -----------------------------------------------------------
@dataclass(frozen=True)
class Metric:
    """A metric derived from ``stream``'s rows, per minute.

    ``agg``: ``"count"`` (each selected row a 1: Count, ThrottledRequests), ``"flag"`` (each row
    a 0 or a 1 by ``where``: 5XXError, Errors; Average is the rate), ``"samples"`` (raw values of
    ``column``: Latency, Duration; percentiles work), ``"total"`` (the sum of ``column`` per
    minute: consumed capacity)."""

    namespace: str
    name: str
    dimensions: Mapping[str, str]
    stream: str | tuple[str, ...]  # several: their rows together (every client of one API)
    agg: str = "count"
    where: Where | None = None
    column: str = "latency_ms"
    unit: str | None = "Count"
    #: Added to every sample (``samples``): the API's own time on top of the integration's.
    offset: float = 0.0
    #: Only these rows exist for this metric (the requests that reach a backend at all).
    among: Where | None = None
    #: Every sample multiplied by this (``samples``): milliseconds to seconds (ALB).
    scale: float = 1.0


@dataclass(frozen=True)
class Gauge:
    """A per-minute level: a number, or ``level(ctx)`` from the streams (:class:`Context`),
    with relative noise; written as one sample per minute (every statistic is that value)."""

    namespace: str
    name: str
    dimensions: Mapping[str, str]
    level: float | Callable[[Context], np.ndarray]
    noise: float = 0.03
    unit: str | None = "Count"


@dataclass(frozen=True)
class Logs:
    """One line per selected row of ``stream`` in ``group``: ``line(row)`` is its text (a
    mapping of the row's columns: ``time``, ``kind``, ``status``, ``outcome``, ``error``,
    ``latency_ms``, ``request_id``, ``client``). ``at``: written when the request ends
    (``"end"``) or starts (``"start"``). A request's lines go to one log stream of the group,
    whichever specs write them (as one execution environment writes an invocation's lines)."""

    group: str
    stream: str
    line: Callable[[Mapping[str, Any]], str]
    where: Where | None = None
    log_streams: int = 3
    at: str = "end"
    #: The log streams' own names (a host's instance id, as the CloudWatch agent names them):
    #: ``log_streams`` of them are used; default: Lambda-like names drawn from the group.
    stream_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Context:
    """What a :class:`Gauge` level is computed from: the minute index and the request frames."""

    index: pd.DatetimeIndex
    frames: Mapping[str, pd.DataFrame]

    def counts(self, stream: str | tuple[str, ...], where: Where | None = None) -> np.ndarray:
        """Requests of ``stream`` (those ``where`` selects) per minute."""
        frame = _rows(self.frames, stream)
        if where is not None:
            frame = frame[where(frame).to_numpy(bool)]
        per = frame.groupby("minute").size()
        return per.reindex(self.index, fill_value=0).to_numpy(float)

    def mean(
        self, stream: str | tuple[str, ...], column: str, where: Where | None = None
    ) -> np.ndarray:
        """The mean of ``column`` per minute (0 for an empty minute)."""
        frame = _rows(self.frames, stream)
        if where is not None:
            frame = frame[where(frame).to_numpy(bool)]
        per = frame.groupby("minute")[column].mean()
        return per.reindex(self.index, fill_value=0.0).to_numpy(float)

    def minutes_since(self, at: pd.Timestamp) -> np.ndarray:
        return (self.index - at).total_seconds().to_numpy() / 60.0


def _rows(frames: Mapping[str, pd.DataFrame], stream: str | tuple[str, ...]) -> pd.DataFrame:
    """One stream's rows, or several streams' together."""
    if isinstance(stream, str):
        return frames[stream]
    return pd.concat([frames[s] for s in stream], ignore_index=True)


# -- changes and recorded calls ----------------------------------------------------------------
@dataclass(frozen=True)
class ChangeEvent:
    """A CloudTrail change: ``make(rng)`` returns its LookupEvents items, the last being the
    call that took effect (the culprit's event id when ``culprit``)."""

    at: pd.Timestamp
    what: str
    make: Callable[[np.random.Generator], list[dict[str, Any]]]
    culprit: bool = False


def api_change(
    at: pd.Timestamp,
    event_name: str,
    event_source: str,
    resources: Sequence[tuple[str, str]],
    parameters: Mapping[str, Any] | None = None,
    *,
    response: Mapping[str, Any] | None = None,
    who: Identity = PLATFORM,
    culprit: bool = False,
    what: str = "",
) -> ChangeEvent:
    """Any CloudTrail write: ``event_name`` by ``who`` on ``resources`` (``(type, name)``)."""

    def make(rng: np.random.Generator) -> list[dict[str, Any]]:
        return [
            lookup_event(
                rng,
                when=at,
                event_name=event_name,
                event_source=event_source,
                identity=who,
                region=REGION,
                resources=list(resources),
                request_parameters=dict(parameters or {}),
                response_elements=dict(response) if response is not None else None,
            )
        ]

    label = what or f"{event_name} on {', '.join(n for _, n in resources)}"
    return ChangeEvent(at, label, make, culprit)


def lambda_deploy_change(
    at: pd.Timestamp,
    function: str,
    *,
    old_version: int = 41,
    new_version: int = 42,
    culprit: bool = False,
) -> ChangeEvent:
    """A CI deploy of ``function`` through its ``live`` alias (UpdateFunctionCode 43 s and
    PublishVersion 22 s before ``at``, UpdateAlias at ``at``)."""

    def make(rng: np.random.Generator) -> list[dict[str, Any]]:
        return lambda_deploy(
            rng,
            function=function,
            alias="live",
            old_version=old_version,
            new_version=new_version,
            times=(at - pd.Timedelta(seconds=43), at - pd.Timedelta(seconds=22), at),
            identity=CI,
            region=REGION,
            code_sha=hex_id(rng, 43) + "=",
            artifact_key=f"{function}/build-{new_version}/lambda.zip",
        )

    return ChangeEvent(at, f"deploy of {function} v{new_version}", make, culprit)


@dataclass(frozen=True)
class Call:
    """A recorded read-only AWS call and its answer (``aws_calls``)."""

    service: str
    operation: str
    parameters: Mapping[str, Any]
    response: Mapping[str, Any]


def recorded(service: str, operation: str, response: Mapping[str, Any], **parameters: Any) -> Call:
    """``case.aws(service, operation, **parameters)`` will be answered with ``response``."""
    return Call(service, operation, parameters, response)


# -- the alarm -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlarmOn:
    """The alarm on one metric the scenario writes, evaluated over its rows."""

    name: str
    namespace: str
    metric: str
    dimensions: Mapping[str, str]
    threshold: float
    statistic: str = "Sum"
    period: int = 60
    evaluation_periods: int = 3
    datapoints_to_alarm: int = 2
    comparison: str = "GreaterThanThreshold"
    treat_missing: str = "notBreaching"
    description: str = ""
    page: str = "last"


# -- the scenario --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServiceScenario:
    """One incident, declared. Ground truth: ``onset`` (default: the earliest effect or surge
    start, floored to the minute), ``cause``, the change marked ``culprit`` (or none), and
    ``must_say``: phrases the findings must contain (the cause named as a reader needs it)."""

    name: str
    alert_type: str
    description: str
    start: pd.Timestamp
    end: pd.Timestamp
    requests: Sequence[Requests]
    alarm: AlarmOn
    cause: str
    effects: Sequence[Effect | Surge] = ()
    metrics: Sequence[Metric | Gauge] = ()
    logs: Sequence[Logs] = ()
    changes: Sequence[ChangeEvent] = ()
    calls: Sequence[Call] = ()
    onset: pd.Timestamp | None = None
    must_say: Sequence[str] = ()
    resources: Mapping[str, Any] = field(default_factory=dict)

    def true_onset(self) -> pd.Timestamp:
        if self.onset is not None:
            return self.onset.floor("min")
        # Effects from the window's start are the background (client errors, an old error).
        starts = [
            e.start
            for e in self.effects
            if getattr(e, "capacity", None) is None and e.start > self.start
        ]
        if not starts:
            raise ValueError(f"scenario {self.name}: give onset= (no timed effect)")
        return min(starts).floor("min")

    # -- requests ---------------------------------------------------------------------------
    def _frame(self, req: Requests, rng: np.random.Generator) -> pd.DataFrame:
        index = minute_index(self.start, self.end)
        t = req.traffic
        counts = traffic_counts(
            index, rng, low=t.low, high=t.high, peak_hour=t.peak_hour, noise=t.noise
        )
        for s in self.effects:
            if isinstance(s, Surge) and s.stream == req.name:
                # The extra requests: Poisson around the usual rate times the surge (drawn on
                # the rate, not on the drawn counts, so a quiet stream surges smoothly).
                minutes = (index - s.start).total_seconds().to_numpy() / 60.0
                usual = daily_rate(index, low=t.low, high=t.high, peak_hour=t.peak_hour)
                counts = counts + rng.poisson(usual * (s.factor - 1.0) * s.shape(minutes))
        counts = counts.astype(np.int64)
        starts = np.repeat(index.asi8 // 1000, counts)  # epoch ms (index is in µs)
        ms = np.sort(starts + rng.integers(0, 60_000, size=int(counts.sum())))
        n = len(ms)
        time = pd.to_datetime(ms, unit="ms", utc=True).as_unit("us")
        names = list(req.kinds)
        weights = np.asarray([req.kinds[k] for k in names], float)
        frame = pd.DataFrame(
            {
                "time": time,
                "minute": time.floor("min"),
                "kind": np.asarray(names, dtype=object)[
                    rng.choice(len(names), size=n, p=weights / weights.sum())
                ],
                "client": np.asarray(list(req.clients), dtype=object)[
                    rng.integers(0, len(req.clients), size=n)
                ],
                "status": req.status,
                "outcome": "ok",
                "error": "",
                "latency_ms": np.round(rng.lognormal(np.log(t.duration_ms), 0.35, n), 1),
            }
        )
        frame["request_id"] = new_uuids(rng, n)
        for e in self.effects:
            if not isinstance(e, Effect) or e.stream != req.name or e.shared_with:
                continue
            ok = (frame["outcome"] == "ok").to_numpy().copy()
            if e.kinds:
                ok &= frame["kind"].isin(e.kinds).to_numpy()
            if e.capacity is not None:
                held = frame["kind"].isin(e.kinds) if e.kinds else frame["kind"].notna()
                per_minute = held.groupby(frame["minute"]).transform("sum").to_numpy(float)
                minutes = (frame["minute"] - e.start).dt.total_seconds().to_numpy() / 60.0
                cap = e.capacity(minutes) if callable(e.capacity) else e.capacity
                p = np.clip(1.0 - cap / np.maximum(per_minute, 1.0), 0.0, 1.0)
            else:
                minutes = (frame["time"] - e.start).dt.total_seconds().to_numpy() / 60.0
                p = e.share(minutes)
            hit = ok & (rng.random(n) < p)
            frame.loc[hit, ["status", "outcome", "error"]] = [e.status, e.outcome, e.error]
            if e.latency_ms is not None:
                frame.loc[hit, "latency_ms"] = np.round(
                    rng.lognormal(np.log(e.latency_ms), 0.05, int(hit.sum())), 1
                )
        return frame

    def _shared_capacity(
        self, frames: Mapping[str, pd.DataFrame], rng: np.random.Generator
    ) -> None:
        """Capacity shared between streams: each minute's requests of all of them count, and
        every stream loses the same share beyond it (after the streams are drawn, so a
        scenario without one draws the same numbers)."""
        for e in self.effects:
            if not isinstance(e, Effect) or not e.shared_with:
                continue
            frame = frames[e.stream]
            total = pd.Series(0.0, index=pd.DatetimeIndex([], tz="UTC"))
            for name in (e.stream, *e.shared_with):
                f = frames[name]
                held = f["kind"].isin(e.kinds) if e.kinds else f["kind"].notna()
                total = total.add(held.groupby(f["minute"]).sum().astype(float), fill_value=0.0)
            per_minute = total.reindex(frame["minute"]).to_numpy(float)
            minutes = (frame["minute"] - e.start).dt.total_seconds().to_numpy() / 60.0
            cap = e.capacity(minutes) if callable(e.capacity) else e.capacity
            p = np.clip(1.0 - cap / np.maximum(per_minute, 1.0), 0.0, 1.0)
            ok = (frame["outcome"] == "ok").to_numpy().copy()
            if e.kinds:
                ok &= frame["kind"].isin(e.kinds).to_numpy()
            hit = ok & (rng.random(len(frame)) < p)
            frame.loc[hit, ["status", "outcome", "error"]] = [e.status, e.outcome, e.error]

    # -- metrics -----------------------------------------------------------------------------
    def _metric_rows(
        self, m: Metric | Gauge, frames: Mapping[str, pd.DataFrame], rng: np.random.Generator
    ) -> pd.DataFrame:
        index = minute_index(self.start, self.end)
        dims = canonical_dimensions(dict(m.dimensions))
        base = {"namespace": m.namespace, "metric_name": m.name, "dimensions": dims, "unit": m.unit}
        if isinstance(m, Gauge):
            ctx = Context(index, frames)
            level = m.level(ctx) if callable(m.level) else np.full(len(index), float(m.level))
            values = np.maximum(level * (1 + rng.normal(0, m.noise, len(index))), 0.0)
            values = np.round(values, 2)
            return pd.DataFrame(
                {**base, "timestamp": index, "sample_count": 1.0, "sum": values}
                | {"minimum": values, "maximum": values}
            )
        frame = _rows(frames, m.stream)
        if m.among is not None:
            frame = frame[m.among(frame).to_numpy(bool)]
        sel = m.where(frame).to_numpy(bool) if m.where is not None else np.ones(len(frame), bool)
        if m.agg == "samples":
            part = frame[sel]
            return pd.DataFrame(
                {
                    **base,
                    "timestamp": part["time"].to_numpy(),
                    "value": part[m.column].to_numpy(float) * m.scale + m.offset,
                }
            )
        if m.agg == "count":
            g = pd.Series(sel.astype(float), index=frame.index)[sel].groupby(frame["minute"][sel])
            per = pd.DataFrame({"n": g.sum(), "s": g.sum(), "lo": 1.0, "hi": 1.0})
        elif m.agg == "flag":
            g = pd.Series(sel.astype(float), index=frame.index).groupby(frame["minute"])
            per = pd.DataFrame({"n": g.size(), "s": g.sum(), "lo": g.min(), "hi": g.max()})
        elif m.agg == "total":
            vals = frame[m.column].where(sel, 0.0).astype(float)
            g = vals.groupby(frame["minute"])
            per = pd.DataFrame({"n": g.size(), "s": g.sum(), "lo": g.min(), "hi": g.max()})
        else:
            raise ValueError(f"metric {m.name}: unknown agg {m.agg!r}")
        per = per[per["n"] > 0]
        return pd.DataFrame(
            {
                **base,
                "timestamp": per.index,
                "sample_count": per["n"].to_numpy(float),
                "sum": per["s"].to_numpy(float),
                "minimum": per["lo"].to_numpy(float),
                "maximum": per["hi"].to_numpy(float),
            }
        )

    def _alarmed_values(self, rows: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        """The alarmed statistic per period from the written rows, and the sample counts."""
        a = self.alarm
        dims = canonical_dimensions(dict(a.dimensions))
        part = rows[
            (rows["namespace"] == a.namespace)
            & (rows["metric_name"] == a.metric)
            & (rows["dimensions"] == dims)
        ]
        if part.empty:
            raise RuntimeError(f"scenario {self.name}: the alarmed metric has no rows")
        period = f"{a.period}s"
        index = pd.date_range(
            self.start, self.end, freq=period, inclusive="left", tz="UTC", unit="us"
        )
        t = pd.DatetimeIndex(part["timestamp"]).floor(period)
        if "value" in part and part["value"].notna().any():  # raw samples
            v = part["value"].astype(float)
            g = v.groupby(t.to_numpy())
            stat = a.statistic
            if stat.startswith("p"):
                values = g.quantile(float(stat[1:]) / 100)
            else:
                values = getattr(
                    g,
                    {
                        "Sum": "sum",
                        "Average": "mean",
                        "Maximum": "max",
                        "Minimum": "min",
                        "SampleCount": "size",
                    }[stat],
                )()
            counts = g.size()
        else:
            g = part[["sample_count", "sum", "minimum", "maximum"]].groupby(t.to_numpy())
            agg = g.agg({"sample_count": "sum", "sum": "sum", "minimum": "min", "maximum": "max"})
            values = {
                "Sum": agg["sum"],
                "Average": agg["sum"] / agg["sample_count"],
                "Maximum": agg["maximum"],
                "Minimum": agg["minimum"],
                "SampleCount": agg["sample_count"],
            }[a.statistic]
            counts = agg["sample_count"]
        values.index = pd.DatetimeIndex(values.index)
        counts.index = pd.DatetimeIndex(counts.index)
        return values.reindex(index).astype(float), counts.reindex(index).fillna(0.0)

    def _alarm_spec(self) -> alarms.MetricAlarmSpec:
        a = self.alarm
        return alarms.MetricAlarmSpec(
            name=a.name,
            description=a.description
            or f"{a.metric} {a.statistic} {a.comparison} {a.threshold:g} "
            f"({a.datapoints_to_alarm} of {a.evaluation_periods} periods)",
            namespace=a.namespace,
            metric_name=a.metric,
            dimensions=dict(a.dimensions),
            statistic=a.statistic,
            period=a.period,
            evaluation_periods=a.evaluation_periods,
            datapoints_to_alarm=a.datapoints_to_alarm,
            threshold=a.threshold,
            comparison=a.comparison,
            treat_missing=a.treat_missing,
            account_id=ACCOUNT,
            region=REGION,
            topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:oncall-{self.alert_type}",
            configured=self.start - pd.Timedelta(days=8, hours=3, minutes=47),
        )

    # -- generation --------------------------------------------------------------------------
    def generate(self, writer: StoreWriter, rng: np.random.Generator) -> dict[str, Any]:
        """Write the telemetry into ``writer``; return the descriptor entry."""
        frames = {r.name: self._frame(r, rng) for r in self.requests}
        self._shared_capacity(frames, rng)
        rows = pd.concat(
            [self._metric_rows(m, frames, rng) for m in self.metrics], ignore_index=True
        )
        writer.add_metrics(rows)
        for spec in self.logs:
            writer.add_log_events(
                self._log_lines(spec, frames[spec.stream], rng), log_group=spec.group
            )

        culprit_id, culprit_what, change_ids = write_changes(self.changes, writer, rng)
        write_calls(self.calls, writer, self.end)

        spec = self._alarm_spec()
        values, counts = self._alarmed_values(rows)
        created = alarms.creation_transition(spec, spec.configured + pd.Timedelta(seconds=61.2))
        transitions = alarms.evaluate_alarm(spec, values, sample_counts=counts, rng=rng)
        writer.add_alarm_history(alarms.history_items(spec, [created, *transitions]))
        writer.add_alarms([alarms.describe_alarms_item(spec, (transitions or [created])[-1])])
        fired_all = [t for t in transitions if t.new_state == "ALARM"]
        if not fired_all:
            raise RuntimeError(f"scenario {self.name}: the alarm never fired")
        fired = fired_all[-1] if self.alarm.page == "last" else fired_all[0]
        previous = next((t for t in reversed(transitions) if t.time < fired.time), created)
        failed = {name: int((f["outcome"] != "ok").sum()) for name, f in frames.items()}
        truth = {
            "onset": self.true_onset().isoformat(),
            "cause": self.cause,
            "culprit_event_id": culprit_id,
            "culprit": culprit_what,
            "change_event_ids": change_ids,
            "alarm_name": self.alarm.name,
            "alarm_state_change_time": fired.time.isoformat(),
            "first_alarm_time": fired_all[0].time.isoformat(),
            "alarm_periods": len(fired_all),
            "failed_requests": failed,
            "window": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "must_say": list(self.must_say),
        }
        return {
            "alarm_name": self.alarm.name,
            "resources": dict(self.resources),
            "alarm_events": {
                "eventbridge": alarms.eventbridge_event(spec, fired, previous, rng),
                "sns": alarms.sns_message(spec, fired),
                "sns_lambda_event": alarms.sns_lambda_event(spec, fired, rng),
            },
            "ground_truth": truth,
        }

    def _log_lines(self, spec: Logs, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        if spec.where is not None:
            frame = frame[spec.where(frame).to_numpy(bool)]
        # Stream names from the group (not the generator): every spec of a group shares them.
        streams = np.asarray(
            list(spec.stream_names)
            or [
                f"{self.start:%Y/%m/%d}/[$LATEST]"
                + hashlib.md5(f"{self.name}|{spec.group}|{i}".encode()).hexdigest()
                for i in range(spec.log_streams)
            ],
            dtype=object,
        )
        cols = ["time", "kind", "status", "outcome", "error", "latency_ms", "request_id", "client"]
        records = frame[cols].to_dict("records")
        messages = [spec.line(r) for r in records]
        ts = frame["time"]
        if spec.at == "end":
            ts = ts + pd.to_timedelta(frame["latency_ms"].to_numpy(float), unit="ms")
        ts = ts.dt.floor("ms")
        pick = [int(str(rid)[:8], 16) % len(streams) for rid in frame["request_id"]]
        out = pd.DataFrame(
            {"timestamp": ts.to_numpy(), "message": messages, "log_stream": streams[pick]}
        )
        out["ingestion_time"] = out["timestamp"] + pd.to_timedelta(
            rng.integers(150, 2500, size=len(out)), unit="ms"
        )
        return out.sort_values("timestamp", kind="stable", ignore_index=True)

    def register(self) -> Scenario:
        """Register this declaration as a scenario of its alert type."""
        return register(
            Scenario(
                name=self.name,
                alert_type=self.alert_type,
                description=self.description,
                generate=self.generate,
                account_id=ACCOUNT,
                region=REGION,
            )
        )


# -- writing changes and recorded calls ---------------------------------------------------
def write_changes(
    changes: Sequence[ChangeEvent], writer: StoreWriter, rng: np.random.Generator
) -> tuple[str | None, str | None, dict[str, str]]:
    """The CloudTrail events of ``changes``, made in time order; ``(culprit event id, what
    the culprit is, each change's last event id)``."""
    events: list[dict[str, Any]] = []
    culprit_id = culprit_what = None
    change_ids: dict[str, str] = {}
    for change in sorted(changes, key=lambda c: c.at):
        made = change.make(rng)
        events.extend(made)
        change_ids[change.what] = made[-1]["EventId"]
        if change.culprit:
            culprit_id, culprit_what = made[-1]["EventId"], change.what
    if events:
        writer.add_change_events(events)
    return culprit_id, culprit_what, change_ids


def write_calls(calls: Sequence[Call], writer: StoreWriter, end: pd.Timestamp) -> None:
    """The recorded read-only calls, answered as of a minute before ``end``."""
    if calls:
        at = end - pd.Timedelta(minutes=1)
        writer.add_aws_calls(
            {
                "service": c.service,
                "operation": c.operation,
                "parameters": dict(c.parameters),
                "response": dict(c.response),
                "recorded_at": at,
            }
            for c in calls
        )


# -- log line helpers -------------------------------------------------------------------------
def iso(ts: pd.Timestamp) -> str:
    """``2026-11-19T12:00:01.123Z``."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def json_line(**fields: Any) -> str:
    """A compact JSON log line."""
    return json.dumps(fields, separators=(",", ":"), default=str)
