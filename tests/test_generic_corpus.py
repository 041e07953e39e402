"""The generic runbook gives a useful report for every alarm in the corpus (the composite runbook
for its composite alarms): each real payload, unchanged, investigated against telemetry
synthesised to explain it."""

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


def test_the_corpus_is_there() -> None:
    assert len(PAYLOADS) == 8, f"alarm payloads under {CORPUS}: {PAYLOADS}"


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.stem)
def test_generic_report_for_corpus_alarm(payload: Path, tmp_path: Path) -> None:
    alarm = parse_alarm(payload)
    store = build_store_for_alarm(alarm, tmp_path / "store")
    result = investigate(alarm, source=store.path, out=tmp_path / "reports")

    assert result.alert_type == ("composite" if alarm.kind == "composite" else "generic")
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
