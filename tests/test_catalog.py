"""incident_lib.catalog: alert-type matching, parameters, user configuration, the command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from incident_lib.alarm import parse_alarm
from incident_lib.catalog import (
    AlertType,
    Catalog,
    load_catalog,
    notebooks_dir,
    resolve,
)
from incident_lib.cli import main
from incident_lib.errors import BadInputError, UnknownNameError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "alarms"
CONFIGS = FIXTURES / "catalog"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INCIDENT_CATALOG", raising=False)
    monkeypatch.delenv("INCIDENT_NOTEBOOKS", raising=False)


def test_lambda_errors_eventbridge_gets_function_and_log_group() -> None:
    alarm = parse_alarm(FIXTURES / "eventbridge_lambda_errors.json")
    inv = resolve(alarm)
    assert inv.alert_type == "lambda_errors"
    assert inv.notebook == REPO / "notebooks" / "lambda_errors.ipynb"
    p = inv.parameters
    assert p["function_name"] == "image-resizer"
    assert p["log_groups"] == ["/aws/lambda/image-resizer"]
    assert (p["alarm_name"], p["region"], p["account_id"]) == (
        "image-resizer errors",
        "us-west-2",
        "123456789012",
    )
    assert (p["start"], p["end"]) == ("2026-01-20T02:12:09.118Z", "2026-01-20T03:27:09.118Z")
    assert p["alert_type"] == "lambda_errors"
    assert json.loads(p["alarm_json"])["incident_id"] == alarm.incident_id
    json.dumps(p)  # papermill parameters must be JSON-serialisable


def test_alias_resource_dimension_gives_the_function() -> None:
    alarm = parse_alarm(FIXTURES / "sns_envelope_lambda_errors_alias_resource.json")
    # Only the Resource dimension ("fn:alias"): the function is the part before the colon.
    dims = {"Resource": "checkout-api:live"}
    only_resource = alarm.model_copy(
        update={"metric": alarm.metric.model_copy(update={"dimensions": dims})}
    )
    for a in (alarm, only_resource):
        inv = resolve(a)
        assert inv.alert_type == "lambda_errors"
        assert inv.parameters["function_name"] == "checkout-api"
        assert inv.parameters["log_groups"] == ["/aws/lambda/checkout-api"]


def test_user_config_maps_function_to_its_log_groups() -> None:
    alarm = parse_alarm(FIXTURES / "sqs_event_wrapping_sns_notification.json")
    inv = resolve(alarm, config=CONFIGS / "log_groups_and_name_override.toml")
    assert inv.parameters["log_groups"] == ["/checkout/api/app", "/aws/lambda/checkout-api"]


def test_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENT_CATALOG", str(CONFIGS / "log_groups_and_name_override.toml"))
    alarm = parse_alarm(FIXTURES / "sns_envelope_lambda_errors_alias_resource.json")
    assert resolve(alarm).parameters["log_groups"][0] == "/checkout/api/app"


def _custom_p99() -> Any:
    """The p99 fixture's alarm on an AWS namespace no catalogue rule matches (a custom
    namespace goes to custom_metric)."""
    alarm = parse_alarm(FIXTURES / "sns_message_bare_extended_statistic_p99.json")
    return alarm.model_copy(
        update={"metric": alarm.metric.model_copy(update={"namespace": "AWS/Kinesis"})}
    )


def test_name_pattern_override() -> None:
    alarm = parse_alarm(FIXTURES / "sns_message_bare_extended_statistic_p99.json")
    assert resolve(alarm).alert_type == "apigateway_latency"
    assert resolve(_custom_p99()).alert_type == "generic"  # AWS/Kinesis: no rule
    inv = resolve(alarm, config=CONFIGS / "log_groups_and_name_override.toml")
    assert inv.alert_type == "lambda_errors"
    assert inv.parameters["function_name"] == "orders-handler"
    assert inv.parameters["log_groups"] == ["/aws/lambda/orders-handler"]


def test_override_to_lambda_without_function_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "catalog.toml"
    config.write_text('[[override]]\nalarm_name = "orders-*"\nalert_type = "lambda_errors"\n')
    alarm = parse_alarm(FIXTURES / "sns_message_bare_extended_statistic_p99.json")
    with pytest.raises(BadInputError, match="function_name"):
        resolve(alarm, config=config)


def test_unknown_metric_goes_to_generic_with_resource_names() -> None:
    inv = resolve(_custom_p99(), window_before="2h", window_after="30m")
    assert inv.alert_type == "generic"
    assert inv.notebook == REPO / "notebooks" / "generic.ipynb"
    assert inv.parameters["resource_names"] == ["orders-api", "prod"]
    assert inv.parameters["log_groups"] == []
    assert inv.parameters["start"] == "2025-11-05T06:19:12.004Z"
    assert inv.parameters["end"] == "2025-11-05T08:49:12.004Z"


def test_composite_alarms_go_to_composite_with_their_children() -> None:
    composite = parse_alarm(FIXTURES / "sns_message_composite_triggering_children.json")
    inv = resolve(composite)
    assert inv.alert_type == "composite"
    assert inv.parameters["children"] == ["checkout-5xx", "checkout-latency"]
    assert inv.parameters["resource_names"] == []
    # ARNs and quoted names in the rule are alarm names; a triggering child the rule does not
    # name (a nested composite's) is kept after them
    rule = 'ALARM("a b") OR OK(arn:aws:cloudwatch:us-east-1:1:alarm:c) AND NOT ALARM(d)'
    spec = composite.composite.model_copy(update={"rule": rule})
    inv = resolve(composite.model_copy(update={"composite": spec}))
    assert inv.parameters["children"] == ["a b", "c", "d", "checkout-5xx"]


def test_math_without_lambda_dims_goes_to_generic() -> None:
    # AWS/Lambda Invocations/Duration with no dimensions: no function, so no lambda_errors
    payload = json.loads((FIXTURES / "eventbridge_lambda_errors.json").read_text())
    metric = payload["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]
    metric["dimensions"] = {}
    assert resolve(parse_alarm(payload)).alert_type == "generic"


def test_planned_types_are_skipped_by_the_matcher() -> None:
    catalog = load_catalog()
    catalog.register(
        AlertType(
            name="planned_thing",
            notebook="planned_thing.ipynb",
            planned=True,
            match=[{"namespace": "AWS/Thing", "metrics": ["Load"]}],
        ),
        first=True,
    )
    assert catalog.get("planned_thing").planned
    alarm = parse_alarm(FIXTURES / "eventbridge_lambda_errors.json")
    thing = alarm.model_copy(
        update={
            "metric": alarm.metric.model_copy(
                update={"namespace": "AWS/Thing", "name": "Load", "dimensions": {"Host": "a"}}
            )
        }
    )
    assert catalog.match(thing).alert_type.name == "generic"


def test_ec2_cpu_alarms_go_to_ec2_cpu_with_the_instance() -> None:
    alarm = parse_alarm(FIXTURES / "sns_message_ec2_cpu_instance.json")
    inv = resolve(alarm)
    assert inv.alert_type == "ec2_cpu"
    assert inv.parameters["instance_id"] == "i-0abc123def4567890"
    assert inv.parameters["asg_name"] == ""


def test_metric_math_error_rate_on_a_function_is_lambda_errors() -> None:
    payload = json.loads((FIXTURES / "eventbridge_lambda_errors.json").read_text())
    errors = payload["detail"]["configuration"]["metrics"][0]
    invocations = json.loads(json.dumps(errors))
    invocations["id"], invocations["metricStat"]["metric"]["name"] = "m2", "Invocations"
    payload["detail"]["configuration"]["metrics"] = [
        {"id": "e1", "expression": "100*m1/m2", "label": "error rate", "returnData": True},
        {**errors, "returnData": False},
        {**invocations, "returnData": False},
    ]
    alarm = parse_alarm(payload)
    assert alarm.kind == "metric_math"
    inv = resolve(alarm)
    assert (inv.alert_type, inv.parameters["function_name"]) == ("lambda_errors", "image-resizer")


def test_user_alert_type_is_tried_first() -> None:
    alarm = parse_alarm(
        Path(__file__).resolve().parent
        / "fixtures"
        / "alarms"
        / "describe_alarms_item_lambda_errors.json"
    )
    catalog = load_catalog(CONFIGS / "user_alert_type.toml")
    assert catalog.names()[0] == "team_ec2_cpu"
    # A relative notebook path in a user's file starts at that file's folder.
    assert catalog.notebook_path("team_ec2_cpu") == (
        CONFIGS / "../../notebooks/team/checkout_errors.ipynb"
    )
    assert catalog.investigation(alarm).alert_type == "lambda_errors"
    ec2 = alarm.model_copy(
        update={
            "metric": alarm.metric.model_copy(
                update={
                    "namespace": "AWS/EC2",
                    "name": "CPUUtilization",
                    "dimensions": {"InstanceId": "i-0abc"},
                }
            )
        }
    )
    assert catalog.investigation(ec2).alert_type == "team_ec2_cpu"


def test_registry_lookup_and_register() -> None:
    catalog = load_catalog()
    with pytest.raises(UnknownNameError) as info:
        catalog.get("lambda_error")
    assert "lambda_errors" in str(info.value) and "generic" in str(info.value)
    catalog.register(AlertType(name="mine", notebook="mine.ipynb"))
    assert "mine" in catalog and catalog.names()[-1] == "mine"
    with pytest.raises(UnknownNameError, match="parameter builder"):
        catalog.register(AlertType(name="bad", notebook="x.ipynb", parameters="nope"))
    empty = Catalog()
    with pytest.raises(UnknownNameError, match=r"\(none\)"):
        empty.get("generic")


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ("unknown_key.toml", "alert_type.0.colour"),
        ("override_to_unknown_type.toml", "no_such_type"),
        ("does_not_exist.toml", "does_not_exist.toml"),
    ],
)
def test_bad_config_is_bad_input(config: str, words: str) -> None:
    with pytest.raises(BadInputError, match=words):
        load_catalog(CONFIGS / config)


def test_notebooks_dir_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert notebooks_dir() == REPO / "notebooks"
    monkeypatch.setenv("INCIDENT_NOTEBOOKS", str(tmp_path))
    inv = resolve(parse_alarm(FIXTURES / "eventbridge_lambda_errors.json"))
    assert inv.notebook == tmp_path / "lambda_errors.ipynb"


def test_catalog_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--format", "json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["lambda_errors"]["planned"] is False
    assert rows["lambda_errors"]["matches"] == ["AWS/Lambda Errors [FunctionName|Resource]"]
    assert rows["lambda_errors"]["notebook"].endswith("notebooks/lambda_errors.ipynb")
    assert rows["generic"]["matches"][0].startswith("fallback")
    assert rows["sqs_dlq"]["status"] == "ready"
    assert rows["ec2_cpu"]["status"] == "ready"
    assert all(r["status"] == "planned" for r in rows.values() if r["planned"])


def test_catalog_command_table_with_config(capsys: pytest.CaptureFixture[str]) -> None:
    config = CONFIGS / "log_groups_and_name_override.toml"
    assert main(["catalog", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "MATCHES", "NOTEBOOK"]
    lambda_line = next(line for line in lines if line.startswith("lambda_errors "))
    assert "alarm name 'orders-api *'" in lambda_line
    assert any(line.startswith("ec2_cpu ") and " ready " in line for line in lines)


def test_catalog_command_bad_config_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--config", str(CONFIGS / "unknown_key.toml")]) == 2
    assert "colour" in capsys.readouterr().err
