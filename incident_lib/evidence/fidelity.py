"""The fidelity check: does the local Logs Insights engine, run over the pack's raw events, give
what the recording source gave?

For each recorded Logs Insights query, :func:`check_fidelity` runs the same text over the same
log groups, window and limit on the pack's ``logs`` table (plain :class:`LocalSource`, not the
recording) and compares the two results as multisets of rows (order is not compared; ``@ptr``
is left out: AWS, moto and the local engine number records differently). A disagreement comes
with its reasons, found from the evidence rather than assumed:

- ``unsupported``: the local engine does not implement part of the query (it never skips one);
- ``raw window truncated``: a log group hit the pack's bound before the query's window ended;
- ``raw events missing``: the raw events of a group could not be fetched;
- ``recorded result truncated``: the recording itself was cut (10,000-row cap);
- ``stats not applied`` / ``filter not applied`` / ``fields differ``: the recorded answer has the
  shape of a query that ignored those commands (moto's Logs Insights honours only ``fields``,
  ``sort`` and ``limit``);
- otherwise the number of rows that differ, with one example each way.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from incident_lib.errors import IncidentError, UnsupportedQueryError
from incident_lib.evidence.view import PackView
from incident_lib.sources.local import LocalSource
from incident_lib.timeutil import parse_time

__all__ = ["QueryFidelity", "check_fidelity", "compare_results"]

log = logging.getLogger(__name__)

#: Columns every source numbers its own way.
IGNORED = frozenset({"@ptr"})
_BASIC = frozenset({"@timestamp", "@message", "@logStream", "@log", "@ptr", "@ingestionTime"})


@dataclass
class QueryFidelity:
    """The verdict for one recorded query."""

    query: int | None
    seq: int
    text: str
    agree: bool | None  # None: could not be checked
    recorded_rows: int
    local_rows: int | None
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        ref = f"query:{self.query}" if self.query is not None else f"call {self.seq}"
        verdict = {True: "agrees", False: "differs", None: "not checked"}[self.agree]
        rows = f"{self.recorded_rows} recorded / {self.local_rows} local rows"
        why = f": {'; '.join(self.reasons)}" if self.reasons else ""
        return f"{ref} {verdict} ({rows}){why}"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        ts = value.tz_convert("UTC") if value.tzinfo else value.tz_localize("UTC")
        return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}"
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.9g}"
    if isinstance(value, int):
        return str(value)
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def _rows(frame: pd.DataFrame, columns: Sequence[str]) -> Counter[tuple[str, ...]]:
    if frame.empty:
        return Counter()
    cols = [frame[c].tolist() for c in columns]
    return Counter(tuple(_cell(v) for v in row) for row in zip(*cols, strict=True))


def compare_results(recorded: pd.DataFrame, local: pd.DataFrame) -> dict[str, Any]:
    """Multiset comparison of two Insights results, ``@ptr`` left out."""
    rc = [c for c in recorded.columns if c not in IGNORED]
    lc = [c for c in local.columns if c not in IGNORED]
    out: dict[str, Any] = {
        "only_recorded_columns": [c for c in rc if c not in lc],
        "only_local_columns": [c for c in lc if c not in rc],
    }
    common = [c for c in rc if c in lc]
    a, b = _rows(recorded, common), _rows(local, common)
    only_a, only_b = a - b, b - a
    out.update(
        {
            "common_columns": common,
            "only_recorded_rows": sum(only_a.values()),
            "only_local_rows": sum(only_b.values()),
            "example_recorded": dict(zip(common, next(iter(only_a)), strict=True))
            if only_a
            else None,
            "example_local": dict(zip(common, next(iter(only_b)), strict=True)) if only_b else None,
            "same": not out["only_recorded_columns"]
            and not out["only_local_columns"]
            and not only_a
            and not only_b,
        }
    )
    return out


def _commands(query: str) -> set[str]:
    text = re.sub(r"(?m)^\s*#.*$", "", query)
    return {m.group(1).lower() for m in re.finditer(r"(?:^|\|)\s*([A-Za-z]+)\b", text)}


def check_fidelity(view: PackView) -> list[QueryFidelity]:
    """Re-run every recorded Logs Insights query of the pack on the local engine."""
    local = LocalSource(view.store)
    raw = view.provenance.get("raw_logs") or {}
    groups_info: dict[str, Any] = raw.get("groups") or {}
    out: list[QueryFidelity] = []
    for call in view.calls_of("insights"):
        req = call["request"]
        verdict = QueryFidelity(
            query=call.get("query"),
            seq=int(call["seq"]),
            text=str(req.get("query", "")),
            agree=None,
            recorded_rows=int((call.get("result") or {}).get("rows") or 0),
            local_rows=None,
        )
        out.append(verdict)
        if call.get("error"):
            verdict.reasons.append(f"the recorded query failed: {call['error'].get('message')}")
            continue
        recorded = view.frame(call)
        if recorded is None:
            verdict.reasons.append("no recorded result")
            continue
        start, end = parse_time(req["start"]), parse_time(req["end"])
        try:
            answer = local.insights(
                req["query"], req.get("log_groups") or [], start, end, limit=req.get("limit")
            )
        except UnsupportedQueryError as exc:
            verdict.reasons.append(f"unsupported by the local engine: {exc.reason}")
            continue
        except IncidentError as exc:
            verdict.reasons.append(f"the local engine failed: {exc}")
            continue
        verdict.local_rows = len(answer)
        cmp = compare_results(recorded, answer)
        verdict.agree = bool(cmp["same"])
        if verdict.agree:
            continue
        verdict.reasons.extend(_explain(call, req, cmp, recorded, answer, groups_info, start))
    return out


def _explain(
    call: dict[str, Any],
    req: dict[str, Any],
    cmp: dict[str, Any],
    recorded: pd.DataFrame,
    answer: pd.DataFrame,
    groups_info: dict[str, Any],
    start: pd.Timestamp,
) -> list[str]:
    reasons: list[str] = []
    for group in req.get("log_groups") or []:
        info = groups_info.get(group)
        if info is None:
            reasons.append(f"raw events missing: {group} is not in the pack's raw window")
        elif info.get("error"):
            reasons.append(f"raw events missing: {group}: {info['error']}")
        elif info.get("truncated"):
            complete = parse_time(info["complete_from"])
            if start < complete:
                reasons.append(
                    f"raw window truncated: the pack holds every event of {group} from "
                    f"{complete.isoformat()} only ({info['events']} events kept under the "
                    f"bound); the query reads from {start.isoformat()}"
                )
    messages = (call.get("attrs") or {}).get("messages") or []
    if any(m.get("code") == "Truncated" for m in messages):
        reasons.append("recorded result truncated (the source's row cap)")
    commands = _commands(str(req.get("query", "")))
    rec_cols = set(recorded.columns)
    if (
        "stats" in commands
        and rec_cols
        and rec_cols <= _BASIC
        and not set(answer.columns) <= _BASIC
    ):
        reasons.append(
            "stats not applied by the recording source: its answer has raw-event columns "
            f"({', '.join(sorted(rec_cols - {'@ptr'}))}), not the aggregates the query asks for"
        )
    elif cmp["only_recorded_columns"] or cmp["only_local_columns"]:
        reasons.append(
            "fields differ: only recorded "
            f"{cmp['only_recorded_columns'] or '[]'}, "
            f"only local {cmp['only_local_columns'] or '[]'}"
        )
    if (
        "filter" in commands
        and cmp["only_recorded_rows"]
        and not cmp["only_local_rows"]
        and len(recorded) > len(answer)
    ):
        reasons.append(
            f"filter not applied by the recording source: {cmp['only_recorded_rows']} recorded "
            "rows fail the query's filter on the local engine, and every local row is recorded"
        )
    if not reasons:
        reasons.append(
            f"{cmp['only_recorded_rows']} recorded rows not in the local result, "
            f"{cmp['only_local_rows']} local rows not recorded; e.g. recorded "
            f"{cmp['example_recorded']}, local {cmp['example_local']}"
        )
    return reasons
