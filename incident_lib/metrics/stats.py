"""Statistic strings as ``MetricStat.Stat`` takes them (facts §2.4), parsed into a spec.

The five basic statistics are spelt exactly as CloudWatch accepts them (``Sum``, ``Average``,
``Minimum``, ``Maximum``, ``SampleCount``); percentiles are ``pNN`` or ``pNN.N`` (0 to 100, up to
ten decimal places). The other raw-value statistics (``tmNN``, ``TM(a:b)``, ``IQM``, ``wmNN``,
``WM(a:b)``, ``PR(a:b)``, ``tcNN``, ``TC(a:b)``, ``tsNN``, ``TS(a:b)``) are recognised and
refused with an error naming them: the local engine never answers them approximately.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from incident_lib.errors import MetricQueryError

__all__ = ["BASIC_STATS", "StatSpec", "parse_stat"]

BASIC_STATS = ("Sum", "Average", "Minimum", "Maximum", "SampleCount")

_PERCENTILE = re.compile(r"^p(\d{1,3}(?:\.\d{1,10})?)$")
_NUM = r"\d{1,3}(?:\.\d{1,10})?"
_BOUND = rf"(?:{_NUM}%?|\d+(?:\.\d+)?)?"
# Recognised but not implemented: named so the error can say what the stat is.
_UNSUPPORTED = (
    (re.compile(rf"^tm{_NUM}$"), "trimmed mean"),
    (re.compile(rf"^TM\({_BOUND}:{_BOUND}\)$"), "trimmed mean"),
    (re.compile(r"^IQM$"), "interquartile mean"),
    (re.compile(rf"^wm{_NUM}$"), "winsorized mean"),
    (re.compile(rf"^WM\({_BOUND}:{_BOUND}\)$"), "winsorized mean"),
    (re.compile(rf"^PR\({_BOUND}:{_BOUND}\)$"), "percentile rank"),
    (re.compile(rf"^tc{_NUM}$"), "trimmed count"),
    (re.compile(rf"^TC\({_BOUND}:{_BOUND}\)$"), "trimmed count"),
    (re.compile(rf"^ts{_NUM}$"), "trimmed sum"),
    (re.compile(rf"^TS\({_BOUND}:{_BOUND}\)$"), "trimmed sum"),
)


@dataclass(frozen=True)
class StatSpec:
    """A parsed statistic: ``kind`` is one of :data:`BASIC_STATS` or ``"percentile"``, in which
    case ``percentile`` is the rank in percent (0 to 100)."""

    kind: str
    percentile: float | None = None


def parse_stat(stat: str, *, query_id: str | None = None) -> StatSpec:
    """Parse a ``MetricStat.Stat`` string.

    Parameters
    ----------
    stat
        ``Sum``, ``Average``, ``Minimum``, ``Maximum``, ``SampleCount``, ``p99``, ``p99.9`` ...
    query_id
        The query's id, for the error message.

    Returns
    -------
    StatSpec

    Raises
    ------
    MetricQueryError
        For an unknown statistic, a percentile out of range, or a statistic the local engine
        does not compute (trimmed mean and its relatives), naming the statistic.

    >>> parse_stat("p99.9")
    StatSpec(kind='percentile', percentile=99.9)
    """
    if stat in BASIC_STATS:
        return StatSpec(stat)
    match = _PERCENTILE.match(stat)
    if match:
        value = float(match.group(1))
        if not 0.0 <= value <= 100.0:
            raise MetricQueryError(f"percentile {stat!r} is outside p0 to p100", query_id=query_id)
        return StatSpec("percentile", value)
    for pattern, what in _UNSUPPORTED:
        if pattern.match(stat):
            raise MetricQueryError(
                f"statistic {stat!r} ({what}) is not supported by the local engine; "
                f"use one of {', '.join(BASIC_STATS)} or a percentile pNN",
                query_id=query_id,
            )
    raise MetricQueryError(
        f"unknown statistic {stat!r}; valid: {', '.join(BASIC_STATS)}, pNN, pNN.N "
        "(case as CloudWatch spells them)",
        query_id=query_id,
    )
