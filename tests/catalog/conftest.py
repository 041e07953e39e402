"""The catalogue's scenarios, each built once per session and investigated once through
``incident investigate`` (the CLI, papermill), with the seconds it took."""

from __future__ import annotations

import json
import os
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
from tests.measures import measures_folder


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


#: Every scenario investigated in this session, for the measures table.
RUNS: dict[str, Investigated] = {}


def _verdicts(run: Investigated) -> tuple[str, str, str]:
    """(onset, culprit, cause) right or wrong against the ground truth, as the tests judge."""
    import pandas as pd

    truth = run.truth
    onsets = [f for f in run.findings.findings if f.kind == "onset"]
    onset_ok = bool(onsets) and abs(
        pd.Timestamp(onsets[0].time) - pd.Timestamp(truth["onset"])
    ) <= pd.Timedelta(minutes=2)
    kinds = {f.kind: f for f in run.findings.findings}
    if truth["culprit_event_id"] is None:
        culprit_ok = "culprit_change" not in kinds and "no_related_change" in kinds
    else:
        culprit_ok = (
            kinds.get("culprit_change") is not None
            and kinds["culprit_change"].data.get("event_id") == truth["culprit_event_id"]
        )
    cause_ok = all(p in run.text() for p in truth["must_say"])
    return tuple("right" if ok else "WRONG" for ok in (onset_ok, culprit_ok, cause_ok))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """This process's rows of the measures table, for ``tests/conftest.py`` to print: one
    JSON file per xdist worker in the run's base temporary folder."""
    if not RUNS:
        return
    from incident_lib.scenarios import SCENARIOS

    rows = []
    for name, run in RUNS.items():
        onset, culprit, cause = _verdicts(run)
        rows.append(
            {
                "alert_type": SCENARIOS[name].alert_type,
                "scenario": name,
                "culprit": "yes" if run.truth["culprit_event_id"] else "none",
                "onset_ok": onset,
                "culprit_ok": culprit,
                "cause_ok": cause,
                "seconds": round(run.seconds, 1),
            }
        )
    folder = measures_folder(session.config)
    folder.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (folder / f"{worker}.json").write_text(json.dumps(rows), encoding="utf-8")


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
            cache[name] = RUNS[name] = Investigated(store, code, folder, doc, seconds)
        return cache[name]

    return get
