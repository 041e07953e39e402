"""The self-contained HTML report: an executed notebook through the ``report`` nbconvert template.

The page opens offline (no CDN, no external script or style), shows the incident banner and the
findings first, hides code, and embeds plotly.js once. Conversion runs in-process (the nbconvert
command line costs about 1.6 s of process start; the exporter itself about 0.1 s).

Templates are found in ``<repo>/templates`` (the parent of the ``incident_lib`` package), or in
the folder named by the environment variable ``INCIDENT_TEMPLATES``.

>>> render_report(Path("reports/x/notebook.ipynb"), Path("reports/x/report.html"))  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import logging
import os
import re
import tempfile
import threading
import time
from html import unescape
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from incident_lib import paths
from incident_lib.errors import BadInputError
from incident_lib.findings import FINDINGS_MIMETYPE, SECTION_MIMETYPE, FindingsDoc, extract
from incident_lib.timeutil import UTC, utc_now

log = logging.getLogger(__name__)

__all__ = ["REMOVED_CELL_TAGS", "TEMPLATE_NAME", "export_html", "render_report", "templates_dir"]

#: The nbconvert template (a folder under the templates directory).
TEMPLATE_NAME = "report"

#: Cells carrying one of these tags are left out of the report.
REMOVED_CELL_TAGS = frozenset({"remove-cell", "parameters", "injected-parameters"})

_HEADING = re.compile(r'<h([1-3])\s+id="([^"]+)"[^>]*>(.*?)</h\1>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_EXPORT_LOCK = threading.Lock()  # an exporter instance is shared; render one page at a time


def templates_dir() -> Path:
    """The directory holding the ``report`` template: ``$INCIDENT_TEMPLATES`` or the repo's.

    Raises
    ------
    BadInputError
        If the directory has no ``report/index.html.j2``.
    """
    base = paths.templates_dir()
    if not (base / TEMPLATE_NAME / "index.html.j2").is_file():
        source = "INCIDENT_TEMPLATES" if os.environ.get("INCIDENT_TEMPLATES") else "the repository"
        raise BadInputError(f"no {TEMPLATE_NAME!r} report template in {base} (from {source})")
    return base


@functools.lru_cache(maxsize=1)
def _plotly_js() -> str:
    """plotly.js as bundled in the plotly package, safe to put inside a ``<script>``."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().replace("</script", "<\\/script")


@functools.lru_cache(maxsize=4)
def _exporter(base: str) -> Any:
    """One HTMLExporter per templates directory: compiling the templates costs about 0.9 s."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = set(REMOVED_CELL_TAGS)
    return HTMLExporter(
        config=config,
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[base],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


def _toc(nb: NotebookNode) -> list[dict[str, Any]]:
    """Headings (levels 1 to 3) of the markdown cells, with the anchors nbconvert gives them."""
    from nbconvert.filters import markdown2html

    entries: list[dict[str, Any]] = []
    for cell in nb.cells:
        if cell.cell_type != "markdown" or "#" not in cell.source:
            continue
        if REMOVED_CELL_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        for level, anchor, inner in _HEADING.findall(markdown2html(cell.source)):
            inner = inner.split('<a class="anchor-link"', 1)[0]
            text = unescape(_TAG.sub("", inner)).strip()
            if text:
                entries.append({"level": int(level), "anchor": unescape(anchor), "text": text})
    return entries


def _findings_view(doc: FindingsDoc, nb: NotebookNode) -> dict[str, Any]:
    findings = [
        {
            "title": f.title,
            "detail": f.detail,
            "severity": f.severity,
            "time": f.time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if f.time else "",
            "evidence": [{"label": e.label, "ref": e.ref} for e in f.evidence],
        }
        for f in doc.findings
    ]
    failed = [{"name": s.name, "error": s.error} for s in doc.sections if s.status == "failed"]
    # A cell that raised stopped the run (papermill stops at the first error): say so up top.
    for cell in nb.cells:
        for output in cell.get("outputs", []) or []:
            if output.get("output_type") == "error":
                error = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
                failed.append({"name": "notebook stopped", "error": error})
    return {"summary": doc.summary, "findings": findings, "failed_sections": failed}


def export_html(nb: NotebookNode) -> str:
    """Convert an executed notebook to the report page, in-process.

    Parameters
    ----------
    nb
        The executed notebook (nbformat v4 node). Its ``metadata.incident`` feeds the banner;
        findings and section bundles in its outputs feed the summary.

    Returns
    -------
    str
        One self-contained HTML document.
    """
    started = time.perf_counter()
    alarm = (nb.metadata.get("incident") or {}).get("alarm") or {}
    title = str(alarm.get("name") or nb.metadata.get("title") or "Incident report")
    incident = {
        "title": title,
        "plotly_js": _plotly_js(),
        "findings_mimetype": FINDINGS_MIMETYPE,
        "section_mimetype": SECTION_MIMETYPE,
        "rendered_at": utc_now().strftime("%Y-%m-%d %H:%M:%S UTC"),
        "toc": _toc(nb),
        **_findings_view(extract(nb), nb),
        # The incident timeline (incident_lib.evidence.timeline), put in the notebook's
        # metadata by the run: rows (escaped by the template) and the figure's div.
        "timeline": (nb.metadata.get("incident") or {}).get("timeline") or {},
    }
    resources = {"metadata": {"name": f"Incident: {title}"}, "incident": incident}
    with _EXPORT_LOCK:
        body, _ = _exporter(str(templates_dir())).from_notebook_node(nb, resources=resources)
    log.info("report exported in %.2fs (%d bytes)", time.perf_counter() - started, len(body))
    return body


def render_report(nb: NotebookNode | Path, out_html: Path) -> Path:
    """Write the report of an executed notebook to ``out_html`` atomically.

    Parameters
    ----------
    nb
        The executed notebook, or the path of an ``.ipynb`` file.
    out_html
        Where to write the page; its folder is created. Readers never see a half-written file:
        the page goes to a temporary file in the same folder first, then replaces ``out_html``.

    Returns
    -------
    Path
        ``out_html``.
    """
    if isinstance(nb, str | os.PathLike):
        try:
            nb = nbformat.read(Path(nb), as_version=4)
        except (OSError, ValueError) as exc:
            raise BadInputError(f"cannot read notebook {nb}: {exc}") from exc
    page = export_html(nb)
    out_html = Path(out_html)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_html.name}.", suffix=".tmp", dir=out_html.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(page)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be read
        os.replace(tmp, out_html)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("report written to %s", out_html)
    return out_html
