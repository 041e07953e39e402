from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from incident_lib.analysis import culprit_finding, metric_after, rank_changes

ONSET = pd.Timestamp("2026-11-18T14:00Z")
COLUMNS = [
    "event_time",
    "event_name",
    "event_source",
    "username",
    "resources",
    "request_parameters",
    "event_id",
]


def _event(eid, minute, name, resource, params=None, source="lambda.amazonaws.com", user="ci"):
    return {
        "event_time": ONSET + pd.Timedelta(minutes=minute),
        "event_name": name,
        "event_source": source,
        "username": user,
        "resources": json.dumps(
            [{"ResourceType": "AWS::Lambda::Function", "ResourceName": resource}]
        ),
        "request_parameters": params if params is not None else {"functionName": resource},
        "event_id": eid,
    }


def _errors(start_minute: float, *, level: float = 0.5, height: float = 20.0, seed: int = 0):
    """Errors per minute from 13:00 to 14:30: Poisson at ``level``, plus ``height`` from
    ``start_minute`` (minutes relative to ONSET)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(ONSET - pd.Timedelta(minutes=60), periods=90, freq="min")
    rel = (index - ONSET).total_seconds() / 60
    lam = np.where(rel >= start_minute, level + height, level)
    return pd.Series(rng.poisson(lam).astype(float), index=index)


def test_empty_frame_gets_the_new_columns_and_says_no_change():
    ranked = rank_changes(pd.DataFrame(columns=COLUMNS), onset=ONSET, resource_names=["f"])
    assert ranked.empty
    assert {"relation", "score", "reason", "status", "evidence"} <= set(ranked.columns)
    finding = culprit_finding(ranked)
    assert finding.kind == "no_related_change"
    assert finding.title == "No related change found"
    assert finding.ruled_out == ()


def test_latest_direct_deploy_before_onset_ranks_first_and_old_ones_are_ruled_out():
    frame = pd.DataFrame(
        [
            _event("old-deploy", -50, "UpdateFunctionCode20150331v2", "f"),
            _event("other", -1, "UpdateFunctionCode20150331v2", "g"),
            _event("code", -3, "UpdateFunctionCode20150331v2", "f"),
            _event("alias", -2, "UpdateAlias20150331", "f"),
            _event("after", 5, "UpdateAlias20150331", "f"),
        ]
    )
    ranked = rank_changes(frame, onset=ONSET, resource_names=["f"]).set_index("event_id")
    assert list(ranked.index[:2]) == ["alias", "code"]
    assert (ranked.loc[["alias", "code"], "status"] == "candidate").all()
    assert ranked.loc["after", "status"] == "ruled out" and ranked.loc["after", "score"] == 0
    assert "after the onset" in ranked.loc["after", "reason"]
    assert ranked.loc["old-deploy", "status"] == "ruled out"
    assert "beyond the 30 min bound" in ranked.loc["old-deploy", "reason"]
    assert ranked.loc["other", "relation"] == "unrelated"
    assert ranked.loc["other", "status"] == "ruled out"
    finding = culprit_finding(ranked.reset_index())
    assert finding.kind == "culprit_change" and finding.data["event_id"] == "alias"
    refs = [e.ref for e in finding.evidence]
    assert refs[0] == "cloudtrail:alias" and "cloudtrail:code" in refs
    # Without the metric the check is not done, and the finding says so.
    assert finding.confidence == "medium"
    assert any("metric after" in u for u in finding.unchecked)
    assert "Could not check" in finding.detail


def test_arn_and_alias_names_match_the_function():
    frame = pd.DataFrame(
        [
            _event(
                "a",
                -1,
                "UpdateAlias20150331",
                "arn:aws:lambda:us-east-1:1:function:f:live",
                params={},
            ),
        ]
    )
    assert rank_changes(frame, onset=ONSET, resource_names=["f"])["relation"][0] == "direct"


def test_role_of_the_function_is_indirect_and_deploy_outweighs_config():
    frame = pd.DataFrame(
        [
            _event(
                "role",
                -2,
                "PutRolePolicy",
                "f-execution-role",
                params={"roleName": "f-role"},
                source="iam.amazonaws.com",
            ),
            _event("cfg", -20, "UpdateFunctionConfiguration20150331v2", "f"),
            _event("dep", -20, "UpdateFunctionCode20150331v2", "f"),
        ]
    )
    ranked = rank_changes(frame, onset=ONSET, resource_names=["f"]).set_index("event_id")
    assert ranked.loc["role", "relation"] == "indirect"
    assert ranked.loc["dep", "score"] > ranked.loc["cfg", "score"]


def test_only_unrelated_changes_give_no_related_change():
    frame = pd.DataFrame([_event("x", -1, "UpdateFunctionCode20150331v2", "other")])
    finding = culprit_finding(rank_changes(frame, onset=ONSET, resource_names=["f"]))
    assert finding.kind == "no_related_change"
    assert [r.ref for r in finding.ruled_out] == ["cloudtrail:x"]
    assert "other resources" in finding.ruled_out[0].reason


def test_deploy_followed_by_a_prompt_rise_is_named_with_high_confidence():
    series = _errors(0)
    frame = pd.DataFrame([_event("dep", -0.5, "UpdateAlias20150331", "f")])
    ranked = rank_changes(frame, onset=ONSET, resource_names=["f"], series=series)
    assert ranked["evidence"][0] == "prompt"
    finding = culprit_finding(ranked)
    assert finding.kind == "culprit_change" and finding.data["event_id"] == "dep"
    assert finding.confidence == "high" and finding.severity == "critical"
    assert "rose to" in finding.detail


def test_deploy_after_which_errors_stayed_at_baseline_is_ruled_out_even_inside_the_bound():
    """The measured failure: a clean deploy long before an upstream outage was blamed."""
    series = _errors(0)
    frame = pd.DataFrame(
        [
            _event("clean", -25, "UpdateAlias20150331", "f"),
            _event("older", -40, "UpdateAlias20150331", "f"),
        ]
    )
    ranked = rank_changes(frame, onset=ONSET, resource_names=["f"], series=series, label="errors")
    by_id = ranked.set_index("event_id")
    assert (by_id["status"] == "ruled out").all()
    assert by_id.loc["clean", "evidence"] == "none"
    assert "errors stayed at baseline" in by_id.loc["clean", "reason"]
    assert "beyond the 30 min bound" in by_id.loc["older", "reason"]
    finding = culprit_finding(ranked)
    assert finding.kind == "no_related_change"
    assert finding.title.startswith("No related change found")
    assert {r.ref for r in finding.ruled_out} == {"cloudtrail:clean", "cloudtrail:older"}
    assert "stayed at baseline" in finding.detail


def test_a_slow_start_after_the_change_is_a_weaker_candidate():
    series = _errors(6)
    frame = pd.DataFrame([_event("dep", 0, "UpdateAlias20150331", "f")])
    onset = ONSET + pd.Timedelta(minutes=6)
    ranked = rank_changes(frame, onset=onset, resource_names=["f"], series=series)
    assert ranked["status"][0] == "candidate" and ranked["evidence"][0] == "delayed"
    finding = culprit_finding(ranked)
    assert finding.kind == "culprit_change" and finding.confidence == "medium"


def test_rollout_calls_are_one_ruled_out_entry():
    series = _errors(0)
    frame = pd.DataFrame(
        [
            _event("code", -41, "UpdateFunctionCode20150331v2", "f"),
            _event("pub", -40.6, "PublishVersion20150331", "f"),
            _event("alias", -40.2, "UpdateAlias20150331", "f"),
        ]
    )
    finding = culprit_finding(rank_changes(frame, onset=ONSET, resource_names=["f"], series=series))
    assert len(finding.ruled_out) == 1
    label = finding.ruled_out[0].label
    assert label.startswith("UpdateFunctionCode, PublishVersion, UpdateAlias by ci")
    assert finding.ruled_out[0].refs == ("cloudtrail:alias", "cloudtrail:pub", "cloudtrail:code")
    assert {e.ref for e in finding.evidence} == {
        "cloudtrail:alias",
        "cloudtrail:pub",
        "cloudtrail:code",
    }


def test_culprit_is_no_surer_than_the_onset():
    series = _errors(0)
    frame = pd.DataFrame([_event("dep", -0.5, "UpdateAlias20150331", "f")])
    ranked = rank_changes(frame, onset=ONSET, resource_names=["f"], series=series)
    assert culprit_finding(ranked, onset_confidence="low").confidence == "low"


def test_unreadable_changes_are_said_not_checked():
    finding = culprit_finding(None, unchecked=["CloudTrail: AccessDenied"])
    assert finding.kind == "no_related_change"
    assert finding.title == "Changes not checked: CloudTrail: AccessDenied"
    assert finding.confidence == "low" and finding.unchecked == ("CloudTrail: AccessDenied",)


def test_unchecked_items_are_carried_into_the_finding():
    frame = pd.DataFrame([_event("dep", -0.5, "UpdateAlias20150331", "f")])
    ranked = rank_changes(frame, onset=ONSET, resource_names=["f"], series=_errors(0))
    finding = culprit_finding(ranked, unchecked=["no logs"])
    assert "no logs" in finding.unchecked and "no logs" in finding.detail


@pytest.mark.parametrize(
    ("start", "verdict"),
    [(0.0, "prompt"), (7.0, "delayed"), (25.0, "none")],
)
def test_metric_after_tells_prompt_delayed_and_none(start, verdict):
    got, text = metric_after(_errors(start), ONSET, label="errors")
    assert got == verdict, text


def test_metric_after_with_too_little_data_is_unchecked():
    series = _errors(0)
    got, _ = metric_after(series, series.index[1])
    assert got == "unchecked"


def test_drop_is_checked_with_direction_down():
    index = pd.date_range(ONSET - pd.Timedelta(minutes=30), periods=60, freq="min")
    traffic = pd.Series(np.where(index >= ONSET, 10.0, 100.0), index=index)
    got, text = metric_after(traffic, ONSET, direction="down", counts=False, label="requests")
    assert got == "prompt" and "fell to 10" in text
    got, _ = metric_after(traffic, ONSET, direction="up", counts=False)
    assert got == "none"
