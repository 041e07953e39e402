"""Widget views become plain outputs of their saved state (incident_lib.widgets_static), and
the report page made from them carries no widget script and no incident markup."""

from __future__ import annotations

import re

import nbformat

from incident_lib.plotting import PLOTLY_MIMETYPE
from incident_lib.report import export_html
from incident_lib.widgets_static import STATE_MIMETYPE, VIEW_MIMETYPE, snapshot_widgets

HOSTILE = "<img src=x onerror=alert(1)>"


def _model(name: str, **state) -> dict:
    return {"model_name": name, "model_module": "@jupyter-widgets/controls", "state": state}


def _notebook() -> nbformat.NotebookNode:
    state = {
        "box": _model("VBoxModel", children=["IPY_MODEL_dd", "IPY_MODEL_row", "IPY_MODEL_out"]),
        "row": _model("HBoxModel", children=["IPY_MODEL_range", "IPY_MODEL_text", "IPY_MODEL_b"]),
        "dd": _model(
            "DropdownModel",
            description="Metric",
            _options_labels=["Errors", "Invocations"],
            index=1,
        ),
        "range": _model(
            "SelectionRangeSliderModel",
            description="Range",
            _options_labels=["13:00", "13:01", "13:02"],
            index=[0, 2],
        ),
        "text": _model(
            "TextareaModel", description="Query", value=f"{HOSTILE} AKIAIOSFODNN7EXAMPLE"
        ),
        "b": _model("ButtonModel", description="Run query"),
        "out": _model(
            "OutputModel",
            outputs=[
                {"output_type": "stream", "name": "stdout", "text": "3 rows\n"},
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {
                        PLOTLY_MIMETYPE: {
                            "data": [{"type": "bar", "y": [1, 2]}],
                            "layout": {"title": {"text": "bars"}},
                        }
                    },
                },
            ],
        ),
        "html": _model("HTMLModel", value=f"<b>pinned</b>{HOSTILE}<script>alert(2)</script>"),
    }
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {
        STATE_MIMETYPE: {"version_major": 2, "version_minor": 0, "state": state}
    }
    view = {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            VIEW_MIMETYPE: {"model_id": "box", "version_major": 2, "version_minor": 0},
            "text/plain": "VBox(...)",
        },
    }
    other = {
        "output_type": "display_data",
        "metadata": {},
        "data": {VIEW_MIMETYPE: {"model_id": "html"}, "text/plain": "HTML()"},
    }
    gone = {
        "output_type": "display_data",
        "metadata": {},
        "data": {VIEW_MIMETYPE: {"model_id": "missing"}, "text/plain": "Dropdown(gone)"},
    }
    nb.cells = [
        nbformat.v4.new_code_cell(
            "ui", outputs=[nbformat.from_dict(o) for o in (view, other, gone)]
        )
    ]
    return nb


def test_views_become_outputs_of_their_last_state() -> None:
    nb = _notebook()
    assert snapshot_widgets(nb) == 2
    assert "widgets" not in nb.metadata
    outputs = nb.cells[0].outputs
    kinds = [list(o.get("data", {})) if "data" in o else o.output_type for o in outputs]
    # controls, then the Output widget's own outputs (stream, figure), then the HTML widget,
    # then the view without state: its text only
    assert kinds[1] == "stream" and PLOTLY_MIMETYPE in kinds[2]
    first = outputs[0].data["text/html"]
    assert "<code>Invocations</code>" in first and "<code>13:00 – 13:02</code>" in first
    assert "&lt;img" in first and "AKIAIOSFODNN7EXAMPLE" not in first
    assert outputs[-1].data == {"text/plain": "Dropdown(gone)"}


def test_the_report_of_a_widget_notebook_runs_nothing_from_it() -> None:
    page = export_html(_notebook())
    body = page.split("<body", 1)[1]
    assert VIEW_MIMETYPE not in page and STATE_MIMETYPE not in page
    assert "<script>alert" not in body
    assert not re.search(r"<[^>]*(onerror|src=)", body)  # escaped text, or an inert <img>
    assert "<b>pinned</b>" in body  # the HTML widget's harmless markup stays
    assert "Invocations" in body and "3 rows" in body
    assert 'data-plot="ir-plot-' in body  # the Output widget's figure, drawn by the page
