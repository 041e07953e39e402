"""Frame shapes shared by every source, so a notebook cannot tell which one answered."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd

METRIC_COLUMNS = ["id", "label", "timestamp", "value"]
LOG_EVENT_COLUMNS = [
    "log_group",
    "log_stream",
    "timestamp",
    "ingestion_time",
    "message",
    "event_id",
]
HISTORY_COLUMNS = [
    "timestamp",
    "alarm_name",
    "history_item_type",
    "summary",
    "old_state",
    "new_state",
    "data",
]
CHANGE_COLUMNS = [
    "event_time",
    "event_name",
    "event_source",
    "username",
    "resources",
    "request_parameters",
    "event_id",
]

# Fields whose values are times: system fields and bin() groups.
_TIME_FIELD = re.compile(r"^(@timestamp|@ingestionTime|bin\(.*\))$")
_AWS_TS = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$")
_EPOCH_MS = re.compile(r"^\d+$")
# Numbers as a writer of numbers prints them: an optional minus, no leading zero before another
# digit, digits on both sides of a decimal point. "007", "+5", ".5", "5." and "0x1f" stay text.
_INT = r"(0|-?[1-9][0-9]*)"  # not "-0": int("-0") prints as "0"
_NUMBER = r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?"
_INT64 = (-(2**63), 2**63 - 1)
# Identifiers that may look numeric but are never numbers (a log stream named "2024", a
# request id of digits): typed as text whatever they hold.
TEXT_FIELDS = frozenset(
    {"@ptr", "@message", "@logStream", "@log", "@requestId", "@xrayTraceId", "@xraySegmentId",
     "@pattern", "@aws.account", "@aws.region", "@entity"}
)  # fmt: skip


def empty_metric_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": pd.Series(dtype="str"),
            "label": pd.Series(dtype="str"),
            "timestamp": pd.Series(dtype="datetime64[us, UTC]"),
            "value": pd.Series(dtype="float64"),
        }
    )


def rows_to_frame(rows: Iterable[Sequence[Mapping[str, str]]]) -> pd.DataFrame:
    """GetQueryResults ``results`` (lists of ``{field, value}``) to a typed frame.

    Empty rows and rows holding only ``@timestamp`` are dropped (CloudWatch sends both
    sometimes); fields are kept in first-seen order; values typed by :func:`type_insights`.
    """
    records: list[dict[str, str]] = []
    order: dict[str, None] = {}
    for row in rows:
        rec = {cell["field"]: cell.get("value") for cell in row if "field" in cell}
        if not rec or set(rec) <= {"@timestamp"}:
            continue
        for key in rec:
            order.setdefault(key, None)
        records.append(rec)
    frame = pd.DataFrame.from_records(records, columns=list(order))
    return type_insights(frame)


def type_insights(frame: pd.DataFrame) -> pd.DataFrame:
    """Type a Logs Insights result without losing anything it holds.

    GetQueryResults returns every value as a string; the local engine returns what DuckDB
    computed. The rules, the same on both paths (docs/logs-insights.md, "Result types"):

    * time fields (``@timestamp``, ``@ingestionTime``, ``bin(...)``) and columns whose every
      value reads ``YYYY-MM-DD HH:MM:SS[.fff]`` become tz-aware UTC timestamps (all-digit
      values of a time field are epoch milliseconds, as ``@ingestionTime`` sometimes is);
    * a text column becomes ``Int64`` only when every value is an integer written the usual
      way (``0|-?[1-9][0-9]*``: no leading zero, no sign but minus) that fits in 64 bits,
      so ``str(int(v)) == v`` for each;
    * else ``float64`` only when every value is such a number (with a fraction or an
      exponent) whose value a double holds exactly: ``Decimal(repr(float(v))) == Decimal(v)``
      (``"15.0"`` and ``"1.28E8"`` are numbers; ``"0.1000000000000000055511151231257827"``
      and a 20-digit integer are not);
    * everything else stays text, the column whole: ``"012345678901"``, a Kinesis sequence
      number longer than int64, a column mixing ``"12"`` and ``"n/a"``. Identifier fields
      (:data:`TEXT_FIELDS`, e.g. ``@ptr``, ``@logStream``, ``@requestId``) always stay text.

    Columns already typed (the local engine's numbers, booleans and times) keep their type,
    normalised to ``Int64``/``float64``/``datetime64[us, UTC]``.
    """
    out = {}
    for name in frame.columns:
        out[name] = _type_column(str(name), frame[name])
    return pd.DataFrame(out, index=range(len(frame)))


def _type_column(name: str, col: pd.Series) -> pd.Series:
    col = col.reset_index(drop=True)
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        return col.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    if pd.api.types.is_bool_dtype(col):
        return col
    if pd.api.types.is_integer_dtype(col):
        return col.astype("Int64")
    if pd.api.types.is_float_dtype(col):
        return col.astype("float64")
    values = col.dropna()
    if values.empty:
        return col.astype("str").where(col.notna(), None) if len(col) else col.astype("str")
    if col.dtype == object and values.map(type).ne(str).any():
        # Objects that are not text (Decimal, nested lists from a JSON value): their text form.
        col = col.map(lambda v: None if _missing(v) else str(v))
        values = col.dropna()
    text = values.astype("str")
    if _TIME_FIELD.match(name) or text.str.fullmatch(_AWS_TS).all():
        if text.str.fullmatch(_EPOCH_MS).all():
            return pd.to_datetime(col.astype("float64"), unit="ms", utc=True).astype(
                "datetime64[us, UTC]"
            )
        return pd.to_datetime(col, utc=True, format="mixed").astype("datetime64[us, UTC]")
    if name not in TEXT_FIELDS:
        if text.str.fullmatch(_INT).all() and _fits_int64(text):
            return pd.array([None if pd.isna(v) else int(v) for v in col], dtype="Int64")
        if text.str.fullmatch(_NUMBER).all() and _exact_doubles(text):
            return pd.to_numeric(col).astype("float64")
    return col.astype("str").where(col.notna(), None)


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, list | dict) and bool(pd.isna(value)))


def _fits_int64(text: pd.Series) -> bool:
    # Only 19-digit values can overflow; compare those as Python ints.
    long = text[text.str.len() >= 19]
    return all(_INT64[0] <= int(v) <= _INT64[1] for v in long)


def _exact_doubles(text: pd.Series) -> bool:
    """Whether a double holds each decimal number exactly (its value, not its spelling)."""
    doubles = text.astype("float64")
    if not doubles.map(math.isfinite).all():
        return False
    # Fast path: the shortest repr reproduces the text ("2.5", "15.0"); the rest by Decimal.
    differ = doubles.map(repr) != text
    return all(
        Decimal(repr(d)) == Decimal(t) for d, t in zip(doubles[differ], text[differ], strict=True)
    )


def history_frame(items: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """DescribeAlarmHistory items (``Timestamp, AlarmName, HistoryItemType, HistorySummary,
    HistoryData``; HistoryData a JSON string or dict) as the shared history frame, oldest first:
    ``old_state``/``new_state`` are read from HistoryData's ``stateValue``s."""
    records = []
    for item in items:
        raw = item.get("HistoryData")
        try:
            data = json.loads(raw) if isinstance(raw, str) and raw else dict(raw or {})
        except (ValueError, TypeError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        records.append(
            {
                "timestamp": item["Timestamp"],
                "alarm_name": item.get("AlarmName"),
                "history_item_type": item.get("HistoryItemType"),
                "summary": item.get("HistorySummary"),
                "old_state": (data.get("oldState") or {}).get("stateValue"),
                "new_state": (data.get("newState") or {}).get("stateValue"),
                "data": data,
            }
        )
    frame = pd.DataFrame(records, columns=HISTORY_COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).astype("datetime64[us, UTC]")
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
