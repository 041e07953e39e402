"""A notebook that shows widgets (explore.ipynb, executed by nbclient with the engineer's last
moves in a final cell) gives a report that shows their last state, offline, in Chromium: the
controls' values, the HTML widgets, the charts the Output widgets held, drawn by the report's
own script; no request leaves the file, the page's policy blocks nothing it needs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pytest

from incident_lib.paths import notebooks_dir
from incident_lib.report import render_report
from incident_lib.widgets_static import STATE_MIMETYPE
from tests.browser.helpers import check_report, launch_chromium  # noqa: F401

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.notebooks]

LAST_MOVES = """\
ui.preset.value = "alarm ± 30 min"
ui.metric.value = "Invocations"
ui.query.value = "filter @message like /KeyError/ | stats count(*) as n by bin(1m)"
ui.run.click()
ui.note.value = "<img src=x onerror=alert(1)> spike"
"""


@pytest.fixture(scope="module")
def widget_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, nbformat.NotebookNode]:
    from nbclient import NotebookClient

    from incident_lib.execution import patch_nbclient

    patch_nbclient()  # nbclient issue 312: a widget notebook may stall without it
    nb = nbformat.read(notebooks_dir() / "explore.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(LAST_MOVES))
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    assert nb.metadata["widgets"][STATE_MIMETYPE]["state"]  # nbclient kept the state
    out = render_report(nb, tmp_path_factory.mktemp("report") / "report.html")
    return out, nb


def test_the_report_shows_the_widgets_last_state_offline(
    chromium: Browser, widget_report: tuple[Path, nbformat.NotebookNode]
) -> None:
    path, _ = widget_report
    result = check_report(path, browser=chromium, screenshot="report_widgets.png")
    assert result.ok, result.problems()
    assert result.plot_divs >= 2  # the metric chart and the query's chart, from Output widgets
    assert result.foreign_requests == [] and result.dialogs == []

    context = chromium.new_context()
    try:
        page = context.new_page()
        page.route(
            "**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort()
        )
        page.goto(path.resolve().as_uri())
        text = page.inner_text("body")
    finally:
        context.close()
    assert "alarm ± 30 min" in text  # the Window preset's last value
    assert "Invocations" in text  # the metric picker, and the chart's title
    assert "stats count(*) as n by bin(1m)" in text  # the query box
    assert "rows in" in text  # the query status HTML widget
    assert "spike" in text  # the note, as text: its markup never ran (no dialog above)
    page_html = path.read_text(encoding="utf-8")
    assert "application/vnd.jupyter.widget-view+json" not in page_html
    body = page_html.split("<body", 1)[1]
    assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt; spike" in body
