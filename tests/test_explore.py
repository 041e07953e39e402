"""The explore module without a browser: the window, the pickers, the query box, the history,
the widgets' callbacks (each under a second on the demo store) and pins (pack, rca.md and
manifest kept in step; undo restores the draft byte for byte)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest

from incident_lib.errors import BadInputError
from incident_lib.evidence.manifest import update_files, verify, write_manifest
from incident_lib.evidence.pins import add_pin, read_pins, splice_section, unpin
from incident_lib.evidence.rca import RcaFacts, render_rca
from incident_lib.evidence.view import REF, EvidenceIndex
from incident_lib.explore import Explorer, ExploreUI, result_figure, table_html
from incident_lib.findings import FindingsDoc


@pytest.fixture(scope="module")
def ex() -> Explorer:
    """The demo incident on its store (no incident folder: nothing can be pinned)."""
    return Explorer.open()


def test_the_window_steps_are_the_metric_period_and_the_presets_fit(ex: Explorer) -> None:
    steps = ex.steps()
    assert ex.period == 60
    assert all((b - a) == pd.Timedelta(seconds=60) for a, b in itertools.pairwise(steps))
    assert all(t.second == 0 and str(t.tz) == "UTC" for t in steps)
    lo, hi = ex.reach
    # The store holds more than the incident window: the slider reaches before it.
    assert lo < ex.case.start and hi >= ex.case.end - pd.Timedelta(minutes=1)
    presets = ex.presets()
    assert {"incident window", "alarm ± 30 min", "hour before the alarm"} <= set(presets)
    for a, b in presets.values():
        assert lo <= a < b <= hi and a.second == 0
    assert ex.snap("2026-11-18T13:56:31Z") == pd.Timestamp("2026-11-18T13:57:00Z")
    assert ex.snap("2026-11-18T13:56:31Z", "floor") == pd.Timestamp("2026-11-18T13:56:00Z")


def test_the_pickers_list_what_exists(ex: Explorer) -> None:
    names = ex.metric_names()
    assert {"Errors", "Invocations", "Duration", "Throttles"} <= set(names)
    values = ex.dimension_values()
    assert values["FunctionName"][0] == "checkout-api"  # the alarm's own first
    assert {"cart-api", "payments-worker"} <= set(values["FunctionName"])
    assert ex.log_groups()[0] == "/aws/lambda/checkout-api"


def test_a_metric_chart_marks_the_alarm_and_draws_the_threshold(ex: Explorer) -> None:
    a, b = ex.presets()["alarm ± 30 min"]
    frame, fig = ex.metric_chart("Errors", {"FunctionName": "checkout-api"}, a, b)
    assert not frame.empty and frame["timestamp"].between(a, b).all()
    texts = [an.text for an in fig.layout.annotations]
    assert "alarm" in texts and any(t.startswith("threshold") for t in texts)
    _, other = ex.metric_chart("Invocations", {"FunctionName": "cart-api"}, a, b)
    assert not any(str(an.text).startswith("threshold") for an in other.layout.annotations)
    assert ex.history[-1].operation == "GetMetricData"


def test_a_syntax_error_comes_back_with_its_position(ex: Explorer) -> None:
    a, b = ex.presets()["incident window"]
    bad = ex.run_query("fields @message\n| stats count( by bin(1m)", ex.log_groups(), a, b)
    assert not bad.ok and bad.line == 2 and bad.column == 19  # at "bin"
    assert "^" in bad.context
    page = bad.error_html()
    assert "line 2, column 19" in page and "<pre>" in page
    assert ex.run_query("", ex.log_groups(), a, b).error == "the query is empty"
    assert "log group" in ex.run_query("fields @message", [], a, b).error


def test_a_query_runs_and_is_in_the_history(ex: Explorer) -> None:
    a, b = ex.presets()["incident window"]
    before = len(ex.history)
    out = ex.run_query(
        "filter @message like /KeyError/ | stats count(*) as n by bin(1m)", ex.log_groups(), a, b
    )
    assert out.ok and out.frame is not None and out.frame["n"].sum() > 0
    assert len(ex.history) == before + 1 and ex.history[-1].operation == "StartQuery"
    assert ex.current["query"]["figure"] is not None


def test_result_charts_and_tables() -> None:
    t = pd.date_range("2026-01-01", periods=3, freq="1min", tz="UTC")
    assert result_figure(pd.DataFrame({"bin(1m)": t, "n": [1, 2, 3]}), title="x") is not None
    bars = result_figure(pd.DataFrame({"sig": ["a", "b"], "n": [3, 1]}), title="x")
    assert bars.data[0].type == "bar"
    per_minute = result_figure(pd.DataFrame({"@timestamp": t, "@message": list("abc")}), title="")
    assert per_minute is not None and per_minute.data[0].type == "bar"
    assert result_figure(pd.DataFrame({"@message": ["a"]}), title="x") is None
    frame = pd.DataFrame({"msg": ["<script>alert(1)</script>", "b"], "n": [1, 5]})
    page = table_html(frame, sort_by="n", ascending=False)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.index("<td>b</td>") < page.index("&lt;script")


def test_every_widget_answers_within_a_second(ex: Explorer) -> None:
    ui = ExploreUI(ex)
    assert ui.pin_button.disabled  # no incident folder
    ui.preset.value = "alarm ± 30 min"
    lo, hi = ui.window.index
    ui.window.index = (lo + 1, hi)
    assert ui.preset.value == "custom"
    assert "Selected:" in ui.window_note.value and "alarm 13:58" in ui.window_note.value
    ui.metric.value = "Invocations"
    ui.dims["FunctionName"].value = "payments-worker"
    ui.stat.value = "Average"
    ui.query.value = "filter @message like /KeyError/ | stats count(*) as n by bin(1m)"
    ui.run.click()
    assert "rows in" in ui.query_status.value
    ui.sort_by.value = "n"
    ui.order.value = "ascending"
    ui.history.value = ui.history.options[0][1]
    ui.query.value = "fields @message | stats count( by x"
    ui.run.click()
    assert "line 1, column" in ui.query_status.value
    for name in ("preset", "window", "metric", "dimension", "statistic", "query", "sort"):
        assert name in ui.timings, name
        assert max(ui.timings[name]) < 1.0, (name, ui.timings[name])


# -- pins ------------------------------------------------------------------------------------------
DRAFT = (
    "# RCA draft: x\n\n## Detection\n\n- fired\n\n## Action items\n\n| a |\n\n"
    "## Evidence\n\n| q |\n"
)


@pytest.fixture
def incident(tmp_path: Path) -> Path:
    root = tmp_path / "incident"
    (root / "pack").mkdir(parents=True)
    (root / "rca.md").write_text(DRAFT, encoding="utf-8")
    (root / "findings.json").write_text("{}", encoding="utf-8")
    write_manifest(root, doc=FindingsDoc(), incident_id="x", alarm_name="a", source="store")
    return root


def _table() -> pd.DataFrame:
    return pd.DataFrame({"n": [3, 1], "msg": ["token=AKIAIOSFODNN7EXAMPLE", "ok"]})


def test_a_pin_goes_into_the_pack_the_draft_and_the_manifest(incident: Path) -> None:
    import plotly.graph_objects as go

    query = {"operation": "StartQuery", "text": "stats count(*)", "rows": 2,
             "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z"}  # fmt: skip
    pin = add_pin(incident, kind="table", note="the | *spike*", query=query, table=_table())
    assert pin.ref == "pin:1"
    assert verify(incident).ok, verify(incident).lines()
    rca = (incident / "rca.md").read_text(encoding="utf-8")
    section = rca[rca.index("## Pinned evidence") : rca.index("## Action items")]
    assert "the \\| \\*spike\\*" in section and "[`pin:1`]" in section
    assert [m.group(0) for m in REF.finditer(section)] == ["pin:1"]
    kept = pd.read_parquet(incident / "pack/pins/pin-1.parquet")
    assert "AKIAIOSFODNN7EXAMPLE" not in kept.to_string()  # masked before it is written
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]), layout={"title": "t"})
    chart = add_pin(incident, kind="chart", note="chart", query=query, table=_table(), figure=fig)
    assert chart.files == ["pack/pins/pin-2.parquet", "pack/pins/pin-2.plotly.json"]
    assert json.loads((incident / chart.files[1]).read_text())["data"][0]["type"] == "scatter"
    assert [p.n for p in read_pins(incident)] == [1, 2]
    manifest = json.loads((incident / "pack/manifest.json").read_text())
    assert [u["note"] for u in manifest["updates"]] == ["pin:1 added by explore",
                                                        "pin:2 added by explore"]  # fmt: skip
    assert verify(incident).ok


def test_undo_takes_the_pin_back_byte_for_byte(incident: Path) -> None:
    add_pin(incident, kind="table", note="first", query={}, table=_table())
    unpin(incident)
    assert (incident / "rca.md").read_text(encoding="utf-8") == DRAFT
    assert not (incident / "pack/pins").exists()
    assert verify(incident).ok
    with pytest.raises(BadInputError, match="nothing to undo"):
        unpin(incident)


def test_a_pin_keeps_hand_edits_elsewhere_in_the_draft(incident: Path) -> None:
    edited = DRAFT.replace("- fired", "- fired; paged at 14:02")
    (incident / "rca.md").write_text(edited, encoding="utf-8")
    update_files(incident, ["rca.md"])
    add_pin(incident, kind="table", note="n", query={}, table=_table())
    assert "paged at 14:02" in (incident / "rca.md").read_text(encoding="utf-8")
    assert verify(incident).ok


def test_pins_need_an_incident_and_a_result(tmp_path: Path, incident: Path) -> None:
    with pytest.raises(BadInputError, match="manifest"):
        add_pin(tmp_path, kind="table", note="", query={}, table=_table())
    with pytest.raises(BadInputError, match="no rows"):
        add_pin(incident, kind="table", note="", query={}, table=pd.DataFrame())
    with pytest.raises(BadInputError, match="no chart"):
        add_pin(incident, kind="chart", note="", query={}, table=_table())


def test_the_spliced_section_is_what_the_template_renders() -> None:
    from incident_lib.evidence.pins import Pin, pin_facts, pins_section

    pins = [Pin(n=1, kind="table", note="spike", created="t", files=["pack/pins/pin-1.parquet"])]
    base = RcaFacts(title="t", incident_id="i", generated="g", version="v", alarm={})
    with_pins = RcaFacts(**{**base.__dict__, "pins": pin_facts(pins)})
    assert splice_section(render_rca(base), pins_section(pins)) == render_rca(with_pins)
    assert splice_section(render_rca(with_pins), "") == render_rca(base)
    assert splice_section("# x\n", pins_section(pins)).startswith("# x\n\n## Pinned evidence")


def test_pin_ids_resolve_in_the_evidence_index() -> None:
    idx = EvidenceIndex(pins={1})
    assert idx.resolves("pin:1") and not idx.resolves("pin:2") and not idx.resolves("pin:x")
