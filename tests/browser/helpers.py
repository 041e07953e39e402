"""Open a report in headless Debian Chromium and say what a reader would see.

Reusable by any test that produces a report (``from tests.browser.helpers import check_report``):

>>> result = check_report(Path("reports/x/report.html"))  # doctest: +SKIP
>>> assert result.ok, result.problems()                    # doctest: +SKIP

Playwright's own browser download does not work here, so this drives ``/usr/bin/chromium``
(override with ``INCIDENT_CHROMIUM``) with the flags a closed network needs.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM = Path(os.environ.get("INCIDENT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Plots whose root div has been drawn into (plotly adds .main-svg when it renders).
_COUNT_JS = """() => ({
  divs: document.querySelectorAll('.plotly-graph-div').length,
  drawn: [...document.querySelectorAll('.js-plotly-plot')]
           .filter(e => e.querySelector('.main-svg')).length,
})"""
_ALL_DRAWN_JS = """() => {
  const divs = document.querySelectorAll('.plotly-graph-div').length;
  const drawn = [...document.querySelectorAll('.js-plotly-plot')]
                  .filter(e => e.querySelector('.main-svg')).length;
  return drawn >= divs;
}"""


@dataclass
class ReportCheck:
    """What happened when a report was opened from ``file://``."""

    path: Path
    plot_divs: int = 0
    plots_drawn: int = 0
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    load_seconds: float = 0.0
    title: str = ""

    def problems(self) -> list[str]:
        """Everything wrong, one line each (empty when the report is fine)."""
        out = []
        if self.plots_drawn != self.plot_divs:
            out.append(f"{self.plots_drawn} of {self.plot_divs} plots drawn")
        out += [f"console error: {m}" for m in self.console_errors]
        out += [f"page error: {m}" for m in self.page_errors]
        out += [f"request left the file: {u}" for u in self.foreign_requests]
        out += [f"dialog opened: {m}" for m in self.dialogs]
        return out

    @property
    def ok(self) -> bool:
        return not self.problems()


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.is_file():
        return f"Debian chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; no browser download needed)"
    return None


def launch_chromium(playwright: Playwright) -> Browser:
    """Start Debian Chromium headless with the flags this closed network needs."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def check_report(
    path: Path,
    *,
    browser: Browser | None = None,
    screenshot: Path | str | None = None,
    timeout_s: float = 30.0,
) -> ReportCheck:
    """Load ``path`` from ``file://`` in headless Chromium and record what went wrong.

    Parameters
    ----------
    path
        The report page.
    browser
        A running browser to open a new page in; one is started (and closed) when omitted.
    screenshot
        Where to save a full-page PNG; a bare name goes under ``test-artifacts/``.
    timeout_s
        How long to wait for the page to load and every plot to draw.

    Returns
    -------
    ReportCheck
        Plots found and drawn, console and page errors, requests to anything but the file,
        dialogs opened (a hostile log line that ran would open one), load time.
    """
    if browser is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            own = launch_chromium(pw)
            try:
                return check_report(path, browser=own, screenshot=screenshot, timeout_s=timeout_s)
            finally:
                own.close()

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    path = Path(path).resolve()
    url = path.as_uri()
    result = ReportCheck(path=path)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()

        def on_request(request: Any) -> None:
            if request.url.split("#", 1)[0] != url:
                result.foreign_requests.append(request.url)

        def on_route(route: Any) -> None:
            if route.request.url.split("#", 1)[0] == url:
                route.continue_()
            else:
                route.abort()

        def on_dialog(dialog: Any) -> None:
            result.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        def on_console(message: Any) -> None:
            if message.type == "error":
                result.console_errors.append(message.text)

        page.on("request", on_request)
        page.on("dialog", on_dialog)
        page.on("console", on_console)
        page.on("pageerror", lambda exc: result.page_errors.append(str(exc)))
        page.route("**/*", on_route)

        started = time.perf_counter()
        page.goto(url, wait_until="load", timeout=timeout_s * 1000)
        try:
            page.wait_for_function(_ALL_DRAWN_JS, timeout=timeout_s * 1000)
        except PlaywrightTimeout as exc:  # a finding, reported below
            result.page_errors.append(f"plots not drawn within {timeout_s}s: {exc}")
        result.load_seconds = time.perf_counter() - started
        counts = page.evaluate(_COUNT_JS)
        result.plot_divs, result.plots_drawn = counts["divs"], counts["drawn"]
        result.title = page.title()
        if screenshot is not None:
            shot = Path(screenshot)
            if not shot.is_absolute() and shot.parent == Path("."):
                shot = ARTIFACTS / shot
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
            result.screenshot = shot
    finally:
        context.close()
    return result
