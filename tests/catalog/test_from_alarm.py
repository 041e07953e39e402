"""Each catalogue notebook on ``incident demo --from-alarm`` for an alarm of its kind: telemetry
synthesised for an alarm nobody built a scenario for. The notebook must pick the alert type,
run every section (those with nothing to read say so), and find the onset."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from incident_lib.cli import main
from incident_lib.findings import FindingsDoc

pytestmark = pytest.mark.notebooks

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "alarms"
ALARMS = {
    "apigateway_5xx": FIXTURES / "sns_message_treat_missing_data_nonbreaching_text.json",
    "lambda_throttles": FIXTURES / "sns_message_lambda_throttles.json",
    "dynamodb_system_errors": FIXTURES / "sns_message_dynamodb_system_errors.json",
    "dynamodb_throttling": FIXTURES / "sns_message_dynamodb_throttled_requests.json",
    "apigateway_throttling": FIXTURES / "sns_message_apigateway_4xx_throttle.json",
    "apigateway_latency": FIXTURES / "sns_message_bare_extended_statistic_p99.json",
    "lambda_duration": FIXTURES / "sns_message_lambda_duration_p99.json",
    "sqs_dlq": FIXTURES / "eventbridge_threshold_only_in_previous_state_reason_data.json",
    "cloudfront_errors": FIXTURES / "sns_message_cloudfront_5xx.json",
    "cost_spike": FIXTURES / "sns_message_billing_estimated_charges.json",
    "custom_metric": FIXTURES / "sns_message_custom_failure_rate.json",
    "data_freshness": FIXTURES / "sns_message_records_processed_low.json",
    "composite": FIXTURES / "sns_message_composite_triggering_children.json",
    "rds_connections": FIXTURES / "sns_message_rds_database_connections.json",
    "alb_5xx": FIXTURES / "sns_message_alb_target_5xx.json",
    "alb_latency": FIXTURES / "sns_message_alb_latency_p99.json",
    "ec2_cpu": FIXTURES / "sns_message_ec2_cpu_instance.json",
    "ec2_disk": FIXTURES / "sns_message_cwagent_disk_used_percent.json",
    "vpc_rejects": FIXTURES / "sns_message_vpc_flowlogs_rejects.json",
    "ecs_service": FIXTURES / "sns_message_ecs_running_task_count.json",
    "ecs_resources": FIXTURES / "sns_message_ecs_memory_utilization.json",
    "prom_error_rate": FIXTURES / "alertmanager" / "webhook_v4_high_error_rate_two_alerts.json",
    "prom_latency": FIXTURES / "alertmanager" / "webhook_v4_high_latency_p95.json",
    "db_connections": FIXTURES / "alertmanager" / "webhook_v4_postgres_too_many_connections.json",
}


@pytest.mark.parametrize("alert_type", sorted(ALARMS))
def test_from_alarm_runs_the_notebook_of_its_kind(alert_type, tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENT_REPORTS", str(tmp_path / "reports"))  # the synthesised store
    out = tmp_path / "out"
    code = main(["demo", "--from-alarm", str(ALARMS[alert_type]), "--out", str(out), "--quiet"])
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    doc = FindingsDoc.model_validate_json((folder / "findings.json").read_text("utf-8"))
    assert json.loads((folder / "alarm.json").read_text("utf-8"))
    assert f'alert_type = \\"{alert_type}\\"' in (folder / "notebook.ipynb").read_text("utf-8")
    statuses = {s.name: s.status for s in doc.sections}
    assert "failed" not in statuses.values(), statuses
    assert statuses["Findings"] == "ok"
    assert code == 0, statuses
    (onset,) = [f for f in doc.findings if f.kind == "onset"]
    assert onset.time is not None and pd.Timestamp(onset.time).tzinfo is not None
