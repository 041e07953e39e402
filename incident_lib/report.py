"""The self-contained HTML report: an executed notebook through the ``report`` nbconvert template.

The page opens offline (no CDN, no external script or style), shows the incident banner and the
findings first, hides code, and embeds plotly.js once. Conversion runs in-process (the nbconvert
command line costs about 1.6 s of process start; the exporter itself about 0.1 s).

Incident text cannot run in the page, by three independent rules:

- the notebook is masked (:func:`incident_lib.redact.mask_notebook`) before it is rendered;
- every Markdown cell, Markdown output and HTML output goes through an allowlist sanitiser
  (:func:`incident_lib.escape.safe_html`, nbconvert's ``sanitize_html`` with our cleaner), and
  figures are drawn from their JSON (escaped by :func:`incident_lib.plotting.sanitize_figure`)
  by one script of the page, never from the HTML a notebook output carries;
- a Content Security Policy in the page allows only the page's own three scripts, by their
  SHA-256 (:data:`PAGE_SCRIPTS`): no inline handler, no ``javascript:`` URL, no injected
  ``<script>``, and no request of any kind (``default-src 'none'``).

Templates are found in ``<repo>/templates`` (the parent of the ``incident_lib`` package), or in
the folder named by the environment variable ``INCIDENT_TEMPLATES``.

>>> render_report(Path("reports/x/notebook.ipynb"), Path("reports/x/report.html"))  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import time
import uuid
from html import unescape
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from incident_lib import paths
from incident_lib.errors import BadInputError
from incident_lib.escape import safe_html, safe_output_html
from incident_lib.findings import FINDINGS_MIMETYPE, SECTION_MIMETYPE, FindingsDoc, extract
from incident_lib.plotting import PLOTLY_CONFIG, PLOTLY_MIMETYPE, sanitize_figure
from incident_lib.redact import mask_notebook
from incident_lib.timeutil import UTC, utc_now
from incident_lib.widgets_static import snapshot_widgets

log = logging.getLogger(__name__)

__all__ = [
    "PAGE_SCRIPTS",
    "PLOT_DATA_TYPE",
    "REMOVED_CELL_TAGS",
    "TEMPLATE_NAME",
    "content_security_policy",
    "export_html",
    "render_report",
    "templates_dir",
]

#: The nbconvert template (a folder under the templates directory).
TEMPLATE_NAME = "report"

#: Cells carrying one of these tags are left out of the report.
REMOVED_CELL_TAGS = frozenset({"remove-cell", "parameters", "injected-parameters"})

_HEADING = re.compile(r'<h([1-3])\s+id="([^"]+)"[^>]*>(.*?)</h\1>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_EXPORT_LOCK = threading.Lock()  # an exporter instance is shared; render one page at a time

#: The type of the inert ``<script>`` blocks that carry each figure's JSON.
PLOT_DATA_TYPE = "application/vnd.incident.plotly+json"

_PLOTLY_CONFIG_JS = "window.PlotlyConfig = {MathJaxConfig: 'local'};"
# Draws every figure of the page from its JSON block; one failing figure does not stop the rest.
_DRAW_JS = (
    "(function () {\n"
    "  function draw() {\n"
    f"    var blocks = document.querySelectorAll('script[type=\"{PLOT_DATA_TYPE}\"]');\n"
    "    for (var i = 0; i < blocks.length; i++) {\n"
    "      var block = blocks[i];\n"
    "      var div = document.getElementById(block.getAttribute('data-plot'));\n"
    "      try {\n"
    "        var fig = JSON.parse(block.textContent);\n"
    "        Plotly.newPlot(div, fig.data || [], fig.layout || {}, fig.config || {});\n"
    "      } catch (err) {\n"
    "        console.error('figure ' + block.getAttribute('data-plot') + ': ' + err);\n"
    "      }\n"
    "    }\n"
    "  }\n"
    "  if (document.readyState === 'loading') {\n"
    "    document.addEventListener('DOMContentLoaded', draw);\n"
    "  } else {\n"
    "    draw();\n"
    "  }\n"
    "})();"
)
#: CSS plotly.js and the Lab stylesheet need inline (plotly sets styles on every SVG node);
#: images only embedded; nothing else may load, connect, frame or submit.
_CSP_FIXED = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:; "
    "base-uri 'none'; form-action 'none'; object-src 'none'; frame-src 'none'; "
    "connect-src 'none'; worker-src 'none'; manifest-src 'none'"
)


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


#: plotly.js's partial bundle with the trace types the notebooks and the report draw
#: (scatter, bar, pie): 1.2 MB against the full bundle's 4.8 MB. Vendored from npm
#: (``plotly.js-basic-dist-min``, MIT, its LICENSE beside it) at the version plotly.py bundles.
PLOTLY_BASIC = Path(__file__).parent / "vendor" / "plotly.js-basic-dist-min"
#: The trace types the basic bundle draws; a figure with another type needs the full bundle.
BASIC_TRACE_TYPES = frozenset({"scatter", "bar", "pie"})


def plotly_basic_version() -> str:
    """The vendored basic bundle's version (its ``package.json``)."""
    return json.loads((PLOTLY_BASIC / "package.json").read_text(encoding="utf-8"))["version"]


@functools.lru_cache(maxsize=2)
def _plotly_js(full: bool = False) -> str:
    """plotly.js for the page, safe to put inside a ``<script>``: the vendored basic bundle,
    or plotly.py's full bundle when ``full`` (a figure of another trace type: a team's
    notebook may draw a heatmap) or when the two versions differ (plotly.py upgraded without
    the vendored bundle: its figure JSON is made for its own plotly.js)."""
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    wanted = get_plotlyjs_version()
    if full:
        text = get_plotlyjs()
    elif plotly_basic_version() == wanted:
        text = (PLOTLY_BASIC / "plotly-basic.min.js").read_text(encoding="utf-8")
    else:
        log.warning(
            "vendored plotly.js basic bundle %s differs from plotly.py's plotly.js %s: "
            "embedding the full bundle (update incident_lib/vendor)",
            plotly_basic_version(),
            wanted,
        )
        text = get_plotlyjs()
    return text.replace("</script", "<\\/script")


def page_scripts(full: bool = False) -> dict[str, str]:
    """The page's own inline scripts, by name, exactly as the template writes them
    (``full``: with plotly.js's full bundle, for figures the basic one cannot draw)."""
    return {"config": _PLOTLY_CONFIG_JS, "plotly": _plotly_js(full), "draw": _DRAW_JS}


#: Names of the only scripts a report runs (see :func:`page_scripts`).
PAGE_SCRIPTS = ("config", "plotly", "draw")


def _sha256(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


@functools.lru_cache(maxsize=2)
def content_security_policy(full: bool = False) -> str:
    """The page's policy: its own scripts by hash, inline styles, embedded images, no network.

    Hashes rather than a nonce: the page is a file, written once, with no server to make a
    fresh nonce per view, and a hash also pins the script's exact text.
    """
    hashes = " ".join(_sha256(script) for script in page_scripts(full).values())
    return f"{_CSP_FIXED}; script-src {hashes}"


def _plot_html(figure: Any) -> str:
    """One figure as a sized ``<div>`` and an inert JSON block the page's draw script reads."""
    fig = sanitize_figure(_to_builtin(figure))
    if not isinstance(fig, dict):
        return ""
    layout = fig.get("layout") if isinstance(fig.get("layout"), dict) else {}
    height = layout.get("height") if isinstance(layout.get("height"), int | float) else 360
    config = {**PLOTLY_CONFIG, **(fig.get("config") or {})}
    payload = {"data": fig.get("data") or [], "layout": layout, "config": config}
    plot_id = f"ir-plot-{uuid.uuid4().hex}"
    return (
        f'<div id="{plot_id}" class="plotly-graph-div" '
        f'style="height:{float(height):g}px; width:100%;"></div>\n'
        f'<script type="{PLOT_DATA_TYPE}" data-plot="{plot_id}">{_script_json(payload)}</script>'
    )


def _script_json(value: Any) -> str:
    """JSON that cannot end the ``<script>`` element it sits in, whatever its strings hold."""
    text = json.dumps(value, separators=(",", ":"), default=str)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def _to_builtin(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_builtin(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_builtin(v) for v in value]
    return value


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
        # The lab template then cleans Markdown cells with the ``clean_html`` filter (ours,
        # below: nbconvert's bleach allowlist drops headings and table heads) and leaves out
        # application/javascript outputs; ours cleans Markdown and HTML outputs with
        # ``clean_output_html`` (no links off the page: outputs may carry incident data).
        sanitize_html=True,
        filters={
            "clean_html": safe_html,
            "clean_output_html": safe_output_html,
            "incident_plot": _plot_html,
        },
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


def trace_types(nb: NotebookNode) -> set[str]:
    """The plotly trace types of every figure the report draws: the outputs' figures and
    the timeline's (a trace without a ``type`` is a scatter, as plotly.js reads it)."""
    timeline = (nb.metadata.get("incident") or {}).get("timeline") or {}
    figures = [timeline.get("figure") if isinstance(timeline, dict) else None]
    for cell in nb.cells:
        for output in cell.get("outputs", []) or []:
            figures.append((output.get("data") or {}).get(PLOTLY_MIMETYPE))
    found: set[str] = set()
    for fig in figures:
        data = fig.get("data") if isinstance(fig, dict) else None
        for trace in data if isinstance(data, list) else []:
            if isinstance(trace, dict):
                found.add(str(trace.get("type") or "scatter"))
    return found


_STYLE = re.compile(r'<style type="text/css">(.*?)</style>', re.DOTALL)


def _compact_styles(page: str) -> str:
    """The head's stylesheets cut to what the page uses (:mod:`incident_lib.csscompact`):
    JupyterLab's 240 KB become about 50 KB. Only the head is read for sheets: incident text
    in the body is escaped or sanitised and never holds a ``<style>`` element."""
    from incident_lib.csscompact import compact_css, page_classes

    split = page.find("<body")
    if split < 0:
        return page
    head, body = page[:split], page[split:]
    sheets = _STYLE.findall(head)
    if not sheets:
        return page
    compacted = iter(
        compact_css(sheets, page_classes(body), also_reads=_STYLE.sub("", head) + body)
    )
    head = _STYLE.sub(lambda _m: f'<style type="text/css">\n{next(compacted)}\n</style>', head)
    return head + body


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
    nb = mask_notebook(copy.deepcopy(nb))
    # Widget views as their last saved state, in plain outputs (no widget script: the CSP).
    snapshot_widgets(nb)
    alarm = (nb.metadata.get("incident") or {}).get("alarm") or {}
    title = str(alarm.get("name") or nb.metadata.get("title") or "Incident report")
    full = not trace_types(nb) <= BASIC_TRACE_TYPES
    incident = {
        "title": title,
        "scripts": page_scripts(full),
        "csp": content_security_policy(full),
        "findings_mimetype": FINDINGS_MIMETYPE,
        "section_mimetype": SECTION_MIMETYPE,
        "plotly_mimetype": PLOTLY_MIMETYPE,
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
    body = _compact_styles(body)
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
