"""``PackSource``: a :class:`LocalSource` on an evidence pack that answers recorded calls as
they were answered.

A replay asks the same questions as the run that recorded the pack. Each one whose request
(:func:`~incident_lib.evidence.recorder.request_key`) was recorded gets the recorded answer
(the same frame, dtypes and ``attrs`` included, or the same error raised again), so the replay
computes the same findings. A question the run never asked (a newer notebook's new step) is
answered by the local engines over the pack's tables, like any store, and listed in
:attr:`PackSource.unrecorded`.
"""

from __future__ import annotations

import builtins
import importlib
import logging
from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from incident_lib import errors as _errors
from incident_lib.errors import IncidentError, NoDataError, SourceError
from incident_lib.evidence import recorder as rec
from incident_lib.sources.base import MetricQuery
from incident_lib.sources.local import LocalSource
from incident_lib.store import Store

__all__ = ["PACK_KIND", "PackSource", "is_pack", "rebuild_error"]

log = logging.getLogger(__name__)

#: ``provenance.kind`` of a store that is an evidence pack.
PACK_KIND = "incident-evidence-pack"


def is_pack(store: Store) -> bool:
    """Whether ``store`` is an evidence pack (its descriptor's provenance says so)."""
    return (store.descriptor.provenance or {}).get("kind") == PACK_KIND


def rebuild_error(info: Mapping[str, Any]) -> Exception:
    """An exception equal in type and message to the one a recorded call raised."""
    name, module, message = info.get("type"), info.get("module"), str(info.get("message", ""))
    cls: Any = None
    if module == _errors.__name__ or module is None:
        cls = getattr(_errors, str(name), None)
    if cls is None and module:
        try:
            cls = getattr(importlib.import_module(str(module)), str(name), None)
        except Exception:  # a module this process cannot import: fall back below
            cls = None
    if cls is None:
        cls = getattr(builtins, str(name), None)
    if isinstance(cls, type) and issubclass(cls, IncidentError):
        exc = cls.__new__(cls)
        IncidentError.__init__(exc, message)
        if isinstance(exc, SourceError):
            exc.operation = info.get("operation")
            exc.code = info.get("code")
        return exc
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(message)
        except Exception:
            pass
    return SourceError(f"{name}: {message}")


class PackSource(LocalSource):
    """Answer from the evidence pack at ``store`` (its ``pack/`` folder).

    ``recorded`` counts the calls answered from the recording, ``unrecorded`` lists the ones
    the local engines answered instead.
    """

    def __init__(self, store: Store | str | Path) -> None:
        super().__init__(store)
        self.pack_dir = Path(self.store.path)
        self._answers: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self._last: dict[str, dict[str, Any]] = {}
        for call in (self.store.descriptor.provenance or {}).get("calls", []):
            self._answers[call["key"]].append(call)
        self.recorded = 0
        self.unrecorded: list[dict[str, Any]] = []

    def __repr__(self) -> str:
        return f"PackSource({str(self.pack_dir)!r})"

    # -- lookup ----------------------------------------------------------------------------
    def _answer(self, method: str, request: dict[str, Any], compute: Callable[[], Any]) -> Any:
        req = rec.masked_request(request)
        key = rec.request_key(method, req)
        queue = self._answers.get(key)
        call = queue.popleft() if queue else self._last.get(key)
        if call is None:
            log.info("%s not in the pack's recording: answered by the local engine", method)
            self.unrecorded.append({"method": method, "request": req})
            return compute()
        self._last[key] = call
        self.recorded += 1
        if call.get("error"):
            raise rebuild_error(call["error"])
        result = call.get("result") or {}
        if result.get("type") == "frame":
            frame = rec.frame_from_parquet(self.pack_dir / result["file"], result["json_columns"])
            frame.attrs = dict(call.get("attrs") or {})
            return frame
        return result.get("value")

    def promql_range(
        self,
        queries: Mapping[str, str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        step: float | int,
        fetch: Callable[[], pd.DataFrame],
    ) -> pd.DataFrame:
        """A ``case.promql`` step answered as the run's Prometheus answered it; one the run did
        not make goes to ``fetch`` (the live server, or the samples of a store)."""
        return self._answer("promql_range", rec.promql_request(queries, start, end, step), fetch)

    # -- the Source interface --------------------------------------------------------------
    def metric_data(
        self, queries: Sequence[MetricQuery], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        queries = list(queries)
        return self._answer(
            "metric_data",
            rec.metric_request(queries, start, end),
            lambda: super(PackSource, self).metric_data(queries, start, end),
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
        return self._answer(
            "insights",
            rec.insights_request(query, log_groups, start, end, limit),
            lambda: super(PackSource, self).insights(query, log_groups, start, end, limit=limit),
        )

    def filter_log_events(
        self,
        log_groups: Sequence[str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        filter_pattern: str = "",
        limit: int = 1000,
    ) -> pd.DataFrame:
        def compute() -> pd.DataFrame:
            local = getattr(super(PackSource, self), "filter_log_events", None)
            if local is None:
                raise NoDataError(
                    "this pack holds no recorded FilterLogEvents answer to this request"
                )
            return local(log_groups, start, end, filter_pattern=filter_pattern, limit=limit)

        return self._answer(
            "filter_log_events",
            rec.filter_request(log_groups, start, end, filter_pattern, limit),
            compute,
        )

    def describe_alarms(self, names: Sequence[str]) -> list[dict[str, Any]]:
        names = list(names)
        return self._answer(
            "describe_alarms",
            {"names": names},
            lambda: super(PackSource, self).describe_alarms(names),
        )

    def alarm_history(
        self, alarm_name: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        return self._answer(
            "alarm_history",
            rec.history_request(alarm_name, start, end),
            lambda: super(PackSource, self).alarm_history(alarm_name, start, end),
        )

    def change_events(
        self,
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        resource_names: Sequence[str] = (),
    ) -> pd.DataFrame:
        names = list(resource_names)
        return self._answer(
            "change_events",
            rec.changes_request(start, end, names),
            lambda: super(PackSource, self).change_events(start, end, resource_names=names),
        )

    def list_metrics(
        self, namespace: str, metric_name: str, *, dimension_names: Sequence[str] = ()
    ) -> pd.DataFrame:
        dims = list(dimension_names)
        return self._answer(
            "list_metrics",
            rec.list_metrics_request(namespace, metric_name, dims),
            lambda: super(PackSource, self).list_metrics(
                namespace, metric_name, dimension_names=dims
            ),
        )

    def aws_call(self, service: str, operation: str, parameters: Mapping[str, Any]) -> dict:
        return self._answer(
            "aws_call",
            rec.aws_call_request(service, operation, parameters),
            lambda: super(PackSource, self).aws_call(service, operation, parameters),
        )
