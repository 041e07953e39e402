"""The catalogue's scenarios, each built once per session and investigated once through
``incident investigate`` (the CLI, papermill), with the seconds it took."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from incident_lib.cli import main
from incident_lib.demo import alarm_event
from incident_lib.findings import FindingsDoc
from incident_lib.scenarios import build_store
from incident_lib.store import Store


@dataclass
class Investigated:
    """One scenario investigated: its store, the CLI's exit code, the findings, the time."""

    store: Store
    exit_code: int
    folder: Path
    findings: FindingsDoc
    seconds: float

    @property
    def truth(self) -> dict[str, Any]:
        return self.store.ground_truth

    def text(self) -> str:
        """Everything the findings say (summary, titles, details)."""
        parts = [self.findings.summary]
        for f in self.findings.findings:
            parts += [f.title, f.detail]
        return "\n".join(parts)


@pytest.fixture(scope="session")
def catalog_stores(tmp_path_factory: pytest.TempPathFactory):
    """``get(name)``: the scenario's store, built once per session."""
    root = tmp_path_factory.mktemp("catalog-stores")
    cache: dict[str, Store] = {}

    def get(name: str) -> Store:
        if name not in cache:
            cache[name] = build_store(name, root / name)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def investigated(catalog_stores, tmp_path_factory: pytest.TempPathFactory):
    """``get(name)``: the scenario's alarm event investigated with ``incident investigate
    EVENT --source STORE``, once per session."""
    cache: dict[str, Investigated] = {}

    def get(name: str) -> Investigated:
        if name not in cache:
            store = catalog_stores(name)
            out = tmp_path_factory.mktemp(f"reports-{name}")
            event = out / "alarm-event.json"
            event.write_text(json.dumps(alarm_event(store)), encoding="utf-8")
            t0 = time.perf_counter()
            code = main(
                [
                    "investigate",
                    str(event),
                    "--source",
                    str(store.path),
                    "--out",
                    str(out),
                    "--quiet",
                ]
            )
            seconds = time.perf_counter() - t0
            (folder,) = [p for p in out.iterdir() if p.is_dir()]
            doc = FindingsDoc.model_validate_json((folder / "findings.json").read_text("utf-8"))
            cache[name] = Investigated(store, code, folder, doc, seconds)
        return cache[name]

    return get
