"""Limits on what the product reads, in one place, and a JSON reader that keeps to them.

Everything a user or a queue hands us (alarm payloads, store descriptors, log lines, query
files, options) is read within bounds, so hostile or broken input gets one clear
:class:`~incident_lib.errors.BadInputError` line instead of a traceback, a hang or a huge
report:

- JSON: nesting depth, digits of a number (Python's ``int()`` is quadratic in the digits and
  refuses more than 4,300 of them; a 5,000-digit number must be a clear error, not a hang or a
  ``ValueError``), no ``NaN``/``Infinity``, no number that overflows to infinity, no lone
  surrogate in any string (they cannot be written as UTF-8: the report, the terminal and
  ``alarm.json`` would all fail later);
- sizes: an alarm payload, one imported log line, one log message;
- time: a timestamp's year, the investigation window.

The JSON parsing stays with the standard library (``json.loads`` with its ``parse_int`` /
``parse_float`` / ``parse_constant`` hooks); depth and surrogates are checked on the result with
one iterative walk rather than a second parser.
"""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta
from typing import Any

import pandas as pd

from incident_lib.errors import InputLimitError

__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_AFTER",
    "MAX_ALARM_BYTES",
    "MAX_BEFORE",
    "MAX_DEADLINE",
    "MAX_JSON_DEPTH",
    "MAX_LOG_LINE_CHARS",
    "MAX_LOG_MESSAGE_CHARS",
    "MAX_NUMBER_CHARS",
    "MAX_QUERY_CHARS",
    "MIN_DEADLINE",
    "check_deadline",
    "check_time",
    "check_window",
    "coarse_period",
    "describe_span",
    "first_surrogate",
    "load_json",
]

#: An alarm payload: SNS, EventBridge and SQS deliver at most 256 KB (SQS up to 1 MiB);
#: anything larger is not an alarm.
MAX_ALARM_BYTES = 1024 * 1024
#: JSON nesting: real payloads and descriptors nest fewer than 10 levels.
MAX_JSON_DEPTH = 64
#: Characters of one JSON number (sign, digits, point, exponent).
MAX_NUMBER_CHARS = 64
#: One CloudWatch Logs event is at most 1 MiB (PutLogEvents); its JSON line may escape it.
MAX_LOG_MESSAGE_CHARS = 1024 * 1024
MAX_LOG_LINE_CHARS = 2 * 1024 * 1024
#: A Logs Insights query: AWS accepts 10,000 characters.
MAX_QUERY_CHARS = 10_000
#: Timestamps outside these years are refused (CloudWatch has no data before 1970; a state
#: change after 2200 is a broken clock or a hostile payload).
EARLIEST = pd.Timestamp("1970-01-01T00:00:00Z")
LATEST = pd.Timestamp("2200-01-01T00:00:00Z")
#: The investigation window: a week before the state change, two days after. Longer windows
#: gave reports of tens of MB (a month: 14 MB of HTML, 18 MB of notebook) and Logs Insights
#: queries that hit the 10,000-row cap long before the onset.
MAX_BEFORE = timedelta(days=7)
MAX_AFTER = timedelta(days=2)
#: Points per metric series a step fetches and plots: a finer period over a long window is
#: coarsened to the next standard period (1 min over 9 days would be 12,960 points per series,
#: and a report carries every point of every figure). 1,440 = a day of 1-minute points.
MAX_POINTS_PER_SERIES = 1440
#: The periods a coarsened step uses, as the CloudWatch console offers them (seconds).
STANDARD_PERIODS = (60, 300, 900, 3600, 21600, 86400)
#: ``--deadline``: the time an investigation may spend on AWS calls, all sections together.
MIN_DEADLINE = timedelta(seconds=5)
MAX_DEADLINE = timedelta(hours=1)

_SURROGATE = re.compile("[\ud800-\udfff]")


class _NumberError(ValueError):
    pass


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _NumberError(f"a number of {len(text):,} characters (at most {MAX_NUMBER_CHARS})")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _NumberError(f"a number of {len(text):,} characters (at most {MAX_NUMBER_CHARS})")
    value = float(text)
    if not math.isfinite(value):
        raise _NumberError(f"number {text} is out of range")
    return value


def _parse_constant(text: str) -> Any:
    raise _NumberError(f"{text} is not a JSON number")


def load_json(text: str | bytes, *, what: str = "JSON", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` within the limits above.

    Raises
    ------
    json.JSONDecodeError
        Not JSON (the caller says where).
    InputLimitError
        Nested deeper than ``max_depth``, a number too long or out of range, ``NaN``, or a
        lone surrogate; the message names the path (``$.detail.state``).

    >>> load_json('{"a": [1, 2.5]}')
    {'a': [1, 2.5]}
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8")
    try:
        value = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except _NumberError as exc:
        raise InputLimitError(f"{what}: {exc}", limit="json number") from None
    except RecursionError:
        raise InputLimitError(
            f"{what}: nested too deeply (at most {max_depth} levels)", limit="json depth"
        ) from None
    check_json(value, what=what, max_depth=max_depth)
    return value


def check_json(value: Any, *, what: str = "JSON", max_depth: int = MAX_JSON_DEPTH) -> None:
    """Depth and lone surrogates of an already decoded document (iterative: no recursion).

    Paths are built only for an error: each entry keeps its parent's trail and its own key.
    """
    stack: list[tuple[Any, tuple | None, int]] = [(value, None, 0)]
    while stack:
        item, trail, depth = stack.pop()
        if depth > max_depth:
            raise InputLimitError(
                f"{what}: nested too deeply at {_path(trail)} (at most {max_depth} levels)",
                limit="json depth",
            )
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise InputLimitError(
                    f"{what}: {_path(trail)} holds a lone surrogate (not valid Unicode)",
                    limit="unicode",
                )
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and _SURROGATE.search(key):
                    raise InputLimitError(
                        f"{what}: a key in {_path(trail)} holds a lone surrogate "
                        "(not valid Unicode)",
                        limit="unicode",
                    )
                if isinstance(child, dict | list | str | float):
                    stack.append((child, (trail, key), depth + 1))
        elif isinstance(item, list):
            for i, child in enumerate(item):
                if isinstance(child, dict | list | str | float):
                    stack.append((child, (trail, i), depth + 1))
        elif isinstance(item, float) and not math.isfinite(item):
            raise InputLimitError(
                f"{what}: {_path(trail)} is not a finite number", limit="json number"
            )


def _path(trail: tuple | None) -> str:
    keys: list[Any] = []
    while trail is not None:
        trail, key = trail
        keys.append(key)
    out = "$"
    for key in reversed(keys):
        out += f"[{key}]" if isinstance(key, int) else f".{key}"
    return out


def first_surrogate(text: str) -> int | None:
    """Offset of the first lone surrogate in ``text``, or None."""
    m = _SURROGATE.search(text)
    return m.start() if m else None


def check_time(value: pd.Timestamp, *, name: str = "time") -> pd.Timestamp:
    """``value`` when it lies in [1970, 2200), else :class:`InputLimitError`."""
    if not EARLIEST <= value < LATEST:
        raise InputLimitError(
            f"{name} {value.isoformat()} is out of range (1970 to 2199)", limit="time"
        )
    return value


def check_window(before: timedelta, after: timedelta) -> None:
    """The investigation window: ``0 < before <= 7 days``, ``0 <= after <= 2 days``."""
    if not timedelta(0) < before <= MAX_BEFORE:
        raise InputLimitError(
            f"--before {describe_span(before)} is out of range "
            f"(more than 0, at most {describe_span(MAX_BEFORE)})",
            limit="window",
        )
    if not timedelta(0) <= after <= MAX_AFTER:
        raise InputLimitError(
            f"--after {describe_span(after)} is out of range (0 to {describe_span(MAX_AFTER)})",
            limit="window",
        )


def check_deadline(deadline: timedelta) -> None:
    """``--deadline`` between 5 s and 1 h."""
    if not MIN_DEADLINE <= deadline <= MAX_DEADLINE:
        raise InputLimitError(
            f"--deadline {describe_span(deadline)} is out of range "
            f"({describe_span(MIN_DEADLINE)} to {describe_span(MAX_DEADLINE)})",
            limit="deadline",
        )


def describe_span(delta: timedelta) -> str:
    """``timedelta(days=7)`` -> ``"7d"``; ``90 min`` -> ``"90m"``."""
    seconds = delta.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(seconds) >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def coarse_period(period: int, window: timedelta) -> int:
    """``period`` (seconds), or the first standard period that keeps ``window`` within
    :data:`MAX_POINTS_PER_SERIES` points when ``period`` would not.

    >>> coarse_period(60, timedelta(hours=2)), coarse_period(60, timedelta(days=7))
    (60, 900)
    """
    seconds = window.total_seconds()
    if seconds / max(period, 1) <= MAX_POINTS_PER_SERIES:
        return period
    for candidate in STANDARD_PERIODS:
        if candidate > period and seconds / candidate <= MAX_POINTS_PER_SERIES:
            return candidate
    return max(period, STANDARD_PERIODS[-1])
