"""Plots that survive export: an offline plotly renderer and the figure builders notebooks use.

Under papermill plotly's default renderer is ``plotly_mimetype``, which nbconvert drops, so the
exported report would show no plots (plotly.py issue 5365). :func:`setup_plotly` selects the
``incident`` renderer instead. Each figure it displays carries two mimetypes:

- ``text/html``: a ``<div>`` and a ``Plotly.newPlot`` call, with no plotly.js, no MathJax and
  no CDN. nbconvert's HTML exporter picks it (``text/html`` is in its display priority, the
  plotly mimetype is not), and the report template embeds plotly.js once in the page head.
- ``application/vnd.plotly.v1+json``: the figure as JSON. JupyterLab's plotly extension ranks
  it before ``text/html`` (rank 2 against 50), so Lab draws the figure natively with its own
  plotly.js and does not need the page-level script.

So every figure is drawn exactly once in either place. The builders plot times as float64 epoch
milliseconds on a date axis (about 44% smaller than datetime values) and title the axis "UTC".

Text in a figure comes from the incident (series labels, error signatures, deploy names), and
plotly reads titles, legend names, hover text, annotations and category tick labels as a
subset of HTML (``<a href>`` included). :func:`sanitize_figure` escapes every such string and
masks secrets in it; the renderer applies it to every figure it shows (whoever built it), and
the report applies it again before drawing (escaping is idempotent, so nothing shows twice
escaped). Only ``hovertemplate``/``texttemplate`` strings are left as written: they are code.

>>> setup_plotly()  # doctest: +SKIP
>>> timeseries(frame, title="Errors", threshold=5, shade=[(t0, t1)]).show()  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import NotebookRenderer

from incident_lib.errors import BadInputError
from incident_lib.escape import plot_text
from incident_lib.redact import mask_secrets

log = logging.getLogger(__name__)

__all__ = [
    "PLOTLY_CONFIG",
    "RENDERER_NAME",
    "IncidentRenderer",
    "bar_by_time",
    "epoch_ms",
    "sanitize_figure",
    "setup_plotly",
    "timeseries",
]

#: Name under which :func:`setup_plotly` registers the renderer.
RENDERER_NAME = "incident"

#: plotly.js config of every figure: no link to plotly.com, resizes with the page.
PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}

PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"

_HEIGHT = 360
_ALARM_SHADE = "rgba(214, 39, 40, 0.12)"
_MARKER_COLOUR = "#6a3d9a"
_THRESHOLD_COLOUR = "#d62728"

#: Longest label a builder puts in a legend, title or annotation (a legend name must not carry
#: a whole 1 MB log line); the full text stays in the tables and the evidence.
MAX_LABEL = 200

#: Figure keys whose strings are code (plotly's own %{...} templates), not incident text.
_CODE_KEYS = ("hovertemplate", "texttemplate")


class IncidentRenderer(NotebookRenderer):
    """Offline renderer: ``text/html`` without plotly.js for the report, JSON for JupyterLab.

    Unlike the stock ``notebook`` renderer it never displays plotly.js into the notebook on
    activation (the report template embeds it once) and never adds a MathJax CDN script.
    """

    def __init__(self, config: dict[str, Any] | None = None, height: int = _HEIGHT) -> None:
        super().__init__(config=config if config is not None else dict(PLOTLY_CONFIG))
        self.height = height

    def activate(self) -> None:
        """Nothing to do: plotly.js is embedded by the report template, not per notebook."""

    def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, Any]:
        """Return ``{"text/html": <div + newPlot>, PLOTLY_MIMETYPE: <figure JSON>}``, with
        every text of the figure escaped and masked (:func:`sanitize_figure`)."""
        fig_dict = sanitize_figure(fig_dict)
        markup = pio.to_html(
            fig_dict,
            config=self.config,
            include_plotlyjs=False,
            include_mathjax=False,
            full_html=False,
            default_width="100%",
            default_height=self.height,
            validate=False,
        )
        figure = json.loads(pio.to_json(fig_dict, validate=False, remove_uids=False))
        figure["config"] = dict(self.config)
        return {"text/html": markup, PLOTLY_MIMETYPE: figure}


def setup_plotly(name: str = RENDERER_NAME) -> IncidentRenderer:
    """Register the offline renderer under ``name`` and make it plotly's default.

    Safe to call more than once (a notebook's ``setup()`` calls it on every run).

    Returns
    -------
    IncidentRenderer
        The renderer now in use.
    """
    renderer = IncidentRenderer()
    pio.renderers[name] = renderer
    pio.renderers.default = name
    log.debug("plotly renderer %r selected", name)
    return renderer


# -- figure builders ---------------------------------------------------------------------------
def epoch_ms(values: pd.Series | Sequence[Any] | Any) -> pd.Series | float:
    """Tz-aware times as float64 milliseconds since the epoch (plotly reads them on a date axis).

    Parameters
    ----------
    values
        A Series or sequence of tz-aware datetimes, or one tz-aware datetime.

    Raises
    ------
    BadInputError
        If a time is naive: an incident timeline must not depend on the reader's zone.
    """
    if isinstance(values, datetime | pd.Timestamp | str):
        ts = pd.Timestamp(values)
        if ts.tzinfo is None:
            raise BadInputError(f"time must be timezone-aware (got naive {values!r})")
        return (ts - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(milliseconds=1)
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        if series.empty:
            return series.astype("float64")
        raise BadInputError(f"times must be timezone-aware datetimes (got dtype {series.dtype})")
    delta = series.dt.tz_convert("UTC") - pd.Timestamp(0, tz="UTC")
    return (delta / pd.Timedelta(milliseconds=1)).astype("float64")


def _text(value: Any) -> str:
    """A label from the incident as plotly text: secrets masked, markup escaped, cut short."""
    return plot_text(mask_secrets(str(value)), limit=MAX_LABEL)


def sanitize_figure(figure: Any) -> Any:
    """A copy of a figure dict (or any JSON-like part of one) with every string escaped for
    plotly's pseudo-HTML (:func:`~incident_lib.escape.plot_text`) and its secrets masked.

    Colours, enumerated values and numbers have no ``<``, ``>`` or ``&`` and come back the
    same; ``hovertemplate`` and ``texttemplate`` (code, with ``%{...}`` and ``<br>``) are kept.
    Applying it twice gives the same figure as once.

    >>> sanitize_figure({"data": [{"name": "<a href='javascript:x'>y</a>"}]})
    {'data': [{'name': "&lt;a href='javascript:x'&gt;y&lt;/a&gt;"}]}
    """
    if isinstance(figure, str):
        return plot_text(mask_secrets(figure))
    if isinstance(figure, dict):
        return {
            key: value
            if isinstance(key, str) and key.endswith(_CODE_KEYS)
            else sanitize_figure(value)
            for key, value in figure.items()
        }
    if isinstance(figure, list | tuple):
        return [sanitize_figure(v) for v in figure]
    if hasattr(figure, "dtype") and getattr(figure.dtype, "kind", "") in "OUS":
        return [sanitize_figure(v) for v in figure.tolist()]  # numpy arrays of strings
    return figure


def _base_layout(fig: go.Figure, *, title: str, yaxis_title: str | None) -> None:
    fig.update_layout(
        title={"text": _text(title), "x": 0, "xanchor": "left"},
        template="plotly_white",
        height=_HEIGHT,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        hovermode="x unified",
        xaxis={"type": "date", "title": {"text": "UTC"}},
        yaxis={"title": {"text": _text(yaxis_title) if yaxis_title else ""}, "rangemode": "tozero"},
    )


def _check_columns(frame: pd.DataFrame, needed: Iterable[str]) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise BadInputError(
            f"frame lacks column(s) {', '.join(missing)}; has {', '.join(map(str, frame.columns))}"
        )


def timeseries(
    frame: pd.DataFrame,
    *,
    title: str,
    threshold: float | None = None,
    shade: Iterable[tuple[Any, Any]] = (),
    markers: Iterable[tuple[Any, str]] = (),
    yaxis_title: str | None = None,
    threshold_label: str | None = None,
) -> go.Figure:
    """One line per label from a long metric frame, with the alarm's context drawn in.

    Parameters
    ----------
    frame
        Long frame ``id, label, timestamp, value`` (as metric sources return), tz-aware UTC.
    title
        Figure title.
    threshold
        The alarm threshold, drawn as a dashed horizontal line.
    shade
        ``[(start, end)]`` periods to shade, typically when the alarm was in ALARM.
    markers
        ``[(time, label)]`` labelled vertical lines, typically deployments and config changes.
    yaxis_title
        Title of the value axis (unit).
    threshold_label
        The threshold line's text (default ``threshold <value>``).

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> fig = timeseries(frame, title="5XX", threshold=10,
    ...                  markers=[(t, "deploy v42")])  # doctest: +SKIP
    """
    _check_columns(frame, ("label", "timestamp", "value"))
    fig = go.Figure()
    data = frame.sort_values("timestamp", kind="stable")
    for label, group in data.groupby("label", sort=False, dropna=False):
        fig.add_trace(
            go.Scatter(
                x=epoch_ms(group["timestamp"]).to_numpy(),
                y=group["value"].astype("float64").to_numpy(),
                mode="lines",
                name=_text(label),
                line={"width": 1.8},
            )
        )
    _base_layout(fig, title=title, yaxis_title=yaxis_title)
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for start, end in shade:
        shapes.append(
            {
                "type": "rect", "xref": "x", "yref": "paper",
                "x0": epoch_ms(start), "x1": epoch_ms(end), "y0": 0, "y1": 1,
                "fillcolor": _ALARM_SHADE, "line": {"width": 0}, "layer": "below",
            }
        )  # fmt: skip
    for when, label in markers:
        x = epoch_ms(when)
        shapes.append(
            {
                "type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
                "line": {"color": _MARKER_COLOUR, "width": 1.5, "dash": "dot"},
            }
        )  # fmt: skip
        annotations.append(
            {
                "x": x, "xref": "x", "y": 1, "yref": "paper", "text": _text(label),
                "showarrow": False, "xanchor": "left", "yanchor": "top", "textangle": -90,
                "font": {"size": 11, "color": _MARKER_COLOUR},
            }
        )  # fmt: skip
    if threshold is not None:
        shapes.append(
            {
                "type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1,
                "y0": float(threshold), "y1": float(threshold),
                "line": {"color": _THRESHOLD_COLOUR, "width": 1.2, "dash": "dash"},
            }
        )  # fmt: skip
        annotations.append(
            {
                "x": 1, "xref": "paper", "y": float(threshold), "yref": "y",
                "text": threshold_label or f"threshold {threshold:g}", "showarrow": False,
                "xanchor": "right", "yanchor": "bottom",
                "font": {"size": 11, "color": _THRESHOLD_COLOUR},
            }
        )  # fmt: skip
    fig.update_layout(shapes=shapes, annotations=annotations)
    return fig


def bar_by_time(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    color: str | None = None,
    title: str,
) -> go.Figure:
    """Stacked bars over time (counts per bin, one colour per group).

    Parameters
    ----------
    frame
        Wide frame with a tz-aware time column ``x`` and a numeric column ``y``.
    x, y
        Column names of the bin start time and of the value.
    color
        Optional column whose values make one stacked bar series each (error signature, status).
    title
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    _check_columns(frame, [c for c in (x, y, color) if c])
    fig = go.Figure()
    data = frame.sort_values(x, kind="stable")
    groups = data.groupby(color, sort=False, dropna=False) if color else [(y, data)]
    for name, group in groups:
        fig.add_trace(
            go.Bar(
                x=epoch_ms(group[x]).to_numpy(),
                y=group[y].astype("float64").to_numpy(),
                name=_text(name),
            )
        )
    _base_layout(fig, title=title, yaxis_title=y)
    fig.update_layout(barmode="stack", bargap=0.05, showlegend=bool(color))
    return fig
