"""Where GetMetricData's buckets start (facts §2.3)."""

from __future__ import annotations

import pandas as pd

from incident_lib.timeutil import ensure_utc

__all__ = ["bucket_grid", "bucket_origin"]


def bucket_origin(start: pd.Timestamp, period: int) -> pd.Timestamp:
    """Where the first bucket starts: ``start`` rounded down to the whole minute, or for a
    period of 1, 5, 10, 20 or 30 seconds to that division of the minute (facts §2.3).

    >>> bucket_origin(pd.Timestamp("2026-01-01T12:32:34Z"), 300)
    Timestamp('2026-01-01 12:32:00+0000', tz='UTC')
    >>> bucket_origin(pd.Timestamp("2026-01-01T01:05:23Z"), 10)
    Timestamp('2026-01-01 01:05:20+0000', tz='UTC')
    """
    start = ensure_utc(start, name="start")
    return start.floor(f"{period}s") if period < 60 else start.floor("60s")


def bucket_grid(start: pd.Timestamp, end: pd.Timestamp, period: int) -> pd.DatetimeIndex:
    """Every bucket start of a request: from :func:`bucket_origin` by ``period``, before ``end``."""
    origin = bucket_origin(start, period)
    end = ensure_utc(end, name="end")
    return pd.date_range(origin, end, freq=f"{period}s", inclusive="left").as_unit("us")
