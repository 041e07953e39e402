"""Widgets in the static report: each ipywidgets view an executed notebook shows becomes plain
outputs of its last saved state, with no widget JavaScript.

The report allows only its own three scripts (a CSP with their hashes, no request of any kind),
so the html-manager bundle (1.9 MB, fetched from npm, another script to hash) is not an
option worth its weight; and a view's state is small enough to say in HTML: a control becomes
its label and value, an HTML widget its (sanitised) HTML, and an ``Output`` widget gives back
the outputs it captured, as ordinary outputs: a plotly figure is then drawn by the report's
own draw script, a table cleaned like any other. A plotly ``FigureWidget`` becomes its figure.

The state comes from ``metadata.widgets`` ("application/vnd.jupyter.widget-state+json"),
which nbclient (papermill) stores when a notebook ran, and JupyterLab with ``saveState``
(``incident lab`` turns it on). A view whose model is not in the state keeps its text.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

from nbformat import NotebookNode, from_dict

from incident_lib.plotting import PLOTLY_MIMETYPE
from incident_lib.redact import mask_json, mask_secrets

__all__ = ["STATE_MIMETYPE", "VIEW_MIMETYPE", "snapshot_widgets"]

STATE_MIMETYPE = "application/vnd.jupyter.widget-state+json"
VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
_MAX_DEPTH = 30  # boxes in boxes: a cycle in a hand-made state cannot recurse for ever


def _e(value: Any) -> str:
    return html.escape(mask_secrets("" if value is None else str(value)))


def _labels(state: dict[str, Any]) -> list[str]:
    return [str(x) for x in state.get("_options_labels") or []]


def _pick(labels: list[str], index: Any) -> str:
    if isinstance(index, int) and 0 <= index < len(labels):
        return labels[index]
    return ""


class _Snapshot:
    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def model(self, ref: str) -> dict[str, Any]:
        key = ref[len("IPY_MODEL_") :] if ref.startswith("IPY_MODEL_") else ref
        return self.state.get(key) or {}

    def pieces(self, ref: str, depth: int = 0) -> Iterator[tuple[str, Any]]:
        """``("html", fragment)`` and ``("output", output)`` pieces of one widget."""
        m = self.model(ref)
        name = str(m.get("model_name", ""))
        s = m.get("state") or {}
        if depth > _MAX_DEPTH:
            return
        label = _e(s.get("description"))
        if "children" in s and isinstance(s["children"], list):
            row = name.startswith(("HBox", "GridBox"))
            yield "html", f'<div class="ir-widget-{"row" if row else "box"}">'
            for child in s["children"]:
                yield from self.pieces(str(child), depth + 1)
            yield "html", "</div>"
            return
        if name == "OutputModel":
            for out in s.get("outputs") or []:
                if isinstance(out, dict):
                    yield "output", mask_json(out)
            return
        value = self._value(name, s)
        if value is not None:
            text = f'<span class="ir-widget-label">{label}</span> ' if label else ""
            yield "html", f'<div class="ir-widget ir-widget-control">{text}{value}</div>'
            return
        if name in ("HTMLModel", "HTMLMathModel"):
            # sanitised with every other output by the report (clean_output_html)
            body = mask_secrets(str(s.get("value", "")))
            yield "html", f'<div class="ir-widget ir-widget-html">{body}</div>'
            return
        figure = self._figure(s)
        if figure is not None:
            yield (
                "output",
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {PLOTLY_MIMETYPE: mask_json(figure), "text/plain": "Figure"},
                },
            )
            return
        yield "html", f'<div class="ir-widget ir-widget-unknown">[{_e(name or "widget")}]</div>'

    @staticmethod
    def _value(name: str, s: dict[str, Any]) -> str | None:
        """A control's value as escaped HTML, or None for what is not a control."""
        labels = _labels(s)
        if name == "SelectionRangeSliderModel":
            a, b = [*(s.get("index") or []), None, None][:2]
            return f"<code>{_e(_pick(labels, a))} – {_e(_pick(labels, b))}</code>"
        if name.endswith("RangeSliderModel"):
            a, b = [*(s.get("value") or []), None, None][:2]
            return f"<code>{_e(a)} – {_e(b)}</code>"
        if name in (
            "DropdownModel",
            "SelectModel",
            "RadioButtonsModel",
            "ToggleButtonsModel",
            "SelectionSliderModel",
        ):
            return f"<code>{_e(_pick(labels, s.get('index')))}</code>"
        if name == "SelectMultipleModel":
            picked = [_pick(labels, i) for i in s.get("index") or []]
            return f"<code>{_e(', '.join(p for p in picked if p))}</code>"
        numbers = ("IntTextModel", "FloatTextModel", "BoundedIntTextModel", "BoundedFloatTextModel")
        if name.endswith("SliderModel") or name in numbers:
            return f"<code>{_e(s.get('value'))}</code>"
        if name in ("TextModel", "PasswordModel", "ComboboxModel"):
            value = "••••" if name == "PasswordModel" else s.get("value")
            return f"<code>{_e(value)}</code>"
        if name == "TextareaModel":
            return f"<pre>{_e(s.get('value'))}</pre>"
        if name in ("CheckboxModel", "ToggleButtonModel", "ValidModel"):
            return "<code>yes</code>" if s.get("value") else "<code>no</code>"
        if name == "ButtonModel":
            return ""  # the label is the button
        if name == "LabelModel":
            return _e(s.get("value"))
        if name.endswith("ProgressModel"):
            return f"<code>{_e(s.get('value'))} of {_e(s.get('max'))}</code>"
        return None

    @staticmethod
    def _figure(s: dict[str, Any]) -> dict[str, Any] | None:
        for data_key, layout_key in (("_widget_data", "_widget_layout"), ("_data", "_layout")):
            if isinstance(s.get(data_key), list):
                return {"data": s[data_key], "layout": s.get(layout_key) or {}}
        return None


def _outputs_of(snap: _Snapshot, ref: str) -> list[NotebookNode]:
    out: list[NotebookNode] = []
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            body = "".join(buffer)
            out.append(
                from_dict(
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {
                            "text/html": f'<div class="ir-widgets">{body}</div>',
                            "text/plain": "widgets",
                        },
                    }
                )
            )
            buffer.clear()

    for kind, piece in snap.pieces(ref):
        if kind == "html":
            buffer.append(piece)
        else:
            flush()
            out.append(from_dict(piece))
    flush()
    return out


def snapshot_widgets(nb: NotebookNode) -> int:
    """Replace every widget view of ``nb`` (in place) by outputs of its saved state and drop
    the state. Returns how many views were replaced."""
    widgets = nb.metadata.get("widgets") or {}
    state = ((widgets.get(STATE_MIMETYPE) or {}).get("state")) or {}
    snap = _Snapshot(state)
    replaced = 0
    for cell in nb.cells:
        outputs = cell.get("outputs")
        if not outputs:
            continue
        new: list[NotebookNode] = []
        for output in outputs:
            view = (output.get("data") or {}).get(VIEW_MIMETYPE)
            if not isinstance(view, dict):
                new.append(output)
                continue
            ref = str(view.get("model_id", ""))
            if ref in state:
                new.extend(_outputs_of(snap, ref))
                replaced += 1
            else:  # no saved state: its text (what the model printed) is all there is
                output["data"] = {k: v for k, v in output["data"].items() if k != VIEW_MIMETYPE}
                new.append(output)
        cell["outputs"] = new
    nb.metadata.pop("widgets", None)
    return replaced
