"""Write a telemetry store, atomically: a store is either complete on disk or not there."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from incident_lib.errors import StoreError
from incident_lib.store.reader import Store, StoreDescriptor, TableInfo, TimeRange, open_store
from incident_lib.store.schema import (
    DESCRIPTOR,
    FORMAT_NAME,
    FORMAT_VERSION,
    REQUIRED,
    TABLES,
    table_file,
)
from incident_lib.timeutil import utc_now

log = logging.getLogger(__name__)

_TIME_COLUMNS = {
    "metrics": "timestamp",
    "logs": "timestamp",
    "alarm_history": "timestamp",
    "changes": "event_time",
    "alarms": None,
    "aws_calls": None,
    "prometheus_samples": "timestamp",
}


def canonical_dimensions(dimensions: Any) -> str:
    """Dimensions as canonical JSON: ``{"Name": "Value", ...}`` with keys sorted.

    Accepts a mapping, a list of ``{"Name","Value"}`` (API shape), a list of ``{"name","value"}``
    (SNS shape), or an already canonical JSON string.
    """
    if dimensions is None:
        return "{}"
    if isinstance(dimensions, str):
        dimensions = json.loads(dimensions) if dimensions.strip() else {}
    if isinstance(dimensions, Mapping):
        pairs = {str(k): str(v) for k, v in dimensions.items()}
    else:
        pairs = {}
        for item in dimensions:
            name = item.get("Name", item.get("name"))
            value = item.get("Value", item.get("value"))
            pairs[str(name)] = str(value)
    return json.dumps(dict(sorted(pairs.items())), separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """``value`` as JSON with keys sorted and no spaces: the same request always reads the same,
    so a recorded AWS call is found again by its parameters."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    return json.dumps(
        value, default=_json_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def _json(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=_json_default, separators=(",", ":"), ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | pd.Timestamp):
        return pd.Timestamp(value).isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class StoreWriter:
    """Build a store in a temporary folder and move it into place on :meth:`close`.

    ``base`` copies an existing store's tables first (used to add logs to a store). Log events
    stream to Parquet in batches, so a writer holds at most one batch of them in memory.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        account_id: str = "123456789012",
        region: str = "us-east-1",
        overwrite: bool = False,
        base: Store | None = None,
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and not overwrite and base is None:
            raise StoreError(
                "already exists (pass overwrite=True to replace it)", path=str(self.path)
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        self.account_id = base.descriptor.account_id if base else account_id
        self.region = base.descriptor.region if base else region
        self.scenario: dict[str, Any] | None = base.descriptor.scenario if base else None
        self.provenance: dict[str, Any] | None = base.descriptor.provenance if base else None
        self._frames: dict[str, list[pa.Table]] = {name: [] for name in TABLES if name != "logs"}
        self._log_writer = pq.ParquetWriter(self._tmp / table_file("logs"), TABLES["logs"])
        self._rows = dict.fromkeys(TABLES, 0)
        self._tmin: pd.Timestamp | None = None
        self._tmax: pd.Timestamp | None = None
        self._closed = False
        if base is not None:
            try:
                self._copy_from(base)
            except BaseException:
                self.abort()
                raise

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- adding data -----------------------------------------------------------------------
    def add_metrics(self, frame: pd.DataFrame) -> None:
        """Metric rows: ``namespace, metric_name, dimensions, timestamp`` and either ``value``
        (raw samples) or ``sample_count, sum, minimum, maximum`` (statistic sets); ``unit``
        optional. ``dimensions`` may be dicts, API lists or canonical JSON strings."""
        frame = frame.copy()
        dims = frame["dimensions"].tolist()
        if all(isinstance(d, str) for d in dims):
            # JSON strings repeat a lot (one per series): canonicalise each distinct one once.
            canon = {d: canonical_dimensions(d) for d in set(dims)}
            frame["dimensions"] = [canon[d] for d in dims]
        else:
            frame["dimensions"] = [canonical_dimensions(d) for d in dims]
        for col in ("value", "sample_count", "sum", "minimum", "maximum", "unit"):
            if col not in frame:
                frame[col] = None
        self._append("metrics", frame)

    def add_log_events(
        self, events: pd.DataFrame | Iterable[Mapping[str, Any]], *, log_group: str | None = None
    ) -> int:
        """Log events: ``timestamp, message, log_stream`` (+ ``ingestion_time``, ``event_id``,
        ``log_group`` unless given as an argument). Returns the number of rows written."""
        frame = events if isinstance(events, pd.DataFrame) else pd.DataFrame(list(events))
        if frame.empty:
            return 0
        frame = frame.copy()
        if log_group is not None:
            frame["log_group"] = log_group
        if "ingestion_time" not in frame:
            frame["ingestion_time"] = frame["timestamp"]
        frame["ingestion_time"] = frame["ingestion_time"].fillna(frame["timestamp"])
        if "event_id" not in frame:
            start = self._rows["logs"]
            frame["event_id"] = [f"{start + i:020d}" for i in range(len(frame))]
        self._append("logs", frame)
        return len(frame)

    def add_alarms(self, alarms: Iterable[Mapping[str, Any]]) -> None:
        """DescribeAlarms items (``MetricAlarms`` and ``CompositeAlarms`` entries)."""
        rows = []
        for item in alarms:
            kind = "CompositeAlarm" if "AlarmRule" in item else "MetricAlarm"
            rows.append(
                {
                    "alarm_name": item["AlarmName"],
                    "alarm_arn": item.get("AlarmArn"),
                    "alarm_type": kind,
                    "state_value": item.get("StateValue"),
                    "state_updated": item.get("StateUpdatedTimestamp"),
                    "definition": _json(dict(item)),
                }
            )
        if rows:
            self._append("alarms", pd.DataFrame(rows))

    def add_alarm_history(self, items: Iterable[Mapping[str, Any]]) -> None:
        """DescribeAlarmHistory ``AlarmHistoryItems``."""
        rows = [
            {
                "alarm_name": it["AlarmName"],
                "alarm_type": it.get("AlarmType", "MetricAlarm"),
                "timestamp": it["Timestamp"],
                "history_item_type": it["HistoryItemType"],
                "history_summary": it.get("HistorySummary"),
                "history_data": _json(it.get("HistoryData")),
            }
            for it in items
        ]
        if rows:
            self._append("alarm_history", pd.DataFrame(rows))

    def add_change_events(self, events: Iterable[Mapping[str, Any]]) -> None:
        """CloudTrail LookupEvents ``Events`` (``CloudTrailEvent`` is the JSON record)."""
        rows = []
        for ev in events:
            record = ev.get("CloudTrailEvent")
            detail = json.loads(record) if isinstance(record, str) else (record or {})
            rows.append(
                {
                    "event_id": ev["EventId"],
                    "event_time": ev["EventTime"],
                    "event_name": ev["EventName"],
                    "event_source": ev.get("EventSource"),
                    "username": ev.get("Username"),
                    "read_only": str(ev.get("ReadOnly", "false")).lower() == "true",
                    "resources": _json(ev.get("Resources", [])),
                    "request_parameters": _json(detail.get("requestParameters")),
                    "cloudtrail_event": _json(record if record is not None else {}),
                }
            )
        if rows:
            self._append("changes", pd.DataFrame(rows))

    def add_aws_calls(self, calls: Iterable[Mapping[str, Any]]) -> None:
        """Recorded read-only AWS calls: ``service`` (boto3 name), ``operation`` (API name,
        ``GetFunctionConfiguration``), ``parameters`` (the request) and ``response``, plus an
        optional ``recorded_at``. A notebook's ``case.aws(...)`` step is answered from them."""
        rows = [
            {
                "service": c["service"],
                "operation": c["operation"],
                "parameters": canonical_json(c.get("parameters") or {}),
                "response": _json(c.get("response") or {}),
                "recorded_at": c.get("recorded_at"),
            }
            for c in calls
        ]
        if rows:
            self._append("aws_calls", pd.DataFrame(rows))

    def add_prometheus_samples(self, frame: pd.DataFrame) -> None:
        """Prometheus samples: ``metric_name`` (or a ``__name__`` label), ``labels`` (dicts or
        JSON objects; ``__name__`` there is taken as the metric name), ``timestamp``, ``value``.
        """
        frame = frame.copy()
        names = list(frame["metric_name"]) if "metric_name" in frame else [None] * len(frame)
        labels = []
        for i, raw in enumerate(frame["labels"].tolist()):
            value = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
            if not isinstance(value, dict):
                raise StoreError("labels must be JSON objects", column="labels")
            name = value.pop("__name__", None)
            names[i] = names[i] or name
            labels.append(canonical_json({str(k): str(v) for k, v in value.items()}))
        frame["metric_name"] = names
        frame["labels"] = labels
        self._append("prometheus_samples", frame)

    def set_scenario(self, scenario: Mapping[str, Any]) -> None:
        """Scenario name, seed and ground truth, kept in the descriptor."""
        self.scenario = json.loads(_json(dict(scenario)))

    def set_provenance(self, provenance: Mapping[str, Any]) -> None:
        self.provenance = json.loads(_json(dict(provenance)))

    # -- finishing -------------------------------------------------------------------------
    def close(self) -> Store:
        """Write the remaining tables and the descriptor, then move the store into place."""
        if self._closed:
            raise StoreError("writer already closed", path=str(self.path))
        self._closed = True
        try:
            self._log_writer.close()
            for name, parts in self._frames.items():
                table = pa.concat_tables(parts) if parts else TABLES[name].empty_table()
                pq.write_table(table, self._tmp / table_file(name))
            time_range = None
            if self._tmin is not None and self._tmax is not None:
                time_range = TimeRange(
                    start=self._tmin.to_pydatetime(), end=self._tmax.to_pydatetime()
                )
            descriptor = StoreDescriptor(
                format=FORMAT_NAME,
                version=FORMAT_VERSION,
                created=utc_now(),
                account_id=self.account_id,
                region=self.region,
                time_range=time_range,
                tables={n: TableInfo(file=table_file(n), rows=self._rows[n]) for n in TABLES},
                scenario=self.scenario,
                provenance=self.provenance,
            )
            (self._tmp / DESCRIPTOR).write_text(
                descriptor.model_dump_json(indent=2) + "\n", encoding="utf-8"
            )
            self._swap_into_place()
        except BaseException:
            self.abort()
            raise
        log.info(
            "wrote store %s (%s)", self.path, ", ".join(f"{n} {c}" for n, c in self._rows.items())
        )
        return open_store(self.path)

    def abort(self) -> None:
        """Throw away everything written so far; the target path is left as it was."""
        self._closed = True
        with contextlib.suppress(Exception):
            self._log_writer.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    # -- internals ---------------------------------------------------------------------------
    def _append(self, name: str, frame: pd.DataFrame) -> None:
        if self._closed:
            raise StoreError("writer already closed", path=str(self.path))
        schema = TABLES[name]
        frame = frame.copy()
        for field in schema:
            if field.name not in frame:
                frame[field.name] = None
            if pa.types.is_timestamp(field.type):
                frame[field.name] = _to_utc_series(frame[field.name], name, field.name)
        for col in REQUIRED[name]:
            if frame[col].isna().any():
                raise StoreError(
                    f"{int(frame[col].isna().sum())} rows have no value",
                    path=table_file(name),
                    column=col,
                )
        table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
        self._rows[name] += table.num_rows
        tcol = _TIME_COLUMNS.get(name)
        if tcol and table.num_rows:
            lo, hi = frame[tcol].min(), frame[tcol].max()
            self._tmin = lo if self._tmin is None else min(self._tmin, lo)
            self._tmax = hi if self._tmax is None else max(self._tmax, hi)
        if name == "logs":
            self._log_writer.write_table(table)
        else:
            self._frames[name].append(table)

    def _copy_from(self, base: Store) -> None:
        for name in TABLES:
            if name not in base.descriptor.tables:  # an optional table the base predates
                continue
            pf = pq.ParquetFile(base.table_path(name))
            for i in range(pf.num_row_groups):
                table = pf.read_row_group(i, columns=TABLES[name].names).cast(TABLES[name])
                self._append(name, table.to_pandas())

    def _swap_into_place(self) -> None:
        target = self.path
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(self._tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self._tmp, target)


def _to_utc_series(values: pd.Series, table: str, column: str) -> pd.Series:
    if values.isna().all():
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    if pd.api.types.is_numeric_dtype(values):
        # Epoch milliseconds, as CloudWatch Logs gives them.
        return pd.to_datetime(values, unit="ms", utc=True).astype("datetime64[us, UTC]")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    if pd.api.types.is_datetime64_dtype(values):
        raise StoreError("naive timestamps (no time zone)", path=table_file(table), column=column)
    try:
        parsed = pd.to_datetime(values, utc=False, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise StoreError(
            f"unreadable timestamps ({exc})", path=table_file(table), column=column
        ) from None
    if not isinstance(parsed.dtype, pd.DatetimeTZDtype):
        # Mixed aware objects come back as object dtype; naive strings as naive datetimes.
        try:
            parsed = pd.to_datetime(values, utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise StoreError(
                f"unreadable timestamps ({exc})", path=table_file(table), column=column
            ) from None
        naive = [v for v in values if isinstance(v, datetime) and v.tzinfo is None]
        if naive or (values.map(lambda v: isinstance(v, str) and not _has_offset(v)).any()):
            raise StoreError(
                "naive timestamps (no time zone)", path=table_file(table), column=column
            )
    return parsed.dt.tz_convert("UTC").astype("datetime64[us, UTC]")


def _has_offset(text: str) -> bool:
    t = text.strip()
    return (
        t.endswith(("Z", "z"))
        or (len(t) > 6 and t[-6] in "+-" and t[-3] == ":")
        or (len(t) > 5 and t[-5] in "+-" and t[-4:].isdigit() and "T" in t)
    )
