"""The CloudFront, cost and custom-metric alert types: their catalogue rules and windows, their
parameter builders, and the analysis steps of their notebooks (incident_lib.edge_steps)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from incident_lib import edge_steps
from incident_lib.alarm import parse_alarm
from incident_lib.catalog import load_catalog, resolve
from incident_lib.errors import BadInputError
from incident_lib.timeutil import parse_time

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "alarms"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INCIDENT_CATALOG", raising=False)


class FakeCase:
    """What the steps read of a Case: ``state``, ``params``, ``end`` and earlier series."""

    def __init__(self, series: dict[str, pd.Series] | None = None, end: str = "2026-11-20T13:00Z"):
        self.state: dict = {}
        self.params: dict = {}
        self.end = pd.Timestamp(end)
        self.alarm_time = self.end - pd.Timedelta(hours=1)
        self._series = series or {}

    def series(self, qid: str) -> pd.Series:
        from incident_lib.errors import NoDataError

        if qid not in self._series:
            raise NoDataError(qid)
        return self._series[qid]


# -- the catalogue -------------------------------------------------------------------------------
def test_billing_alarm_is_a_cost_spike_with_a_three_day_window() -> None:
    alarm = parse_alarm(FIXTURES / "sns_message_billing_estimated_charges.json")
    inv = resolve(alarm)
    assert inv.alert_type == "cost_spike"
    at = pd.Timestamp(alarm.state_change_time)
    assert parse_time(inv.parameters["start"]) == at - pd.Timedelta(days=3)
    assert parse_time(inv.parameters["end"]) == at + pd.Timedelta(hours=1)
    assert inv.parameters["currency"] == "USD" and inv.parameters["service_name"] == ""


def test_the_options_window_beats_the_types() -> None:
    alarm = parse_alarm(FIXTURES / "sns_message_billing_estimated_charges.json")
    inv = resolve(alarm, window_before="6h", window_after="0m")
    at = pd.Timestamp(alarm.state_change_time)
    assert parse_time(inv.parameters["start"]) == at - pd.Timedelta(hours=6)
    assert parse_time(inv.parameters["end"]) == at


def test_other_types_keep_the_hour_window() -> None:
    alarm = parse_alarm(FIXTURES / "sns_message_cloudfront_5xx.json")
    inv = resolve(alarm)
    at = pd.Timestamp(alarm.state_change_time)
    assert inv.alert_type == "cloudfront_errors"
    assert parse_time(inv.parameters["start"]) == at - pd.Timedelta(minutes=60)
    assert inv.parameters["distribution_id"] == "E2QWRUHAPOMQZL"
    assert inv.parameters["resource_names"] == ["E2QWRUHAPOMQZL"]


def test_a_window_in_a_catalogue_file_must_be_a_duration(tmp_path: Path) -> None:
    config = tmp_path / "catalog.toml"
    config.write_text(
        '[[alert_type]]\nname = "team_cost"\nnotebook = "x.ipynb"\nwindow_before = "3 days"\n',
        encoding="utf-8",
    )
    with pytest.raises(BadInputError, match="window_before"):
        load_catalog(config)


def test_a_cloudfront_alarm_without_distribution_is_bad_input(tmp_path: Path) -> None:
    payload = json.loads((FIXTURES / "sns_message_cloudfront_5xx.json").read_text("utf-8"))
    payload["Trigger"]["Dimensions"] = [{"name": "Region", "value": "Global"}]
    path = tmp_path / "alarm.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    config = tmp_path / "catalog.toml"
    config.write_text(
        '[[override]]\nalarm_name = "stock-dashboard-*"\nalert_type = "cloudfront_errors"\n',
        encoding="utf-8",
    )
    with pytest.raises(BadInputError, match="DistributionId"):
        resolve(parse_alarm(path), config=config)


# -- CloudFront ----------------------------------------------------------------------------------
def _distribution() -> dict:
    return {
        "Distribution": {
            "Status": "Deployed",
            "DistributionConfig": {
                "Origins": {
                    "Items": [
                        {
                            "Id": "site",
                            "DomainName": "my-site.s3.eu-west-1.amazonaws.com",
                            "OriginPath": "/v2",
                        },
                        {
                            "Id": "api",
                            "DomainName": "abcde12345.execute-api.eu-west-1.amazonaws.com",
                        },
                        {"Id": "alb", "DomainName": "web-123.eu-west-1.elb.amazonaws.com"},
                    ]
                },
                "DefaultCacheBehavior": {"TargetOriginId": "site"},
                "CacheBehaviors": {
                    "Items": [
                        {"PathPattern": "/api/*", "TargetOriginId": "api"},
                        {"PathPattern": "*.php", "TargetOriginId": "alb"},
                    ]
                },
            },
        }
    }


def test_origins_are_named_by_what_they_are_and_paths_go_to_the_first_matching_behaviour() -> None:
    case = FakeCase()
    origins, behaviors = edge_steps.distribution_tables(case, _distribution())
    assert list(origins["kind"]) == ["s3", "apigateway", "elb"]
    assert list(origins["resource"])[:2] == ["my-site", "abcde12345"]
    assert behaviors["path_pattern"].iloc[-1] == "* (default)"
    assert edge_steps.origin_for_path("/api/quotes", behaviors) == "api"
    assert edge_steps.origin_for_path("/admin/index.php", behaviors) == "alb"
    assert edge_steps.origin_for_path("/index.html", behaviors) == "site"
    named = edge_steps.origin_resources(case, {"items": [{"id": "abcde12345", "name": "quotes"}]})
    assert list(named["metric_name"]) == ["my-site", "quotes"]


def test_errors_from_the_origin_and_from_the_edge_are_told_apart() -> None:
    case = FakeCase()
    keys = ["x-edge-result-type", "x-edge-detailed-result-type", "sc-status"]
    before = pd.DataFrame([["Error", "InvalidRequest", 400, 5]], columns=[*keys, "errors"])
    since = pd.DataFrame(
        [["Error", "OriginError", 403, 900], ["Error", "InvalidRequest", 400, 6]],
        columns=[*keys, "errors"],
    )
    table = edge_steps.edge_or_origin_table(case, before, since)
    assert list(table["from"]) == ["origin", "edge"]
    found = edge_steps.edge_or_origin_finding(case)
    assert found is not None and "403" in found.title and "origin" in found.title
    # The edge's own refusals rising instead: CloudFront, not the origin.
    case = FakeCase()
    since = pd.DataFrame([["Error", "ClientGeoBlocked", 403, 700]], columns=[*keys, "errors"])
    edge_steps.edge_or_origin_table(case, before, since)
    assert "CloudFront itself" in edge_steps.edge_or_origin_finding(case).title


# -- cost ----------------------------------------------------------------------------------------
def test_charge_per_day_from_a_month_to_date_estimate_that_starts_again() -> None:
    t = pd.date_range("2026-10-31T06:00Z", periods=4, freq="6h")
    mtd = pd.Series([900.0, 915.0, 6.0, 21.0], index=t)  # the month turns at 2026-11-01T00:00
    rates = edge_steps._rates(mtd)
    assert list(rates.round(1)) == [60.0, 24.0, 60.0]


def test_charges_table_finds_the_service_that_grew() -> None:
    t = pd.date_range("2026-11-17T12:00Z", "2026-11-20T12:00Z", freq="6h")
    per_day = pd.Series(10.0, index=t)
    per_day[t >= pd.Timestamp("2026-11-19T18:00Z")] = 80.0
    lam = (per_day * 0.25).cumsum() + 500
    s3 = pd.Series(5.0 * 0.25, index=t).cumsum() + 100
    case = FakeCase({"a": lam, "b": s3})
    table = edge_steps.charges_table(case, None, {"a": "AWSLambda", "b": "AmazonS3"})
    assert table["service"].iloc[0] == "AWSLambda"
    assert edge_steps.growing_services(case) == ["AWSLambda"]
    found = edge_steps.cost_growth_finding(case)
    assert "AWSLambda" in found.title and "80.00" in found.title


def test_coarse_rise_needs_two_hours_past_three_times_the_first_day() -> None:
    t = pd.date_range("2026-11-17T00:00Z", periods=72, freq="h")
    values = pd.Series(100.0, index=t)
    values.iloc[30] = 900  # one busy hour is not a rise
    values.iloc[50:] = 5000
    assert edge_steps.coarse_rise(values) == t[50]
    assert edge_steps.coarse_rise(pd.Series(100.0, index=t)) is None


def test_a_loop_needs_the_bucket_to_invoke_the_function_that_writes_to_it() -> None:
    config = {
        "Environment": {"Variables": {"OUTPUT_BUCKET": "s3://media-uploads/thumbs", "X": "y"}}
    }
    assert edge_steps.bucket_names(config) == ["media-uploads"]
    arn = "arn:aws:lambda:us-east-1:123456789012:function:resizer"
    notification = {"LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn}]}
    assert edge_steps.loop_finding(FakeCase(), "resizer", "media-uploads", notification)
    other = {"LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn + "-v2"}]}
    assert edge_steps.loop_finding(FakeCase(), "resizer", "media-uploads", other) is None
    assert edge_steps.loop_finding(FakeCase(), "resizer", "media-uploads", {}) is None


# -- custom metrics ------------------------------------------------------------------------------
def test_an_applications_own_namespace_is_a_custom_metric_with_its_service(tmp_path: Path) -> None:
    alarm = parse_alarm(FIXTURES / "sns_message_custom_failure_rate.json")
    inv = resolve(alarm)
    assert inv.alert_type == "custom_metric"
    assert inv.parameters["service_name"] == "stock-analysis-api-production"
    assert inv.parameters["log_groups"] == []
    config = tmp_path / "catalog.toml"
    config.write_text(
        '[log_groups]\n"stock-analysis-api-production" = ["/stock/api/app"]\n', encoding="utf-8"
    )
    assert resolve(alarm, config=config).parameters["log_groups"] == ["/stock/api/app"]
    # An AWS namespace no rule knows is still the generic report's.
    aws = alarm.model_copy(
        update={"metric": alarm.metric.model_copy(update={"namespace": "AWS/Kinesis"})}
    )
    assert resolve(aws).alert_type == "generic"


def _lines(rows: list[tuple[str, dict]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "@timestamp": [pd.Timestamp(t) for t, _ in rows],
            "@message": [f"{t}\tabc\tWARNING\t{json.dumps(body)}" for t, body in rows],
        }
    )


def test_field_shift_names_the_values_only_the_incident_has() -> None:
    case = FakeCase()
    case.start = pd.Timestamp("2026-11-20T11:00Z")
    case.end = pd.Timestamp("2026-11-20T13:00Z")
    case.state["onset"] = type("O", (), {"time": pd.Timestamp("2026-11-20T12:00Z")})()
    old = {"level": "WARNING", "provider": "news", "reason": "volume missing"}
    new = {"level": "WARNING", "provider": "market", "reason": "price not a number"}
    baseline = _lines([("2026-11-20T11:30Z", {**old, "id": str(i)}) for i in range(30)])
    incident = _lines(
        [("2026-11-20T12:30Z", {**new, "id": str(i)}) for i in range(200)]
        + [("2026-11-20T12:31Z", old)] * 30
    )
    table = edge_steps.field_shift(case, baseline, incident)
    assert "id" not in set(table["field"])  # one value per line: not in common
    assert "level" not in set(table["field"])  # the same on every line, before and since
    found = edge_steps.field_shift_finding(case)
    assert "reason = price not a number" in found.title and "provider = market" in found.title
    assert "news" not in found.title


def test_history_says_when_the_value_is_this_hours_usual() -> None:
    case = FakeCase()
    case.state["history_table"] = pd.DataFrame(
        {
            "when": ["today, since", "today, before", "yesterday, same", "a week ago, same"],
            "mean": [30.0, 2.5, 2.6, 2.4],
        }
    )
    assert "not this hour's pattern" in edge_steps.history_finding(case, label="Low").title
    case.state["history_table"]["mean"] = [30.0, 2.5, 29.0, 31.0]
    assert "usual level" in edge_steps.history_finding(case, label="Low").title
