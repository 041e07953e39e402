"""The catalogue's measures table across xdist workers: each process that investigated
scenarios writes its rows (``tests/catalog/conftest.py``); the controlling process prints the
table and keeps it in ``test-artifacts/catalog-measures.md`` (``tests/conftest.py``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def measures_folder(config: pytest.Config) -> Path:
    """This run's folder for the rows: in its base temporary folder, which the xdist workers'
    own folders sit in, so a stale run's rows are never read."""
    base = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    return base / "catalog-measures"


def measures_table(config: pytest.Config) -> str | None:
    """The table of every scenario investigated in this run, or None when none was."""
    folder = measures_folder(config)
    rows = [r for f in sorted(folder.glob("*.json")) for r in json.loads(f.read_text("utf-8"))]
    if not rows:
        return None
    lines = [
        "| alert type | scenario | culprit in truth | onset | culprit | cause | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (r["alert_type"], r["scenario"])):
        lines.append(
            f"| `{r['alert_type']}` | `{r['scenario']}` | {r['culprit']} | {r['onset_ok']} | "
            f"{r['culprit_ok']} | {r['cause_ok']} | {r['seconds']:.1f} |"
        )
    return "\n".join(lines) + "\n"
