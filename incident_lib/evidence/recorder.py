"""``RecordingSource``: any :class:`~incident_lib.sources.base.Source`, with every answer kept.

The wrapper delegates each call to the source it wraps and keeps what came back (or the error
it raised), with secrets masked, as one :class:`Recording`. A notebook never knows: the frames
it gets are the masked frames the pack keeps, so a replay of the pack reads exactly what the
run read.

Design: each call is written to ``calls_dir`` the moment it returns (``0001.json`` plus
``0001.parquet`` for a frame), and the parent process assembles the pack from those files after
the kernel has stopped (:func:`incident_lib.evidence.pack.write_pack`). Writing per call, rather
than one store at the end of the notebook, keeps every answer of a kernel that died half-way,
needs no end-of-notebook hook in the notebooks teams write, and leaves the manifest (which must
hash the report the parent renders afterwards) to the parent.

A request is identified by :func:`request_key`: the method plus its arguments as canonical JSON
(times as ISO-8601 UTC, secrets masked); :class:`~incident_lib.evidence.packsource.PackSource`
finds a recorded answer again by the same key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from incident_lib.redact import mask_json, mask_secrets
from incident_lib.sources.base import InsightsQuery, MetricQuery, Source
from incident_lib.store.writer import canonical_json
from incident_lib.timeutil import ensure_utc, format_iso, utc_now

__all__ = [
    "Recording",
    "RecordingSource",
    "frame_from_parquet",
    "frame_to_parquet",
    "load_recordings",
    "mask_result",
    "request_key",
]

log = logging.getLogger(__name__)

#: Environment variable naming the folder a run's calls are recorded into. ``run.py`` sets it
#: in the kernel only (``IPKernelApp.exec_lines``), so the notebooks need no parameter for it.
CALLS_ENV = "INCIDENT_PACK_CALLS"


# -- requests ------------------------------------------------------------------------------------
def _iso(value: Any) -> str:
    return ensure_utc(value).isoformat()


def request_key(method: str, request: Mapping[str, Any]) -> str:
    """A short stable id of one request: the same call always has the same key."""
    text = canonical_json({"method": method, **dict(request)})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def metric_request(queries: Sequence[MetricQuery], start: Any, end: Any) -> dict[str, Any]:
    return {"queries": [q.to_api() for q in queries], "start": _iso(start), "end": _iso(end)}


def insights_request(
    query: str, log_groups: Sequence[str], start: Any, end: Any, limit: int | None
) -> dict[str, Any]:
    return {
        "query": query,
        "log_groups": list(log_groups),
        "start": _iso(start),
        "end": _iso(end),
        "limit": limit,
    }


def filter_request(
    log_groups: Sequence[str], start: Any, end: Any, filter_pattern: str, limit: int
) -> dict[str, Any]:
    return {
        "log_groups": list(log_groups),
        "start": _iso(start),
        "end": _iso(end),
        "filter_pattern": filter_pattern,
        "limit": limit,
    }


def log_events_request(
    log_groups: Sequence[str], start: Any, end: Any, limit: int
) -> dict[str, Any]:
    return {"log_groups": list(log_groups), "start": _iso(start), "end": _iso(end), "limit": limit}


def history_request(alarm_name: str, start: Any, end: Any) -> dict[str, Any]:
    return {"alarm_name": alarm_name, "start": _iso(start), "end": _iso(end)}


def changes_request(start: Any, end: Any, resource_names: Sequence[str]) -> dict[str, Any]:
    return {"start": _iso(start), "end": _iso(end), "resource_names": list(resource_names)}


def list_metrics_request(
    namespace: str, metric_name: str, dimension_names: Sequence[str]
) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "metric_name": metric_name,
        "dimension_names": list(dimension_names),
    }


def aws_call_request(service: str, operation: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    return {"service": service, "operation": operation, "parameters": dict(parameters)}


def promql_request(
    queries: Mapping[str, str], start: Any, end: Any, step: float | int
) -> dict[str, Any]:
    """A PromQL range step: its queries, window and step (not the server: a replay asks the
    pack whichever Prometheus the run had)."""
    return {"queries": dict(queries), "start": _iso(start), "end": _iso(end), "step": step}


def masked_request(request: Mapping[str, Any]) -> dict[str, Any]:
    """The request as the pack keeps it: plain JSON, secrets masked."""
    return mask_json(json.loads(canonical_json(dict(request))))


# -- results -------------------------------------------------------------------------------------
def mask_result(value: Any) -> Any:
    """``value`` with secrets masked: every string cell of a frame (dtypes kept), every string
    of parsed JSON (and the values of secret-named keys)."""
    if not isinstance(value, pd.DataFrame):
        return mask_json(value)
    out = value
    for col in value.columns:
        series = value[col]
        if not (pd.api.types.is_string_dtype(series) or series.dtype == object):
            continue
        masked = _mask_column(series)
        if masked is None:
            continue
        if out is value:
            out = value.copy()
            out.attrs = dict(value.attrs)
        out[col] = masked
    return out


def _mask_column(series: pd.Series) -> pd.Series | None:
    """The column with every cell masked, or ``None`` when no cell changes. Strings are masked
    once per distinct value (log streams and groups repeat)."""
    if series.map(lambda v: isinstance(v, dict | list)).any():
        masked = series.map(_mask_cell)
        same = all(a == b for a, b in zip(masked, series, strict=True))
        return None if same else masked.astype(object)
    changes: dict[Any, Any] = {}
    for v in pd.unique(series.dropna()):
        m = _mask_cell(v)
        if m != v:
            changes[v] = m
    if not changes:
        return None
    return series.map(lambda v: changes.get(v, v)).astype(series.dtype)


def _mask_cell(value: Any) -> Any:
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, dict | list):
        return mask_json(value)
    return value


def _json_column(series: pd.Series) -> bool:
    return series.dtype == object and bool(series.map(lambda v: isinstance(v, dict | list)).any())


def frame_to_parquet(frame: pd.DataFrame, path: Path) -> list[str]:
    """Write ``frame`` so that :func:`frame_from_parquet` gives it back equal, dtypes included.
    Columns of dicts or lists are stored as JSON text; their names are returned."""
    out = frame.reset_index(drop=True)
    json_cols = [str(c) for c in out.columns if _json_column(out[c])]
    if json_cols:
        out = out.copy()
        for col in json_cols:
            out[col] = out[col].map(
                lambda v: None if v is None else json.dumps(v, sort_keys=True, default=str)
            )
    table = pa.Table.from_pandas(out, preserve_index=False)
    # pandas' attrs are not Parquet metadata; the call's JSON keeps them.
    pq.write_table(table, path)
    return json_cols


def frame_from_parquet(path: Path, json_columns: Sequence[str] = ()) -> pd.DataFrame:
    frame = pq.read_table(path).to_pandas()
    for col in json_columns:
        if col in frame:
            frame[col] = frame[col].map(lambda v: None if v is None else json.loads(v))
            frame[col] = frame[col].astype(object)
    return frame


def _plain_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(dict(attrs), default=str))


# -- recordings ----------------------------------------------------------------------------------
@dataclass
class Recording:
    """One call through a :class:`RecordingSource`: the request and what came back."""

    seq: int
    method: str
    request: dict[str, Any]
    key: str
    recorded_at: str
    seconds: float
    result: Any = None  # a DataFrame, or plain JSON (dict or list)
    attrs: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None

    @property
    def is_frame(self) -> bool:
        return isinstance(self.result, pd.DataFrame)

    def to_json(self, result_file: str | None, json_columns: Sequence[str] = ()) -> dict:
        doc: dict[str, Any] = {
            "seq": self.seq,
            "method": self.method,
            "request": self.request,
            "key": self.key,
            "recorded_at": self.recorded_at,
            "seconds": self.seconds,
            "attrs": self.attrs,
            "error": self.error,
        }
        if self.error is None:
            if result_file is not None:
                doc["result"] = {
                    "type": "frame",
                    "file": result_file,
                    "json_columns": list(json_columns),
                    "rows": len(self.result),
                }
            else:
                doc["result"] = {"type": "json", "value": self.result}
        return doc


def describe_error(exc: BaseException) -> dict[str, Any]:
    """An exception as the pack keeps it, enough to raise an equal one on replay."""
    return {
        "type": type(exc).__name__,
        "module": type(exc).__module__,
        "message": mask_secrets(str(exc)),
        "operation": getattr(exc, "operation", None),
        "code": getattr(exc, "code", None),
    }


def load_recordings(calls_dir: Path) -> list[Recording]:
    """The calls a kernel wrote to ``calls_dir``, in the order they were made."""
    out: list[Recording] = []
    for meta_path in sorted(Path(calls_dir).glob("*.json")):
        doc = json.loads(meta_path.read_text(encoding="utf-8"))
        result: Any = None
        info = doc.get("result") or {}
        if info.get("type") == "frame":
            result = frame_from_parquet(meta_path.parent / info["file"], info["json_columns"])
            result.attrs = dict(doc.get("attrs") or {})
        elif info.get("type") == "json":
            result = info.get("value")
        out.append(
            Recording(
                seq=int(doc["seq"]),
                method=doc["method"],
                request=doc["request"],
                key=doc["key"],
                recorded_at=doc["recorded_at"],
                seconds=float(doc.get("seconds") or 0.0),
                result=result,
                attrs=dict(doc.get("attrs") or {}),
                error=doc.get("error"),
            )
        )
    out.sort(key=lambda r: r.seq)
    return out


class RecordingSource(Source):
    """Wrap ``inner``; answer every call as it does and keep each answer (masked).

    Parameters
    ----------
    inner : Source
        The source that answers (AWS, a store, a pack).
    calls_dir : Path, optional
        Where each call is written as it returns; without it the recordings are only kept in
        :attr:`recordings`.

    Examples
    --------
    >>> src = RecordingSource(LocalSource("reports/_stores/lambda_errors-7"))  # doctest: +SKIP
    >>> src.insights("stats count(*)", ["/aws/lambda/checkout-api"], start, end)
    >>> src.recordings[0].method
    'insights'
    """

    def __init__(self, inner: Source, *, calls_dir: str | Path | None = None) -> None:
        self.inner = inner
        self.calls_dir = Path(calls_dir) if calls_dir is not None else None
        if self.calls_dir is not None:
            self.calls_dir.mkdir(parents=True, exist_ok=True)
        self.recordings: list[Recording] = []
        self._lock = threading.Lock()

    # -- what the wrapped source is --------------------------------------------------------
    @property
    def name(self) -> str:  # type: ignore[override]
        return self.inner.name

    @property
    def region(self) -> str:  # type: ignore[override]
        return self.inner.region

    @property
    def account_id(self) -> str:  # type: ignore[override]
        return self.inner.account_id

    @property
    def calls(self) -> Any:
        """The wrapped source's API call counter (AWS), if it has one."""
        return getattr(self.inner, "calls", None)

    def __getattr__(self, name: str) -> Any:
        # Anything else a notebook may reach for (``client``, ``con``, ``store``) is the
        # wrapped source's: the wrapper adds recording, nothing else.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"RecordingSource({self.inner!r})"

    # -- the Source interface --------------------------------------------------------------
    def metric_data(
        self, queries: Sequence[MetricQuery], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        queries = list(queries)
        return self._record(
            "metric_data",
            metric_request(queries, start, end),
            lambda: self.inner.metric_data(queries, start, end),
        )

    def insights(
        self,
        query: str,
        log_groups: Sequence[str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        limit: int | None = None,
    ) -> pd.DataFrame:
        return self._record(
            "insights",
            insights_request(query, log_groups, start, end, limit),
            lambda: self.inner.insights(query, log_groups, start, end, limit=limit),
        )

    def insights_many(
        self,
        queries: Mapping[str, InsightsQuery],
        start: pd.Timestamp,
        end: pd.Timestamp,
    ) -> dict[str, pd.DataFrame | Exception]:
        """The wrapped source runs them together (AWS starts them at once); each answer is kept
        as one ``insights`` recording."""
        t = time.perf_counter()
        answers = self.inner.insights_many(queries, start, end)
        seconds = (time.perf_counter() - t) / max(1, len(answers))
        out: dict[str, pd.DataFrame | Exception] = {}
        for key, q in queries.items():
            request = insights_request(q.query, q.log_groups, start, end, q.limit)
            answer = answers.get(key)
            if isinstance(answer, Exception):
                self._keep("insights", request, None, answer, seconds)
                out[key] = answer
            else:
                out[key] = self._keep("insights", request, answer, None, seconds)
        return out

    def filter_log_events(
        self,
        log_groups: Sequence[str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        filter_pattern: str = "",
        limit: int = 1000,
    ) -> pd.DataFrame:
        return self._record(
            "filter_log_events",
            filter_request(log_groups, start, end, filter_pattern, limit),
            lambda: self.inner.filter_log_events(  # type: ignore[attr-defined]
                log_groups, start, end, filter_pattern=filter_pattern, limit=limit
            ),
        )

    def log_events(
        self,
        log_groups: Sequence[str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        limit: int = 10_000,
    ) -> pd.DataFrame:
        return self._record(
            "log_events",
            log_events_request(log_groups, start, end, limit),
            lambda: self.inner.log_events(log_groups, start, end, limit=limit),
        )

    def describe_alarms(self, names: Sequence[str]) -> list[dict[str, Any]]:
        names = list(names)
        return self._record(
            "describe_alarms", {"names": names}, lambda: self.inner.describe_alarms(names)
        )

    def alarm_history(
        self, alarm_name: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        return self._record(
            "alarm_history",
            history_request(alarm_name, start, end),
            lambda: self.inner.alarm_history(alarm_name, start, end),
        )

    def change_events(
        self,
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        resource_names: Sequence[str] = (),
    ) -> pd.DataFrame:
        names = list(resource_names)
        return self._record(
            "change_events",
            changes_request(start, end, names),
            lambda: self.inner.change_events(start, end, resource_names=names),
        )

    def list_metrics(
        self, namespace: str, metric_name: str, *, dimension_names: Sequence[str] = ()
    ) -> pd.DataFrame:
        dims = list(dimension_names)
        return self._record(
            "list_metrics",
            list_metrics_request(namespace, metric_name, dims),
            lambda: self.inner.list_metrics(namespace, metric_name, dimension_names=dims),
        )

    def aws_call(self, service: str, operation: str, parameters: Mapping[str, Any]) -> dict:
        return self._record(
            "aws_call",
            aws_call_request(service, operation, parameters),
            lambda: self.inner.aws_call(service, operation, parameters),
        )

    def promql_range(
        self,
        queries: Mapping[str, str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        step: float | int,
        fetch: Callable[[], pd.DataFrame],
    ) -> pd.DataFrame:
        """A ``case.promql`` step, answered by ``fetch`` (the Prometheus the run asks) and
        kept like any other answer."""
        inner = getattr(self.inner, "promql_range", None)  # a replay's pack answers first
        answer = (lambda: inner(queries, start, end, step, fetch)) if inner else fetch
        return self._record("promql_range", promql_request(queries, start, end, step), answer)

    # -- recording -------------------------------------------------------------------------
    def _record(self, method: str, request: dict[str, Any], fetch: Callable[[], Any]) -> Any:
        t = time.perf_counter()
        try:
            result = fetch()
        except Exception as exc:
            self._keep(method, request, None, exc, time.perf_counter() - t)
            raise
        return self._keep(method, request, result, None, time.perf_counter() - t)

    def _keep(
        self,
        method: str,
        request: dict[str, Any],
        result: Any,
        error: BaseException | None,
        seconds: float,
    ) -> Any:
        masked = None if error is not None else mask_result(result)
        attrs = _plain_attrs(getattr(result, "attrs", {}) or {}) if error is None else {}
        if isinstance(masked, pd.DataFrame):
            masked.attrs = dict(getattr(result, "attrs", {}) or {})
        req = masked_request(request)
        with self._lock:
            rec = Recording(
                seq=len(self.recordings) + 1,
                method=method,
                request=req,
                key=request_key(method, req),
                recorded_at=format_iso(utc_now()),
                seconds=round(seconds, 4),
                result=masked,
                attrs=mask_json(attrs),
                error=describe_error(error) if error is not None else None,
            )
            self.recordings.append(rec)
            if self.calls_dir is not None:
                self._write(rec)
        return masked

    def _write(self, rec: Recording) -> None:
        stem = f"{rec.seq:04d}"
        result_file = None
        json_cols: list[str] = []
        if rec.error is None and rec.is_frame:
            result_file = f"{stem}.parquet"
            json_cols = frame_to_parquet(rec.result, self.calls_dir / result_file)
        doc = rec.to_json(result_file, json_cols)
        tmp = self.calls_dir / f".{stem}.json.tmp"
        tmp.write_text(json.dumps(doc, default=str) + "\n", encoding="utf-8")
        tmp.replace(self.calls_dir / f"{stem}.json")
