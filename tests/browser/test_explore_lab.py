"""explore.ipynb in a real JupyterLab (``incident lab``'s server), driven in headless Debian
Chromium: wait for the kernel, move the window, pick a metric and a dimension, run a query
(a syntax error first), pin the result, check the page, ``rca.md`` and ``incident verify``,
undo the pin. Every request other than the Lab server's is aborted and counted.

Pitfalls (JupyterLab 4.6, ipywidgets 8.1, headless Debian chromium): wait on the status bar's
kernel item, not the toolbar's indicator; Run All from the menu.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.helpers import ARTIFACTS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.notebooks]

IDLE = re.compile(r"\| Idle$")
RAN = re.compile(r"^\[\d+\]:$")


@pytest.fixture(scope="module")
def lab_and_incident(
    tmp_path_factory: pytest.TempPathFactory, lambda_errors_store
) -> Iterator[tuple]:
    """The demo incident investigated into a temporary reports folder (no PNG figures), and
    ``incident lab``'s server on it, started while the investigation runs (it needs only its
    settings until the page opens)."""
    from incident_lib.alarm import parse_alarm
    from incident_lib.demo import alarm_event
    from incident_lib.evidence.investigation import EvidenceOptions
    from incident_lib.lab import bind_notebooks, lab_folder, start_lab
    from incident_lib.run import investigate

    alarm = parse_alarm(alarm_event(lambda_errors_store))
    out = tmp_path_factory.mktemp("reports")
    folder = lab_folder(out / alarm.incident_id)
    server = start_lab(folder, wait=False)  # its own process starts while the run goes on
    result = investigate(
        alarm, source=lambda_errors_store.path, out=out, evidence=EvidenceOptions(figures=False)
    )
    server.wait_ready()
    try:
        assert result.directory == folder.incident_dir
        # The scenario store, not the pack: it holds the sibling functions to pick from.
        bind_notebooks(folder, source=str(lambda_errors_store.path))
        yield server, result.directory
    finally:
        server.stop()


@pytest.fixture
def lab(lab_and_incident):
    return lab_and_incident[0]


@pytest.fixture
def demo_incident(lab_and_incident) -> Path:
    return lab_and_incident[1]


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        yield context.new_page()
    finally:
        context.close()


def _widget(page: Page, kind: str, label: str):
    return page.locator(f".widget-{kind}", has=page.locator("label", has_text=label))


def test_explore_in_jupyterlab_pins_into_the_rca(page: Page, lab, demo_incident: Path) -> None:
    from playwright.sync_api import expect

    from incident_lib.evidence.manifest import verify

    started = time.monotonic()
    foreign: list[str] = []
    errors: list[str] = []

    def only_lab(route) -> None:
        if route.request.url.startswith(lab.base + "/"):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    page.route("**/*", only_lab)
    page.on("pageerror", lambda e: errors.append(str(e)))

    # `incident lab`'s workspace opens both notebooks (the test resets it: one kernel is enough).
    workspace = lab.api("/lab/api/workspaces/default")
    assert workspace["data"]["layout-restorer:data"]["main"]["dock"]["widgets"] == [
        "notebook:notebook.ipynb",
        "notebook:explore.ipynb",
    ]

    page.goto(lab.url("explore.ipynb", reset=True))
    kernel = page.get_by_title("Change kernel for explore.ipynb")
    expect(kernel).to_have_text(IDLE, timeout=90_000)
    page.locator("#jp-menu-panel").get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputArea-prompt")
    try:
        for i in range(prompts.count()):
            expect(prompts.nth(i)).to_have_text(RAN, timeout=40_000)
    except AssertionError:
        outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
        raise AssertionError("explore.ipynb did not run:\n" + "\n".join(outputs)[-3000:]) from None
    expect(kernel).to_have_text(IDLE, timeout=60_000)
    ready = time.monotonic() - started
    timings: dict[str, float] = {}

    def timed(name: str, check) -> None:
        t = time.monotonic()
        check()
        timings[name] = time.monotonic() - t

    chart_title = page.locator(".js-plotly-plot .gtitle").first
    expect(chart_title).to_contain_text("Errors Sum FunctionName=checkout-api")

    # Move the window: a preset, then one step of the range slider's first handle.
    window_note = page.locator(".widget-html", has_text="Selected:")
    _widget(page, "dropdown", "Window").locator("select").select_option("onset ± 15 min")
    timed("preset", lambda: expect(window_note).to_contain_text("13:41 – 14:11 UTC"))
    slider = _widget(page, "slider", "Range")
    slider.locator(".noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    timed("slider", lambda: expect(window_note).to_contain_text("13:42 – 14:11 UTC"))
    expect(chart_title).to_contain_text("(13:42–14:11 UTC)")

    # Pick a metric and a dimension value the store lists.
    _widget(page, "dropdown", "Metric").locator("select").select_option("Invocations")
    timed("metric", lambda: expect(chart_title).to_contain_text("Invocations"))
    dim = _widget(page, "dropdown", "FunctionName").locator("select")
    assert "payments-worker" in dim.locator("option").all_inner_texts()
    dim.select_option("payments-worker")
    timed("dimension", lambda: expect(chart_title).to_contain_text("payments-worker"))

    # The log groups preselected; a syntax error shows its position; then a query runs.
    groups = _widget(page, "select-multiple", "Log groups").locator("select")
    assert groups.evaluate("s => [...s.selectedOptions].map(o => o.value)") != []
    query = page.locator(".widget-textarea textarea")
    query.fill("filter @message like /KeyError/ | stats count( by bin(1m)")
    page.get_by_role("button", name="Run query").click()
    status = page.locator(".widget-html", has=page.locator(".explore-error, .explore-ok")).first
    timed("syntax error", lambda: expect(status).to_contain_text("line 1, column"))
    query.fill("filter @message like /KeyError/ | stats count(*) as n by bin(1m)")
    page.get_by_role("button", name="Run query").click()
    timed("query", lambda: expect(status).to_contain_text("rows in"))
    header = page.locator("table.explore-table th").filter(has_text=re.compile(r"^n$"))
    expect(header).to_have_count(1)
    _widget(page, "dropdown", "Sort by").locator("select").select_option("n")
    first_n = page.locator("table.explore-table tbody tr").first.locator("td").nth(1)
    timed("sort", lambda: expect(first_n).to_have_text("27"))
    history = _widget(page, "select", "History").locator("option")
    assert history.count() >= 3  # ListMetrics, the charts, the query

    # Pin the table with a note: rca.md cites pin:1, the manifest still verifies.
    page.locator(".widget-text", has=page.locator("label", has_text="Note")).locator("input").fill(
        "KeyError per minute after the deploy"
    )
    _widget(page, "dropdown", "Pin").locator("select").select_option("query table")
    page.get_by_role("button", name="Pin to RCA").click()
    pinned = page.locator(".widget-html", has_text="Pinned")
    timed("pin", lambda: expect(pinned).to_contain_text("pin:1"))
    expect(page.locator("ul.explore-pins")).to_contain_text("KeyError per minute")
    rca = (demo_incident / "rca.md").read_text(encoding="utf-8")
    assert "## Pinned evidence" in rca
    assert "KeyError per minute after the deploy" in rca and "[`pin:1`]" in rca
    assert (demo_incident / "pack" / "pins" / "pin-1.parquet").is_file()
    assert verify(demo_incident).ok, verify(demo_incident).lines()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator(".jp-Notebook .jp-CodeCell").nth(2).screenshot(
        path=str(ARTIFACTS / "explore_lab.png")
    )

    # The step back.
    page.get_by_role("button", name="Undo last pin").click()
    timed("undo", lambda: expect(page.locator(".widget-html", has_text="Removed")).to_be_visible())
    assert "## Pinned evidence" not in (demo_incident / "rca.md").read_text(encoding="utf-8")
    assert verify(demo_incident).ok

    total = time.monotonic() - started
    print(
        f"\nLab ready (all cells run) {ready:.1f}s; round trips "
        + ", ".join(f"{k} {v:.2f}s" for k, v in timings.items())
        + f"; test {total:.1f}s; foreign requests {len(foreign)}"
    )
    assert foreign == [], foreign
    assert errors == [], errors
    assert max(timings.values()) < 5.0, timings  # in the browser; the kernel side is < 1 s
