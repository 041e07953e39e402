"""The catalogue rules and parameter builders of the service alert types."""

from __future__ import annotations

from pathlib import Path

import pytest

from incident_lib.alarm import parse_alarm
from incident_lib.catalog import resolve
from incident_lib.errors import BadInputError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "alarms"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INCIDENT_CATALOG", raising=False)
    monkeypatch.delenv("INCIDENT_NOTEBOOKS", raising=False)


def _alarm(namespace: str, metric: str, dims: dict[str, str], stat: str = "Sum"):
    return parse_alarm(
        {
            "AlarmName": f"{metric}-alarm",
            "AWSAccountId": "123456789012",
            "NewStateValue": "ALARM",
            "OldStateValue": "OK",
            "NewStateReason": "Threshold Crossed",
            "StateChangeTime": "2026-11-20T12:22:40.000+0000",
            "Region": "US East (N. Virginia)",
            "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:x",
            "Trigger": {
                "MetricName": metric,
                "Namespace": namespace,
                "Statistic": stat.upper(),
                "Dimensions": [{"name": k, "value": v} for k, v in dims.items()],
                "Period": 60,
                "EvaluationPeriods": 3,
                "ComparisonOperator": "GreaterThanThreshold",
                "Threshold": 10.0,
            },
        }
    )


def test_rest_api_5xx_goes_to_apigateway_5xx_with_its_api_and_stage() -> None:
    inv = resolve(_alarm("AWS/ApiGateway", "5XXError", {"ApiName": "orders-api", "Stage": "prod"}))
    assert inv.alert_type == "apigateway_5xx"
    assert inv.notebook.name == "apigateway_5xx.ipynb" and inv.notebook.is_file()
    p = inv.parameters
    assert (p["api_name"], p["api_id"], p["stage"]) == ("orders-api", "", "prod")
    assert p["backend_functions"] == [] and p["log_groups"] == []
    assert p["resource_names"] == ["orders-api"]


def test_http_api_5xx_by_api_id() -> None:
    inv = resolve(_alarm("AWS/ApiGateway", "5xx", {"ApiId": "a1b2c3", "Stage": "$default"}))
    assert inv.alert_type == "apigateway_5xx"
    assert (inv.parameters["api_id"], inv.parameters["api_name"]) == ("a1b2c3", "")


def test_the_seed_runbooks_alarm_without_stage_still_names_the_api() -> None:
    alarm = parse_alarm(FIXTURES / "sns_message_treat_missing_data_nonbreaching_text.json")
    inv = resolve(alarm)
    assert inv.alert_type == "apigateway_5xx"
    assert (inv.parameters["api_name"], inv.parameters["stage"]) == ("checkout-api", "")


def test_user_file_maps_backends_and_access_log_groups(tmp_path: Path) -> None:
    config = tmp_path / "catalog.toml"
    config.write_text(
        '[log_groups]\n"orders-api" = ["/custom/access/orders"]\n'
        '"orders-worker" = ["/custom/worker"]\n'
        '[backends]\n"orders-api" = ["orders-worker"]\n',
        encoding="utf-8",
    )
    alarm = _alarm("AWS/ApiGateway", "5XXError", {"ApiName": "orders-api", "Stage": "prod"})
    p = resolve(alarm, config=config).parameters
    assert p["backend_functions"] == ["orders-worker"]
    assert p["log_groups"] == ["/custom/access/orders"]
    assert p["log_group_map"]["orders-worker"] == ["/custom/worker"]


def test_an_override_without_an_api_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "catalog.toml"
    config.write_text(
        '[[override]]\nalarm_name = "Errors-*"\nalert_type = "apigateway_5xx"\n', encoding="utf-8"
    )
    alarm = _alarm("AWS/Lambda", "Errors", {"FunctionName": "f"})
    with pytest.raises(BadInputError, match="names no API"):
        resolve(alarm, config=config)


def test_dynamodb_throttles_go_to_dynamodb_throttling_with_table_and_index() -> None:
    dims = {"TableName": "orders-ledger", "GlobalSecondaryIndexName": "by-customer"}
    inv = resolve(_alarm("AWS/DynamoDB", "WriteThrottleEvents", dims))
    assert inv.alert_type == "dynamodb_throttling"
    assert inv.notebook.is_file()
    p = inv.parameters
    assert (p["table_name"], p["index_name"]) == ("orders-ledger", "by-customer")
    assert p["resource_names"] == ["orders-ledger"]


def test_lambda_throttles_go_to_lambda_throttles() -> None:
    inv = resolve(_alarm("AWS/Lambda", "Throttles", {"FunctionName": "thumbnail-worker"}))
    assert inv.alert_type == "lambda_throttles"
    assert inv.parameters["function_name"] == "thumbnail-worker"
    assert inv.parameters["log_groups"] == ["/aws/lambda/thumbnail-worker"]


def test_queue_depth_goes_to_sqs_dlq_with_the_queue() -> None:
    inv = resolve(_alarm("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "q-dlq"}))
    assert inv.alert_type == "sqs_dlq" and inv.notebook.is_file()
    assert (inv.parameters["queue_name"], inv.parameters["resource_names"]) == ("q-dlq", ["q-dlq"])


def test_lambda_duration_goes_to_lambda_duration() -> None:
    inv = resolve(_alarm("AWS/Lambda", "Duration", {"FunctionName": "quote-api"}, "Maximum"))
    assert inv.alert_type == "lambda_duration" and inv.notebook.is_file()
    assert inv.parameters["function_name"] == "quote-api"


def test_api_latency_goes_to_apigateway_latency() -> None:
    dims = {"ApiName": "catalog-api", "Stage": "prod"}
    inv = resolve(_alarm("AWS/ApiGateway", "IntegrationLatency", dims, "p99"))
    assert inv.alert_type == "apigateway_latency" and inv.notebook.is_file()
    assert (inv.parameters["api_name"], inv.parameters["stage"]) == ("catalog-api", "prod")


def test_api_4xx_goes_to_apigateway_throttling() -> None:
    inv = resolve(_alarm("AWS/ApiGateway", "4XXError", {"ApiName": "quotes-api", "Stage": "prod"}))
    assert inv.alert_type == "apigateway_throttling" and inv.notebook.is_file()
    assert inv.parameters["api_name"] == "quotes-api"


def test_dynamodb_system_errors_go_to_their_own_type() -> None:
    dims = {"TableName": "sessions", "Operation": "GetItem"}
    inv = resolve(_alarm("AWS/DynamoDB", "SystemErrors", dims))
    assert inv.alert_type == "dynamodb_system_errors" and inv.notebook.is_file()
    assert inv.parameters["table_name"] == "sessions"
