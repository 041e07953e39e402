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


def test_with_a_warm_kaleido_server_the_figures_are_drawn_without_a_warning(tmp_path, recwarn):
    """``incident serve`` keeps kaleido's sync server running; the RCA's figures use it as it
    was set up (passing its options again is ignored with a UserWarning)."""
    if rca._chromium() is None:
        pytest.skip("no chromium on this machine")
    import kaleido

    kaleido.start_sync_server(mathjax=False, silence_warnings=True)
    try:
        written, note = rca.draw_figures(tmp_path, [("rca-timeline.png", go.Figure())])
    finally:
        kaleido.stop_sync_server(silence_warnings=True)
    assert [w["file"] for w in written] == ["rca-timeline.png"], note
    assert (tmp_path / "rca-timeline.png").read_bytes()[:4] == b"\x89PNG"
    assert not [w for w in recwarn if "kopts" in str(w.message)]
