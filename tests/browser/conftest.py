"""Headless Chromium for the ``browser`` tests.

Debian's ``/usr/bin/chromium`` is driven through Playwright. Without it the tests skip with the
reason, unless ``INCIDENT_REQUIRE_BROWSER=1`` (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.browser.helpers import chromium_missing_reason, launch_chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Debian Chromium for the whole session."""
    reason = chromium_missing_reason()
    if reason:
        if os.environ.get("INCIDENT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"INCIDENT_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            yield browser
        finally:
            browser.close()
