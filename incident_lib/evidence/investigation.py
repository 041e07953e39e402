"""The evidence steps of an investigation, called by :func:`incident_lib.run.investigate`:

1. :func:`kernel_arguments` before papermill starts: the kernel's ``setup()`` wraps its source
   in a :class:`~incident_lib.evidence.recorder.RecordingSource` writing to ``<work>/.calls``;
2. :func:`assemble` after the notebook ran: the pack from those calls, and the timeline put in
   the notebook's metadata for the report;
3. :func:`finish` after the report: ``rca.md`` with its figures, then ``pack/manifest.json``
   over every file of the folder (last, so it hashes what is there).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incident_lib.alarm import Alarm
from incident_lib.evidence.manifest import write_manifest
from incident_lib.evidence.pack import MAX_EVENTS_PER_GROUP, PackInfo, write_pack
from incident_lib.evidence.recorder import CALLS_ENV
from incident_lib.findings import FindingsDoc, SectionStatus
from incident_lib.redact import mask_json, mask_secrets

__all__ = [
    "EvidenceOptions",
    "assemble",
    "calls_dir",
    "finish",
    "kernel_arguments",
    "kernel_env",
]

log = logging.getLogger(__name__)

CALLS_DIR = ".calls"


@dataclass(frozen=True)
class EvidenceOptions:
    """What an investigation keeps besides its report.

    ``pack``: write ``pack/`` (and the manifest); ``rca``: write ``rca.md``; ``figures``: draw
    its PNGs (kaleido + chromium); ``max_events_per_group``: the raw-event bound.
    """

    pack: bool = True
    rca: bool = True
    figures: bool = True
    max_events_per_group: int = MAX_EVENTS_PER_GROUP


def calls_dir(work: Path) -> Path:
    return Path(work) / CALLS_DIR


def kernel_arguments(work: Path) -> list[str]:
    """IPython kernel options that make ``setup()`` record into ``<work>/.calls``.

    Set in the kernel only (``IPKernelApp.exec_lines`` runs before the first cell), so neither
    the notebook's parameters nor this process's environment change.
    """
    line = f"import os; os.environ[{CALLS_ENV!r}] = {json.dumps(str(calls_dir(work)))}"
    return [f"--IPKernelApp.exec_lines={line}"]


def kernel_env(work: Path) -> dict[str, str]:
    """The same for a kernel already started (a warm kernel of ``incident serve``): the
    environment variable to set in it before the first cell."""
    return {CALLS_ENV: str(calls_dir(work))}


def _raw_source(source: str, alarm: Alarm, parameters: Mapping[str, Any]) -> Any:
    from incident_lib.sources import open_source

    def opener() -> Any:
        return open_source(
            source,
            region=alarm.region,
            account_id=alarm.account,
            profile=parameters.get("profile"),
            role_arn=parameters.get("role_arn"),
            endpoint_url=parameters.get("endpoint_url"),
        )

    return opener


def assemble(
    work: Path,
    nb: Any,
    *,
    alarm: Alarm,
    doc: FindingsDoc,
    source: str,
    parameters: Mapping[str, Any],
    options: EvidenceOptions,
) -> PackInfo | None:
    """Write ``<work>/pack/`` and put the timeline in ``nb.metadata.incident.timeline``."""
    if not options.pack:
        return None
    calls = calls_dir(work)
    try:
        info = write_pack(
            work,
            calls,
            alarm=alarm,
            doc=doc,
            source_spec=source,
            parameters=parameters,
            raw_source=_raw_source(source, alarm, parameters),
            max_events_per_group=options.max_events_per_group,
        )
    except Exception as exc:
        # The report is still written; the run says what it could not keep (exit status 3).
        log.warning("evidence pack not written: %s", exc, exc_info=True)
        shutil.rmtree(Path(work) / "pack", ignore_errors=True)
        doc.sections.append(
            SectionStatus(
                name="evidence pack",
                status="failed",
                error=mask_secrets(f"{type(exc).__name__}: {exc}"),
            )
        )
        return None
    finally:
        shutil.rmtree(calls, ignore_errors=True)
    try:
        # Masked here: the alarm's reason and history summaries are quoted in the timeline, and
        # the notebook was masked before the timeline was added.
        nb.metadata.setdefault("incident", {})["timeline"] = mask_json(
            timeline_view(work, doc=doc, alarm=alarm, parameters=parameters)
        )
    except Exception as exc:  # the report is still written, without its timeline
        log.warning("timeline not built: %s", exc, exc_info=True)
    return info


def timeline_view(
    incident_dir: Path, *, doc: FindingsDoc, alarm: Alarm, parameters: Mapping[str, Any]
) -> dict[str, Any]:
    """The timeline as the report shows it: rows and the figure's HTML (no plotly.js)."""
    from incident_lib.evidence.rca import _window
    from incident_lib.evidence.timeline import build_timeline, timeline_figure, timeline_rows
    from incident_lib.evidence.view import PackView
    from incident_lib.plotting import PLOTLY_MIMETYPE, IncidentRenderer

    view = PackView(Path(incident_dir) / "pack")
    events = build_timeline(doc, view, alarm, window=_window(parameters))
    figure_html, figure = "", None
    if events:
        fig = timeline_figure(events, title="Timeline")
        height = int(fig.layout.height or 300)
        bundle = IncidentRenderer(height=height).to_mimebundle(fig.to_dict())
        figure_html = bundle["text/html"]
        figure = bundle[PLOTLY_MIMETYPE]  # what the report draws (its CSP blocks figure_html)
    return {"rows": timeline_rows(events), "figure_html": figure_html, "figure": figure}


def finish(
    work: Path,
    *,
    alarm: Alarm,
    doc: FindingsDoc,
    source: str,
    parameters: Mapping[str, Any],
    pack: PackInfo | None,
    options: EvidenceOptions,
) -> None:
    """``rca.md`` (with figures), then the manifest over every file of ``work``."""
    if pack is None:
        return
    if options.rca:
        from incident_lib.evidence.rca import write_rca

        try:
            write_rca(work, doc=doc, alarm=alarm, parameters=parameters, figures=options.figures)
        except Exception as exc:
            from incident_lib.evidence.rca import _in_ci

            if _in_ci():
                raise
            log.warning("RCA draft not written: %s", exc, exc_info=True)
    write_manifest(
        work,
        doc=doc,
        incident_id=alarm.incident_id,
        alarm_name=alarm.name,
        source=source,
        calls=pack.calls,
        raw_logs=pack.raw_logs,
    )
