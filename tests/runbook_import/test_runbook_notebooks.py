"""Every notebook imported from the seed runbooks runs on the demo store through ``incident
investigate EVENT --source STORE --notebook PATH`` (the lambda_errors scenario's alarm), with
exit 0 or 3: each converted step ran as its own section and none failed except the
FilterLogEvents steps (the store's filter patterns are another piece of work), and the
findings were recorded. One test per notebook, so ``-n 2`` spreads them; one store for all."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from incident_lib.cli import main
from incident_lib.demo import alarm_event, demo_store
from incident_lib.runbook_import import import_runbook, plan, read_runbook
from incident_lib.runbook_import.build import NotebookPlan
from incident_lib.runbook_import.convert import CONVERTED

pytestmark = pytest.mark.notebooks

RUNBOOKS = Path(__file__).resolve().parents[1] / "fixtures" / "runbooks"
SEEDS = sorted(RUNBOOKS.glob("*.txt"))


def _notebooks() -> list:
    cases = []
    for seed in SEEDS:
        plans, _ = plan(read_runbook(seed), seed.name)
        cases += [pytest.param(seed.name, p.slug, id=f"{seed.stem[:3]}-{p.slug}") for p in plans]
    return cases


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> tuple[Path, Path]:
    """The demo store (built once, shared by the xdist workers of this run) and its alarm."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    store = demo_store(root=root / "runbook-import-stores")
    event = tmp_path_factory.mktemp("event") / "event.json"
    event.write_text(json.dumps(alarm_event(store, "eventbridge")))
    return store.path, event


@pytest.fixture(scope="session")
def imported(tmp_path_factory) -> dict[tuple[str, str], tuple[Path, NotebookPlan]]:
    out = tmp_path_factory.mktemp("imported")
    found = {}
    for seed in SEEDS:
        result = import_runbook(seed, out / seed.stem)
        for nb in result.notebooks:
            found[(seed.name, nb.plan.slug)] = (nb.path, nb.plan)
    return found


def investigate(demo, notebook: Path, out: Path) -> tuple[int, dict, str]:
    store, event = demo
    code = main(
        [
            "investigate",
            str(event),
            "--source",
            str(store),
            "--notebook",
            str(notebook),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    folders = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    doc = json.loads((folders[0] / "findings.json").read_text()) if folders else {}
    return code, doc, (folders[0] / "notebook.ipynb").read_text() if folders else ""


@pytest.mark.parametrize(("seed", "slug"), _notebooks())
def test_each_imported_notebook_runs_on_the_demo_store(
    seed, slug, demo, imported, tmp_path, capsys
):
    path, nb_plan = imported[(seed, slug)]
    code, doc, _ = investigate(demo, path, tmp_path)
    assert code in (0, 3), capsys.readouterr().err
    steps = [s for s in nb_plan.steps if s.kind == CONVERTED]
    expected = [s.title for s in steps]
    if not nb_plan.ctx.changes:
        expected.append("What changed")
    expected.append("Findings")
    assert [s["name"] for s in doc["sections"]] == expected
    verbs = {s.title: s.verb for s in steps}
    for section in doc["sections"]:
        if section["status"] == "failed":
            # Only a filter-pattern step may fail, until the store answers FilterLogEvents.
            assert verbs.get(section["name"]) == "filter_logs", section
    assert doc["sections"][-1]["status"] == "ok"
    assert code == (3 if any(s["status"] in ("failed", "partial") for s in doc["sections"]) else 0)


def test_the_runbook_s_function_is_the_alarm_s_and_its_metrics_have_data(demo, imported, tmp_path):
    path, _ = imported[("000_2715c34462859fad.txt", "high-latency")]
    code, doc, _ = investigate(demo, path, tmp_path)
    assert code == 0
    (query,) = [
        q
        for q in doc["queries"]
        if q["section"] == "Check Lambda performance" and q["operation"] == "GetMetricData"
    ]
    dims = {
        d["Name"]: d["Value"]
        for d in query["request"]["queries"][0]["MetricStat"]["Metric"]["Dimensions"]
    }
    assert dims == {"FunctionName": "checkout-api"}  # the alarm's, not the runbook's literal
    assert query["rows"] > 0
    sections = {s["name"]: s["status"] for s in doc["sections"]}
    assert sections["Check Lambda performance"] == "ok"
    # The table the runbook names is not in the demo: no data is an answer, not a failure.
    assert sections["Check DynamoDB latency"] == "empty"
    assert {f["kind"] for f in doc["findings"]} >= {"culprit_change"}
