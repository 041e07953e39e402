from __future__ import annotations

import json

import pandas as pd

from incident_lib.analysis import culprit_finding, rank_changes

ONSET = pd.Timestamp("2026-11-18T14:00Z")


def _event(eid, minute, name, resource, params=None, source="lambda.amazonaws.com"):
    return {
        "event_time": ONSET + pd.Timedelta(minutes=minute),
        "event_name": name,
        "event_source": source,
        "username": "ci",
        "resources": json.dumps(
            [{"ResourceType": "AWS::Lambda::Function", "ResourceName": resource}]
        ),
        "request_parameters": params if params is not None else {"functionName": resource},
        "event_id": eid,
    }


def test_empty_frame_gets_the_new_columns():
    empty = pd.DataFrame(
        columns=[
            "event_time",
            "event_name",
            "event_source",
            "username",
            "resources",
            "request_parameters",
            "event_id",
        ]
    )
    ranked = rank_changes(empty, onset=ONSET, resource_names=["f"])
    assert ranked.empty and {"relation", "score", "reason"} <= set(ranked.columns)
    assert culprit_finding(ranked) is None


def test_latest_direct_deploy_before_onset_ranks_first():
    frame = pd.DataFrame(
        [
            _event("old-deploy", -50, "UpdateFunctionCode20150331v2", "f"),
            _event("other", -1, "UpdateFunctionCode20150331v2", "g"),
            _event("code", -3, "UpdateFunctionCode20150331v2", "f"),
            _event("alias", -2, "UpdateAlias20150331", "f"),
            _event("after", 5, "UpdateAlias20150331", "f"),
        ]
    )
    ranked = rank_changes(frame, onset=ONSET, resource_names=["f"])
    assert list(ranked["event_id"])[:3] == ["alias", "code", "old-deploy"]
    assert ranked.set_index("event_id").loc["after", "score"] == 0
    assert ranked.set_index("event_id").loc["other", "relation"] == "unrelated"
    finding = culprit_finding(ranked)
    assert finding.data["event_id"] == "alias"
    refs = [e.ref for e in finding.evidence]
    assert refs[0] == "cloudtrail:alias" and "cloudtrail:code" in refs


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


def test_only_unrelated_changes_give_no_culprit():
    frame = pd.DataFrame([_event("x", -1, "UpdateFunctionCode20150331v2", "other")])
    assert culprit_finding(rank_changes(frame, onset=ONSET, resource_names=["f"])) is None
