"""XSS: reports carrying 40 kinds of hostile markup, opened in Chromium, run nothing, fetch
nothing, keep their Content Security Policy and still draw every plot.

Two ways in: the whole pipeline (``incident investigate`` on a hostile store and alarm,
``incident demo --from-alarm`` on a generic and a metric-math alarm, ``--source aws`` against
an endpoint whose every answer is an AccessDenied carrying the vectors), and one page where
each vector lands unescaped where a runbook could put it (a Markdown output, an HTML output, a
figure built straight with plotly, a table, a finding, a failed section, the banner).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from incident_lib.report import render_report
from tests.browser.helpers import ARTIFACTS
from tests.browser.xss import Probe, probe, summary, vector_notebook
from tests.security.hostile import VECTORS, pipeline_runs, vector_text

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def assert_inert(result: Probe, *, plots: bool = True) -> None:
    assert result.dialogs == [], result.dialogs
    assert result.executed == set()
    assert result.requested == set() and result.foreign_requests == []
    assert result.injected == set(), result.markup[:5]
    assert not result.left_the_page
    assert "default-src 'none'" in result.csp and "'sha256-" in result.csp
    assert "'unsafe-eval'" not in result.csp and "script-src 'unsafe-inline'" not in result.csp
    assert result.executable_scripts == 3  # plotly config, plotly.js, the draw script
    assert result.console_errors == [], result.console_errors  # a CSP violation logs here
    assert result.page_errors == []
    assert result.plots_drawn == result.plot_divs
    if plots:
        assert result.plot_divs > 0


def test_every_vector_unescaped_in_every_place_stays_inert(
    chromium: Browser, tmp_path: Path
) -> None:
    nb = vector_notebook([v.payload for v in VECTORS])
    page = render_report(nb, tmp_path / "vectors.html")
    result = probe(page, chromium, timeout_s=180)  # 40 figures on a loaded 2-core machine
    assert_inert(result)
    assert result.plot_divs == len(VECTORS)


@pytest.mark.notebooks
@pytest.mark.slow
def test_pipeline_reports_with_hostile_alarms_logs_history_cloudtrail_and_aws_errors(
    chromium: Browser, tmp_path: Path
) -> None:
    runs = pipeline_runs(vector_text(), tmp_path)
    results = {}
    for run in runs:
        assert "report.html" in run.files, (run.name, run.exit_code, run.stderr[-2000:])
        results[run.name] = probe(run.files["report.html"], chromium, timeout_s=120)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "xss-pipeline.json").write_text(
        json.dumps(
            {"vectors_tried": len(VECTORS), **{k: summary(v) for k, v in results.items()}},
            indent=2,
        ),
        encoding="utf-8",
    )
    for name, result in results.items():
        assert_inert(result, plots=name != "aws errors")
    # The vectors did reach every report (escaped): the test would see them if they ran.
    for run in runs:
        page = run.files["report.html"].read_text(encoding="utf-8")
        assert "onerror=alert(&#x27;X06&#x27;)" in page or "onerror=alert('X06')" in page
