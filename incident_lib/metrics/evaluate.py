"""Evaluate metric math expressions on bucketed series, in pandas (facts §2.5).

Values are a number, a :class:`Series` (one time series) or a list of them (an array, from
``METRICS()``). Rules, from the metric math reference:

* Arithmetic between two series runs on the union of their timestamps, a missing value counting
  as 0. A point whose result is not finite (division by zero, ``0 ^ -1``, ``(-8) ^ 0.5``) is
  dropped. Arithmetic with an array applies to each member.
* ``SUM/AVG/MIN/MAX`` of an array give a series: per timestamp, over the members that have a
  value there. Of a single series they give a number (over all its points).
* ``METRICS()`` is every metric-stat query of the request (not expressions), in request order,
  including ``return_data=False`` ones; ``METRICS('s')`` only those whose id contains ``s``.
* ``FILL(ts, value)`` fills every empty bucket of the request's window (the ``ts``'s period grid);
  ``FILL(ts, REPEAT)`` repeats the last earlier value (leading gaps stay empty);
  ``FILL(ts, LINEAR)`` interpolates inside gaps (edges stay empty).
* ``DIFF`` is each point minus the previous point; ``RATE`` divides that by the seconds between
  them. The first point has no value.
* ``ABS`` applies to numbers, series and arrays.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from incident_lib.errors import MetricQueryError
from incident_lib.metrics.expression import (
    BinOp,
    Call,
    Keyword,
    Neg,
    Node,
    Num,
    Ref,
    Str,
    parse_expression,
    references,
)
from incident_lib.metrics.periods import bucket_grid
from incident_lib.sources.base import MetricQuery

__all__ = ["Series", "evaluate_expressions"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Series:
    """One time series: float values on a tz-aware UTC DatetimeIndex, sorted, no NaN."""

    values: pd.Series
    period: int
    label: str
    id: str


Value = float | Series | list[Series] | str

_OPS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "^": np.power,
}


@dataclass
class _Context:
    query: MetricQuery
    start: pd.Timestamp
    end: pd.Timestamp
    metric_ids: list[str]
    resolve: Callable[[str], Series | list[Series]]

    def error(self, message: str) -> MetricQueryError:
        return MetricQueryError(message, query_id=self.query.id)


def evaluate_expressions(
    queries: Sequence[MetricQuery],
    fetched: Mapping[str, Series],
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> dict[str, list[Series]]:
    """Every query's result as a list of series (one for a metric or a single-series
    expression, several for an array), evaluating expressions in dependency order.

    Raises
    ------
    MetricQueryError
        Bad syntax, unknown ids, cycles, unsupported functions, wrong argument types, or an
        expression whose result is not a time series (the message starts with the query id).
    """
    by_id = {q.id: q for q in queries}
    metric_ids = [q.id for q in queries if q.expression is None]
    trees = {
        q.id: parse_expression(q.expression, query_id=q.id)
        for q in queries
        if q.expression is not None
    }
    for qid, tree in trees.items():
        unknown = sorted(references(tree) - by_id.keys())
        if unknown:
            raise MetricQueryError(
                f"unknown id {unknown[0]!r} in expression {by_id[qid].expression!r}", query_id=qid
            )
    values: dict[str, Series | list[Series]] = {qid: fetched[qid] for qid in metric_ids}
    visiting: list[str] = []

    def resolve(qid: str) -> Series | list[Series]:
        if qid in values:
            return values[qid]
        if qid in visiting:
            cycle = " -> ".join([*visiting[visiting.index(qid) :], qid])
            raise MetricQueryError(
                f"expressions refer to each other in a cycle: {cycle}", query_id=qid
            )
        visiting.append(qid)
        ctx = _Context(by_id[qid], start, end, metric_ids, resolve)
        values[qid] = _as_result(_eval(trees[qid], ctx), ctx)
        visiting.pop()
        return values[qid]

    for query in queries:
        resolve(query.id)
    return {qid: (v if isinstance(v, list) else [v]) for qid, v in values.items()}


def _as_result(value: Value, ctx: _Context) -> Series | list[Series]:
    query = ctx.query
    if isinstance(value, Series):
        return replace(
            value, label=query.default_label, id=query.id, values=value.values.rename(query.id)
        )
    if isinstance(value, list):
        return value
    kind = "a single number" if isinstance(value, float) else "a string"
    raise ctx.error(f"expression {query.expression!r} gives {kind}, not a time series")


def _eval(node: Node, ctx: _Context) -> Value:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Str):
        return node.value
    if isinstance(node, Ref):
        return ctx.resolve(node.id)
    if isinstance(node, Keyword):
        raise ctx.error(f"{node.name!r} is not a value here (ids start with a lowercase letter)")
    if isinstance(node, Neg):
        return _arith("*", -1.0, _eval(node.operand, ctx), ctx)
    if isinstance(node, BinOp):
        return _arith(node.op, _eval(node.left, ctx), _eval(node.right, ctx), ctx)
    if isinstance(node, Call):
        return _FUNCTIONS[node.name](node, ctx)
    raise ctx.error(f"cannot evaluate {node!r}")  # pragma: no cover - parser makes no others


def _clean(values: pd.Series) -> pd.Series:
    values = values.astype("float64")
    return values[np.isfinite(values.to_numpy())]


def _arith(op: str, left: Value, right: Value, ctx: _Context) -> Value:
    if isinstance(left, str) or isinstance(right, str):
        raise ctx.error(f"operator {op!r} does not apply to a string")
    if isinstance(left, list) and isinstance(right, list):
        raise ctx.error(f"operator {op!r} between two arrays of series is not supported")
    if isinstance(left, list):
        return [_arith(op, member, right, ctx) for member in left]  # type: ignore[misc]
    if isinstance(right, list):
        return [_arith(op, left, member, ctx) for member in right]  # type: ignore[misc]
    fn = _OPS[op]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if isinstance(left, float) and isinstance(right, float):
            result = fn(np.float64(left), np.float64(right))
            return float(result)
        if isinstance(left, Series) and isinstance(right, Series):
            index = left.values.index.union(right.values.index)
            a = left.values.reindex(index, fill_value=0.0)
            b = right.values.reindex(index, fill_value=0.0)
            values = pd.Series(fn(a.to_numpy(), b.to_numpy()), index=index)
            return replace(left, values=_clean(values), period=min(left.period, right.period))
        if isinstance(left, Series):
            values = pd.Series(
                fn(left.values.to_numpy(), np.float64(right)), index=left.values.index
            )
            return replace(left, values=_clean(values))
        assert isinstance(right, Series)
        values = pd.Series(fn(np.float64(left), right.values.to_numpy()), index=right.values.index)
        return replace(right, values=_clean(values))


# -- functions ---------------------------------------------------------------------------------


def _args(node: Call, ctx: _Context, low: int, high: int) -> list[Value]:
    if not low <= len(node.args) <= high:
        want = str(low) if low == high else f"{low} to {high}"
        raise ctx.error(f"{node.name} takes {want} argument(s), got {len(node.args)}")
    return [_eval(arg, ctx) for arg in node.args]


def _series_arg(value: Value, node: Call, ctx: _Context) -> Series | list[Series]:
    if isinstance(value, Series | list):
        return value
    raise ctx.error(f"{node.name} needs a time series, got {_kind(value)}")


def _kind(value: Value) -> str:
    if isinstance(value, list):
        return "an array of series"
    if isinstance(value, Series):
        return "a time series"
    return "a string" if isinstance(value, str) else "a number"


def _map(value: Series | list[Series], fn: Callable[[Series], Series]) -> Series | list[Series]:
    return [fn(member) for member in value] if isinstance(value, list) else fn(value)


def _fn_metrics(node: Call, ctx: _Context) -> Value:
    args = _args(node, ctx, 0, 1)
    if args and not isinstance(args[0], str):
        raise ctx.error(f"METRICS takes a string, got {_kind(args[0])}")
    needle = args[0] if args else ""
    return [ctx.resolve(qid) for qid in ctx.metric_ids if needle in qid]  # type: ignore[misc]


def _aggregate(how: str) -> Callable[[Call, _Context], Value]:
    def fn(node: Call, ctx: _Context) -> Value:
        (value,) = _args(node, ctx, 1, 1)
        if isinstance(value, float):
            return value
        if isinstance(value, str):
            raise ctx.error(f"{node.name} does not apply to a string")
        if isinstance(value, Series):
            values = value.values
            return float(getattr(values, how)()) if len(values) else float("nan")
        if not value:
            empty = pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype="float64")
            return Series(
                empty, period=ctx.query.period, label=ctx.query.default_label, id=ctx.query.id
            )
        frame = pd.concat([m.values for m in value], axis=1, keys=range(len(value)))
        frame = frame.sort_index()
        result = getattr(frame, how)(axis=1, skipna=True)
        return Series(
            _clean(result.dropna()),
            period=min(m.period for m in value),
            label=ctx.query.default_label,
            id=ctx.query.id,
        )

    return fn


def _fn_abs(node: Call, ctx: _Context) -> Value:
    (value,) = _args(node, ctx, 1, 1)
    if isinstance(value, float):
        return abs(value)
    series = _series_arg(value, node, ctx)
    return _map(series, lambda s: replace(s, values=s.values.abs()))


def _fn_diff(node: Call, ctx: _Context) -> Value:
    (value,) = _args(node, ctx, 1, 1)
    series = _series_arg(value, node, ctx)
    return _map(series, lambda s: replace(s, values=_clean(s.values.diff().dropna())))


def _fn_rate(node: Call, ctx: _Context) -> Value:
    (value,) = _args(node, ctx, 1, 1)
    series = _series_arg(value, node, ctx)

    def rate(s: Series) -> Series:
        seconds = s.values.index.to_series().diff().dt.total_seconds()
        return replace(s, values=_clean((s.values.diff() / seconds).dropna()))

    return _map(series, rate)


def _fn_fill(node: Call, ctx: _Context) -> Value:
    if len(node.args) != 2:
        raise ctx.error(f"FILL takes 2 arguments, got {len(node.args)}")
    series = _series_arg(_eval(node.args[0], ctx), node, ctx)
    how_node = node.args[1]
    if isinstance(how_node, Keyword):
        if how_node.name not in ("REPEAT", "LINEAR"):
            raise ctx.error(f"FILL takes a number, REPEAT or LINEAR, got {how_node.name}")
        how: str | float = how_node.name
    else:
        fill = _eval(how_node, ctx)
        if not isinstance(fill, float):
            raise ctx.error(f"FILL takes a number, REPEAT or LINEAR, got {_kind(fill)}")
        how = fill

    def fill_one(s: Series) -> Series:
        index = bucket_grid(ctx.start, ctx.end, s.period).union(s.values.index)
        values = s.values.reindex(index)
        if how == "REPEAT":
            values = values.ffill()
        elif how == "LINEAR":
            values = values.interpolate(method="time", limit_area="inside")
        else:
            values = values.fillna(how)
        return replace(s, values=_clean(values.dropna()))

    return _map(series, fill_one)


_FUNCTIONS: dict[str, Callable[[Call, _Context], Value]] = {
    "ABS": _fn_abs,
    "AVG": _aggregate("mean"),
    "DIFF": _fn_diff,
    "FILL": _fn_fill,
    "MAX": _aggregate("max"),
    "METRICS": _fn_metrics,
    "MIN": _aggregate("min"),
    "RATE": _fn_rate,
    "SUM": _aggregate("sum"),
}
