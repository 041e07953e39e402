"""Request traffic with a daily shape and noise, per minute, and arrival times within minutes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

MINUTE = pd.Timedelta(minutes=1)


def minute_index(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Minute starts from ``start`` (inclusive) to ``end`` (exclusive), tz-aware UTC."""
    return pd.date_range(start, end, freq="min", inclusive="left", tz="UTC", unit="us")


def daily_rate(
    index: pd.DatetimeIndex, *, low: float, high: float, peak_hour: float = 17.0
) -> np.ndarray:
    """Expected requests per minute: a cosine over the day between ``low`` (12 h from the peak)
    and ``high`` (at ``peak_hour`` UTC)."""
    hours = index.hour + index.minute / 60.0
    phase = 2 * np.pi * (np.asarray(hours) - peak_hour) / 24.0
    return low + (high - low) * (1 + np.cos(phase)) / 2


def traffic_counts(
    index: pd.DatetimeIndex,
    rng: np.random.Generator,
    *,
    low: float,
    high: float,
    peak_hour: float = 17.0,
    noise: float = 0.08,
) -> np.ndarray:
    """Requests per minute: Poisson draws around :func:`daily_rate`, multiplied by a smooth
    AR(1) log-normal wobble of relative size ``noise`` (real traffic drifts, it is not white)."""
    rate = daily_rate(index, low=low, high=high, peak_hour=peak_hour)
    wobble = np.empty(len(index))
    level = 0.0
    for i, shock in enumerate(rng.normal(0.0, noise * np.sqrt(1 - 0.9**2), size=len(index))):
        level = 0.9 * level + shock
        wobble[i] = level
    return rng.poisson(rate * np.exp(wobble)).astype(np.int64)


def arrival_times(
    index: pd.DatetimeIndex, counts: np.ndarray, rng: np.random.Generator
) -> pd.DatetimeIndex:
    """``counts[i]`` arrival times spread uniformly within minute ``index[i]``, sorted, at
    millisecond precision (CloudWatch Logs' resolution)."""
    starts = np.repeat(index.asi8 // 1000, counts)  # epoch ms (index is in µs)
    offsets = rng.integers(0, 60_000, size=int(counts.sum()))
    ms = np.sort(starts + offsets)
    return pd.DatetimeIndex(pd.to_datetime(ms, unit="ms", utc=True)).as_unit("us")


def day_clock(day: str) -> Callable[[str], pd.Timestamp]:
    """``at = day_clock("2026-11-20")``, then ``at("12:01:40")``: that time on the day, UTC.
    Scenarios are declared at fixed times of a fixed day."""

    def at(hhmmss: str) -> pd.Timestamp:
        return pd.Timestamp(f"{day}T{hhmmss}Z")

    return at


def minutes(n: float) -> pd.Timedelta:
    return pd.Timedelta(minutes=n)
