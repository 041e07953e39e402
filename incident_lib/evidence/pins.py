"""Pinned evidence: a chart or table the secondary on-call kept from ``explore.ipynb``, with a
note, added to the incident's evidence pack and cited by the RCA draft as ``pin:<n>``.

A pin is written as::

    pack/pins/pin-<n>.json           what was pinned: the note, the query as sent, its window,
                                     rows, source, when; and the names of the files below
    pack/pins/pin-<n>.parquet        the table (or the chart's data), masked
    pack/pins/pin-<n>.plotly.json    the chart (a plotly figure, for a chart pin)

then ``rca.md``'s "Pinned evidence" section is rewritten in place (the rest of the draft, hand
edits included, is kept as it is), and only those files are re-hashed in
``pack/manifest.json`` (:func:`~incident_lib.evidence.manifest.update_files`), so
``incident verify`` still passes. :func:`unpin` takes a pin back the same way: its files are
deleted, the section rewritten (byte for byte what it was before the pin when it was the only
one), the manifest entries dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from incident_lib.errors import BadInputError
from incident_lib.redact import mask_frame, mask_json, mask_secrets
from incident_lib.timeutil import format_iso, utc_now

__all__ = [
    "PINS_DIR",
    "Pin",
    "add_pin",
    "pins_section",
    "read_pins",
    "splice_section",
    "unpin",
]

PINS_DIR = "pack/pins"
#: Rows of a pinned table kept in the pack (the query's own limit usually comes first).
MAX_PIN_ROWS = 10_000
#: Characters of a note.
MAX_NOTE = 500
SECTION_HEADING = "## Pinned evidence"
_NAME = re.compile(r"^pin-(\d+)\.json$")


@dataclass
class Pin:
    """One pinned chart or table (``pack/pins/pin-<n>.json``)."""

    n: int
    kind: str  # "table" | "chart"
    note: str
    created: str
    query: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    files: list[str] = field(default_factory=list)  # relative to the incident folder

    @property
    def ref(self) -> str:
        return f"pin:{self.n}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.ref,
            "n": self.n,
            "kind": self.kind,
            "note": self.note,
            "created": self.created,
            "source": self.source,
            "query": self.query,
            "files": self.files,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Pin:
        return cls(
            n=int(data["n"]),
            kind=str(data.get("kind", "table")),
            note=str(data.get("note", "")),
            created=str(data.get("created", "")),
            query=dict(data.get("query") or {}),
            source=str(data.get("source", "")),
            files=[str(f) for f in data.get("files") or []],
        )


def read_pins(incident_dir: Path) -> list[Pin]:
    """The pins of an incident, in the order they were made."""
    folder = Path(incident_dir) / PINS_DIR
    pins = []
    if folder.is_dir():
        for path in folder.iterdir():
            if _NAME.match(path.name):
                try:
                    pins.append(Pin.from_json(json.loads(path.read_text(encoding="utf-8"))))
                except (OSError, ValueError, KeyError) as exc:
                    raise BadInputError(f"cannot read {path}: {exc}") from None
    return sorted(pins, key=lambda p: p.n)


def _describe(pin: Pin) -> str:
    q = pin.query
    what = {"table": "table", "chart": "chart"}.get(pin.kind, pin.kind)
    rows = q.get("rows")
    parts = [f"{what} of {rows} rows" if rows is not None else what]
    if q.get("operation"):
        parts.append(f"from {q['operation']}")
    if q.get("target"):
        parts.append(f"on {q['target']}")
    if q.get("start") and q.get("end"):
        parts.append(f"{q['start']} to {q['end']}")
    return " ".join(parts)


def pin_facts(pins: list[Pin]) -> list[dict[str, Any]]:
    """What ``templates/rca_pins.md.j2`` prints for each pin."""
    from incident_lib.evidence.rca import Md, cite

    return [
        {
            "note": p.note or "(no note)",
            "what": _describe(p),
            "query": " ".join(str(p.query.get("text", "")).split())[:200],
            "files": Md(", ".join(f"`{f}`" for f in p.files)),
            "cite": cite([p.ref]),
        }
        for p in pins
    ]


def pins_section(pins: list[Pin]) -> str:
    """The draft's "Pinned evidence" section (empty when nothing is pinned)."""
    if not pins:
        return ""
    from incident_lib.evidence.rca import _environment

    return _environment().get_template("rca_pins.md.j2").render(pins=pin_facts(pins))


def splice_section(text: str, section: str) -> str:
    """``text`` (an RCA draft) with its "Pinned evidence" section replaced by ``section``:
    inserted before "## Action items" (else at the end) when there is none, removed when
    ``section`` is empty."""
    start = text.find(f"\n{SECTION_HEADING}\n")
    if start >= 0:
        nxt = text.find("\n## ", start + 1)
        end = nxt + 1 if nxt >= 0 else len(text)
        return text[: start + 1] + section + text[end:]
    if not section:
        return text
    anchor = text.find("\n## Action items\n")
    if anchor < 0:
        return text.rstrip("\n") + "\n\n" + section
    return text[: anchor + 1] + section + text[anchor + 1 :]


def _rewrite_rca(incident_dir: Path) -> list[str]:
    from incident_lib.evidence.rca import RCA_FILE

    path = Path(incident_dir) / RCA_FILE
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    new = splice_section(text, pins_section(read_pins(incident_dir)))
    if new != text:
        tmp = path.with_name(f".{RCA_FILE}.tmp")
        tmp.write_text(new, encoding="utf-8")
        tmp.replace(path)
    return [RCA_FILE]


def _check_incident(incident_dir: Path) -> Path:
    from incident_lib.evidence.manifest import MANIFEST

    root = Path(incident_dir)
    if not (root / MANIFEST).is_file():
        raise BadInputError(
            f"{root} has no {MANIFEST}: pins go into an incident's evidence pack "
            "(open an incident folder: incident lab INCIDENT_DIR)"
        )
    return root


def add_pin(
    incident_dir: Path,
    *,
    kind: str,
    note: str,
    query: Mapping[str, Any],
    table: pd.DataFrame | None = None,
    figure: Any = None,
    source: str = "",
) -> Pin:
    """Record a pin in the pack, cite it in ``rca.md``, re-hash both in the manifest."""
    from incident_lib.evidence.manifest import update_files

    root = _check_incident(incident_dir)
    if kind not in ("table", "chart"):
        raise BadInputError(f"a pin is a 'table' or a 'chart', not {kind!r}")
    if kind == "chart" and figure is None:
        raise BadInputError("nothing to pin: there is no chart yet")
    if table is None or (kind == "table" and table.empty):
        raise BadInputError("nothing to pin: the result has no rows")
    folder = root / PINS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    n = max((p.n for p in read_pins(root)), default=0) + 1
    files = []
    data_name = f"{PINS_DIR}/pin-{n}.parquet"
    _frame_for_parquet(mask_frame(table.head(MAX_PIN_ROWS))).to_parquet(root / data_name)
    files.append(data_name)
    if figure is not None and kind == "chart":
        from incident_lib.plotting import sanitize_figure

        fig_name = f"{PINS_DIR}/pin-{n}.plotly.json"
        fig = figure.to_plotly_json() if hasattr(figure, "to_plotly_json") else dict(figure)
        text = json.dumps(mask_json(sanitize_figure(fig)), default=str)
        (root / fig_name).write_text(text + "\n", encoding="utf-8")
        files.append(fig_name)
    pin = Pin(
        n=n,
        kind=kind,
        note=mask_secrets(" ".join(str(note).split()))[:MAX_NOTE],
        created=format_iso(utc_now()),
        query=mask_json(dict(query)),
        source=mask_secrets(source),
        files=files,
    )
    meta_name = f"{PINS_DIR}/pin-{n}.json"
    (root / meta_name).write_text(
        json.dumps(pin.to_json(), indent=2, default=str) + "\n", encoding="utf-8"
    )
    changed = [meta_name, *files, *_rewrite_rca(root)]
    update_files(root, changed, note=f"{pin.ref} added by explore")
    return pin


def unpin(incident_dir: Path, n: int | None = None) -> Pin:
    """Take pin ``n`` (default: the last one) back out of the pack, the draft and the
    manifest."""
    from incident_lib.evidence.manifest import update_files

    root = _check_incident(incident_dir)
    pins = read_pins(root)
    if not pins:
        raise BadInputError("nothing to undo: no pins")
    pin = pins[-1] if n is None else next((p for p in pins if p.n == n), None)
    if pin is None:
        raise BadInputError(f"no pin:{n} (pins: {', '.join(p.ref for p in pins)})")
    names = [f"{PINS_DIR}/pin-{pin.n}.json", *pin.files]
    for name in names:
        (root / name).unlink(missing_ok=True)
    folder = root / PINS_DIR
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
    update_files(root, [*names, *_rewrite_rca(root)], note=f"{pin.ref} removed by explore")
    return pin


def _frame_for_parquet(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns Parquet can hold: names as text, nested values (dicts, lists) as JSON text."""
    out = frame.copy()
    out.columns = [str(c) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object:
            sample = out[col].dropna().head(20)
            if any(isinstance(v, dict | list | tuple) for v in sample):
                out[col] = out[col].map(
                    lambda v: json.dumps(v, default=str) if isinstance(v, dict | list) else v
                )
    return out.reset_index(drop=True)
