"""The incident timeline: one table and one figure merging the alarm's state changes, CloudTrail
changes and deploys, the onset, the first sightings of new error signatures and the impact
window, each event citing the evidence it rests on.

Built from the findings and the pack's recorded answers (:class:`~incident_lib.evidence.view.
PackView`), so the report, the RCA draft and ``incident rca`` on an old folder all draw the same
timeline.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from incident_lib.alarm import Alarm
from incident_lib.analysis.changes import is_deploy
from incident_lib.evidence.view import EvidenceIndex, PackView
from incident_lib.findings import Finding, FindingsDoc
from incident_lib.timeutil import ensure_utc, parse_time

__all__ = ["KIND_LABELS", "TimelineEvent", "build_timeline", "timeline_figure", "timeline_rows"]

#: Lanes of the figure, top to bottom, with the label a reader sees.
KIND_LABELS: dict[str, str] = {
    "alarm": "Alarm state",
    "deploy": "Deploy",
    "change": "Change",
    "onset": "Onset",
    "signature": "New error",
    "impact": "Impact",
}

_COLOURS = {
    "alarm": "#d62728",
    "deploy": "#6a3d9a",
    "change": "#8c8c8c",
    "onset": "#ff7f0e",
    "signature": "#1f77b4",
    "impact": "#2ca02c",
}


@dataclass(frozen=True)
class TimelineEvent:
    """One row of the timeline."""

    time: pd.Timestamp
    kind: str  # a key of KIND_LABELS
    title: str
    refs: tuple[str, ...] = ()
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_row(self) -> dict[str, Any]:
        return {
            "time": self.time.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "iso": self.time.isoformat(),
            "kind": self.kind,
            "what": KIND_LABELS.get(self.kind, self.kind),
            "title": self.title,
            "detail": self.detail,
            "refs": list(self.refs),
        }


def _findings(doc: FindingsDoc, *kinds: str) -> list[Finding]:
    return [f for f in doc.findings if f.kind in kinds]


def build_timeline(
    doc: FindingsDoc,
    view: PackView | None,
    alarm: Alarm,
    *,
    index: EvidenceIndex | None = None,
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> list[TimelineEvent]:
    """Every event of the incident in time order (ties: alarm, changes, onset, errors, impact).

    ``window`` bounds the alarm-history and CloudTrail rows (the investigation window; history
    is read from a day earlier, which the timeline leaves out).
    """
    idx = index or (EvidenceIndex.of(view) if view is not None else EvidenceIndex())
    events: list[TimelineEvent] = []
    lo, hi = window if window is not None else (None, None)

    def inside(ts: pd.Timestamp) -> bool:
        return (lo is None or ts >= lo) and (hi is None or ts <= hi)

    alarm_time = ensure_utc(alarm.state_change_time)
    fired_recorded = False
    culprits = {str(f.data.get("event_id")) for f in _findings(doc, "culprit_change")}
    if view is not None:
        for call in view.calls_of("alarm_history"):
            frame = view.frame(call)
            if frame is None or frame.empty:
                continue
            n = call.get("query")
            for row in frame.itertuples(index=False):
                ts = ensure_utc(row.timestamp)
                if row.history_item_type != "StateUpdate" or not inside(ts):
                    continue
                fired_recorded |= abs(ts - alarm_time) <= pd.Timedelta(seconds=1)
                refs = (f"query:{n}",) if n is not None else ()
                events.append(
                    TimelineEvent(
                        ts,
                        "alarm",
                        f"Alarm {row.old_state or '?'} → {row.new_state or '?'}",
                        refs,
                        str(row.summary or ""),
                    )
                )
        seen: set[str] = set()
        for call in view.calls_of("change_events"):
            frame = view.frame(call)
            if frame is None or frame.empty:
                continue
            for row in frame.itertuples(index=False):
                eid = str(row.event_id)
                ts = ensure_utc(row.event_time)
                if eid in seen or not inside(ts):
                    continue
                seen.add(eid)
                name = str(row.event_name)
                kind = "deploy" if is_deploy(name) else "change"
                title = f"{name} by {row.username or 'unknown principal'}"
                if eid in culprits:
                    title += " (likely cause)"
                events.append(
                    TimelineEvent(ts, kind, title, tuple(idx.cite([f"cloudtrail:{eid}"])))
                )
    if not fired_recorded:
        events.append(
            TimelineEvent(
                alarm_time,
                "alarm",
                f"Alarm {alarm.previous_state or '?'} → {alarm.new_state} (the alarm event)",
                tuple(r for r in [f"alarm:{alarm.name}"] if idx.resolves(r)),
                alarm.reason or "",
            )
        )
    for f in _findings(doc, "onset"):
        if f.time is None:
            continue
        events.append(
            TimelineEvent(
                ensure_utc(f.time),
                "onset",
                f"Onset: {f.title}",
                tuple(idx.cite(e.ref for e in f.evidence)),
                f.detail,
            )
        )
    for f in _findings(doc, "new_signature", "surging_signature"):
        if f.time is None:
            continue
        sig = str(f.data.get("signature") or f.title)
        verb = "First seen" if f.kind == "new_signature" else "Surging"
        events.append(
            TimelineEvent(
                ensure_utc(f.time),
                "signature",
                f"{verb}: {sig}",
                tuple(idx.cite(e.ref for e in f.evidence)),
                f.title,
            )
        )
    for f in _findings(doc, "impact"):
        start, end = f.data.get("start"), f.data.get("end")
        if not start:
            continue
        refs = tuple(idx.cite(e.ref for e in f.evidence))
        events.append(
            TimelineEvent(
                parse_time(start),
                "impact",
                f"Impact window starts: {f.title}",
                refs,
                f.detail,
                {"end": end},
            )
        )
        if end:
            events.append(
                TimelineEvent(
                    parse_time(end),
                    "impact",
                    "Impact window ends (end of the investigated window)",
                    refs,
                )
            )
    order = {k: i for i, k in enumerate(KIND_LABELS)}
    return sorted(events, key=lambda e: (e.time, order.get(e.kind, 99)))


def timeline_rows(events: Sequence[TimelineEvent]) -> list[dict[str, Any]]:
    """The timeline as plain rows (for the report template, the RCA and JSON)."""
    return [e.as_row() for e in events]


def timeline_figure(events: Sequence[TimelineEvent], *, title: str = "Timeline") -> Any:
    """One plotly figure: a lane per kind of event, a marker per event (hover for the detail),
    the impact window shaded, the onset as a vertical line."""
    import plotly.graph_objects as go

    from incident_lib.plotting import epoch_ms

    fig = go.Figure()
    lanes = [k for k in KIND_LABELS if any(e.kind == k for e in events)]
    for kind in lanes:
        mine = [e for e in events if e.kind == kind]
        fig.add_trace(
            go.Scatter(
                x=[epoch_ms(e.time) for e in mine],
                y=[KIND_LABELS[kind]] * len(mine),
                mode="markers",
                name=KIND_LABELS[kind],
                marker={"size": 12, "color": _COLOURS[kind], "symbol": "diamond"},
                text=[_esc(e.title) for e in mine],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    impact = [e for e in events if e.kind == "impact"]
    if len(impact) >= 2:
        fig.add_vrect(
            x0=epoch_ms(impact[0].time),
            x1=epoch_ms(impact[-1].time),
            fillcolor="rgba(44, 160, 44, 0.10)",
            line_width=0,
            layer="below",
        )
    for e in events:
        if e.kind == "onset":
            fig.add_vline(x=epoch_ms(e.time), line={"color": _COLOURS["onset"], "dash": "dash"})
    fig.update_layout(
        title={"text": _esc(title), "x": 0, "xanchor": "left"},
        template="plotly_white",
        height=120 + 45 * max(1, len(lanes)),
        margin={"l": 110, "r": 20, "t": 50, "b": 40},
        showlegend=False,
        xaxis={"type": "date", "title": {"text": "UTC"}},
        yaxis={
            "categoryorder": "array",
            "categoryarray": [KIND_LABELS[k] for k in reversed(lanes)],
        },
    )
    return fig


def _esc(text: str) -> str:
    # plotly reads labels as its own pseudo-HTML; incident text must stay text.
    return html.escape(str(text), quote=False)
