"""The four toolkit scenarios against their ground truth, through the analysis functions and
the local source, the way a runbook reads them (the window an investigation uses: 60 min
before the alarm to 15 min after)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest

from incident_lib.analysis import culprit_finding, detect_onset, rank_changes
from incident_lib.analysis.onset import Onset
from incident_lib.findings import Finding
from incident_lib.scenarios import build_store
from incident_lib.scenarios.lambda_incidents import ALL
from incident_lib.sources import MetricQuery
from incident_lib.sources.frames import CHANGE_COLUMNS
from incident_lib.sources.local import LocalSource
from incident_lib.store import Store

NAMES = [s.name for s in ALL]
BEFORE = pd.Timedelta(minutes=60)
AFTER = pd.Timedelta(minutes=15)


@dataclass
class Investigation:
    store: Store
    truth: dict
    series: pd.Series
    history: pd.DataFrame
    changes: pd.DataFrame
    onset: Onset
    culprit: Finding


def _errors(source: LocalSource, fn: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    q = MetricQuery("errors", "AWS/Lambda", "Errors", {"FunctionName": fn}, "Sum", 60)
    frame = source.metric_data([q], start, end)
    return pd.Series(frame["value"].to_numpy(), index=pd.DatetimeIndex(frame["timestamp"]))


def investigate(store: Store) -> Investigation:
    """What the runbooks should do (see docs/scenarios.md, "What the runbooks call")."""
    truth = store.ground_truth
    fn = store.descriptor.scenario["resources"]["function"]
    source = LocalSource(store)
    alarm_at = pd.Timestamp(truth["alarm_state_change_time"])
    start, end = alarm_at - BEFORE, alarm_at + AFTER
    series = _errors(source, fn, start, end)
    history = source.alarm_history(truth["alarm_name"], start - pd.Timedelta(days=1), end)
    onset = detect_onset(
        series, alarm_time=alarm_at, alarm_history=history, counts=True, direction="up"
    )
    assert onset is not None
    changes = source.change_events(start, end, resource_names=[fn])
    ranked = rank_changes(
        changes,
        onset=onset,
        resource_names=[fn],
        series=series,
        counts=True,
        label="errors",
        tolerance=pd.Timedelta(minutes=2),
    )
    culprit = culprit_finding(ranked, onset_confidence=onset.confidence)
    return Investigation(store, truth, series, history, changes, onset, culprit)


@pytest.fixture(scope="module")
def investigated(tmp_path_factory):
    """Each scenario built (seed 7) and investigated once for the whole module."""
    cache: dict[str, Investigation] = {}

    def get(name: str) -> Investigation:
        if name not in cache:
            path = tmp_path_factory.mktemp("toolkit") / name
            cache[name] = investigate(build_store(name, path))
        return cache[name]

    return get


@pytest.fixture(params=NAMES)
def case(request, investigated) -> Investigation:
    return investigated(request.param)


def test_onset_within_two_minutes_of_the_truth(case):
    truth = pd.Timestamp(case.truth["onset"])
    assert abs(case.onset.time - truth) <= pd.Timedelta(minutes=2), case.onset
    assert case.onset.time <= pd.Timestamp(case.truth["alarm_state_change_time"])
    finding = case.onset.to_finding(label="Errors")
    assert "Method: change point" in finding.detail and "Baseline:" in finding.detail
    assert finding.confidence in ("high", "medium", "low")


def test_culprit_named_or_no_related_change_found(case):
    want = case.truth["culprit_event_id"]
    if want is None:
        assert case.culprit.kind == "no_related_change", case.culprit.title
        assert case.culprit.title.startswith("No related change found")
    else:
        assert case.culprit.kind == "culprit_change", case.culprit.detail
        assert case.culprit.data["event_id"] == want
        assert f"cloudtrail:{want}" in {e.ref for e in case.culprit.evidence}
    for phrase in case.truth["must_say"]:
        text = case.culprit.title + case.onset.to_finding().detail
        assert phrase in text or phrase in case.onset.method


def test_every_change_of_the_window_is_ranked_or_ruled_out_with_a_reason(case):
    cited = {r.ref for r in case.culprit.ruled_out} | {e.ref for e in case.culprit.evidence}
    for event_id in case.changes["event_id"]:
        assert f"cloudtrail:{event_id}" in cited or case.culprit.kind == "culprit_change"
    assert all(r.reason for r in case.culprit.ruled_out)


@pytest.fixture
def flapping(investigated) -> Investigation:
    return investigated("lambda_flapping")


def test_flapping_alarm_was_paged_long_after_its_first_burst(flapping):
    truth = flapping.truth
    paged = pd.Timestamp(truth["alarm_state_change_time"])
    assert truth["alarm_periods"] >= 3
    assert paged - pd.Timestamp(truth["onset"]) >= pd.Timedelta(minutes=30)
    assert pd.Timestamp(truth["first_alarm_time"]) < paged
    assert flapping.onset.bursts >= 3
    assert "ALARM periods" in flapping.onset.method


@pytest.fixture
def clean_deploy(investigated) -> Investigation:
    return investigated("lambda_clean_deploy")


def test_clean_deploy_is_ruled_out_because_errors_stayed_at_baseline(clean_deploy):
    (deploy,) = [r for r in clean_deploy.culprit.ruled_out if "UpdateAlias" in r.label]
    assert "stayed at baseline" in deploy.reason
    assert "beyond the 30 min bound" in deploy.reason
    # Even with a wider time bound, the metric's evidence alone rules it out.
    wide = rank_changes(
        clean_deploy.changes,
        onset=clean_deploy.onset.time,
        resource_names=["payments-api"],
        series=clean_deploy.series,
        max_lead=pd.Timedelta(hours=2),
    )
    assert culprit_finding(wide).kind == "no_related_change"


def test_clean_deploy_blamed_without_the_evidence_check(clean_deploy):
    """The measured failure, reproduced: time and relation alone blame the clean deploy."""
    blind = rank_changes(
        clean_deploy.changes,
        onset=clean_deploy.onset.time,
        resource_names=["payments-api"],
        max_lead=pd.Timedelta(hours=2),
    )
    finding = culprit_finding(blind)
    assert finding.kind == "culprit_change" and finding.confidence != "high"


@pytest.fixture
def downstream(investigated) -> Investigation:
    return investigated("lambda_downstream")


def test_downstream_has_no_change_to_the_function(downstream):
    assert downstream.changes.empty
    assert downstream.store.descriptor.tables["changes"].rows == 1  # another team's
    assert downstream.culprit.title == "No related change found"
    assert "upstream services are not in it" in downstream.culprit.detail


@pytest.fixture
def slow_ramp(investigated) -> Investigation:
    return investigated("lambda_slow_ramp")


def test_slow_ramp_is_a_ramp_and_the_old_window_would_hold_it(slow_ramp):
    truth = pd.Timestamp(slow_ramp.truth["onset"])
    paged = pd.Timestamp(slow_ramp.truth["alarm_state_change_time"])
    assert paged - pd.Timedelta(minutes=15) > truth + pd.Timedelta(minutes=10)
    assert slow_ramp.onset.shape == "ramp"


def test_slow_ramp_with_previous_days_finds_the_same_onset(slow_ramp):
    fn = "orders-api"
    source = LocalSource(slow_ramp.store)
    start, end = slow_ramp.series.index[0], slow_ramp.series.index[-1]
    days = [
        _errors(source, fn, start - pd.Timedelta(days=d), end - pd.Timedelta(days=d))
        for d in (1, 2, 3)
    ]
    history = pd.concat(days).sort_index()
    assert len(history) >= 3 * 60
    onset = detect_onset(
        slow_ramp.series,
        alarm_time=pd.Timestamp(slow_ramp.truth["alarm_state_change_time"]),
        history=history,
        counts=True,
    )
    assert abs(onset.time - pd.Timestamp(slow_ramp.truth["onset"])) <= pd.Timedelta(minutes=2)
    assert "same time of day on 3 previous days" in onset.baseline_source


def test_local_source_reads_an_empty_change_window(downstream):
    source = LocalSource(downstream.store)
    start = pd.Timestamp(downstream.truth["window"]["start"])  # 11:00, no change until 12:12
    frame = source.change_events(start, start + BEFORE, resource_names=["inventory-api"])
    assert frame.empty and list(frame.columns) == CHANGE_COLUMNS
