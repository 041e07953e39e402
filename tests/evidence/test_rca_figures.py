"""The RCA's PNG figures without a browser: a note outside CI, an error in CI."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from incident_lib.errors import IncidentError
from incident_lib.evidence import rca


@pytest.fixture
def no_browser(monkeypatch):
    monkeypatch.setattr(rca, "_chromium", lambda: None)


def test_without_chromium_outside_ci_the_draft_says_why(no_browser, monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    written, note = rca.draw_figures(tmp_path, [("rca-timeline.png", go.Figure())])
    assert written == [] and "no chromium" in note and "apt-get install chromium" in note
    assert not list(tmp_path.iterdir())


def test_without_chromium_in_ci_it_is_an_error(no_browser, monkeypatch, tmp_path):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(IncidentError, match="no chromium"):
        rca.draw_figures(tmp_path, [("rca-timeline.png", go.Figure())])
