"""The evidence pack of the demo incident: written by the investigation, verified, tampered
with, replayed, and turned into an RCA draft whose every citation resolves in the pack."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from incident_lib.cli import main
from incident_lib.findings import FindingsDoc
from incident_lib.store import open_store
from tests.evidence.conftest import PLANTED, PackFacts, citations, pack_strings

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def incident(demo_incident) -> Path:
    return demo_incident[1].directory


@pytest.fixture
def copy(incident, tmp_path) -> Path:
    """A copy of the incident folder to tamper with."""
    return Path(shutil.copytree(incident, tmp_path / incident.name))


# -- the pack ------------------------------------------------------------------------------------
def test_every_investigation_writes_a_pack_that_is_a_store(incident) -> None:
    store = open_store(incident / "pack")
    prov = store.descriptor.provenance
    assert prov["kind"] == "incident-evidence-pack"
    tables = store.descriptor.tables
    for name in ("metrics", "logs", "alarms", "alarm_history", "changes"):
        assert tables[name].rows > 0, name
    assert {"manifest.json", "store.json"} <= {p.name for p in (incident / "pack").iterdir()}


def test_every_query_result_is_kept_as_returned(demo_incident, incident) -> None:
    run = demo_incident[1]
    facts = PackFacts(incident / "pack")
    assert facts.queries == {q.n for q in run.findings.queries}
    for q in run.findings.queries:
        call = next(c for c in facts.calls if c["query"] == q.n)
        if q.error:
            continue
        result = call["result"]
        if result["type"] == "frame":
            frame = pd.read_parquet(incident / "pack" / result["file"])
            assert len(frame) == q.rows == result["rows"], q.n
        else:  # a read-only AWS call's response, kept as JSON
            assert result["type"] == "json" and result["value"] is not None, q.n


def test_the_raw_window_of_the_queried_log_groups_is_kept_with_its_bound(incident) -> None:
    store = open_store(incident / "pack")
    raw = store.descriptor.provenance["raw_logs"]
    group = raw["groups"]["/aws/lambda/checkout-api"]
    assert raw["bound_per_group"] > 0 and group["events"] > 1000
    logs = store.read("logs")
    window = pd.Timestamp(raw["window"]["start"]), pd.Timestamp(raw["window"]["end"])
    assert logs["timestamp"].min() >= window[0] and logs["timestamp"].max() <= window[1]
    if not group["truncated"]:  # the whole window: every event of the source store in it
        assert group["complete_from"] == raw["window"]["start"]


def test_metrics_table_answers_the_recorded_sum_series(incident) -> None:
    """One series per metric as raw samples: Errors Sum at 60 s comes back the same."""
    from incident_lib.sources import MetricQuery
    from incident_lib.sources.local import LocalSource

    pack = incident / "pack"
    store = open_store(pack)
    entry = next(
        m
        for m in store.descriptor.provenance["metrics_table"]
        if m["metric_name"] == "Errors" and m["stat"] == "Sum"
    )
    call = next(c for c in store.descriptor.provenance["calls"] if c["query"] == entry["query"])
    recorded = pd.read_parquet(pack / call["result"]["file"])
    recorded = recorded[recorded["id"] == entry["id"]].reset_index(drop=True)
    req = call["request"]
    q = MetricQuery("e", "AWS/Lambda", "Errors", entry["dimensions"], "Sum", 60)
    local = LocalSource(pack).metric_data([q], pd.Timestamp(req["start"]), pd.Timestamp(req["end"]))
    assert local["value"].tolist() == recorded["value"].tolist()


def test_manifest_lists_every_file_each_query_its_cost_the_tool_and_the_time(incident) -> None:
    manifest = json.loads((incident / "pack" / "manifest.json").read_text(encoding="utf-8"))
    files = {p.relative_to(incident).as_posix() for p in incident.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == files - {"pack/manifest.json"}
    assert all(len(v["sha256"]) == 64 for v in manifest["files"].values())
    assert manifest["tool"]["version"]
    assert pd.Timestamp(manifest["created"]).tzinfo is not None
    insights = [q for q in manifest["queries"] if q["kind"] == "insights"]
    assert insights and all(q["query_language"] == "CWLI" for q in insights)
    assert all(q["log_groups"] == ["/aws/lambda/checkout-api"] for q in insights)
    assert all(q["window"]["start"] and q["text"] for q in insights)
    metrics = [q for q in manifest["queries"] if q["kind"] == "metrics"]
    assert metrics[1]["metrics_requested"] == 7  # 7 metrics and one expression (free)
    assert metrics[1]["cost_usd"] == pytest.approx(7 * 0.01 / 1000)
    assert manifest["recorded_from"] == "store" and manifest["cost"]["charged"] is False


# -- verify --------------------------------------------------------------------------------------
def test_verify_passes_with_one_line(incident, capsys) -> None:
    assert main(["verify", str(incident)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("ok:")


def test_verify_names_a_parquet_file_with_a_flipped_byte(copy, capsys) -> None:
    target = copy / "pack" / "logs.parquet"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    assert main(["verify", str(copy)]) == 4
    assert capsys.readouterr().out.strip() == "changed: pack/logs.parquet"


def test_verify_names_an_edited_findings_file(copy, capsys) -> None:
    path = copy / "findings.json"
    path.write_text(path.read_text(encoding="utf-8").replace("Likely", "Surely"), "utf-8")
    assert main(["verify", str(copy)]) == 4
    assert capsys.readouterr().out.strip() == "changed: findings.json"


def test_verify_names_a_deleted_and_an_added_file(copy, capsys) -> None:
    next((copy / "pack" / "results").glob("query-*.parquet")).unlink()
    (copy / "pack" / "extra.txt").write_text("planted", encoding="utf-8")
    assert main(["verify", str(copy)]) == 4
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["missing", "unlisted"]
    assert lines[0].startswith("missing: pack/results/query-")
    assert lines[1] == "unlisted: pack/extra.txt"


def test_verify_without_a_manifest_is_bad_input(tmp_path, capsys) -> None:
    assert main(["verify", str(tmp_path)]) == 2


# -- replay --------------------------------------------------------------------------------------
def test_replay_offline_gives_the_same_findings(incident, tmp_path, capsys) -> None:
    code = main(["replay", str(incident), "--out", str(tmp_path), "--no-figures"])
    err = capsys.readouterr().err
    assert code == 0, err
    again = tmp_path / incident.name
    before = FindingsDoc.model_validate_json((incident / "findings.json").read_text("utf-8"))
    after = FindingsDoc.model_validate_json((again / "findings.json").read_text("utf-8"))
    assert after.findings == before.findings and after.summary == before.summary
    assert [(s.name, s.status) for s in after.sections] == [
        (s.name, s.status) for s in before.sections
    ]
    report = json.loads((again / "replay.json").read_text("utf-8"))
    assert report["same_findings"] and report["original_manifest_ok"]
    # Recorded from a store by the same engine: every Logs Insights query agrees.
    assert report["fidelity"] and all(f["agree"] for f in report["fidelity"]), report["fidelity"]
    assert main(["verify", str(again)]) == 0


def test_replay_into_the_folder_it_reads_is_refused(incident, capsys) -> None:
    assert main(["replay", str(incident), "--out", str(incident.parent)]) == 2


# -- timeline and RCA ----------------------------------------------------------------------------
def test_timeline_follows_the_findings_in_the_report(incident, demo_incident) -> None:
    html = (incident / "report.html").read_text(encoding="utf-8")
    findings, timeline, contents = (
        html.index('id="findings"'),
        html.index('id="timeline"'),
        html.index('id="contents"'),
    )
    assert findings < timeline < contents
    section = html[timeline:contents]
    culprit = demo_incident[0].ground_truth["culprit_event_id"]
    assert f"cloudtrail:{culprit}" in section
    assert "Onset:" in section and "Alarm OK → ALARM" in section
    # Drawn by the page's own script from an inert JSON block (the CSP forbids inline script).
    assert 'class="plotly-graph-div"' in section and "data-plot=" in section


def test_every_evidence_id_in_the_rca_resolves_in_the_pack(incident) -> None:
    text = (incident / "rca.md").read_text(encoding="utf-8")
    facts = PackFacts(incident / "pack")
    cited = citations(text)
    assert len(cited) > 10
    assert {k for k, _ in cited} >= {"query", "metric", "log", "cloudtrail", "alarm"}
    unresolved = [f"{k}:{v}" for k, v in cited if not facts.resolves(k, v)]
    assert not unresolved
    assert "[no evidence recorded]" not in text


def test_every_factual_line_of_the_rca_cites_evidence(incident) -> None:
    text = (incident / "rca.md").read_text(encoding="utf-8")
    factual = ("## Summary", "## Impact", "## Timeline", "## Root cause", "## Detection")
    section = ""
    for line in text.splitlines():
        if line.startswith("#"):
            section = line
            continue
        if not section.startswith(factual) or "_to fill in_" in line:
            continue
        if line.startswith(("- ", "1. ")) or (line.startswith("| 2") and "|" in line[1:]):
            assert citations(line), line


def test_rca_names_the_culprit_and_the_detection_lag(incident, demo_incident) -> None:
    text = (incident / "rca.md").read_text(encoding="utf-8")
    truth = demo_incident[0].ground_truth
    root = text[text.index("## Root cause") : text.index("### Contributing")]
    assert f"cloudtrail:{truth['culprit_event_id']}" in root and "confidence high" in root
    detection = text[text.index("## Detection") : text.index("## Action items")]
    assert "min later" in detection
    assert "| _to fill in_ |" in text


def test_rca_figures_or_a_note(incident) -> None:
    text = (incident / "rca.md").read_text(encoding="utf-8")
    pngs = sorted(p.name for p in incident.glob("rca-*.png"))
    if pngs:
        assert pngs == ["rca-series.png", "rca-timeline.png"]
        assert all((incident / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
        assert "](rca-timeline.png)" in text
    else:
        assert "PNG figures not drawn" in text


def test_secrets_planted_in_the_incident_are_nowhere_in_the_pack_or_the_rca(incident) -> None:
    secrets = list(PLANTED.values())
    strings = list(pack_strings(incident / "pack"))
    assert not [(f, s) for f, text in strings for s in secrets if s in text]
    for name in ("rca.md", "findings.json", "report.html"):
        text = (incident / name).read_text(encoding="utf-8")
        assert not [s for s in secrets if s in text], name
    # The lines themselves are kept, masked: in the raw window and in the query results.
    where = {f for f, text in strings if "password=****" in text and "AKIAJPLA****" in text}
    assert "logs.parquet" in where and any(f.startswith("query-") for f in where), where


def test_hostile_markup_in_the_rca_is_text(incident, demo_incident) -> None:
    rca = (incident / "rca.md").read_text(encoding="utf-8")
    assert "<script" not in rca and "<img" not in rca


def test_incident_rca_rewrites_the_draft_and_keeps_the_folder_verified(copy, capsys) -> None:
    (copy / "rca.md").write_text("edited by hand\n", encoding="utf-8")
    assert main(["verify", str(copy)]) == 4
    capsys.readouterr()
    assert main(["rca", str(copy), "--no-figures"]) == 0
    assert capsys.readouterr().out.strip() == str(copy / "rca.md")
    assert (copy / "rca.md").read_text(encoding="utf-8").startswith("# RCA draft:")
    assert not list(copy.glob("rca-*.png"))
    assert main(["verify", str(copy)]) == 0
