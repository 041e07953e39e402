"""The analysis finds the ground truth of the lambda_errors scenario, reading raw frames from
the store with plain DuckDB SQL."""

from __future__ import annotations

import pandas as pd
import pytest

from incident_lib.analysis import (
    compare_signatures,
    culprit_finding,
    detect_onset,
    impact,
    rank_changes,
    sibling_scan,
    signature_findings,
)

FN = """'{"FunctionName":"checkout-api"}'"""


@pytest.fixture(scope="module")
def truth(lambda_errors_store):
    return lambda_errors_store.ground_truth


@pytest.fixture(scope="module")
def con(lambda_errors_store):
    return lambda_errors_store.connect()


def _series(con, metric):
    frame = con.sql(f"""select timestamp, sum as v from metrics where metric_name = '{metric}'
                        and dimensions = {FN} order by timestamp""").df()
    return frame.set_index("timestamp")["v"]


@pytest.fixture(scope="module")
def onset(con, truth):
    alarm_at = pd.Timestamp(truth["alarm_state_change_time"])
    return detect_onset(_series(con, "Errors"), baseline_end=alarm_at - pd.Timedelta("60min"))


def test_onset_within_two_minutes_of_ground_truth(onset, truth):
    assert onset is not None
    assert abs(onset.time - pd.Timestamp(truth["onset"])) <= pd.Timedelta(minutes=2)
    assert onset.time <= pd.Timestamp(truth["alarm_state_change_time"])


def test_culprit_is_ranked_first(con, onset, truth):
    changes = con.sql("""select event_time, event_name, event_source, username, resources,
                         request_parameters, event_id from changes order by event_time""").df()
    ranked = rank_changes(changes, onset=onset.time, resource_names=["checkout-api"])
    assert ranked["event_id"].iloc[0] == truth["culprit_event_id"]
    finding = culprit_finding(ranked)
    assert finding.data["event_id"] == truth["culprit_event_id"]
    cited = {e.ref for e in finding.evidence}
    assert f"cloudtrail:{truth['code_change_event_id']}" in cited
    assert f"cloudtrail:{truth['sibling_deploy_event_id']}" not in cited


def test_new_signature_found_and_old_one_steady(con, onset, truth):
    errors = con.sql("""select timestamp, message, event_id from logs
                        where split_part(message, chr(9), 3) = 'ERROR'""").df()
    table = compare_signatures(
        errors, incident_start=onset.time, baseline_end=onset.time - pd.Timedelta("10min")
    )
    status = dict(zip(table["signature"], table["status"], strict=True))
    assert status[truth["new_signature"]] == "new"
    assert status[truth["old_signature"]] == "steady"
    findings = signature_findings(table)
    assert [f.data["signature"] for f in findings] == [truth["new_signature"]]
    first = pd.Timestamp(findings[0].data["first_seen"])
    assert first >= pd.Timestamp(truth["deploy_time"])


def test_impact_matches_ground_truth(con, onset, truth):
    history = con.sql("""
        select timestamp, alarm_name, history_item_type, history_summary as summary,
               json_extract_string(history_data, '$.oldState.stateValue') as old_state,
               json_extract_string(history_data, '$.newState.stateValue') as new_state,
               history_data as data
        from alarm_history order by timestamp""").df()
    f = impact(
        _series(con, "Errors"),
        _series(con, "Invocations"),
        start=onset.time,
        end=pd.Timestamp(truth["window"]["end"]),
        alarm_history=history,
    )
    if onset.time == pd.Timestamp(truth["onset"]):
        assert f.data["failed"] == truth["failed_invocations"]
        assert f.data["total"] == truth["invocations_since_onset"]
    fired = pd.Timestamp(truth["alarm_state_change_time"])
    ok = pd.Timestamp(truth["alarm_ok_time"])
    assert f.data["minutes_in_alarm"] == pytest.approx((ok - fired).total_seconds() / 60)


def test_siblings_unaffected(con, onset, truth):
    frame = con.sql("""
        select json_extract_string(dimensions, '$.FunctionName') as id,
               json_extract_string(dimensions, '$.FunctionName') as label,
               timestamp, sum as value
        from metrics where namespace = 'AWS/Lambda' and metric_name = 'Errors'
        order by id, timestamp""").df()
    f = sibling_scan(frame, onset=onset.time)
    assert f.data["affected"] == truth["affected_functions"]
    assert sorted(f.data["unaffected"]) == sorted(truth["unaffected_functions"])
