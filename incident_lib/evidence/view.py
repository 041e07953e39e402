"""Reading an evidence pack back: its recorded calls and answers (:class:`PackView`), and which
evidence ids resolve in it (:class:`EvidenceIndex`).

Evidence ids, as the RCA draft and the timeline cite them:

==========================  ===========================================================
``query:<n>``               a query the run made (its request and answer are in the pack)
``metric:<id>``             a metric series a query returned (by query id; labels map to ids)
``log:<ptr>``               a log record: an ``@ptr`` in a Logs Insights result, or a raw
                            event's ``event_id``
``cloudtrail:<EventId>``    a CloudTrail event in the pack's ``changes`` table
``alarm:<name>``            the alarm's definition in the pack's ``alarms`` table
``pin:<n>``                 a chart or table pinned from explore.ipynb (``pack/pins/pin-<n>.json``)
==========================  ===========================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from incident_lib.errors import BadInputError
from incident_lib.evidence.recorder import frame_from_parquet
from incident_lib.store import Store, open_store

__all__ = ["REF", "EvidenceIndex", "PackView"]

#: An evidence id as written in the RCA: ``kind:value``.
REF = re.compile(r"\b(query|metric|log|cloudtrail|alarm|pin):([^\s`\]\)|,]+)")


class PackView:
    """An evidence pack on disk (``<incident>/pack``), read lazily."""

    def __init__(self, pack_dir: str | Path) -> None:
        self.path = Path(pack_dir)
        self.store: Store = open_store(self.path)
        prov = self.store.descriptor.provenance or {}
        if prov.get("kind") is None:
            raise BadInputError(f"{self.path} is a telemetry store but not an evidence pack")
        self.provenance: dict[str, Any] = prov
        self.calls: list[dict[str, Any]] = list(prov.get("calls") or [])
        self._frames: dict[str, pd.DataFrame] = {}

    def frame(self, call: dict[str, Any]) -> pd.DataFrame | None:
        """The frame a call returned (``None`` for an error or a JSON answer)."""
        result = call.get("result") or {}
        if result.get("type") != "frame":
            return None
        file = result["file"]
        if file not in self._frames:
            self._frames[file] = frame_from_parquet(
                self.path / file, tuple(result.get("json_columns") or ())
            )
        return self._frames[file]

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c.get("method") == method]

    def query(self, n: int) -> dict[str, Any] | None:
        return next((c for c in self.calls if c.get("query") == n), None)

    def table(self, name: str) -> pd.DataFrame:
        return self.store.read(name)


@dataclass
class EvidenceIndex:
    """Every evidence id that resolves in one pack, and where each one points."""

    queries: set[int] = field(default_factory=set)
    metrics: dict[str, int | None] = field(default_factory=dict)  # id -> query n
    metric_labels: dict[str, str] = field(default_factory=dict)  # label -> id
    logs: dict[str, int | None] = field(default_factory=dict)  # ptr/event id -> query n
    cloudtrail: dict[str, int | None] = field(default_factory=dict)
    alarms: set[str] = field(default_factory=set)
    pins: set[int] = field(default_factory=set)
    history_query: int | None = None

    @classmethod
    def of(cls, view: PackView) -> EvidenceIndex:
        idx = cls()
        for call in view.calls:
            n = call.get("query")
            if n is not None:
                idx.queries.add(int(n))
            frame = view.frame(call) if call.get("error") is None else None
            method = call.get("method")
            if method == "alarm_history" and n is not None and idx.history_query is None:
                idx.history_query = int(n)
            if frame is None or frame.empty:
                continue
            if method == "metric_data":
                for qid, part in frame.groupby("id", sort=False):
                    idx.metrics.setdefault(str(qid), n)
                    label = str(part["label"].iloc[0]) if "label" in part else ""
                    if label:
                        idx.metric_labels.setdefault(label, str(qid))
            elif method in ("insights", "filter_log_events"):
                for col in ("@ptr", "event_id"):
                    if col in frame:
                        for ptr in frame[col].dropna().astype(str):
                            idx.logs.setdefault(ptr, n)
            elif method == "change_events":
                for eid in frame["event_id"].dropna().astype(str):
                    idx.cloudtrail.setdefault(eid, n)
        changes = view.table("changes")
        for eid in changes["event_id"].astype(str):
            idx.cloudtrail.setdefault(eid, None)
        alarms = view.table("alarms")
        idx.alarms.update(alarms["alarm_name"].astype(str))
        for path in (view.path / "pins").glob("pin-*.json"):
            stem = path.name[len("pin-") : -len(".json")]
            if stem.isdigit():
                idx.pins.add(int(stem))
        return idx

    # -- resolving -------------------------------------------------------------------------
    def resolves(self, ref: str) -> bool:
        """Whether ``ref`` (``kind:value``) points at something in the pack."""
        kind, _, value = ref.partition(":")
        if kind == "query":
            return value.isdigit() and int(value) in self.queries
        if kind == "metric":
            return value in self.metrics
        if kind == "log":
            return value in self.logs
        if kind == "cloudtrail":
            return value in self.cloudtrail
        if kind == "alarm":
            return value in self.alarms
        if kind == "pin":
            return value.isdigit() and int(value) in self.pins
        return False

    def cite(self, refs: Iterable[str]) -> list[str]:
        """The ids that back these references, each one resolvable: a finding's
        ``metric:<label>`` becomes ``metric:<id>``, each id brings the query that returned
        it, ``alarm_history`` becomes the history query; what does not resolve is dropped."""
        out: dict[str, None] = {}
        for ref in refs:
            kind, _, value = str(ref).partition(":")
            n: int | None = None
            if kind in ("metric", "series"):
                qid = value if value in self.metrics else self.metric_labels.get(value)
                if qid is not None:
                    out[f"metric:{qid}"] = None
                    n = self.metrics.get(qid)
            elif kind == "log" and value in self.logs:
                out[ref] = None
                n = self.logs[value]
            elif kind == "cloudtrail" and value in self.cloudtrail:
                out[ref] = None
                n = self.cloudtrail[value]
            elif kind == "alarm_history" or ref == "alarm_history":
                n = self.history_query
            elif self.resolves(ref):
                out[ref] = None
            if n is not None:
                out[f"query:{n}"] = None
        return list(out)
