"""The evidence pack on the AWS wire path: an investigation against a moto server records its
pack, the folder verifies, the replay runs offline with the same findings, and the fidelity
check says, per Logs Insights query, why moto's answers differ from the local engine's (moto
ignores ``filter`` and ``stats``: measured-here.md)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from incident_lib.alarm import parse_alarm
from incident_lib.cli import main
from incident_lib.evidence.investigation import EvidenceOptions
from incident_lib.run import investigate
from incident_lib.timeutil import utc_now
from tests.aws.test_investigate_aws import GROUP, _event, _seed
from tests.evidence.conftest import PackFacts, citations, pack_strings

pytestmark = [pytest.mark.aws, pytest.mark.notebooks]

SECRET = "plantedAwsPassw0rd"


@pytest.fixture
def recorded(moto, moto_clients, tmp_path):
    """An investigation over the wire, with a secret logged in its window."""
    at = pd.Timestamp(utc_now()).floor("min") - pd.Timedelta(minutes=15)
    _seed(moto_clients, at)
    moto_clients("logs").put_log_events(
        logGroupName=GROUP,
        logStreamName="2026/11/23/[42]abc",
        logEvents=[
            {
                "timestamp": int((at - pd.Timedelta(minutes=2)).timestamp() * 1000),
                "message": f"ERROR db login failed password={SECRET}",
            }
        ],
    )
    alarm = parse_alarm(_event(at))
    run = investigate(
        alarm,
        source="aws",
        endpoint_url=moto,
        out=tmp_path / "reports",
        evidence=EvidenceOptions(figures=False),
    )
    return run


def test_pack_from_aws_verifies_replays_offline_and_explains_moto(
    recorded, tmp_path, capsys, monkeypatch
) -> None:
    incident = recorded.directory
    manifest = json.loads((incident / "pack" / "manifest.json").read_text("utf-8"))
    assert manifest["recorded_from"] == "aws" and manifest["cost"]["charged"] is True
    insights = [q for q in manifest["queries"] if q["kind"] == "insights"]
    assert insights
    # moto's GetQueryResults has no statistics: said, not invented.
    assert all(q["statistics"] in (None, {}) and q["cost_usd"] is None for q in insights)
    assert all("no scan statistics" in q["cost_basis"] for q in insights)
    assert manifest["cost"]["metrics_requested"] >= 8
    assert main(["verify", str(incident)]) == 0

    # The pack keeps the failed call too: CloudTrail LookupEvents is not in moto.
    store = json.loads((incident / "pack" / "store.json").read_text("utf-8"))
    failed = [c for c in store["provenance"]["calls"] if c["error"]]
    assert any(c["method"] == "change_events" for c in failed)

    # Offline: no endpoint at all, and no credentials.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    code = main(["replay", str(incident), "--out", str(tmp_path / "replay"), "--no-figures"])
    err = capsys.readouterr().err
    assert code == recorded.exit_code == 3, err  # same sections failed as in the original
    assert "same findings as the original" in err
    report = json.loads((tmp_path / "replay" / incident.name / "replay.json").read_text("utf-8"))
    assert report["same_findings"], report["differences"]

    verdicts = {f["query"]: f for f in report["fidelity"]}
    assert len(verdicts) == len(insights)
    for f in verdicts.values():
        # moto ignores `filter`: every query with one disagrees, and says why.
        assert f["agree"] is False, f
        assert any("filter not applied by the recording source" in r for r in f["reasons"]), f
    assert "differs" in err and "filter not applied" in err


def test_pack_from_aws_has_no_secret_and_its_rca_cites_only_what_it_holds(recorded) -> None:
    incident = recorded.directory
    assert not [f for f, text in pack_strings(incident / "pack") if SECRET in text]
    rca = (incident / "rca.md").read_text("utf-8")
    assert SECRET not in rca
    facts = PackFacts(incident / "pack")
    cited = citations(rca)
    assert cited and all(facts.resolves(k, v) for k, v in cited), cited
    # What failed is said as not examined, not silently dropped.
    assert "Not examined" in rca and "Changes" in rca
