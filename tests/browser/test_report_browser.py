"""The report in a real browser, offline: every plot drawn, nothing fetched, nothing executed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pytest

from incident_lib.plotting import PLOTLY_MIMETYPE
from incident_lib.report import render_report
from tests.browser.helpers import check_report

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

HOSTILE_NOTEBOOK = (
    Path(__file__).parents[1] / "fixtures" / "notebooks" / ("hostile_incident_two_plots.ipynb")
)


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The hostile fixture executed on the python3 kernel and rendered; and its figure count."""
    from nbclient import NotebookClient

    nb = nbformat.read(HOSTILE_NOTEBOOK, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    figures = sum(
        PLOTLY_MIMETYPE in output.get("data", {})
        for cell in nb.cells
        for output in cell.get("outputs", [])
    )
    out = render_report(nb, tmp_path_factory.mktemp("report") / "report.html")
    return out, figures


@pytest.mark.notebooks
def test_hostile_report_draws_every_plot_offline_and_runs_no_incident_text(
    chromium: Browser, hostile_report: tuple[Path, int]
) -> None:
    path, figures = hostile_report
    result = check_report(path, browser=chromium, screenshot="report_hostile_incident.png")
    assert figures == 2
    assert result.plot_divs == figures
    assert result.plots_drawn == figures
    assert result.console_errors == []
    assert result.page_errors == []
    assert result.foreign_requests == []
    assert result.dialogs == []
    assert result.ok, result.problems()
    assert result.title.startswith("Incident: api-5xx")
    assert result.screenshot is not None and result.screenshot.stat().st_size > 10_000


def test_check_report_catches_cdn_scripts_and_executed_text(
    chromium: Browser, tmp_path: Path
) -> None:
    """The check itself can fail: a page that fetches and runs what it should not."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head>"
        '<script src="https://cdn.example.invalid/plotly.min.js"></script></head><body>'
        '<div class="plotly-graph-div js-plotly-plot"></div>'
        "<img src=x onerror=\"alert('ran')\"></body></html>",
        encoding="utf-8",
    )
    result = check_report(page, browser=chromium, timeout_s=2)
    assert not result.ok
    assert any("cdn.example.invalid" in url for url in result.foreign_requests)
    assert result.dialogs == ["alert: ran"]
    assert result.plot_divs == 1 and result.plots_drawn == 0
