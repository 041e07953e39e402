"""Open a report carrying XSS vectors in Chromium, act as a reader would, and say which ran.

A vector "ran" when a dialog it opens (``alert('X07')``) shows, on load or after the probe
clicks, focuses and hovers everything; it "requested" when a request for
``evil.example/X07`` left the page (all are aborted); it was "injected" when markup it carries
is live in the page (an element with an ``on*`` handler, a ``javascript:`` or ``data:`` URL,
a frame or object, or a link off the page, whose text names the vector).

>>> result = probe(Path("report.html"), browser)  # doctest: +SKIP
>>> result.executed, result.requested             # doctest: +SKIP
(set(), set())
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.security.hostile import VECTORS, Run

if TYPE_CHECKING:
    from playwright.sync_api import Browser

_IDS = re.compile(r"X\d\d")

# What markup from the data would look like once live in the page.
_LIVE_MARKUP_JS = r"""() => {
  const out = [];
  const note = (kind, el) => out.push([kind, (el.outerHTML || '').slice(0, 300)]);
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      const name = a.name.toLowerCase(), value = (a.value || '').trim().toLowerCase();
      if (name.startsWith('on')) note('handler', el);
      if (['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'srcdoc'].includes(name)
          && (value.startsWith('javascript:') || value.startsWith('data:text')
              || value.startsWith('vbscript:') || name === 'srcdoc')) note('script-url', el);
    }
  }
  const live = 'iframe, object, embed, frame, form, base, meta[http-equiv=refresh], link[href]';
  for (const el of document.querySelectorAll(live)) note('element', el);
  for (const el of document.querySelectorAll('a[href]')) {
    const href = el.getAttribute('href') || '';
    if (!href.startsWith('#')) note('link-out', el);
  }
  const scripts = [...document.querySelectorAll('script')]
    .filter(s => !s.type || /javascript|module/i.test(s.type));
  const csp = document.querySelector('meta[http-equiv="Content-Security-Policy"]');
  return {markup: out, executable_scripts: scripts.length, csp: csp ? csp.content : ''};
}"""

# Act as a reader: focus and click what can be clicked (never a link that leaves the page:
# following it is a request, counted as "link-out" markup instead), hover everything.
_INTERACT_JS = r"""() => {
  let n = 0;
  const clickable = 'a, button, summary, details, input, select, textarea, [tabindex], [onclick]';
  for (const el of document.querySelectorAll(clickable)) {
    const href = ((el.getAttribute && el.getAttribute('href')) || '').trim();
    try { el.focus && el.focus(); } catch (e) {}
    const leaves = href && !href.startsWith('#') && !/^(javascript|data|vbscript):/i.test(href);
    if (el.tagName === 'A' && leaves) continue;
    try { el.click(); n++; } catch (e) {}
  }
  for (const el of document.querySelectorAll('body *')) {
    for (const type of ['mouseover', 'mouseenter', 'focus', 'animationstart']) {
      try { el.dispatchEvent(new Event(type)); } catch (e) {}
    }
  }
  return n;
}"""

_DRAWN_JS = """() => ({
  divs: document.querySelectorAll('.plotly-graph-div').length,
  drawn: [...document.querySelectorAll('.js-plotly-plot')]
           .filter(e => e.querySelector('.main-svg')).length,
})"""


@dataclass
class Probe:
    """What the vectors did in one report."""

    path: Path
    executed_on_load: set[str] = field(default_factory=set)
    executed_on_click: set[str] = field(default_factory=set)
    requested: set[str] = field(default_factory=set)
    injected: set[str] = field(default_factory=set)
    markup: list[tuple[str, str]] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp: str = ""
    executable_scripts: int = 0
    plot_divs: int = 0
    plots_drawn: int = 0
    left_the_page: bool = False

    @property
    def executed(self) -> set[str]:
        return self.executed_on_load | self.executed_on_click


def probe(path: Path, browser: Browser, *, timeout_s: float = 30.0) -> Probe:
    """Load ``path`` from ``file://`` with every other request aborted, then interact."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    path = Path(path).resolve()
    url = path.as_uri()
    result = Probe(path=path)
    phase = {"now": "load"}
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()

        def on_dialog(dialog: Any) -> None:
            result.dialogs.append(f"{phase['now']}: {dialog.message}")
            target = result.executed_on_load if phase["now"] == "load" else result.executed_on_click
            target.update(_IDS.findall(dialog.message) or ["?"])
            dialog.dismiss()

        def on_request(request: Any) -> None:
            if request.url.split("#", 1)[0] != url:
                result.foreign_requests.append(request.url)
                result.requested.update(_IDS.findall(request.url) or ["?"])

        def on_route(route: Any) -> None:
            if route.request.url.split("#", 1)[0] == url:
                route.continue_()
            else:
                route.abort()

        page.on("dialog", on_dialog)
        page.on("request", on_request)
        page.on(
            "console",
            lambda m: result.console_errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda exc: result.page_errors.append(str(exc)))
        page.route("**/*", on_route)
        try:
            page.goto(url, wait_until="load", timeout=timeout_s * 1000)
        except PlaywrightTimeout:  # a vector kept the page loading (a frame, a refresh)
            result.page_errors.append(f"page not loaded within {timeout_s}s")
        try:
            page.wait_for_function(
                "() => [...document.querySelectorAll('.plotly-graph-div')].every("
                "d => d.querySelector('.main-svg'))",
                timeout=timeout_s * 1000,
            )
        except PlaywrightTimeout:
            result.page_errors.append(f"plots not drawn within {timeout_s}s")
        page.wait_for_timeout(500)  # timers, autofocus, animations
        counts = page.evaluate(_DRAWN_JS)
        result.plot_divs, result.plots_drawn = counts["divs"], counts["drawn"]
        live = page.evaluate(_LIVE_MARKUP_JS)
        result.csp = live["csp"]
        result.executable_scripts = live["executable_scripts"]
        result.markup = [tuple(m) for m in live["markup"]]
        for _, html in result.markup:
            result.injected.update(_IDS.findall(html))
        phase["now"] = "click"
        page.evaluate(_INTERACT_JS)
        page.wait_for_timeout(500)
        result.left_the_page = page.url.split("#", 1)[0] != url
    finally:
        context.close()
    return result


def probe_runs(runs: list[Run], browser: Browser | None = None) -> dict[str, Any]:
    """Probe every report the runs wrote; totals per vector over all of them."""
    if browser is None:
        from playwright.sync_api import sync_playwright

        from tests.browser.helpers import launch_chromium

        with sync_playwright() as pw:
            own = launch_chromium(pw)
            try:
                return probe_runs(runs, own)
            finally:
                own.close()
    per_run = {}
    for run in runs:
        report = run.files.get("report.html")
        if report is None:
            per_run[run.name] = {"report": None, "exit": run.exit_code}
            continue
        p = probe(report, browser)
        per_run[run.name] = summary(p)
    return {
        "vectors_tried": len(VECTORS),
        "reports": len(per_run),
        "executed": sorted({v for r in per_run.values() for v in r.get("executed", [])}),
        "requested": sorted({v for r in per_run.values() for v in r.get("requested", [])}),
        "injected": sorted({v for r in per_run.values() for v in r.get("injected", [])}),
        "per_run": per_run,
    }


def summary(p: Probe) -> dict[str, Any]:
    return {
        "executed_on_load": sorted(p.executed_on_load),
        "executed_on_click": sorted(p.executed_on_click),
        "executed": sorted(p.executed),
        "requested": sorted(p.requested),
        "injected": sorted(p.injected),
        "csp": bool(p.csp),
        "plots": f"{p.plots_drawn}/{p.plot_divs}",
        "console_errors": len(p.console_errors),
        "page_errors": p.page_errors[:3],
    }


# -- one report per vector, built from the real producers ------------------------------------
def vector_notebook(payloads: list[str] | str) -> Any:
    """An executed notebook as papermill leaves it, with each payload wherever incident text
    lands: a Markdown output (a runbook's f-string, unescaped), an HTML output, a plotly figure
    (title, legend, annotation, axis title, category ticks, hover text) built straight with
    plotly, a table, a finding, a failed section and the alarm banner."""
    from nbformat.v4 import new_markdown_cell, new_notebook

    if isinstance(payloads, str):
        payloads = [payloads]
    cells = [new_markdown_cell("## Investigation")]
    for payload in payloads:
        cells.append(_vector_cell(payload))
    nb = new_notebook(cells=cells)
    nb.metadata["incident"] = {
        "alarm": {"name": f"api {payloads[0]}", "new_state": "ALARM", "reason": payloads[-1]},
        "alert_type": "generic",
    }
    return nb


def _vector_cell(payload: str) -> Any:
    import pandas as pd
    import plotly.graph_objects as go
    from nbformat.v4 import new_code_cell, new_output

    from incident_lib.findings import FINDINGS_MIMETYPE, SECTION_MIMETYPE
    from incident_lib.plotting import IncidentRenderer

    fig = go.Figure(
        go.Bar(x=[payload, "ok"], y=[3, 1], name=payload, hovertext=[payload, payload]),
        layout={
            "title": {"text": payload},
            "yaxis": {"title": {"text": payload}},
            "annotations": [{"x": 0, "y": 3, "text": payload}],
        },
    )
    table = pd.DataFrame({"@message": [payload]})

    def display(data: dict) -> Any:
        return new_output("display_data", data=data)

    cell = new_code_cell("case.show(...)")
    cell.outputs = [
        display({"text/markdown": f"**Alarm history unavailable**: {payload}"}),
        display({"text/html": f"<b>dependency</b> {payload}"}),
        display(IncidentRenderer().to_mimebundle(fig.to_dict())),
        new_output("execute_result", data={"text/html": table._repr_html_()}, execution_count=1),
        display(
            {
                SECTION_MIMETYPE: {"name": "Logs", "status": "failed", "error": payload},
                "text/html": f"<div>{payload}</div>",
            }
        ),
        display(
            {
                FINDINGS_MIMETYPE: {
                    "summary": payload,
                    "findings": [{"kind": "new_signature", "title": payload, "detail": payload}],
                    "sections": [],
                },
                "text/html": f"<p>{payload}</p>",
            }
        ),
    ]
    return cell


def probe_vectors(out: Path, browser: Browser | None = None) -> dict[str, Any]:
    """One report per vector (:func:`vector_notebook`), each probed: totals and per vector."""
    if browser is None:
        from playwright.sync_api import sync_playwright

        from tests.browser.helpers import launch_chromium

        with sync_playwright() as pw:
            own = launch_chromium(pw)
            try:
                return probe_vectors(out, own)
            finally:
                own.close()
    from incident_lib.report import render_report

    per_vector: dict[str, Any] = {}
    for vector in VECTORS:
        page = render_report(vector_notebook(vector.payload), out / f"{vector.id}.html")
        per_vector[vector.id] = summary(probe(page, browser))
    return {
        "vectors_tried": len(VECTORS),
        "executed": sorted(v for v, r in per_vector.items() if r["executed"]),
        "requested": sorted(v for v, r in per_vector.items() if r["requested"]),
        "injected": sorted(v for v, r in per_vector.items() if r["injected"]),
        "per_vector": per_vector,
    }
