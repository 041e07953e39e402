"""Shared test configuration.

- Notebooks collected by nbval carry the ``notebooks`` marker.
- ``chromium``: one headless Debian Chromium (driven by Playwright) for the session. Without
  ``/usr/bin/chromium`` the browser tests skip with the reason, except in CI (``CI=true``) or
  with ``INCIDENT_REQUIRE_BROWSER=1``, where a missing browser is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.helpers import chromium_missing_reason, launch_chromium
from tests.measures import ARTIFACTS, measures_table

# Fixture notebooks are inputs of tests, not tests themselves.
collect_ignore_glob = ["fixtures/*"]

if TYPE_CHECKING:
    from playwright.sync_api import Browser


#: Files whose tests are each a notebook run and share nothing worth keeping on one worker: the
#: scheduler below sends them to the workers one by one (``--dist loadfile`` would keep each
#: file whole, minutes of work that left one worker busy while the other idled).
SPREAD_FILES = frozenset(
    {
        "tests/runbook_import/test_runbook_notebooks.py",
        "tests/catalog/test_from_alarm.py",
        "tests/test_generic_corpus.py",
    }
)
#: Files whose tests go to the workers grouped by their parameter (``test_x[name]``): each
#: catalogue scenario is investigated once per worker, and its five checks read that run.
GROUP_BY_PARAM = frozenset({"tests/catalog/test_catalog_scenarios.py"})
#: Rough seconds of the longest single units on 2 idle cores (pytest --durations), so they
#: start first and the short ones fill in at the end (longest processing time first).
LONG_UNITS = {
    "tests/serve/test_serve_queue.py": 170,
    "tests/browser/test_xss.py": 130,
    "tests/faults/test_faults_aws.py": 110,
    "tests/security/test_secret_leaks.py": 70,
    "tests/run/test_duplicate_deliveries.py": 65,
    "tests/test_team_notebooks.py": 60,
    "tests/aws/test_investigate_aws.py": 50,
    "tests/evidence/test_pack_aws.py": 45,
    "tests/evidence/test_pack_demo.py": 40,
    "tests/run/test_timeouts.py": 40,
    "tests/fuzz/test_fuzz_cli.py": 40,
    "tests/test_investigation_demo.py": 40,
    "tests/browser/test_explore_lab.py": 35,
}


def _unit_cost(scope: str, nodeids: dict[str, bool]) -> float:
    file = scope.split("::", 1)[0].split("[", 1)[0]
    if file in LONG_UNITS:
        return LONG_UNITS[file]
    if file in SPREAD_FILES or file in GROUP_BY_PARAM:
        return 12.0  # one notebook run
    if file.endswith(".ipynb"):
        return 0.7 * len(nodeids)  # nbval: a cell each
    return 0.05 * len(nodeids)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` with the long parametrised notebook files split (see SPREAD_FILES
    and GROUP_BY_PARAM) and the units ordered longest first. A scheduler rather than
    ``xdist_group`` marks: ``--dist loadgroup`` does not group on this pytest
    (pytest-dev/pytest-xdist#1386)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Balanced(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            if file in SPREAD_FILES:
                return nodeid
            if file in GROUP_BY_PARAM and "[" in nodeid:
                return f"{file}[{nodeid.split('[', 1)[1]}"
            return file

        def _assign_work_unit(self, node: Any) -> None:
            if not getattr(self, "_ordered", False):  # the first call: the queue is complete
                ordered = sorted(self.workqueue.items(), key=lambda kv: -_unit_cost(*kv))
                self.workqueue.clear()
                self.workqueue.update(ordered)
                self._ordered = True
            super()._assign_work_unit(node)

    return Balanced(config, log)


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
