"""PromQL offline: the queries the notebooks use, evaluated with pandas/numpy over a store's
``prometheus_samples`` table.

Parsing is PromQL's own grammar through ``promql-parser`` (the Rust parser of GreptimeDB's
PromQL engine, via PyO3): no hand-written parser. Evaluation follows Prometheus
(``promql/engine.go``, ``promql/functions.go``, ``promql/quantile.go``):

- instant vector selectors with ``=``, ``!=``, ``=~``, ``!~`` (regexes anchored) and ``offset``,
  the latest sample within the 5-minute lookback;
- ``rate``, ``irate``, ``increase`` over a range (extrapolated as Prometheus does; a range holds
  the samples in ``(t - range, t]``);
- ``sum``, ``avg``, ``max``, ``min``, ``count`` with ``by (...)`` or ``without (...)``;
- ``histogram_quantile(q, ...)`` over ``le`` buckets;
- ``+ - * / % ^`` and the comparisons (filters, or 0/1 with ``bool``) between vectors (one-to-one,
  ``on``/``ignoring``) and scalars; parentheses and unary minus.

Anything else raises :class:`OfflinePromQLError`, naming the function or construct, which
says the step needs a live Prometheus (``prometheus_url`` or ``$PROMETHEUS_URL``).
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from incident_lib.errors import BadInputError
from incident_lib.sources.prometheus import PromQLError, _check_step, long_frame, series_label
from incident_lib.timeutil import ensure_utc

__all__ = ["LOOKBACK", "LocalPrometheus", "OfflinePromQLError", "evaluate_range"]

#: Prometheus' default ``--query.lookback-delta``.
LOOKBACK = pd.Timedelta(minutes=5)
_SUPPORTED = "rate, irate, increase, histogram_quantile, sum/avg/max/min/count by/without"

Labels = tuple[tuple[str, str], ...]


class OfflinePromQLError(BadInputError):
    """A PromQL construct the offline engine does not evaluate: the step needs a live
    Prometheus."""

    def __init__(self, what: str) -> None:
        if what.startswith("PromQL without"):
            text = f"this step needs a live Prometheus: {what.split(': ', 1)[1]}"
        else:
            text = (
                f"this step needs a live Prometheus: the offline engine does not evaluate {what} "
                f"(it does {_SUPPORTED}, label matchers and arithmetic); set prometheus_url or "
                "$PROMETHEUS_URL"
            )
        super().__init__(text)
        self.what = what


class _Vector:
    """An instant vector at every step: label set -> values (NaN where the series is absent)."""

    def __init__(self, series: dict[Labels, np.ndarray]) -> None:
        self.series = series


Value = _Vector | np.ndarray  # a scalar is an array over the steps


class LocalPrometheus:
    """PromQL over the ``prometheus_samples`` of a store (a DuckDB connection with that view).

    >>> LocalPrometheus(LocalSource(path).con).query_range({"e": "rate(x_total[5m])"}, t0, t1)
    ... # doctest: +SKIP
    """

    def __init__(self, con: Any, name: str = "store") -> None:
        self.con = con
        self.name = f"prometheus offline ({name})"

    def query_range(
        self,
        queries: Mapping[str, str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        step: int | float = 60,
    ) -> pd.DataFrame:
        """As :meth:`PrometheusSource.query_range`, from the stored samples."""
        t0, t1 = ensure_utc(start, name="start"), ensure_utc(end, name="end")
        width = _check_step(step, t0, t1)
        rows: list[tuple[str, str, Any, float]] = []
        for qid, expr in queries.items():
            steps, result = evaluate_range(expr, t0, t1, width, self._samples)
            if isinstance(result, np.ndarray):
                result = _Vector({(): result})
            for labels, values in result.series.items():
                label = series_label(dict(labels), qid)
                for when, value in zip(steps, values, strict=True):
                    if not math.isnan(value):
                        rows.append((qid, label, when, float(value)))
        return long_frame(rows)

    def _samples(
        self, name: str | None, t0: pd.Timestamp, t1: pd.Timestamp
    ) -> dict[Labels, tuple[np.ndarray, np.ndarray]]:
        """Every stored series of metric ``name`` (all when ``None``) with samples in
        ``[t0, t1]``: label set (``__name__`` included) -> (epoch ms, values), time-sorted."""
        where, args = "timestamp >= ? AND timestamp <= ?", [t0.to_pydatetime(), t1.to_pydatetime()]
        if name is not None:
            where += " AND metric_name = ?"
            args.append(name)
        frame = self.con.execute(
            "SELECT metric_name, labels, epoch_ms(timestamp) AS ms, value "
            f"FROM prometheus_samples WHERE {where} ORDER BY metric_name, labels, ms",
            args,
        ).df()
        out: dict[Labels, tuple[np.ndarray, np.ndarray]] = {}
        for (metric, labels), part in frame.groupby(["metric_name", "labels"], sort=False):
            key = dict(json.loads(labels) or {})
            key["__name__"] = metric
            out[tuple(sorted(key.items()))] = (
                part["ms"].to_numpy(dtype=np.int64),
                part["value"].to_numpy(dtype=float),
            )
        return out


SampleReader = Callable[
    [str | None, pd.Timestamp, pd.Timestamp], dict[Labels, tuple[np.ndarray, np.ndarray]]
]


def evaluate_range(
    expr: str, start: pd.Timestamp, end: pd.Timestamp, step: float, samples: SampleReader
) -> tuple[list[pd.Timestamp], Value]:
    """Evaluate ``expr`` at ``start, start + step, ...`` before ``end``."""
    import promql_parser

    try:
        tree = promql_parser.parse(expr)
    except (ValueError, TypeError) as exc:
        raise PromQLError(f"bad PromQL: {exc}") from None
    count = max(1, math.ceil((end - start).total_seconds() / step - 1e-9))
    steps = [start + pd.Timedelta(seconds=step * k) for k in range(count)]
    steps = [s for s in steps if s < end]
    ms = np.array([s.value // 1_000_000 for s in steps], dtype=np.int64)
    return steps, _Evaluator(ms, samples).eval(tree)


class _Evaluator:
    def __init__(self, steps_ms: np.ndarray, samples: SampleReader) -> None:
        self.steps = steps_ms
        self.samples = samples

    def eval(self, node: Any) -> Value:
        import promql_parser as pp

        kind = type(node).__name__
        if isinstance(node, pp.NumberLiteral):
            return np.full(len(self.steps), float(node.val))
        if isinstance(node, pp.ParenExpr):
            return self.eval(node.expr)
        if isinstance(node, pp.UnaryExpr):
            inner = self.eval(node.expr)
            if isinstance(inner, np.ndarray):
                return -inner
            return _Vector({_drop_name(k): -v for k, v in inner.series.items()})
        if isinstance(node, pp.VectorSelector):
            return self.instant(node)
        if isinstance(node, pp.Call):
            return self.call(node)
        if isinstance(node, pp.AggregateExpr):
            return self.aggregate(node)
        if isinstance(node, pp.BinaryExpr):
            return self.binary(node)
        if isinstance(node, pp.MatrixSelector):
            raise OfflinePromQLError("a range vector as a result (wrap it in rate/increase)")
        if isinstance(node, pp.SubqueryExpr):
            raise OfflinePromQLError("subqueries")
        if isinstance(node, pp.StringLiteral):
            raise OfflinePromQLError("string literals")
        raise OfflinePromQLError(kind)

    # -- selectors -------------------------------------------------------------------------
    def select(self, vs: Any, reach_ms: int) -> dict[Labels, tuple[np.ndarray, np.ndarray]]:
        """The series ``vs`` matches, with samples from ``reach_ms`` before the first step."""
        if vs.at is not None:
            raise OfflinePromQLError("the @ modifier")
        offset = _offset_ms(vs.offset)
        matchers = list(vs.matchers.matchers)
        if vs.matchers.or_matchers:
            raise OfflinePromQLError("'or' label matchers")
        name = vs.name
        for m in matchers:
            if m.name == "__name__" and str(m.op) == "MatchOp.Equal" and name is None:
                name = m.value
        t0 = pd.Timestamp(int(self.steps[0]) - reach_ms - offset, unit="ms", tz="UTC")
        t1 = pd.Timestamp(int(self.steps[-1]) - offset, unit="ms", tz="UTC")
        found = self.samples(name, t0, t1)
        tests = [_matcher(m) for m in matchers]
        out = {}
        for labels, (ms, values) in found.items():
            as_dict = dict(labels)
            if name is not None and as_dict.get("__name__") != name:
                continue
            if all(test(as_dict.get(label, "")) for label, test in tests):
                out[labels] = (ms + offset, values)
        return out

    def instant(self, vs: Any) -> _Vector:
        lookback = int(LOOKBACK.total_seconds() * 1000)
        out = {}
        for labels, (ms, values) in self.select(vs, lookback).items():
            # The latest sample at or before each step, if within the lookback.
            idx = np.searchsorted(ms, self.steps, side="right") - 1
            got = np.full(len(self.steps), np.nan)
            ok = idx >= 0
            ok[ok] &= (self.steps[ok] - ms[idx[ok]]) < lookback
            got[ok] = values[idx[ok]]
            if not np.isnan(got).all():
                out[labels] = got
        return _Vector(out)

    # -- functions -------------------------------------------------------------------------
    def call(self, node: Any) -> Value:
        import promql_parser as pp

        name = node.func.name
        args = list(node.args)
        if name in ("rate", "increase", "irate"):
            (arg,) = args
            if not isinstance(arg, pp.MatrixSelector):
                raise OfflinePromQLError(f"{name}() of a subquery")
            range_ms = int(arg.range.total_seconds() * 1000)
            series = self.select(arg.vector_selector, range_ms)
            fn = _irate if name == "irate" else _extrapolated_rate
            out = {}
            for labels, (ms, values) in series.items():
                got = np.array(
                    [fn(ms, values, int(t), range_ms, name == "rate") for t in self.steps]
                )
                if not np.isnan(got).all():
                    out[_drop_name(labels)] = got
            return _Vector(out)
        if name == "histogram_quantile":
            q = self.eval(args[0])
            vec = self.eval(args[1])
            if not isinstance(q, np.ndarray) or not isinstance(vec, _Vector):
                raise PromQLError("histogram_quantile(scalar, vector)")
            return _histogram_quantile(q, vec, len(self.steps))
        raise OfflinePromQLError(f"the function {name}()")

    def aggregate(self, node: Any) -> _Vector:
        op = str(node.op)
        if op not in _AGGREGATES:
            raise OfflinePromQLError(f"the aggregation {op}")
        if node.param is not None:
            raise OfflinePromQLError(f"{op} with a parameter")
        inner = self.eval(node.expr)
        if isinstance(inner, np.ndarray):
            raise PromQLError(f"{op}() needs an instant vector, got a scalar")
        modifier = node.modifier
        keep: Callable[[Labels], Labels]
        if modifier is None:
            keep = lambda labels: ()  # noqa: E731
        else:
            names = set(modifier.labels)
            if "Without" in str(modifier.type):
                keep = lambda labels: tuple(  # noqa: E731
                    (k, v) for k, v in labels if k not in names and k != "__name__"
                )
            else:
                keep = lambda labels: tuple((k, v) for k, v in labels if k in names)  # noqa: E731
        groups: dict[Labels, list[np.ndarray]] = defaultdict(list)
        for labels, values in inner.series.items():
            groups[keep(labels)].append(values)
        out = {}
        for labels, members in groups.items():
            stack = np.vstack(members)
            present = ~np.isnan(stack)
            any_present = present.any(axis=0)
            with np.errstate(all="ignore"):
                value = _AGGREGATES[op](stack, present)
            value = np.where(any_present, value, np.nan)
            out[labels] = value
        return _Vector(out)

    # -- operators -------------------------------------------------------------------------
    def binary(self, node: Any) -> Value:
        op = str(node.op)
        if op not in _ARITHMETIC and op not in _COMPARISON:
            raise OfflinePromQLError(f"the operator {op}")
        lhs, rhs = self.eval(node.lhs), self.eval(node.rhs)
        modifier = node.modifier
        return_bool = bool(modifier is not None and modifier.return_bool)
        if modifier is not None and "OneToOne" not in str(modifier.card):
            raise OfflinePromQLError("group_left/group_right")
        fn = _ARITHMETIC.get(op) or _COMPARISON[op]
        comparison = op in _COMPARISON

        def apply(a: np.ndarray, b: np.ndarray, keep: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                result = fn(a, b)
            if not comparison:
                return result
            hold = result.astype(bool) & ~np.isnan(a) & ~np.isnan(b)
            if return_bool:
                return np.where(np.isnan(a) | np.isnan(b), np.nan, hold.astype(float))
            return np.where(hold, keep, np.nan)

        if isinstance(lhs, np.ndarray) and isinstance(rhs, np.ndarray):
            if comparison and not return_bool:
                raise PromQLError("comparisons between scalars must use the bool modifier")
            return apply(lhs, rhs, lhs)
        if isinstance(lhs, _Vector) and isinstance(rhs, np.ndarray):
            return _Vector(
                {
                    (_drop_name(k) if not comparison or return_bool else k): apply(v, rhs, v)
                    for k, v in lhs.series.items()
                }
            )
        if isinstance(lhs, np.ndarray) and isinstance(rhs, _Vector):
            return _Vector(
                {
                    (_drop_name(k) if not comparison or return_bool else k): apply(lhs, v, v)
                    for k, v in rhs.series.items()
                }
            )
        assert isinstance(lhs, _Vector) and isinstance(rhs, _Vector)
        key = _match_key(modifier)
        right: dict[Labels, tuple[Labels, np.ndarray]] = {}
        for labels, values in rhs.series.items():
            k = key(labels)
            if k in right:
                raise PromQLError(
                    "many-to-one matching: several right-hand series for one match group"
                )
            right[k] = (labels, values)
        out = {}
        for labels, values in lhs.series.items():
            match = right.get(key(labels))
            if match is None:
                continue
            result_labels = labels if comparison and not return_bool else _drop_name(labels)
            matching = modifier.matching if modifier is not None else None
            if matching is not None:  # Prometheus' resultMetric for one-to-one matching
                names = set(matching.labels)
                if "Include" in str(matching.type):
                    result_labels = tuple((k, v) for k, v in result_labels if k in names)
                else:
                    result_labels = tuple((k, v) for k, v in result_labels if k not in names)
            out[result_labels] = apply(values, match[1], values)
        return _Vector({k: v for k, v in out.items() if not np.isnan(v).all()})


# -- helpers -------------------------------------------------------------------------------------
def _offset_ms(offset: Any) -> int:
    if offset is None:
        return 0
    return int(offset.total_seconds() * 1000)


def _matcher(m: Any) -> tuple[str, Callable[[str], bool]]:
    op = str(m.op).rsplit(".", 1)[-1]
    value = m.value
    if op == "Equal":
        return m.name, lambda v: v == value
    if op == "NotEqual":
        return m.name, lambda v: v != value
    try:
        pattern = re.compile(value)  # Go RE2 and Python agree on the common syntax
    except re.error as exc:
        raise PromQLError(f"bad regex {value!r} for label {m.name}: {exc}") from None
    if op == "Re":
        return m.name, lambda v: pattern.fullmatch(v) is not None
    return m.name, lambda v: pattern.fullmatch(v) is None


def _drop_name(labels: Labels) -> Labels:
    return tuple((k, v) for k, v in labels if k != "__name__")


def _match_key(modifier: Any) -> Callable[[Labels], Labels]:
    if modifier is None or modifier.matching is None:
        return _drop_name
    names = set(modifier.matching.labels)
    if "Include" in str(modifier.matching.type):  # on(...)
        return lambda labels: tuple((k, v) for k, v in labels if k in names)
    return lambda labels: tuple(  # ignoring(...)
        (k, v) for k, v in labels if k not in names and k != "__name__"
    )


def _window(ms: np.ndarray, t: int, range_ms: int) -> slice:
    lo = np.searchsorted(ms, t - range_ms, side="right")
    hi = np.searchsorted(ms, t, side="right")
    return slice(lo, hi)


def _extrapolated_rate(
    ms: np.ndarray, values: np.ndarray, t: int, range_ms: int, is_rate: bool
) -> float:
    """Prometheus' ``extrapolatedRate`` (counters) for the range ending at ``t``."""
    part = _window(ms, t, range_ms)
    times, vals = ms[part], values[part]
    if len(vals) < 2:
        return math.nan
    result = float(vals[-1] - vals[0])
    drops = vals[1:] < vals[:-1]
    result += float(vals[:-1][drops].sum())  # counter resets: add the value before each
    range_start, range_end = t - range_ms, t
    to_start = (times[0] - range_start) / 1000.0
    to_end = (range_end - times[-1]) / 1000.0
    sampled = (times[-1] - times[0]) / 1000.0
    if sampled <= 0:
        return math.nan
    average = sampled / (len(vals) - 1)
    if result > 0 and vals[0] >= 0:
        to_zero = sampled * (vals[0] / result)
        to_start = min(to_start, to_zero)
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    result *= interval / sampled
    if is_rate:
        result /= range_ms / 1000.0
    return result


def _irate(ms: np.ndarray, values: np.ndarray, t: int, range_ms: int, _rate: bool) -> float:
    part = _window(ms, t, range_ms)
    times, vals = ms[part], values[part]
    if len(vals) < 2:
        return math.nan
    last, previous = float(vals[-1]), float(vals[-2])
    delta = last if last < previous else last - previous
    seconds = (times[-1] - times[-2]) / 1000.0
    return delta / seconds if seconds > 0 else math.nan


def _bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' ``bucketQuantile``: ``buckets`` are (upper bound, cumulative count)."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    merged: dict[float, float] = defaultdict(float)
    for upper, count in buckets:
        merged[upper] += count
    bounds = sorted(merged)
    if not bounds or not math.isinf(bounds[-1]):
        return math.nan
    counts = [merged[b] for b in bounds]
    top = -math.inf
    for i, c in enumerate(counts):  # ensureMonotonic
        if c > top:
            top = c
        elif c < top:
            counts[i] = top
    if len(bounds) < 2:
        return math.nan
    observations = counts[-1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next(i for i, c in enumerate(counts) if c >= rank)
    if b == len(bounds) - 1:
        return bounds[-2]
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    start, end, count = 0.0, bounds[b], counts[b]
    if b > 0:
        start = bounds[b - 1]
        count -= counts[b - 1]
        rank -= counts[b - 1]
    return start + (end - start) * (rank / count)


def _histogram_quantile(q: np.ndarray, vec: _Vector, n: int) -> _Vector:
    groups: dict[Labels, list[tuple[float, np.ndarray]]] = defaultdict(list)
    for labels, values in vec.series.items():
        le = dict(labels).get("le")
        if le is None:
            continue
        try:
            upper = float(le)
        except ValueError:
            continue
        rest = tuple((k, v) for k, v in labels if k not in ("le", "__name__"))
        groups[rest].append((upper, values))
    out = {}
    for labels, members in groups.items():
        got = np.full(n, np.nan)
        for i in range(n):
            buckets = [(u, float(v[i])) for u, v in members if not math.isnan(v[i])]
            if buckets:
                got[i] = _bucket_quantile(float(q[i]), buckets)
        if not np.isnan(got).all():
            out[labels] = got
    return _Vector(out)


def _sum(stack: np.ndarray, present: np.ndarray) -> np.ndarray:
    return np.nansum(stack, axis=0)


def _count(stack: np.ndarray, present: np.ndarray) -> np.ndarray:
    return present.sum(axis=0).astype(float)


_AGGREGATES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "sum": _sum,
    "avg": lambda s, p: np.nansum(s, axis=0) / np.maximum(p.sum(axis=0), 1),
    "max": lambda s, p: np.nanmax(np.where(p, s, -np.inf), axis=0),
    "min": lambda s, p: np.nanmin(np.where(p, s, np.inf), axis=0),
    "count": _count,
}
_ARITHMETIC: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "%": np.fmod,
    "^": np.power,
}
_COMPARISON: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
}
