"""Each catalogue notebook on its scenarios, through ``incident investigate``: the findings
against the ground truth (onset within 2 minutes, the culprit change or "No related change
found", the cause named), every section answering, and the alert type the catalogue picks."""

from __future__ import annotations

import pandas as pd
import pytest

from incident_lib.scenarios import SCENARIOS

pytestmark = pytest.mark.notebooks

#: Every registered scenario of a catalogue alert type (lambda_errors has its own tests:
#: tests/scenarios and tests/test_investigation_demo.py), whichever module declares it.
NAMES = sorted(name for name, s in SCENARIOS.items() if s.alert_type != "lambda_errors")


@pytest.fixture(params=NAMES)
def run(request, investigated):
    return investigated(request.param)


def test_every_section_answers_and_the_catalogue_picks_the_scenarios_type(run):
    statuses = {s.name: s.status for s in run.findings.sections}
    assert all(v in ("ok", "empty") for v in statuses.values()), statuses
    assert statuses.get("Findings") == "ok"
    assert run.exit_code == 0
    alarm = (run.folder / "alarm.json").read_text("utf-8")
    assert run.truth["alarm_name"] in alarm
    alert_type = SCENARIOS[run.store.descriptor.scenario["name"]].alert_type
    notebook = (run.folder / "notebook.ipynb").read_text("utf-8")
    assert f'alert_type = \\"{alert_type}\\"' in notebook  # the injected parameter


def test_onset_within_two_minutes(run):
    (onset,) = [f for f in run.findings.findings if f.kind == "onset"]
    truth = pd.Timestamp(run.truth["onset"])
    assert abs(pd.Timestamp(onset.time) - truth) <= pd.Timedelta(minutes=2), onset.title


def test_culprit_named_or_no_related_change_found(run):
    want = run.truth["culprit_event_id"]
    kinds = {f.kind: f for f in run.findings.findings}
    if want is None:
        assert "culprit_change" not in kinds, kinds["culprit_change"].title
        assert kinds["no_related_change"].title.startswith("No related change found")
    else:
        culprit = kinds["culprit_change"]
        assert culprit.data["event_id"] == want, culprit.detail
        assert f"cloudtrail:{want}" in {e.ref for e in culprit.evidence}


def test_the_cause_is_named(run):
    text = run.text()
    for phrase in run.truth["must_say"]:
        assert phrase in text, (phrase, run.findings.summary)


def test_each_query_is_written_in_the_cell_that_runs_it(run):
    """The report's queries are the notebook's: a Logs Insights query's first line is in the
    source of the cell whose outputs carry its record."""
    import nbformat

    nb = nbformat.read(run.folder / "notebook.ipynb", as_version=4)
    for q in run.findings.queries:
        if q.kind != "insights":
            continue
        cell = next(
            c
            for c in nb.cells
            if c.cell_type == "code"
            and any(
                o.get("data", {}).get("application/vnd.incident.query+json", {}).get("n") == q.n
                for o in c.get("outputs", [])
            )
        )
        assert q.text.splitlines()[0].strip() in cell.source
