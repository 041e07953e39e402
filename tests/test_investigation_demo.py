"""The product's main job, end to end on the demo incident: alarm event in, report out.

One investigation per test session (a module fixture); every test reads its outputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from incident_lib.alarm import parse_alarm
from incident_lib.cli import main
from incident_lib.demo import alarm_event, demo_store
from incident_lib.run import RunResult, investigate
from tests.browser.helpers import check_report
from tests.htmlcheck import page_links

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return demo_store(root=tmp_path_factory.mktemp("stores"))


@pytest.fixture(scope="module")
def run(store, tmp_path_factory) -> RunResult:
    alarm = parse_alarm(alarm_event(store, "eventbridge"))
    return investigate(alarm, source=store.path, out=tmp_path_factory.mktemp("reports"))


def test_report_notebook_and_findings_are_written(run: RunResult) -> None:
    assert run.report.is_file() and run.notebook.is_file()
    assert (run.directory / "findings.json").is_file()
    assert run.directory.name == run.incident_id
    assert run.alert_type == "lambda_errors"


def test_every_section_ran(run: RunResult) -> None:
    statuses = {s.name: s.status for s in run.findings.sections}
    assert statuses == {
        "The alarm": "ok",
        "Traffic and errors": "ok",
        "What is deployed": "ok",
        "Error logs": "ok",
        "Failing requests": "ok",
        "Changes": "ok",
        "Findings": "ok",
    }
    assert run.exit_code == 0


def test_the_notebook_reads_as_the_runbook_every_query_is_in_its_cell(run: RunResult) -> None:
    """What the report says was asked is written in the cell that asked it."""
    import nbformat

    nb = nbformat.read(run.notebook, as_version=4)
    assert run.findings.queries, "no query records"
    for q in run.findings.queries:
        cell = next(
            c
            for c in nb.cells
            if c.cell_type == "code"
            and any(
                o.get("data", {}).get("application/vnd.incident.query+json", {}).get("n") == q.n
                for o in c.get("outputs", [])
            )
        )
        if q.kind == "insights":  # the query text itself, as written in the cell
            first = q.text.splitlines()[0].strip()
            assert first in cell.source, (first, cell.source)
        if q.kind == "metrics" and "function_name" in cell.source:
            assert all(f'"{name}"' in cell.source for name in ("Invocations", "Errors"))


def test_findings_name_the_culprit_deploy(run: RunResult, store) -> None:
    truth = store.ground_truth
    culprit = [f for f in run.findings.findings if f.kind == "culprit_change"]
    assert culprit, [f.kind for f in run.findings.findings]
    refs = " ".join(e.ref for e in culprit[0].evidence)
    assert truth["culprit_event_id"] in refs


def test_onset_within_two_minutes_of_the_truth(run: RunResult, store) -> None:
    onset = [f for f in run.findings.findings if f.kind == "onset"]
    assert onset and onset[0].time is not None
    truth = pd.Timestamp(store.ground_truth["onset"])
    assert abs(pd.Timestamp(onset[0].time) - truth) <= pd.Timedelta(minutes=2)


def test_new_signature_found_and_old_one_not_called_new(run: RunResult, store) -> None:
    new = [f for f in run.findings.findings if f.kind == "new_signature"]
    text = " ".join(f.title + " " + f.detail + json.dumps(f.data) for f in new)
    assert store.ground_truth["new_signature"] in text
    assert store.ground_truth["old_signature"] not in " ".join(f.title for f in new)


def test_report_is_self_contained_and_escaped(run: RunResult, store) -> None:
    html = run.report.read_text(encoding="utf-8")
    links = page_links(html)
    assert not links.script_srcs
    assert not [u for u in links.urls if u.startswith(("http:", "https:", "//"))]
    for hostile in store.ground_truth["hostile_strings"]:
        assert hostile["text"] not in html, hostile["kind"]
    # plotly.js's basic bundle (1.2 MB) and the Lab stylesheet cut to what the page uses.
    assert run.report.stat().st_size < 1_500_000


def test_report_draws_only_trace_types_the_basic_bundle_has(run: RunResult) -> None:
    import nbformat

    from incident_lib.report import BASIC_TRACE_TYPES, trace_types

    nb = nbformat.read(run.notebook, as_version=4)
    assert "scatter" in trace_types(nb)
    assert trace_types(nb) <= BASIC_TRACE_TYPES


@pytest.mark.browser
def test_report_draws_every_plot_in_chromium(run: RunResult, chromium) -> None:
    check = check_report(
        run.report, browser=chromium, screenshot=ARTIFACTS / "lambda_errors_demo.png"
    )
    assert check.ok, check.problems()
    assert check.plots_drawn == check.plot_divs >= 6


def test_a_repeated_delivery_writes_the_same_place(run: RunResult, store, tmp_path) -> None:
    again = parse_alarm(alarm_event(store, "sns"))
    assert again.incident_id == run.incident_id


def test_demo_command_prints_the_report_path(store, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("INCIDENT_REPORTS", str(tmp_path))
    code = main(["demo", "--quiet", "--out", str(tmp_path / "out")])
    printed = capsys.readouterr().out.strip()
    assert code == 0
    assert Path(printed).is_file() and printed.endswith("report.html")


def test_investigate_bad_input_exits_2(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["investigate", str(bad), "--source", str(tmp_path)]) == 2
    assert "error" in capsys.readouterr().err


def test_investigate_by_alarm_name_on_a_store(store, tmp_path, capsys) -> None:
    """``--alarm-name`` looks the alarm up in the source (DescribeAlarms; here the store)."""
    code = main(
        [
            "investigate",
            "--alarm-name",
            store.ground_truth["alarm_name"],
            "--source",
            str(store.path),
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    report = Path(capsys.readouterr().out.strip())
    assert code == 0
    assert report.is_file() and report.parent.parent == tmp_path


def test_unknown_alarm_name_is_bad_input(store, tmp_path, capsys) -> None:
    code = main(
        [
            "investigate",
            "--alarm-name",
            "no-such-alarm",
            "--source",
            str(store.path),
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "no alarm named 'no-such-alarm'" in capsys.readouterr().err


def test_a_source_that_is_not_a_store_is_bad_input(store, tmp_path, capsys) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(alarm_event(store)), encoding="utf-8")
    code = main(
        ["investigate", str(event), "--source", str(tmp_path / "nowhere"), "--out", str(tmp_path)]
    )
    assert code == 2
    assert "not a telemetry store" in capsys.readouterr().err
    assert not list(tmp_path.glob("*/report.html"))
