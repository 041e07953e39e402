"""``LocalSource``: every :class:`Source` question answered from a telemetry store with DuckDB.

The same class serves the embedded demo, evidence packs (a post-mortem querying logs that
CloudWatch has long expired) and the test fixtures.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from incident_lib import insights, metrics
from incident_lib.errors import BadInputError, NoDataError
from incident_lib.filterpattern import compile_pattern
from incident_lib.sources.base import MetricQuery, Source
from incident_lib.sources.frames import CHANGE_COLUMNS, LOG_EVENT_COLUMNS, history_frame
from incident_lib.store import Store, open_store
from incident_lib.store.writer import canonical_json
from incident_lib.timeutil import ensure_utc

log = logging.getLogger(__name__)


class LocalSource(Source):
    """Answer from the store at ``store`` (a :class:`Store` or its path).

    >>> src = LocalSource("reports/_stores/lambda_errors")   # doctest: +SKIP
    >>> src.insights("stats count(*) by bin(5m)", ["/aws/lambda/checkout-api"], start, end)
    """

    def __init__(self, store: Store | str | Path) -> None:
        self.store = store if isinstance(store, Store) else open_store(store)
        self.name = str(self.store.path)
        self.account_id = self.store.descriptor.account_id
        self.region = self.store.descriptor.region
        self._local = threading.local()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """One DuckDB connection per thread (a connection is not safe to share across threads)."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = self.store.connect()
            self._local.con = con
        return con

    # -- metrics ---------------------------------------------------------------------------
    def metric_data(
        self, queries: Sequence[MetricQuery], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        return metrics.get_metric_data(
            self.con, list(queries), ensure_utc(start, name="start"), ensure_utc(end, name="end")
        )

    def list_metrics(
        self, namespace: str, metric_name: str, *, dimension_names: Sequence[str] = ()
    ) -> pd.DataFrame:
        rows = self.con.execute(
            "SELECT DISTINCT namespace, metric_name, dimensions FROM metrics "
            "WHERE namespace = ? AND metric_name = ? ORDER BY dimensions",
            [namespace, metric_name],
        ).fetchall()
        out = []
        for ns, name, dims in rows:
            parsed = json.loads(dims)
            if dimension_names and set(parsed) != set(dimension_names):
                continue
            out.append({"namespace": ns, "metric_name": name, "dimensions": parsed})
        return pd.DataFrame(out, columns=["namespace", "metric_name", "dimensions"])

    # -- logs ------------------------------------------------------------------------------
    def insights(
        self,
        query: str,
        log_groups: Sequence[str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        limit: int | None = None,
    ) -> pd.DataFrame:
        return insights.run_query(
            self.con,
            query,
            start=ensure_utc(start, name="start"),
            end=ensure_utc(end, name="end"),
            log_groups=list(log_groups) or None,
            account_id=self.account_id,
            region=self.region,
            limit=limit,
        )

    def log_events(
        self,
        log_groups: Sequence[str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        limit: int = 10_000,
    ) -> pd.DataFrame:
        groups = list(log_groups)
        frame = self.con.execute(
            f"SELECT {', '.join(LOG_EVENT_COLUMNS)} FROM logs "
            "WHERE timestamp >= ? AND timestamp <= ? AND list_contains(?, log_group) "
            "ORDER BY timestamp, event_id LIMIT ?",
            [ensure_utc(start).to_pydatetime(), ensure_utc(end).to_pydatetime(), groups, limit],
        ).df()
        return _utc_columns(frame, ("timestamp", "ingestion_time"))

    def filter_log_events(
        self,
        log_groups: Sequence[str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        filter_pattern: str = "",
        limit: int = 10_000,
        log_stream_prefix: str | None = None,
    ) -> pd.DataFrame:
        """The stored events matching ``filter_pattern``, evaluated in DuckDB by
        :mod:`incident_lib.filterpattern`; oldest first, at most ``limit``."""
        compiled = compile_pattern(filter_pattern)
        if limit < 1:
            raise BadInputError(f"limit must be at least 1, got {limit}")
        frame = self.con.execute(
            f"SELECT {', '.join(LOG_EVENT_COLUMNS)} FROM logs "
            "WHERE timestamp >= ? AND timestamp <= ? AND list_contains(?, log_group) "
            f"AND starts_with(log_stream, ?) AND {compiled.sql} "
            "ORDER BY timestamp, event_id LIMIT ?",
            [
                ensure_utc(start, name="start").to_pydatetime(),
                ensure_utc(end, name="end").to_pydatetime(),
                list(log_groups),
                log_stream_prefix or "",
                int(limit) + 1,  # one more tells whether the result was cut
            ],
        ).df()
        truncated = len(frame) > limit
        frame = _utc_columns(
            frame.head(limit).reset_index(drop=True), ("timestamp", "ingestion_time")
        )
        frame.attrs["truncated"] = truncated
        return frame

    # -- alarms ----------------------------------------------------------------------------
    def describe_alarms(self, names: Sequence[str]) -> list[dict[str, Any]]:
        rows = self.con.execute(
            "SELECT definition FROM alarms WHERE list_contains(?, alarm_name) ORDER BY alarm_name",
            [list(names)],
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def alarm_history(
        self, alarm_name: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        rows = self.con.execute(
            "SELECT timestamp AS Timestamp, alarm_name AS AlarmName, history_item_type AS "
            "HistoryItemType, history_summary AS HistorySummary, history_data AS HistoryData "
            "FROM alarm_history WHERE alarm_name = ? AND timestamp >= ? AND timestamp <= ? "
            "ORDER BY timestamp",
            [alarm_name, ensure_utc(start).to_pydatetime(), ensure_utc(end).to_pydatetime()],
        ).df()
        return history_frame(rows.to_dict("records"))

    # -- changes ---------------------------------------------------------------------------
    def change_events(
        self,
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        resource_names: Sequence[str] = (),
    ) -> pd.DataFrame:
        frame = self.con.execute(
            "SELECT event_time, event_name, event_source, username, resources, "
            "request_parameters, event_id, read_only FROM changes "
            "WHERE event_time >= ? AND event_time <= ? ORDER BY event_time, event_id",
            [ensure_utc(start).to_pydatetime(), ensure_utc(end).to_pydatetime()],
        ).df()
        if resource_names:
            # LookupEvents' ResourceName attribute matches the names in the Resources list.
            wanted = set(resource_names)
            keep = frame["resources"].map(lambda r: bool(wanted & _resource_names(r)))
            # .loc and astype(bool): an empty object-dtype mask given to frame[...] would
            # select columns, not rows.
            frame = frame.loc[keep.astype(bool)]
        else:
            frame = frame.loc[~frame["read_only"].fillna(False).astype(bool)]
        frame = frame[CHANGE_COLUMNS].reset_index(drop=True)
        return _utc_columns(frame, ("event_time",))

    # -- recorded read-only calls ----------------------------------------------------------
    def aws_call(self, service: str, operation: str, parameters: Mapping[str, Any]) -> dict:
        """The recorded answer to exactly this request (the latest, when recorded twice).

        Raises :class:`NoDataError` naming the call when the store holds no answer: the step
        needs live AWS, or a recording that made it."""
        wanted = canonical_json(dict(parameters))
        # fetchall, not fetchone: DuckDB 2 keeps a half-read result open on the connection.
        rows = self.con.execute(
            "SELECT response FROM aws_calls WHERE service = ? AND operation = ? "
            "AND parameters = ? ORDER BY recorded_at DESC NULLS LAST LIMIT 1",
            [service, operation, wanted],
        ).fetchall()
        if not rows:
            args = ", ".join(f"{k}={v!r}" for k, v in sorted(dict(parameters).items()))
            raise NoDataError(
                f"this store holds no recorded answer to {service} {operation}({args}); "
                "the step needs live AWS (--source aws) or a pack that recorded it"
            )
        return json.loads(rows[0][0])


def _resource_names(resources: Any) -> set[str]:
    items = json.loads(resources) if isinstance(resources, str) and resources else resources or []
    names: set[str] = set()
    for item in items:
        name = str(item.get("ResourceName", ""))
        names.add(name)
        # ARNs name the resource too: arn:aws:lambda:...:function:checkout-api[:alias]
        if name.startswith("arn:") and ":function:" in name:
            names.add(name.split(":function:", 1)[1].split(":", 1)[0])
    return names


def _utc_columns(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    for col in columns:
        if col in frame:
            frame[col] = pd.to_datetime(frame[col], utc=True).astype("datetime64[us, UTC]")
    return frame
