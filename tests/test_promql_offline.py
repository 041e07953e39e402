"""``case.promql`` offline and live choice, the Prometheus source's checks, SigV4 for AMP.
(Agreement with a real Prometheus: tests/prometheus, marker ``prometheus``.)"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from incident_lib.alarm import parse_alarm
from incident_lib.errors import BadInputError
from incident_lib.notebook import Case
from incident_lib.sources.local import LocalSource
from incident_lib.sources.prometheus import PrometheusSource, open_prometheus, series_label
from incident_lib.sources.promql_local import LocalPrometheus, OfflinePromQLError
from incident_lib.store.writer import StoreWriter

AM = Path(__file__).resolve().parent / "fixtures" / "alarms" / "alertmanager"
T1 = pd.Timestamp("2026-11-30T14:00:00Z")


def _store(path: Path, with_samples: bool = True):
    with StoreWriter(path) as writer:
        if with_samples:
            stamps = pd.date_range(T1 - pd.Timedelta(minutes=30), T1, freq="15s", tz="UTC")
            rows = [
                {
                    "labels": {"__name__": "http_errors_total", "type": kind, "job": "checkout"},
                    "timestamp": ts + pd.Timedelta(seconds=7),
                    "value": float(k * (2 if kind == "timeout" else 1)),
                }
                for k, ts in enumerate(stamps)
                for kind in ("timeout", "db_pool")
            ]
            writer.add_prometheus_samples(pd.DataFrame(rows))
    from incident_lib.store import open_store

    return open_store(path)


def _case(store, **params) -> Case:
    alarm = parse_alarm(AM / "webhook_v4_high_error_rate_two_alerts.json")
    return Case(
        alarm=alarm,
        source=LocalSource(store),
        start=T1 - pd.Timedelta(minutes=20),
        end=T1,
        params=params,
    )


def test_promql_verb_offline_records_its_query(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    case = _case(_store(tmp_path / "s"))
    with case.section("errors"):
        frame = case.promql({"errors": "sum by (type) (rate(http_errors_total[5m]))"}, step=60)
    assert set(frame["label"]) == {'{type="timeout"}', '{type="db_pool"}'}
    assert len(frame) == 2 * 20 and str(frame["timestamp"].dt.tz) == "UTC"
    # 1 (db_pool) or 2 (timeout) per 15 s sample: 1/15 and 2/15 per second.
    timeout = frame[frame["label"] == '{type="timeout"}']["value"]
    assert timeout.round(9).eq(round(2 / 15, 9)).all()
    record = case.queries[-1]
    assert (record.kind, record.operation) == ("promql", "query_range")
    assert "offline" in record.target and "errors: sum by (type)" in record.text
    assert record.rows == 40 and case.sections[-1].status in ("ok", "empty")


def test_promql_without_prometheus_says_which_step_needs_one(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    case = _case(_store(tmp_path / "s", with_samples=False))
    with case.section("latency"):
        case.promql("histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))")
    status = case.sections[-1]
    assert status.status == "failed" and "needs a live Prometheus" in status.error
    assert "prometheus_url" in status.error and "no Prometheus samples" in status.error
    (record,) = case.queries  # the step is on record, failed, with the reason
    assert record.kind == "promql" and "needs a live Prometheus" in record.error


def test_prometheus_url_from_parameter_or_environment(tmp_path, monkeypatch) -> None:
    store = _store(tmp_path / "s")
    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    assert isinstance(open_prometheus({}, LocalSource(store)), LocalPrometheus)
    live = open_prometheus({"prometheus_url": "http://prom:9090/"}, LocalSource(store))
    assert isinstance(live, PrometheusSource) and live.url == "http://prom:9090"
    monkeypatch.setenv("PROMETHEUS_URL", "http://env-prom:9090")
    assert open_prometheus({}, None).url == "http://env-prom:9090"
    with pytest.raises(BadInputError, match="not an http"):
        open_prometheus({"prometheus_url": "prom:9090"}, None)


def test_offline_engine_refuses_what_it_does_not_evaluate(tmp_path) -> None:
    local = LocalPrometheus(LocalSource(_store(tmp_path / "s")).con)
    for expr, what in [
        ("delta(http_errors_total[5m])", "delta()"),
        ("quantile(0.9, http_errors_total)", "quantile"),
        ("rate(http_errors_total[10m:1m])", "subquer"),
        ("http_errors_total @ 100", "@ modifier"),
        ("http_errors_total * on (type) group_left http_errors_total", "group_left"),
    ]:
        with pytest.raises(OfflinePromQLError, match="live Prometheus") as info:
            local.query_range({"x": expr}, T1 - pd.Timedelta(minutes=10), T1)
        assert what in str(info.value), expr


def test_amp_url_is_signed_with_sigv4(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    url = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234"
    prom = PrometheusSource(url)
    assert prom.sigv4_region == "eu-west-1"
    headers = prom._sign(f"{prom.url}/api/v1/query", b"query=up", {"Content-Type": "x"})
    assert "/eu-west-1/aps/aws4_request" in headers["Authorization"]
    assert "X-Amz-Date" in headers
    assert PrometheusSource("http://prom:9090").sigv4_region is None


def test_series_label_prints_as_prometheus() -> None:
    assert series_label({"__name__": "up", "job": "a", "instance": "x"}, "q") == (
        'up{instance="x", job="a"}'
    )
    assert series_label({}, "q") == "q"
    assert series_label({"type": "t"}, "q") == '{type="t"}'


@pytest.mark.parametrize("step", [0, -5, "x", 0.001])
def test_bad_steps(tmp_path, step) -> None:
    local = LocalPrometheus(LocalSource(_store(tmp_path / "s")).con)
    with pytest.raises(BadInputError, match="step"):
        local.query_range({"x": "http_errors_total"}, T1 - pd.Timedelta(hours=1), T1, step=step)


def test_promql_answers_go_into_the_evidence_pack_and_replay(tmp_path, monkeypatch) -> None:
    from incident_lib.evidence.pack import write_pack
    from incident_lib.evidence.packsource import PackSource
    from incident_lib.evidence.recorder import RecordingSource
    from incident_lib.findings import FindingsDoc
    from incident_lib.sources import open_source

    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    store = _store(tmp_path / "s")
    case = _case(store)
    case.source = RecordingSource(LocalSource(store), calls_dir=tmp_path / "calls")
    expr = {"errors": "sum by (type) (increase(http_errors_total[5m]))"}
    with case.section("errors"):
        first = case.promql(expr)
    assert [r.method for r in case.source.recordings] == ["promql_range"]
    info = write_pack(
        tmp_path / "incident",
        tmp_path / "calls",
        alarm=case.alarm,
        doc=FindingsDoc(queries=case.queries),
        source_spec=str(store.path),
        parameters={"start": case.start.isoformat(), "end": case.end.isoformat()},
    )
    assert info.call_for_query(1) is not None  # the step's record cites the kept answer

    pack = open_source(info.path)
    assert isinstance(pack, PackSource)
    replay = _case(store)
    replay.source = RecordingSource(pack)
    with replay.section("errors"):
        again = replay.promql(expr)
    pd.testing.assert_frame_equal(again, first)
    assert pack.recorded == 1 and not pack.unrecorded
    # A question the run never asked, with no samples in the pack: said plainly.
    with replay.section("latency"):
        replay.promql("histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))")
    assert "needs a live Prometheus" in replay.sections[-1].error
