"""Frame shapes shared by every source, so a notebook cannot tell which one answered."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
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
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_AWS_TS = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$")


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
    """Type a Logs Insights result: time fields and ``YYYY-MM-DD HH:MM:SS.mmm`` strings become
    tz-aware UTC timestamps, all-integer columns ``Int64``, numeric columns ``float64``, the
    rest strings. Columns already typed (the local engine's) are normalised the same way."""
    out = {}
    for name in frame.columns:
        out[name] = _type_column(name, frame[name])
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
    text = values.astype(str)
    if _TIME_FIELD.match(name) or text.map(lambda v: bool(_AWS_TS.match(v))).all():
        if text.map(lambda v: bool(_INT.match(v))).all():
            return pd.to_datetime(col.astype("float64"), unit="ms", utc=True).astype(
                "datetime64[us, UTC]"
            )
        return pd.to_datetime(col, utc=True, format="mixed").astype("datetime64[us, UTC]")
    if name != "@ptr" and text.map(lambda v: bool(_INT.match(v))).all():
        return pd.to_numeric(col).astype("Int64")
    if name != "@ptr" and text.map(lambda v: bool(_FLOAT.match(v))).all():
        return pd.to_numeric(col).astype("float64")
    return col.astype("str").where(col.notna(), None)


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
