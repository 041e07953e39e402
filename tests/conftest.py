"""Shared test configuration.

- Notebooks collected by nbval carry the ``notebooks`` marker.
- ``chromium``: one headless Debian Chromium (driven by Playwright) for the session. Without
  ``/usr/bin/chromium`` the browser tests skip with the reason, except in CI (``CI=true``) or
  with ``INCIDENT_REQUIRE_BROWSER=1``, where a missing browser is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.browser.helpers import chromium_missing_reason, launch_chromium
from tests.measures import ARTIFACTS, measures_table

# Fixture notebooks are inputs of tests, not tests themselves.
collect_ignore_glob = ["fixtures/*"]

if TYPE_CHECKING:
    from playwright.sync_api import Browser


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if str(item.fspath).endswith(".ipynb"):
            item.add_marker(pytest.mark.notebooks)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The catalogue scenarios' findings against their ground truth, with the seconds each
    report took (tests/measures.py); only the controlling process prints it."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    text = measures_table(terminalreporter.config)
    if text is None:
        return
    terminalreporter.write_sep("-", "catalogue scenarios: findings against the ground truth")
    terminalreporter.write(text)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "catalog-measures.md").write_text(text, encoding="utf-8")


def browser_required() -> bool:
    return os.environ.get("INCIDENT_REQUIRE_BROWSER") == "1" or os.environ.get(
        "CI", ""
    ).lower() in ("1", "true")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Debian Chromium for the whole session."""
    reason = chromium_missing_reason()
    if reason:
        if browser_required():
            pytest.fail(
                f"the browser tests must run here (CI or INCIDENT_REQUIRE_BROWSER=1) but {reason}"
            )
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def lambda_errors_store(tmp_path_factory: pytest.TempPathFactory):
    """The lambda_errors demo store, built once per test session (about two seconds)."""
    from incident_lib.scenarios import build_store

    return build_store("lambda_errors", tmp_path_factory.mktemp("scenario") / "lambda_errors")
