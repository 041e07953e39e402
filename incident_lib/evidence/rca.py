"""The RCA draft, ``rca.md``: summary, impact, timeline, root cause and contributing factors as
hypotheses with their confidence, what was ruled out, detection, action items to fill in.

Every factual line cites evidence ids that resolve in the pack (see
:mod:`incident_lib.evidence.view`). The Markdown comes from ``templates/rca.md.j2`` through a
Jinja environment that escapes Markdown metacharacters in every value it prints (the values come
from the incident: log text, principals, resource names), the way HTML autoescaping does for a
page; text built here as Markdown is marked :class:`Md` and printed as it is. The result pastes
into GitHub, Notion and Confluence: pipe tables, backslash escapes, no HTML.

PNG figures beside it (``rca-timeline.png``, ``rca-series.png``) are drawn with kaleido and
Debian's chromium; without a browser (outside CI) the draft says so instead.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from incident_lib import __version__
from incident_lib.alarm import Alarm
from incident_lib.errors import IncidentError
from incident_lib.evidence.timeline import TimelineEvent, build_timeline, timeline_figure
from incident_lib.evidence.view import EvidenceIndex, PackView
from incident_lib.findings import Finding, FindingsDoc
from incident_lib.redact import mask_secrets
from incident_lib.timeutil import ensure_utc, format_iso, parse_time, utc_now

__all__ = ["RCA_FILE", "Md", "md_escape", "render_rca", "write_rca"]

log = logging.getLogger(__name__)

RCA_FILE = "rca.md"
FIGURES = ("rca-timeline.png", "rca-series.png")
TEMPLATE = "rca.md.j2"

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~&])")


class Md(str):
    """Markdown this module wrote (a citation, a link): printed without escaping."""


def md_escape(value: Any) -> str:
    """``value`` as Markdown text: every metacharacter backslash-escaped, line breaks folded
    to spaces (a value never starts a heading, a list or a table row), secrets masked."""
    if isinstance(value, Md):
        return str(value)
    if value is None:
        return ""
    text = mask_secrets(str(value))
    text = re.sub(r"\s*[\r\n]+\s*", " ", text)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # A leading "1." or "-" would start a list inside a table cell or bullet in some renderers.
    return re.sub(r"^(\d+)\.", r"\1\\.", re.sub(r"^([-=])", r"\\\1", text))


def cite(refs: Iterable[str]) -> Md:
    """Evidence ids as the draft writes them: ``[`query:3`, `metric:errors`]``."""
    ids = [re.sub(r"[`\s|\]\[]", "", r) for r in refs if r]
    if not ids:
        return Md("[no evidence recorded]")
    return Md("[" + ", ".join(f"`{i}`" for i in ids) + "]")


def _when(ts: Any) -> str:
    return ensure_utc(ts).strftime("%Y-%m-%d %H:%M:%S UTC") if ts is not None else "?"


def _confidence(score: float) -> str:
    if score >= 0.6:
        return "high"
    if score >= 0.3:
        return "medium"
    return "low"


@dataclass
class RcaFacts:
    """What the template prints, every value plain data, every citation an :class:`Md`."""

    title: str
    incident_id: str
    generated: str
    version: str
    alarm: dict[str, Any]
    summary: list[dict[str, Any]] = field(default_factory=list)
    impact: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    hypotheses: list[dict[str, Any]] = field(default_factory=list)
    factors: list[dict[str, Any]] = field(default_factory=list)
    ruled_out: list[dict[str, Any]] = field(default_factory=list)
    not_examined: list[dict[str, Any]] = field(default_factory=list)
    detection: list[dict[str, Any]] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)
    figure_note: str = ""
    pins: list[dict[str, Any]] = field(default_factory=list)  # incident_lib.evidence.pins


def rca_facts(
    doc: FindingsDoc,
    view: PackView,
    alarm: Alarm,
    *,
    incident_id: str,
    parameters: Mapping[str, Any] | None = None,
    events: Sequence[TimelineEvent] | None = None,
    index: EvidenceIndex | None = None,
) -> RcaFacts:
    """Everything the draft states, each with the evidence ids it rests on."""
    idx = index or EvidenceIndex.of(view)
    params = dict(parameters or {})
    window = _window(params)
    events = (
        list(events)
        if events is not None
        else build_timeline(doc, view, alarm, index=idx, window=window)
    )
    alarm_ref = [f"alarm:{alarm.name}"] if idx.resolves(f"alarm:{alarm.name}") else []
    history = [f"query:{idx.history_query}"] if idx.history_query is not None else []
    fired = _when(alarm.state_change_time)
    facts = RcaFacts(
        title=f"{alarm.name}: {alarm.previous_state or '?'} → {alarm.new_state} at {fired}",
        incident_id=incident_id,
        generated=format_iso(utc_now()),
        version=__version__,
        alarm={"name": alarm.name, "region": alarm.region, "account": alarm.account},
    )
    by_kind: dict[str, list[Finding]] = {}
    for f in doc.findings:
        by_kind.setdefault(f.kind, []).append(f)

    def refs(f: Finding) -> Md:
        return cite(idx.cite(e.ref for e in f.evidence))

    # -- summary -------------------------------------------------------------------------
    facts.summary.append(
        {
            "text": f"The alarm {alarm.name} went from {alarm.previous_state or '?'} to "
            f"{alarm.new_state} at {fired}.",
            "cite": cite(alarm_ref + history),
        }
    )
    for kind in ("culprit_change", "new_signature", "onset", "impact"):
        for f in by_kind.get(kind, [])[:1]:
            facts.summary.append({"text": f.title + ".", "cite": refs(f)})

    # -- impact --------------------------------------------------------------------------
    onset = (by_kind.get("onset") or [None])[0]
    for f in by_kind.get("impact", []):
        d = f.data
        if d.get("failed") is not None:
            line = f"Failed requests: {d['failed']:.0f}"
            if d.get("total"):
                line += f" of {d['total']:.0f} ({(d.get('error_rate') or 0):.1%})"
            line += f" from {_when(d.get('start'))} to {_when(d.get('end'))}."
            facts.impact.append({"text": line, "cite": refs(f)})
        if d.get("excess_failures") is not None:
            facts.impact.append(
                {
                    "text": f"Failures beyond the baseline rate: {d['excess_failures']:.0f}.",
                    "cite": refs(f),
                }
            )
        if d.get("minutes_in_alarm") is not None:
            facts.impact.append(
                {
                    "text": f"Time in ALARM within the window: {d['minutes_in_alarm']:.0f} min.",
                    "cite": cite(history + alarm_ref) if history else refs(f),
                }
            )
        if d.get("start") and d.get("end"):
            minutes = (parse_time(d["end"]) - parse_time(d["start"])).total_seconds() / 60
            facts.impact.append(
                {
                    "text": f"Duration: {minutes:.0f} min from "
                    f"{'the onset' if onset is not None else 'the window start'} to the end "
                    "of the investigated window (longer if the alarm was still in ALARM).",
                    "cite": cite(idx.cite([e.ref for e in f.evidence] + _refs(onset))),
                }
            )
    for f in by_kind.get("time_in_alarm", []):
        facts.impact.append({"text": f.title + ".", "cite": refs(f)})

    # -- timeline ------------------------------------------------------------------------
    facts.timeline = [
        {"time": _when(e.time), "what": e.kind, "title": e.title, "cite": cite(e.refs)}
        for e in events
    ]

    # -- hypotheses and contributing factors ----------------------------------------------
    for f in by_kind.get("culprit_change", []):
        score = float(f.data.get("score") or 0.0)
        facts.hypotheses.append(
            {
                "text": f.title,
                "why": f.detail,
                "confidence": f"{_confidence(score)} (score {score:.2f})",
                "cite": refs(f),
            }
        )
    for kind in ("new_signature", "surging_signature"):
        for f in by_kind.get(kind, []):
            target = facts.hypotheses if not facts.hypotheses else facts.factors
            target.append(
                {
                    "text": f.title,
                    "why": "an error that appeared (or surged) with the incident",
                    "confidence": "medium" if kind == "new_signature" else "low",
                    "cite": refs(f),
                }
            )
    for f in by_kind.get("sibling_scan", []):
        affected = list(f.data.get("affected") or [])
        if len(affected) > 1:
            facts.factors.append(
                {
                    "text": f.title,
                    "why": "several resources moved together: a shared dependency is likely",
                    "confidence": "medium",
                    "cite": refs(f),
                }
            )

    # -- ruled out -----------------------------------------------------------------------
    facts.ruled_out.extend(_ruled_out_changes(view, idx, doc, alarm, params, window))
    for f in by_kind.get("sibling_scan", []):
        unaffected = list(f.data.get("unaffected") or [])
        if unaffected and (f.data.get("affected") or []):
            facts.ruled_out.append(
                {
                    "text": f"A fault shared with sibling resources: {', '.join(unaffected)} "
                    "did not depart from their baselines.",
                    "cite": refs(f),
                }
            )
    for s in doc.sections:
        if s.status in ("failed", "partial"):
            facts.not_examined.append({"text": f"{s.name}: {s.error}", "status": s.status})

    # -- detection -----------------------------------------------------------------------
    if onset is not None and onset.time is not None:
        lag = (ensure_utc(alarm.state_change_time) - ensure_utc(onset.time)).total_seconds() / 60
        facts.detection.append(
            {
                "text": f"The anomaly began at {_when(onset.time)}; the alarm fired at {fired}, "
                f"{lag:.0f} min later.",
                "cite": cite(idx.cite(_refs(onset)) + alarm_ref + history),
            }
        )
        breach = onset.data.get("first_breach")
        if breach:
            facts.detection.append(
                {
                    "text": f"The series first left its baseline band at {_when(breach)}.",
                    "cite": refs(onset),
                }
            )
    condition = _condition(alarm)
    if condition:
        facts.detection.append({"text": f"Alarm condition: {condition}.", "cite": cite(alarm_ref)})

    # -- queries -------------------------------------------------------------------------
    for q in doc.queries:
        first = (q.text.strip().splitlines() or [""])[0]
        facts.queries.append(
            {
                "ref": Md(f"`query:{q.n}`") if idx.resolves(f"query:{q.n}") else Md(""),
                "operation": q.operation,
                "section": q.section,
                "text": first[:120],
                "outcome": f"failed: {q.error}" if q.error else f"{q.rows} rows",
            }
        )
    return facts


def _refs(f: Finding | None) -> list[str]:
    return [e.ref for e in f.evidence] if f is not None else []


def _window(params: Mapping[str, Any]) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    try:
        return parse_time(params["start"]), parse_time(params["end"])
    except (KeyError, TypeError, IncidentError):
        return None


def _condition(alarm: Alarm) -> str:
    parts = []
    if alarm.metric is not None:
        m = alarm.metric
        parts.append(f"{m.namespace} {m.name} {m.stat or ''} over {m.period or '?'} s".strip())
    if alarm.threshold is not None and alarm.comparison_operator:
        parts.append(f"{alarm.comparison_operator} {alarm.threshold:g}")
    if alarm.evaluation_periods:
        dta = alarm.datapoints_to_alarm or alarm.evaluation_periods
        parts.append(f"{dta} of {alarm.evaluation_periods} periods")
    return ", ".join(parts)


def _ruled_out_changes(
    view: PackView,
    idx: EvidenceIndex,
    doc: FindingsDoc,
    alarm: Alarm,
    params: Mapping[str, Any],
    window: tuple[pd.Timestamp, pd.Timestamp] | None,
) -> list[dict[str, Any]]:
    """Changes in the pack that cannot be the cause: after the onset, or to other resources."""
    from incident_lib.analysis import rank_changes

    onset = next((f for f in doc.findings if f.kind == "onset" and f.time), None)
    culprit = {str(f.data.get("event_id")) for f in doc.findings if f.kind == "culprit_change"}
    frames = [view.frame(c) for c in view.calls_of("change_events")]
    frames = [f for f in frames if f is not None and not f.empty]
    if not frames:
        return []
    changes = pd.concat(frames, ignore_index=True).drop_duplicates("event_id")
    when = ensure_utc(onset.time) if onset is not None else ensure_utc(alarm.state_change_time)
    names = [str(n) for n in params.get("resource_names") or []]
    if params.get("function_name"):
        names.insert(0, str(params["function_name"]))
    if not names and alarm.metric is not None:
        names = [str(v) for v in alarm.metric.dimensions.values()]
    ranked = rank_changes(
        changes, onset=when, resource_names=names, tolerance=pd.Timedelta(minutes=2)
    )
    out = []
    for row in ranked.itertuples(index=False):
        eid = str(row.event_id)
        if eid in culprit:
            continue
        if float(row.score) == 0.0 or row.relation == "unrelated":
            out.append(
                {
                    "text": f"{row.event_name} by {row.username or 'unknown principal'} at "
                    f"{_when(row.event_time)}: {row.reason}.",
                    "cite": cite(idx.cite([f"cloudtrail:{eid}"])),
                }
            )
    return out[:10]


# -- rendering -----------------------------------------------------------------------------------
def _environment() -> Any:
    import jinja2

    from incident_lib import paths

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(paths.templates_dir())),
        autoescape=False,  # HTML escaping is wrong for Markdown: finalize escapes instead
        finalize=md_escape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env


def render_rca(facts: RcaFacts) -> str:
    """The draft's Markdown."""
    return _environment().get_template(TEMPLATE).render(rca=facts)


def _chromium() -> str | None:
    for name in (os.environ.get("BROWSER_PATH"), "chromium", "chromium-browser", "google-chrome"):
        if name and (shutil.which(name) or Path(name).is_file()):
            return shutil.which(name) or name
    return None


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true")


def draw_figures(
    incident_dir: Path, figures: Sequence[tuple[str, Any]]
) -> tuple[list[dict[str, Any]], str]:
    """Write each ``(file, figure)`` as PNG with kaleido; ``(written, note)``. Without a browser
    outside CI nothing is drawn and the note says why; in CI a missing browser is an error."""
    browser = _chromium()
    if browser is None:
        note = (
            "PNG figures not drawn: no chromium on this machine (apt-get install chromium); "
            "the report has the same figures."
        )
        if _in_ci():
            from incident_lib.errors import IncidentError

            raise IncidentError(note)
        log.warning(note)
        return [], note
    import kaleido

    jobs = [
        {
            "fig": fig,
            "path": str(incident_dir / name),
            "opts": {"format": "png", "width": 1000, "height": int(fig.layout.height or 400)},
        }
        for name, fig in figures
    ]
    os.environ.setdefault("BROWSER_PATH", browser)
    try:
        server = getattr(kaleido, "_global_server", None)  # kaleido has no public "is running"
        if server is not None and server.is_running():  # incident serve's warm one: set up
            kaleido.write_fig_from_object_sync(jobs)
        else:
            kaleido.write_fig_from_object_sync(jobs, kopts={"mathjax": False})
    except Exception as exc:  # the draft is still written; say why its figures are missing
        if _in_ci():
            raise
        note = f"PNG figures not drawn: {type(exc).__name__}: {exc}"
        log.warning(note)
        return [], note
    written = [
        {"file": name, "title": (fig.layout.title.text or name)}
        for name, fig in figures
        if (incident_dir / name).is_file()
    ]
    return written, ""


def _series_figure(view: PackView, doc: FindingsDoc, alarm: Alarm, idx: EvidenceIndex) -> Any:
    """The series the onset was found in (else the alarm's first), threshold and deploys."""
    from incident_lib.plotting import timeseries

    onset = next((f for f in doc.findings if f.kind == "onset"), None)
    qid = None
    if onset is not None:
        cited = [r for r in idx.cite(_refs(onset)) if r.startswith("metric:")]
        qid = cited[0].split(":", 1)[1] if cited else None
    for call in view.calls_of("metric_data"):
        frame = view.frame(call)
        if frame is None or frame.empty:
            continue
        part = frame[frame["id"] == qid] if qid else frame[frame["id"] == frame["id"].iloc[0]]
        if part.empty:
            continue
        label = str(part["label"].iloc[0])
        markers = []
        if onset is not None and onset.time is not None:
            markers.append((ensure_utc(onset.time), "onset"))
        markers.append((ensure_utc(alarm.state_change_time), "alarm"))
        return timeseries(
            part,
            title=f"{label} (query:{call.get('query')})",
            threshold=alarm.threshold,
            markers=markers,
        )
    return None


def write_rca(
    incident_dir: Path,
    *,
    doc: FindingsDoc,
    alarm: Alarm,
    parameters: Mapping[str, Any] | None = None,
    view: PackView | None = None,
    figures: bool = True,
) -> Path:
    """Write ``rca.md`` (and its PNG figures) into ``incident_dir`` from its pack."""
    incident_dir = Path(incident_dir)
    view = view or PackView(incident_dir / "pack")
    idx = EvidenceIndex.of(view)
    params = dict(parameters or {})
    events = build_timeline(doc, view, alarm, index=idx, window=_window(params))
    facts = rca_facts(
        doc,
        view,
        alarm,
        incident_id=alarm.incident_id,
        parameters=params,
        events=events,
        index=idx,
    )
    from incident_lib.evidence.pins import pin_facts, read_pins

    facts.pins = pin_facts(read_pins(incident_dir))
    for name in FIGURES:
        (incident_dir / name).unlink(missing_ok=True)
    if figures:
        figs: list[tuple[str, Any]] = []
        if events:
            figs.append((FIGURES[0], timeline_figure(events, title=f"{alarm.name}: timeline")))
        series = _series_figure(view, doc, alarm, idx)
        if series is not None:
            figs.append((FIGURES[1], series))
        if figs:
            facts.figures, facts.figure_note = draw_figures(incident_dir, figs)
    else:
        facts.figure_note = "PNG figures not drawn (turned off for this run)."
    path = incident_dir / RCA_FILE
    tmp = incident_dir / f".{RCA_FILE}.tmp"
    tmp.write_text(render_rca(facts), encoding="utf-8")
    tmp.replace(path)
    log.info("RCA draft written to %s", path)
    return path


def rca_files(incident_dir: Path) -> list[str]:
    """The files :func:`write_rca` owns (for the manifest)."""
    return [RCA_FILE, *FIGURES]
