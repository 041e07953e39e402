"""The offline plotly renderer and the figure builders."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from incident_lib.errors import BadInputError
from incident_lib.plotting import (
    MAX_LABEL,
    PLOTLY_MIMETYPE,
    RENDERER_NAME,
    IncidentRenderer,
    bar_by_time,
    epoch_ms,
    sanitize_figure,
    setup_plotly,
    timeseries,
)

TIMES = pd.date_range("2026-03-01T10:00Z", periods=60, freq="1min")


def _metric_frame() -> pd.DataFrame:
    return pd.concat(
        [
            pd.DataFrame({"id": "m0", "label": "Errors", "timestamp": TIMES, "value": 1.0}),
            pd.DataFrame({"id": "m1", "label": "<b>hostile</b>", "timestamp": TIMES, "value": 2}),
        ],
        ignore_index=True,
    )


@pytest.fixture
def restore_renderer():
    before = pio.renderers.default
    yield
    pio.renderers.default = before


def test_setup_plotly_selects_the_incident_renderer(restore_renderer) -> None:
    renderer = setup_plotly()
    assert pio.renderers.default == RENDERER_NAME
    assert pio.renderers[RENDERER_NAME] is renderer
    assert isinstance(renderer, IncidentRenderer)
    setup_plotly()  # idempotent
    assert pio.renderers.default == RENDERER_NAME


def test_bundle_has_html_without_plotlyjs_or_cdn_and_the_plotly_json() -> None:
    fig = timeseries(_metric_frame(), title="Errors")
    bundle = IncidentRenderer().to_mimebundle(fig.to_dict())
    assert set(bundle) == {"text/html", PLOTLY_MIMETYPE}
    markup = bundle["text/html"]
    assert "Plotly.newPlot" in markup
    assert "plotly.js v" not in markup  # the library is embedded by the report, once
    assert "<script src" not in markup and "cdn" not in markup.lower()
    assert "mathjax" not in markup.lower()
    assert bundle[PLOTLY_MIMETYPE]["data"][0]["name"] == "Errors"
    assert bundle[PLOTLY_MIMETYPE]["config"]["displaylogo"] is False


def test_timeseries_draws_one_line_per_label_on_a_utc_date_axis() -> None:
    fig = timeseries(_metric_frame(), title="Errors", yaxis_title="count")
    assert [t.name for t in fig.data] == ["Errors", "&lt;b&gt;hostile&lt;/b&gt;"]
    x = fig.data[0].x
    assert x.dtype == "float64"
    assert x[0] == pytest.approx(TIMES[0].timestamp() * 1000)
    assert fig.layout.xaxis.type == "date"
    assert fig.layout.xaxis.title.text == "UTC"
    assert fig.layout.yaxis.title.text == "count"


def test_timeseries_draws_threshold_alarm_shading_and_labelled_markers() -> None:
    fig = timeseries(
        _metric_frame(),
        title="Errors",
        threshold=5,
        shade=[(TIMES[10], TIMES[20])],
        markers=[(TIMES[5], "deploy <script>alert(1)</script>")],
    )
    kinds = sorted(s.type for s in fig.layout.shapes)
    assert kinds == ["line", "line", "rect"]
    rect = next(s for s in fig.layout.shapes if s.type == "rect")
    assert rect.x0 == pytest.approx(TIMES[10].timestamp() * 1000)
    texts = [a.text for a in fig.layout.annotations]
    assert "deploy &lt;script&gt;alert(1)&lt;/script&gt;" in texts
    assert "threshold 5" in texts


def test_epoch_ms_figures_are_smaller_than_datetime_figures() -> None:
    times = pd.Series(pd.date_range("2026-03-01T00:00Z", periods=1440, freq="1min"))
    plain = {"template": "none"}
    as_datetimes = go.Figure(go.Scatter(x=times, y=[1.0] * len(times)), layout=plain)
    as_epoch = go.Figure(go.Scatter(x=epoch_ms(times).to_numpy(), y=[1.0] * len(times)), plain)
    assert len(as_epoch.to_json()) < 0.7 * len(as_datetimes.to_json())


def test_naive_times_are_refused() -> None:
    frame = _metric_frame()
    frame["timestamp"] = frame["timestamp"].dt.tz_localize(None)
    with pytest.raises(BadInputError, match="timezone-aware"):
        timeseries(frame, title="x")
    with pytest.raises(BadInputError, match="timezone-aware"):
        epoch_ms(datetime(2026, 3, 1, 10, 0))


def test_missing_columns_are_named() -> None:
    with pytest.raises(BadInputError, match="value"):
        timeseries(_metric_frame().drop(columns="value"), title="x")


def test_bar_by_time_stacks_one_series_per_group() -> None:
    frame = pd.DataFrame(
        {
            "bin": list(TIMES[:3]) * 2,
            "count": [1, 2, 3, 4, 5, 6],
            "signature": ["Timeout"] * 3 + ["KeyError"] * 3,
        }
    )
    fig = bar_by_time(frame, x="bin", y="count", color="signature", title="Errors")
    assert [t.name for t in fig.data] == ["Timeout", "KeyError"]
    assert fig.layout.barmode == "stack"
    assert fig.layout.xaxis.title.text == "UTC"
    single = bar_by_time(frame, x="bin", y="count", title="All")
    assert len(single.data) == 1 and single.layout.showlegend is False


def test_renderer_escapes_and_masks_every_text_of_a_figure_built_straight_with_plotly() -> None:
    link = "<a href='https://evil.example/x'>see</a> ghp_" + "A" * 36
    fig = go.Figure(
        go.Bar(x=[link, "ok"], y=[1, 2], name=link, hovertext=[link, link]),
        layout={
            "title": {"text": link},
            "yaxis": {"title": {"text": link}},
            "annotations": [{"x": 0, "y": 1, "text": link}],
        },
    )
    fig.data[0].hovertemplate = "%{y}<extra></extra>"
    bundle = IncidentRenderer().to_mimebundle(fig.to_dict())
    text = json.dumps(bundle[PLOTLY_MIMETYPE]) + bundle["text/html"]
    assert "<a href" not in text and "A" * 36 not in text
    figure = bundle[PLOTLY_MIMETYPE]
    assert figure["layout"]["title"]["text"].startswith("&lt;a href=")
    assert figure["data"][0]["x"][0].startswith("&lt;a href=")
    assert figure["data"][0]["hovertemplate"] == "%{y}<extra></extra>"  # code, kept


def test_sanitize_figure_is_idempotent() -> None:
    fig = timeseries(_metric_frame(), title="a < b & <i>c</i>").to_dict()
    once = sanitize_figure(fig)
    assert sanitize_figure(once) == once
    assert once["layout"]["title"]["text"] == "a &lt; b &amp; &lt;i&gt;c&lt;/i&gt;"


def test_builder_labels_are_masked_and_cut_short() -> None:
    frame = _metric_frame()
    frame.loc[frame["id"] == "m0", "label"] = "password=hunter2 " + "x" * 1000
    fig = timeseries(frame, title="t", markers=[(TIMES[3], "deploy token=abc123")])
    assert "hunter2" not in fig.data[0].name and len(fig.data[0].name) <= MAX_LABEL
    assert "abc123" not in fig.layout.annotations[0].text
