"""Alertmanager notifications as alarms: the webhook, AMP through SNS (JSON and text), errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from incident_lib.alarm import Alarm, parse_alarm, parse_alarms
from incident_lib.catalog import resolve
from incident_lib.cli import main
from incident_lib.errors import AlarmParseError

AM = Path(__file__).resolve().parent / "fixtures" / "alarms" / "alertmanager"


def test_webhook_with_two_alerts_gives_two_alarms() -> None:
    alarms = parse_alarms(AM / "webhook_v4_high_error_rate_two_alerts.json")
    assert [a.name for a in alarms] == ["HighErrorRate", "HighErrorRate"]
    first, second = alarms
    assert first.kind == "prometheus" and first.shape == "alertmanager"
    assert first.new_state == "ALARM" and first.previous_state is None
    assert first.state_change_time == datetime(2026, 11, 30, 14, 2, 30, 148000, tzinfo=UTC)
    # An offset in startsAt is read and converted to UTC.
    assert second.state_change_time == datetime(2026, 11, 30, 13, 3, 0, 148000, tzinfo=UTC)
    assert first.metric is not None and first.metric.namespace == "Prometheus"
    assert first.metric.dimensions == {"job": "checkout", "severity": "critical", "type": "timeout"}
    assert second.metric.dimensions["type"] == "db_pool"
    prom = first.prometheus
    assert prom is not None
    assert prom.expression == 'sum by (type) (rate(http_errors_total{job="checkout"}[5m])) > 0.05'
    assert prom.group_labels == {"alertname": "HighErrorRate"}
    assert prom.receiver == "oncall-webhook" and prom.index == 0 and prom.count == 2
    assert prom.external_url == "http://alertmanager.example.com:9093"
    # Common annotations are merged under each alert's own.
    assert prom.annotations["runbook_url"].endswith("/HighErrorRate")
    assert first.reason == "High error rate on checkout (timeout)"
    assert first.incident_id != second.incident_id
    assert first.to_metric_queries() == []  # no CloudWatch series: the expression is PromQL
    assert any("2 alerts" in w for w in first.warnings)
    # parse_alarm gives the first.
    assert parse_alarm(AM / "webhook_v4_high_error_rate_two_alerts.json") == first


def test_resolved_alert_keeps_its_start_and_end() -> None:
    (alarm,) = parse_alarms(AM / "webhook_v4_service_down_resolved.json")
    assert (alarm.new_state, alarm.previous_state) == ("OK", "ALARM")
    assert alarm.state_change_time == datetime(2026, 11, 30, 9, 15, 45, 2939, tzinfo=UTC)
    assert alarm.prometheus.ends_at == datetime(2026, 11, 30, 9, 31, 45, 2939, tzinfo=UTC)
    assert alarm.prometheus.expression == 'up{job="orders-api"} == 0'


def test_amp_json_template_through_sns() -> None:
    (alarm,) = parse_alarms(AM / "amp_sns_records_json_template.json")
    assert alarm.shape == "sns_records" and alarm.kind == "prometheus"
    assert (alarm.region, alarm.account) == ("eu-west-1", "111122223333")
    # Go's time.String() as AMP's template writes it; Go's zero time is no end.
    assert alarm.state_change_time == datetime(2026, 11, 30, 16, 20, 37, 214000, tzinfo=UTC)
    assert alarm.prometheus.ends_at is None
    assert alarm.prometheus.expression.startswith("histogram_quantile(0.95, sum by (le)")


def test_amp_default_text_through_sns() -> None:
    alarms = parse_alarms(AM / "amp_sns_envelope_default_text.json")
    assert [a.new_state for a in alarms] == ["ALARM", "ALARM", "OK"]
    assert [a.metric.dimensions.get("instance") for a in alarms] == [
        None,
        "10.0.3.18:8080",
        "10.0.3.17:8080",
    ]
    assert all(a.prometheus.delivery == "sns_text" for a in alarms)
    # No alert time in the text: the SNS Timestamp, said in the warnings.
    assert alarms[0].state_change_time == datetime(2026, 11, 30, 9, 16, 5, 112000, tzinfo=UTC)
    assert any("SNS Timestamp" in w for w in alarms[1].warnings)
    assert alarms[0].prometheus.annotations == {"summary": "orders-api down"}
    assert alarms[2].prometheus.expression == 'up{job="orders-api"} == 0'


def test_alarm_json_round_trips() -> None:
    for alarm in parse_alarms(AM / "webhook_v4_high_error_rate_two_alerts.json"):
        assert Alarm.model_validate_json(alarm.to_json()) == alarm


def test_catalogue_maps_prometheus_alerts_by_name_and_falls_back_for_others() -> None:
    alarm = parse_alarm(AM / "webhook_v4_service_down_resolved.json")
    investigation = resolve(alarm)
    assert investigation.alert_type == "ecs_service"
    assert investigation.parameters["service_name"] == "orders-api"  # the job label
    assert investigation.parameters["log_groups"] == ["/ecs/orders-api"]
    assert "orders-api" in investigation.parameters["resource_names"]
    (first, _) = parse_alarms(AM / "webhook_v4_high_error_rate_two_alerts.json")
    errors = resolve(first)
    assert errors.alert_type == "prom_error_rate"
    assert errors.parameters["expression"].startswith("sum by (type)")
    other = first.model_copy(
        update={
            "name": "DiskAlmostFull",
            "metric": first.metric.model_copy(update={"name": "DiskAlmostFull"}),
        }
    )
    assert resolve(other).alert_type == "generic"


@pytest.mark.parametrize(
    ("fixture", "words", "field"),
    [
        ("exec_testdata_scope_no_alerts.json", "no alert", "alerts"),
        ("exec_testdata_success_no_alertname.json", "alertname", "alerts[0].labels"),
    ],
)
def test_malformed_notifications(fixture: str, words: str, field: str) -> None:
    with pytest.raises(AlarmParseError) as info:
        parse_alarms(AM / "malformed" / fixture)
    assert words in str(info.value) and info.value.field == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["alerts"][0].update(status="pending"), "alerts[0].status"),
        (lambda d: d["alerts"][0]["labels"].update(job=5), "alerts[0].labels.job"),
        (lambda d: d["alerts"][0].pop("startsAt"), "alerts[0].startsAt"),
        (lambda d: d["alerts"][0].update(startsAt="yesterday"), "alerts[0].startsAt"),
        (lambda d: d.update(alerts={"a": 1}), "alerts"),
        (lambda d: d["alerts"].__setitem__(1, "x"), "alerts[1]"),
    ],
)
def test_bad_fields_are_named(change, field: str) -> None:
    doc = json.loads((AM / "webhook_v4_high_error_rate_two_alerts.json").read_text())
    change(doc)
    with pytest.raises(AlarmParseError) as info:
        parse_alarms(doc)
    assert info.value.field == field


def test_cli_prints_every_alert_and_exits_2_on_bad_input(capsys) -> None:
    assert main(["alarm", str(AM / "webhook_v4_high_error_rate_two_alerts.json")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out, list) and [a["metric"]["dimensions"]["type"] for a in out] == [
        "timeout",
        "db_pool",
    ]
    assert main(["alarm", str(AM / "webhook_v4_service_down_resolved.json")]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "ServiceDown"
    assert main(["alarm", str(AM / "malformed" / "exec_testdata_scope_no_alerts.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no alert" in err


def test_investigate_refuses_a_bad_max_alerts(capsys) -> None:
    path = AM / "webhook_v4_high_error_rate_two_alerts.json"
    assert main(["investigate", str(path), "--max-alerts", "0", "--quiet"]) == 2
    assert "--max-alerts" in capsys.readouterr().err


def test_investigate_runs_each_alert_up_to_max_alerts(monkeypatch, capsys) -> None:
    from incident_lib.commands import investigate

    seen: list[tuple[str, str]] = []

    def fake_execute(alarm, args, source):
        seen.append((alarm.metric.dimensions["type"], source))
        return 3 if alarm.metric.dimensions["type"] == "timeout" else 0

    monkeypatch.setattr(investigate, "execute", fake_execute)
    path = str(AM / "webhook_v4_high_error_rate_two_alerts.json")
    assert main(["investigate", path, "--source", "some-store", "--quiet"]) == 3
    assert seen == [("timeout", "some-store"), ("db_pool", "some-store")]
    capsys.readouterr()
    seen.clear()
    assert main(["investigate", path, "--max-alerts", "1", "--quiet"]) == 3
    assert seen == [("timeout", "aws")]
    err = capsys.readouterr().err
    assert "2 alerts in the notification: investigating 1 in turn, 1 left out" in err
    assert "not investigated: HighErrorRate {job=checkout, severity=critical, type=db_pool}" in err
