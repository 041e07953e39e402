"""Time helpers. Every timestamp in this product is a tz-aware UTC datetime or pandas Timestamp."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pandas as pd

from incident_lib.errors import BadInputError

__all__ = ["UTC", "ensure_utc", "format_iso", "parse_duration", "parse_time", "utc_now"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def utc_now() -> datetime:
    """The current time, tz-aware UTC (call it, never evaluate it at import time)."""
    return datetime.now(UTC)


def ensure_utc(value: datetime | pd.Timestamp, *, name: str = "time") -> pd.Timestamp:
    """Return ``value`` as a tz-aware UTC ``pd.Timestamp``; naive values are an error."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        raise BadInputError(f"{name} must be timezone-aware (got naive {value!r})")
    return ts.tz_convert("UTC")


def parse_time(text: str | datetime | pd.Timestamp, *, name: str = "time") -> pd.Timestamp:
    """Parse ISO-8601 (``Z``, ``+00:00`` or ``+0000`` offsets) or epoch seconds/ms into UTC.

    A string without an offset is rejected: an incident timeline must not depend on the
    reader's local zone.
    """
    if isinstance(text, datetime | pd.Timestamp):
        return ensure_utc(text, name=name)
    raw = str(text).strip()
    if re.fullmatch(r"\d{9,13}(\.\d+)?", raw):
        number = float(raw)
        unit = "ms" if number > 1e11 else "s"
        return pd.Timestamp(number, unit=unit, tz="UTC")
    fixed = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", raw)
    try:
        ts = pd.Timestamp(fixed)
    except (ValueError, TypeError) as exc:
        raise BadInputError(f"{name}: cannot read {raw!r} as a time ({exc})") from None
    if ts is pd.NaT:
        raise BadInputError(f"{name}: cannot read {raw!r} as a time")
    if ts.tzinfo is None:
        raise BadInputError(f"{name}: {raw!r} has no UTC offset; add 'Z' or '+00:00'")
    return ts.tz_convert("UTC")


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """``"15m"``, ``"1h"``, ``"90s"``, a number of seconds, or a timedelta."""
    if isinstance(text, timedelta):
        return text
    if isinstance(text, int | float):
        return timedelta(seconds=float(text))
    match = _DURATION.match(str(text))
    if not match:
        raise BadInputError(f"cannot read {text!r} as a duration (try 15m, 1h, 90s)")
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _UNIT_SECONDS[unit.lower()])


def format_iso(value: datetime | pd.Timestamp) -> str:
    """ISO-8601 with a ``Z`` suffix, millisecond precision."""
    ts = ensure_utc(value)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
