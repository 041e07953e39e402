"""Assemble ``<incident>/pack/`` from the calls a run recorded: a telemetry store in the
documented format (``docs/store-format.md``) plus every answer as it came back.

Layout::

    pack/
      store.json            descriptor; provenance lists every call, its request and answer
      metrics.parquet  logs.parquet  alarms.parquet  alarm_history.parquet  changes.parquet
      aws_calls.parquet
      results/query-3.parquet   the frame query 3 returned, as returned (dtypes kept)
      manifest.json         written last (incident_lib.evidence.manifest)

What goes in the tables:

- ``metrics``: for each metric (namespace, name, dimensions) the run read, the datapoints of one
  of its series as raw samples: the first of Sum, Average, Maximum, Minimum, a percentile (at
  the smallest period). One sample per period gives back that statistic exactly at that
  period, and a Sum at any multiple of it; ``provenance.metrics_table`` says which series each
  metric holds. Every series of every query, as returned, is in ``results/``: that is what a
  replay answers with.
- ``logs``: the raw events of the incident window (the union of the windows the run's log
  queries read) for every log group the run queried, at most ``max_events_per_group`` each,
  oldest first (``provenance.raw_logs`` states the bound and which groups hit it), plus every
  event a FilterLogEvents step returned.
- ``alarms``: the alarm's definition (DescribeAlarms, or the alarm event's facts when that call
  fails); ``alarm_history``, ``changes``, ``aws_calls``: what the run's steps got back.

Everything is masked (:func:`incident_lib.redact.mask_secrets`) before it is written.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from incident_lib.alarm import Alarm
from incident_lib.evidence.packsource import PACK_KIND
from incident_lib.evidence.recorder import Recording, load_recordings, mask_result
from incident_lib.findings import FindingsDoc, QueryRecord
from incident_lib.redact import mask_json, mask_secrets
from incident_lib.sources.base import Source
from incident_lib.sources.frames import LOG_EVENT_COLUMNS
from incident_lib.store import StoreWriter, canonical_dimensions
from incident_lib.store.writer import canonical_json
from incident_lib.timeutil import ensure_utc, format_iso, parse_time

__all__ = [
    "MAX_EVENTS_PER_GROUP",
    "PACK_DIR",
    "PackInfo",
    "match_queries",
    "write_pack",
]

log = logging.getLogger(__name__)

PACK_DIR = "pack"
RESULTS_DIR = "results"
#: Raw log events kept per log group (the bound is stated in the manifest).
MAX_EVENTS_PER_GROUP = 50_000

#: Which statistic's datapoints go into ``metrics`` as raw samples, best first.
_STAT_RANK = {"Sum": 0, "Average": 1, "Maximum": 2, "Minimum": 3}
_PERCENTILE = re.compile(r"^p\d+(\.\d+)?$")

#: QueryRecord.kind -> the Source method its step calls.
KIND_METHOD = {
    "metrics": "metric_data",
    "insights": "insights",
    "filter": "filter_log_events",
    "aws_call": "aws_call",
    "history": "alarm_history",
    "changes": "change_events",
    "list_metrics": "list_metrics",
    "promql": "promql_range",
}


@dataclass
class PackInfo:
    """What :func:`write_pack` wrote: the recordings, which query each answered, the raw
    window, and the pack's folder."""

    path: Path
    recordings: list[Recording]
    query_of: dict[int, int]  # recording seq -> QueryRecord n
    raw_logs: dict[str, Any]
    calls: list[dict[str, Any]] = field(default_factory=list)  # provenance entries

    def call_for_query(self, n: int) -> dict[str, Any] | None:
        return next((c for c in self.calls if c.get("query") == n), None)


# -- pairing query records with recordings ---------------------------------------------------
def _compatible(q: QueryRecord, r: Recording) -> bool:
    if KIND_METHOD.get(q.kind) != r.method:
        return False
    req = r.request
    if r.method == "insights":
        return mask_secrets(q.request.get("queryString", "")) == req.get("query") and list(
            q.request.get("logGroupNames") or []
        ) == list(req.get("log_groups") or [])
    if r.method == "metric_data":
        return json.loads(canonical_json(q.request.get("queries") or [])) == json.loads(
            canonical_json(req.get("queries") or [])
        )
    if r.method == "aws_call":
        return q.request.get("operation") == req.get("operation")
    return True


def match_queries(queries: Sequence[QueryRecord], recordings: Sequence[Recording]) -> dict:
    """``{recording seq: query n}``: each query record of the notebook paired, in order, with
    the source call its step made. A call no step recorded (a notebook calling the source
    directly) stays unpaired; it is in the pack all the same."""
    out: dict[int, int] = {}
    pos = 0
    for q in queries:
        for i in range(pos, len(recordings)):
            if recordings[i].seq not in out and _compatible(q, recordings[i]):
                out[recordings[i].seq] = q.n
                pos = i + 1
                break
    return out


# -- the pack ---------------------------------------------------------------------------------
def write_pack(
    incident_dir: Path,
    calls_dir: Path,
    *,
    alarm: Alarm,
    doc: FindingsDoc,
    source_spec: str,
    parameters: Mapping[str, Any],
    raw_source: Callable[[], Source] | None = None,
    max_events_per_group: int = MAX_EVENTS_PER_GROUP,
) -> PackInfo:
    """Write ``incident_dir/pack/`` from the recordings in ``calls_dir``.

    Parameters
    ----------
    incident_dir
        The incident folder being written (``pack/`` goes inside).
    calls_dir
        Where the kernel's :class:`~incident_lib.evidence.recorder.RecordingSource` wrote.
    alarm, doc
        The alarm investigated and the findings read back from the notebook (its query
        records are paired with the recordings).
    source_spec
        ``"aws"`` or the store the run read.
    parameters
        The notebook's parameters (``start``, ``end``, ``log_groups``).
    raw_source
        Opens the source again in this process, for the raw log events of the incident window
        and the alarm's definition; ``None`` keeps only what the run read.
    max_events_per_group
        The bound on raw events per log group.
    """
    recordings = load_recordings(calls_dir) if calls_dir.is_dir() else []
    query_of = match_queries(doc.queries, recordings)
    pack_dir = incident_dir / PACK_DIR
    results_dir = pack_dir / RESULTS_DIR
    src: Source | None = None
    if raw_source is not None:
        try:
            src = raw_source()
        except Exception as exc:
            log.warning("cannot open the source again for the raw window: %s", exc)
    raw_frame, raw_info = _raw_logs(
        src, recordings, parameters, max_events_per_group=max_events_per_group
    )
    account = str(alarm.account or "123456789012")
    region = str(alarm.region or "us-east-1")
    writer = StoreWriter(pack_dir, account_id=account, region=region, overwrite=True)
    try:
        metrics = _metric_rows(recordings, query_of)
        if len(metrics):
            writer.add_metrics(metrics)
        _add_logs(writer, raw_frame, recordings)
        writer.add_alarms(_alarm_items(src, alarm, recordings))
        writer.add_alarm_history(_history_items(recordings))
        writer.add_change_events(_change_items(recordings))
        writer.add_aws_calls(_aws_call_rows(recordings))
        calls = [_call_entry(r, query_of.get(r.seq)) for r in recordings]
        writer.set_provenance(
            {
                "kind": PACK_KIND,
                "version": 1,
                "incident_id": alarm.incident_id,
                "alarm_name": alarm.name,
                "recorded_from": "aws" if source_spec == "aws" else "store",
                "source": source_spec,
                "window": {"start": parameters.get("start"), "end": parameters.get("end")},
                "calls": calls,
                "raw_logs": raw_info,
                "metrics_table": _metrics_table_note(recordings, query_of),
            }
        )
        writer.close()
    except BaseException:
        writer.abort()
        raise
    results_dir.mkdir(parents=True, exist_ok=True)
    for r, entry in zip(recordings, calls, strict=True):
        result = entry.get("result") or {}
        if result.get("type") == "frame":
            shutil.copyfile(calls_dir / f"{r.seq:04d}.parquet", pack_dir / result["file"])
    return PackInfo(pack_dir, recordings, query_of, raw_info, calls)


def _result_name(r: Recording, n: int | None) -> str:
    return (
        f"{RESULTS_DIR}/query-{n}.parquet"
        if n is not None
        else f"{RESULTS_DIR}/call-{r.seq}.parquet"
    )


def _call_entry(r: Recording, n: int | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "seq": r.seq,
        "query": n,
        "method": r.method,
        "key": r.key,
        "request": r.request,
        "recorded_at": r.recorded_at,
        "seconds": r.seconds,
        "attrs": r.attrs,
        "error": r.error,
    }
    if r.error is None:
        if isinstance(r.result, pd.DataFrame):
            json_cols = [
                str(c)
                for c in r.result.columns
                if r.result[c].dtype == object
                and r.result[c].map(lambda v: isinstance(v, dict | list)).any()
            ]
            entry["result"] = {
                "type": "frame",
                "file": _result_name(r, n),
                "json_columns": json_cols,
                "rows": len(r.result),
                "columns": [str(c) for c in r.result.columns],
            }
        else:
            entry["result"] = {"type": "json", "value": r.result}
    return entry


# -- raw log window ------------------------------------------------------------------------------
def _log_requests(recordings: Sequence[Recording]) -> list[Recording]:
    return [r for r in recordings if r.method in ("insights", "filter_log_events")]


def raw_window(
    recordings: Sequence[Recording], parameters: Mapping[str, Any]
) -> tuple[list[str], pd.Timestamp | None, pd.Timestamp | None]:
    """The log groups the run queried and the union of the windows it read them over."""
    groups: dict[str, None] = {}
    starts, ends = [], []
    for r in _log_requests(recordings):
        for g in r.request.get("log_groups") or []:
            groups.setdefault(str(g), None)
        starts.append(parse_time(r.request["start"]))
        ends.append(parse_time(r.request["end"]))
    for g in parameters.get("log_groups") or []:
        groups.setdefault(str(g), None)
    for key, bucket in (("start", starts), ("end", ends)):
        if parameters.get(key):
            bucket.append(parse_time(parameters[key], name=key))
    return list(groups), (min(starts) if starts else None), (max(ends) if ends else None)


def _raw_logs(
    src: Source | None,
    recordings: Sequence[Recording],
    parameters: Mapping[str, Any],
    *,
    max_events_per_group: int,
) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    groups, start, end = raw_window(recordings, parameters)
    info: dict[str, Any] = {
        "bound_per_group": max_events_per_group,
        "rule": "per log group, the newest events of the window up to the bound: a group is "
        "complete from complete_from to the window's end",
        "window": {
            "start": format_iso(start) if start is not None else None,
            "end": format_iso(end) if end is not None else None,
        },
        "groups": {},
    }
    if src is None or not groups or start is None or end is None:
        info["note"] = "raw events not fetched (no source or no log groups)"
        return None, info
    if hasattr(src, "max_log_events"):  # AwsSource caps log_events on its own
        src.max_log_events = max(int(src.max_log_events), max_events_per_group + 1)
    frames = []
    for group in groups:
        try:
            frame, complete_from = _recent_events(src, group, start, end, max_events_per_group)
        except Exception as exc:
            info["groups"][group] = {"events": 0, "truncated": False, "error": str(exc)[:300]}
            log.warning("raw events of %s not kept: %s", group, exc)
            continue
        info["groups"][group] = {
            "events": len(frame),
            "truncated": complete_from > start,
            "complete_from": format_iso(complete_from),
            "error": None,
        }
        frames.append(frame)
    if not frames:
        return None, info
    return mask_result(pd.concat(frames, ignore_index=True)), info


#: The raw window is read newest chunk first, so a bound keeps the end of the window whole.
RAW_CHUNKS = 12


def _recent_events(
    src: Source, group: str, start: pd.Timestamp, end: pd.Timestamp, bound: int
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Every event of ``group`` from some time to ``end``, at most ``bound``, and that time.

    FilterLogEvents reads oldest first, so a bound applied to the whole window would keep its
    beginning and drop the incident. Reading it in chunks from the end keeps the newest part
    complete: a chunk that would pass the bound is left out and the window is complete from
    the chunk after it. (A first chunk over the bound is halved down to ten seconds, then kept
    cut, oldest first.)
    """
    chunk = max(pd.Timedelta(seconds=60), (end - start) / RAW_CHUNKS)
    parts: list[pd.DataFrame] = []
    remaining, t1, complete_from = bound, end, end
    while t1 > start and remaining > 0:
        t0 = max(start, t1 - chunk)
        frame = src.log_events([group], t0, t1, limit=remaining + 1)
        if len(frame) > remaining:
            if not parts and chunk > pd.Timedelta(seconds=10):
                chunk = chunk / 2
                continue
            if not parts:  # even ten seconds pass the bound: keep what fits
                parts.append(frame.head(remaining))
            break
        parts.append(frame)
        remaining -= len(frame)
        complete_from, t1 = t0, t0
    if not parts:
        return pd.DataFrame(columns=LOG_EVENT_COLUMNS), end
    out = pd.concat(parts, ignore_index=True).drop_duplicates(["log_group", "event_id"])
    out = out.sort_values(["timestamp", "event_id"], kind="stable").reset_index(drop=True)
    return out, complete_from


def _add_logs(
    writer: StoreWriter, raw: pd.DataFrame | None, recordings: Sequence[Recording]
) -> None:
    parts = [raw] if raw is not None and len(raw) else []
    for r in recordings:
        if (
            r.method == "filter_log_events"
            and r.error is None
            and isinstance(r.result, pd.DataFrame)
        ):
            parts.append(r.result)
    if not parts:
        return
    cols = ["log_group", "log_stream", "timestamp", "ingestion_time", "message", "event_id"]
    frame = pd.concat([p[[c for c in cols if c in p]] for p in parts], ignore_index=True)
    frame = frame.drop_duplicates(["log_group", "event_id"], keep="first")
    frame = frame.sort_values(["timestamp", "event_id"], kind="stable")
    writer.add_log_events(frame)


# -- metrics -------------------------------------------------------------------------------------
def _stat_rank(stat: str) -> int | None:
    if stat in _STAT_RANK:
        return _STAT_RANK[stat]
    if _PERCENTILE.match(stat or ""):
        return 4
    return None  # SampleCount, trimmed means ...: not one sample per period


def _metric_series(
    recordings: Sequence[Recording], query_of: Mapping[int, int]
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """For each metric identity, the series whose datapoints best stand for raw samples."""
    best: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in recordings:
        if r.method != "metric_data" or r.error is not None or r.result is None:
            continue
        frame: pd.DataFrame = r.result
        for q in r.request.get("queries") or []:
            ms = q.get("MetricStat")
            if not ms or not q.get("ReturnData", True):
                continue
            rank = _stat_rank(str(ms.get("Stat")))
            part = frame[frame["id"] == q["Id"]]
            if rank is None or part.empty:
                continue
            metric = ms["Metric"]
            ident = (
                metric["Namespace"],
                metric["MetricName"],
                canonical_dimensions(metric.get("Dimensions") or []),
            )
            cand = {
                "rank": (rank, int(ms.get("Period") or 60)),
                "stat": ms.get("Stat"),
                "period": int(ms.get("Period") or 60),
                "unit": ms.get("Unit"),
                "query": query_of.get(r.seq),
                "call": r.seq,
                "id": q["Id"],
                "frame": part,
            }
            if ident not in best or cand["rank"] < best[ident]["rank"]:
                best[ident] = cand
    return best


def _metric_rows(recordings: Sequence[Recording], query_of: Mapping[int, int]) -> pd.DataFrame:
    best = _metric_series(recordings, query_of)
    parts = []
    for (ns, name, dims), cand in best.items():
        part = cand["frame"].dropna(subset=["value"])
        parts.append(
            pd.DataFrame(
                {
                    "namespace": ns,
                    "metric_name": name,
                    "dimensions": dims,
                    "timestamp": part["timestamp"].to_numpy(),
                    "unit": cand["unit"],
                    "value": part["value"].astype("float64").to_numpy(),
                }
            )
        )
    if not parts:
        empty = pd.DataFrame(
            columns=["namespace", "metric_name", "dimensions", "timestamp", "unit", "value"]
        )
        return empty
    return pd.concat(parts, ignore_index=True)


def _metrics_table_note(
    recordings: Sequence[Recording], query_of: Mapping[int, int]
) -> list[dict[str, Any]]:
    return [
        {
            "namespace": ns,
            "metric_name": name,
            "dimensions": json.loads(dims),
            "stat": c["stat"],
            "period": c["period"],
            "query": c["query"],
            "id": c["id"],
        }
        for (ns, name, dims), c in _metric_series(recordings, query_of).items()
    ]


# -- alarms, history, changes, recorded calls ------------------------------------------------
def _alarm_items(
    src: Source | None, alarm: Alarm, recordings: Sequence[Recording]
) -> list[dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    for r in recordings:
        if r.method == "describe_alarms" and r.error is None:
            for item in r.result or []:
                items.setdefault(item["AlarmName"], item)
    if alarm.name not in items and src is not None:
        try:
            for item in src.describe_alarms([alarm.name]):
                items.setdefault(item["AlarmName"], mask_json(item))
        except Exception as exc:
            log.info("DescribeAlarms for the pack failed (%s): the alarm event's facts kept", exc)
    if alarm.name not in items:
        items[alarm.name] = _alarm_from_event(alarm)
    return list(items.values())


def _alarm_from_event(alarm: Alarm) -> dict[str, Any]:
    """A DescribeAlarms-shaped item from the alarm event (what is known without the API)."""
    facts = json.loads(alarm.model_dump_json())
    item: dict[str, Any] = {
        "AlarmName": alarm.name,
        "AlarmArn": alarm.arn,
        "StateValue": alarm.new_state,
        "StateReason": mask_secrets(alarm.reason or ""),
        "StateUpdatedTimestamp": format_iso(alarm.state_change_time),
        "FromAlarmEvent": mask_json(facts),
    }
    if alarm.metric is not None:
        item.update(
            {
                "Namespace": alarm.metric.namespace,
                "MetricName": alarm.metric.name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in alarm.metric.dimensions.items()],
            }
        )
    if alarm.threshold is not None:
        item["Threshold"] = alarm.threshold
    if alarm.comparison_operator:
        item["ComparisonOperator"] = alarm.comparison_operator
    return item


def _history_items(recordings: Sequence[Recording]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in recordings:
        if r.method != "alarm_history" or r.error is not None or r.result is None:
            continue
        for row in r.result.to_dict("records"):
            ts = ensure_utc(row["timestamp"])
            item = {
                "AlarmName": row.get("alarm_name") or r.request.get("alarm_name"),
                "Timestamp": ts,
                "HistoryItemType": row.get("history_item_type") or "StateUpdate",
                "HistorySummary": row.get("summary"),
                "HistoryData": json.dumps(row.get("data") or {}, default=str),
            }
            seen.setdefault((item["AlarmName"], ts.isoformat(), str(item["HistorySummary"])), item)
    return list(seen.values())


def _change_items(recordings: Sequence[Recording]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for r in recordings:
        if r.method != "change_events" or r.error is not None or r.result is None:
            continue
        for row in r.result.to_dict("records"):
            params = row.get("request_parameters")
            seen.setdefault(
                str(row["event_id"]),
                {
                    "EventId": str(row["event_id"]),
                    "EventTime": ensure_utc(row["event_time"]),
                    "EventName": row.get("event_name"),
                    "EventSource": row.get("event_source"),
                    "Username": row.get("username"),
                    "ReadOnly": "false",
                    "Resources": json.loads(row["resources"]) if row.get("resources") else [],
                    "CloudTrailEvent": json.dumps(
                        {
                            "eventID": str(row["event_id"]),
                            "eventName": row.get("event_name"),
                            "requestParameters": json.loads(params) if params else None,
                        }
                    ),
                },
            )
    return list(seen.values())


def _aws_call_rows(recordings: Sequence[Recording]) -> list[dict[str, Any]]:
    rows = []
    for r in recordings:
        if r.method != "aws_call" or r.error is not None:
            continue
        rows.append(
            {
                "service": r.request["service"],
                "operation": r.request["operation"],
                "parameters": r.request.get("parameters") or {},
                "response": r.result or {},
                "recorded_at": r.recorded_at,
            }
        )
    return rows
