"""Every alarm in the corpus gets a useful report from the notebook the catalogue picks (the
generic runbook, unless a catalogue type owns the alarm: composite, EC2 CPU): each real payload,
unchanged, investigated against telemetry synthesised to explain it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from incident_lib.alarm import parse_alarm
from incident_lib.run import investigate
from incident_lib.scenarios.from_alarm import build_store_for_alarm
from tests.htmlcheck import page_links

pytestmark = pytest.mark.notebooks

CORPUS = Path(__file__).resolve().parent / "fixtures" / "alarms" / "corpus"
PAYLOADS = sorted(CORPUS.glob("*/*.json"))
#: The corpus alarms a catalogue type owns; the others go to the generic runbook.
OWNED = {
    "awsdocs_single_metric_alarm": "ec2_cpu",  # AWS/EC2 CPUUtilization, InstanceId
    "awsdocs_anomaly_detection_alarm": "ec2_cpu",  # its band is on AWS/EC2 CPUUtilization
}


def test_the_corpus_is_there() -> None:
    assert len(PAYLOADS) == 8, f"alarm payloads under {CORPUS}: {PAYLOADS}"


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.stem)
def test_generic_report_for_corpus_alarm(payload: Path, tmp_path: Path) -> None:
    alarm = parse_alarm(payload)
    store = build_store_for_alarm(alarm, tmp_path / "store")
    result = investigate(alarm, source=store.path, out=tmp_path / "reports")

    want = "composite" if alarm.kind == "composite" else OWNED.get(payload.stem, "generic")
    assert result.alert_type == want
    statuses = {s.name: s.status for s in result.findings.sections}
    assert "failed" not in statuses.values(), result.findings.sections
    assert result.exit_code == 0
    html = result.report.read_text(encoding="utf-8")
    assert alarm.name in html
    assert not page_links(html).script_srcs
    kinds = {f.kind for f in result.findings.findings}
    if alarm.kind == "composite":
        assert statuses["The alarm"] == "ok" and statuses["Findings"] == "ok"
        assert "onset" in kinds, kinds  # from the children's state changes: no series here
        return
    assert html.count('class="plotly-graph-div"') >= 1
    assert "onset" in kinds, kinds
    onset = next(f for f in result.findings.findings if f.kind == "onset")
    truth = pd.Timestamp(store.ground_truth["onset"])
    assert abs(pd.Timestamp(onset.time) - truth) <= pd.Timedelta(
        seconds=2 * (alarm.metrics()[0].period or 60)
    )
    if store.ground_truth["culprit_event_id"] is None:  # no dimensions: no resource to change
        return
    assert "culprit_change" in kinds
    culprit = next(f for f in result.findings.findings if f.kind == "culprit_change")
    assert store.ground_truth["culprit_event_id"] in " ".join(e.ref for e in culprit.evidence)
