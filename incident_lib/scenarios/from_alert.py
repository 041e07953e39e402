"""Prometheus samples synthesised for *any* Prometheus alert (``incident demo --from-alarm`` on
an Alertmanager notification): every series the alert's expression reads, written so that the
expression crosses its threshold a few minutes before the alert fired.

The series are the expression's own selectors with labels that satisfy their matchers: an
equality matcher gives its value, a regex matcher the first value it accepts that a short
search finds (``5..`` -> ``500``), a negative matcher no label. Counters (``_total``, anything under
``rate``/``increase``) grow at a steady rate, the ratio's failing part
(its numerator) much faster from the onset; histograms (``_bucket``) move their requests to
slower buckets from the onset; other series are gauges on the OK side of the threshold, then
past it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd

from incident_lib.alarm import Alarm

#: How long before the alert fired its expression left the baseline: the usual ``for: 5m`` plus
#: the rate window's lag.
LEAD = pd.Timedelta(minutes=7)
SCRAPE = pd.Timedelta(seconds=30)
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Tried in turn for a regex matcher's value.
_CANDIDATES = ("500", "503", "502", "504", "5xx", "200", "error", "GET", "POST", "true", "1", "x")


def _value_for(pattern: str) -> str | None:
    """A value a (fully anchored, as PromQL anchors them) regex accepts, if a short search
    finds one: the candidates above, then the first alternative with ``.`` read as ``0``."""
    try:
        rx = re.compile(pattern)
    except re.error:
        return None
    for c in _CANDIDATES:
        if rx.fullmatch(c):
            return c
    first = re.sub(r"[()^$]", "", pattern.split("|")[0]).replace(".", "0")
    first = re.sub(r"[*+?]|\{\d*,?\d*\}", "", first)
    return first if rx.fullmatch(first) else None


def _selectors(expr: str) -> tuple[list[Any], set[str], set[str], set[str]]:
    """The expression's vector selectors; as text, those of a ratio's numerator, those read
    through ``rate``/``irate``/``increase`` (counters), and those on the right of a comparison
    between two vectors (the reference the measure crosses: they stay put)."""
    import promql_parser as pp

    from incident_lib.ecs_steps import selectors, split_rule

    tree = pp.parse(expr)
    while isinstance(tree, pp.ParenExpr):
        tree = tree.expr
    reference: set[str] = set()
    comparison = isinstance(tree, pp.BinaryExpr) and str(tree.op).strip() in (
        ">",
        "<",
        ">=",
        "<=",
        "==",
        "!=",
    )
    if comparison and not isinstance(tree.rhs, pp.NumberLiteral):
        reference = set(selectors(str(tree.rhs)))
    measured = split_rule(expr)[0]
    found: list[Any] = []
    rated: set[str] = set()

    def walk(node: Any, in_rate: bool = False) -> None:
        if isinstance(node, pp.VectorSelector):
            found.append(node)
            if in_rate:
                rated.add(str(node))
        if isinstance(node, pp.Call) and node.func.name in ("rate", "irate", "increase"):
            in_rate = True
        for attr in ("expr", "lhs", "rhs", "vector_selector", "param"):
            child = getattr(node, attr, None)
            if child is not None and not isinstance(child, str | int | float):
                walk(child, in_rate)
        for child in getattr(node, "args", None) or []:
            walk(child, in_rate)

    walk(tree)
    numerator = set(selectors(measured, numerator=True))
    ratio = len(numerator) < len({str(s) for s in found} - reference)
    return found, numerator if ratio else set(), rated, reference


def _labels(selector: Any, alert_labels: dict[str, str]) -> tuple[str, dict[str, str]] | None:
    name = selector.name
    labels: dict[str, str] = {}
    for m in selector.matchers.matchers:
        op = str(m.op)
        if m.name == "__name__":
            if op == "MatchOp.Equal":
                name = m.value
            continue
        if op == "MatchOp.Equal":
            labels[m.name] = m.value
        elif op.startswith("MatchOp.Re"):
            value = _value_for(m.value)
            if value is None:
                return None
            labels[m.name] = value
    if not name:
        return None
    # The alert's own labels the series may carry (those it groups on, as ``service``).
    for k, v in alert_labels.items():
        if k not in ("alertname", "severity") and k not in labels:
            labels.setdefault(k, v)
    return name, labels


def prometheus_samples_for_alert(
    alarm: Alarm, start: pd.Timestamp, end: pd.Timestamp, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.Timestamp] | None:
    """The samples, and the onset they put the departure at; ``None`` when the alert has no
    expression (or reads no series)."""
    from incident_lib.ecs_steps import split_rule

    p = alarm.prometheus
    if p is None or not p.expression:
        return None
    when = pd.Timestamp(alarm.state_change_time).tz_convert("UTC")
    onset = (when - LEAD).floor("min")
    _measured, op, threshold = split_rule(p.expression)
    selected, numerator, rated, reference = _selectors(p.expression)
    stamps = pd.date_range(start, end, freq=SCRAPE, inclusive="left", tz="UTC")
    after = np.asarray(stamps >= onset)
    seconds = SCRAPE.total_seconds()
    rows: list[dict[str, Any]] = []

    def add(name: str, labels: dict[str, str], values: np.ndarray) -> None:
        text = json.dumps(dict(sorted(labels.items())), separators=(",", ":"))
        rows.extend(
            {"metric_name": name, "labels": text, "timestamp": t, "value": float(v)}
            for t, v in zip(stamps, values, strict=True)
        )

    for sel in selected:
        got = _labels(sel, dict(p.labels))
        if got is None:
            continue
        name, labels = got
        noise = 1 + rng.normal(0, 0.05, len(stamps))
        if name.endswith("_bucket"):
            # Requests per scrape: 10/s; the median request 0.2 s before the onset, 4 s after.
            per = 10 * seconds * np.ones(len(stamps))
            median = np.where(after, 4.0, 0.2)
            for le in (*BUCKETS, np.inf):
                share = 1.0 if np.isinf(le) else 1 / (1 + np.exp(-4 * np.log(le / median)))
                base = {k: v for k, v in labels.items() if k != "le"}
                add(
                    name,
                    {**base, "le": "+Inf" if np.isinf(le) else f"{le:g}"},
                    np.cumsum(per * share),
                )
            continue
        if str(sel) in reference:  # what the measure is compared with (a limit): steady at 100
            add(name, labels, np.full(len(stamps), 100.0))
            continue
        counter = name.endswith("_total") or str(sel) in rated or str(sel) in numerator
        if counter:
            if numerator:
                rate = (
                    np.where(after, 8.0, 0.05)
                    if str(sel) in numerator
                    else np.full(len(stamps), 10.0)
                )
            else:
                level = abs(threshold) if threshold else 1.0
                rate = np.where(after, 3 * level, 0.1 * level)
            add(name, labels, np.cumsum(rate * seconds * np.abs(noise)))
            continue
        level = abs(threshold) if threshold is not None else 1.0
        if reference:  # a share of the limit: 30 of it, then 99 (past any 80-95% rule)
            add(name, labels, np.where(after, 99.0, 30.0) * np.minimum(noise, 1.0))
            continue
        if op == "==":
            ok, bad = level + 1, level
        elif op in ("<", "<="):
            ok, bad = level * 2 + 1, level * 0.3
        else:
            ok, bad = level * 0.4, level * 2 + 1
        add(name, labels, np.where(after, bad, ok) * np.where(op == "==", 1.0, noise))
    if not rows:
        return None
    return pd.DataFrame(rows), onset
