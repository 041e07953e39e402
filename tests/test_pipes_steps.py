"""The pipeline steps of ``incident_lib.pipes_steps``: stage order, where the flow stopped,
schedules, job runs and the same hour of previous days, on hand-made series."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from incident_lib import pipes_steps
from incident_lib.alarm import parse_alarm
from incident_lib.analysis.onset import Onset
from incident_lib.notebook import Case

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "alarms"
T0 = pd.Timestamp("2026-11-20T05:00:00Z")
ONSET = pd.Timestamp("2026-11-20T05:50:00Z")


def _case() -> Case:
    alarm = parse_alarm(FIXTURES / "sns_message_records_processed_low.json")
    case = Case(alarm=alarm, source=None, start=T0, end=T0 + pd.Timedelta(minutes=85))  # type: ignore[arg-type]
    case.state["onset"] = Onset(
        time=ONSET,
        baseline=1.0,
        spread=0.1,
        threshold=0.5,
        first_breach=ONSET,
        peak=0.0,
        peak_time=ONSET,
        direction="down",
        method="test",
    )
    return case


def _put(case: Case, qid: str, values: pd.Series) -> None:
    """A metric step's result, as ``case.metrics`` keeps it (missing minutes left out)."""
    values = values[values != 0]
    # What case.metrics would have kept.
    case._series[qid] = pd.DataFrame(
        {"id": qid, "label": qid, "timestamp": values.index, "value": values.to_numpy()}
    )


def _minutes(level_before: float, level_after: float, at: pd.Timestamp = ONSET) -> pd.Series:
    index = pd.date_range(T0, T0 + pd.Timedelta(minutes=85), freq="min", inclusive="left")
    return pd.Series([level_before if t < at else level_after for t in index], index=index)


def test_stage_rank_orders_extract_transform_load() -> None:
    names = ["RecordsLoaded", "flightdata-processor", "flightdata-ingest", "nightly-cron"]
    assert sorted(names, key=pipes_steps.stage_rank) == [
        "nightly-cron",
        "flightdata-ingest",
        "flightdata-processor",
        "RecordsLoaded",
    ]
    assert pipes_steps.stage_rank("orders") == 2  # unknown: the middle


def test_ordered_stages_put_schedules_then_the_entry_function_then_by_rank() -> None:
    stages = pipes_steps.ordered_stages(
        ["ingest-schedule"],
        ["etl-processor", "etl-ingest"],
        [("RecordsProcessed", "own0"), ("RecordsIngested", "own1")],
        entry=["etl-ingest"],
    )
    assert [(s.name, s.qid) for s in stages] == [
        ("ingest-schedule", "rule0"),
        ("etl-ingest", "invocations1"),
        ("RecordsIngested", "own1"),
        ("etl-processor", "invocations0"),
        ("RecordsProcessed", "own0"),
    ]
    fixed = pipes_steps.ordered_stages([], ["b-load", "a-ingest"], [], fixed=["b-load", "a-ingest"])
    assert [s.name for s in fixed] == ["b-load", "a-ingest"]  # the catalogue's order wins


def test_the_first_stage_that_stopped_is_named_and_upstream_is_ruled_out() -> None:
    case = _case()
    _put(case, "rule0", _minutes(1, 1))
    _put(case, "invocations0", _minutes(1, 1))
    _put(case, "own0", _minutes(700, 0))  # ingested: published as 0, so missing here
    _put(case, "invocations1", _minutes(3, 0))
    stages = [
        pipes_steps.Stage("schedule", "schedule", "rule0"),
        pipes_steps.Stage("ingest", "function", "invocations0"),
        pipes_steps.Stage("RecordsIngested", "metric", "own0"),
        pipes_steps.Stage("processor", "function", "invocations1"),
    ]
    table = pipes_steps.stage_table(case, stages)
    assert list(table["status"]) == ["flowing", "flowing", "stopped", "stopped"]
    assert table.loc[2, "stopped_at"] == ONSET
    found = pipes_steps.stopped_finding(case)
    assert found is not None and found.kind == "cause"
    assert found.title.startswith("The pipeline stopped at RecordsIngested (metric)")
    assert "upstream schedule, ingest kept running" in found.title
    assert "processor stopped" in found.detail


def test_a_last_run_straddling_the_onset_does_not_move_the_stop() -> None:
    case = _case()
    values = _minutes(1, 0)
    values[ONSET + pd.Timedelta(minutes=2)] = 1  # one late run, then nothing
    _put(case, "rule0", values)
    table = pipes_steps.stage_table(case, [pipes_steps.Stage("r", "schedule", "rule0")])
    assert table.loc[0, "stopped_at"] == ONSET + pd.Timedelta(minutes=3)


def test_nothing_stopped_says_so() -> None:
    case = _case()
    _put(case, "rule0", _minutes(1, 1))
    pipes_steps.stage_table(case, [pipes_steps.Stage("r", "schedule", "rule0")])
    found = pipes_steps.stopped_finding(case)
    assert found is not None and found.kind == "pipeline_flowing"


def test_a_disabled_rule_that_stopped_firing_is_critical() -> None:
    case = _case()
    _put(case, "rule0", _minutes(1, 0))
    pipes_steps.stage_table(case, [pipes_steps.Stage("nightly", "schedule", "rule0")])
    (found,) = pipes_steps.schedule_finding(
        case, {"nightly": {"State": "DISABLED", "ScheduleExpression": "rate(1 minute)"}}
    )
    assert found.severity == "critical"
    assert found.title == "Schedule rule nightly stopped firing at 05:50 UTC: it is DISABLED"


def test_failed_invocations_of_a_firing_rule_are_named() -> None:
    case = _case()
    _put(case, "rule0", _minutes(1, 1))
    _put(case, "failed0", _minutes(0, 1))
    pipes_steps.stage_table(case, [pipes_steps.Stage("nightly", "schedule", "rule0")])
    (found,) = pipes_steps.schedule_finding(case, {"nightly": {"State": "ENABLED"}})
    assert "target invocations failed" in found.title


def test_previous_days_compare_the_same_time_of_day() -> None:
    case = _case()
    today = _minutes(10, 0)
    yesterday = _minutes(10, 10).shift(freq=pd.Timedelta(days=-1))
    table = pipes_steps.previous_days_table(case, today, {1: yesterday}, what="records")
    assert list(table["since_onset"]) == [0.0, 350.0]  # 35 min since the onset, 10 a minute
    assert list(table["hour_before"]) == [500.0, 500.0]  # the window starts 50 min before
    found = pipes_steps.previous_days_finding(case)
    assert found is not None and found.severity == "warning"
    assert found.title.startswith("0.0 records since 05:50 UTC, against 350")


def test_days_ago_moves_an_earlier_day_onto_todays_clock() -> None:
    frame = pd.DataFrame(
        {"id": "r", "label": "Records", "timestamp": [T0 - pd.Timedelta(days=7)], "value": [3.0]}
    )
    moved = pipes_steps.days_ago(frame, 7)
    assert moved.loc[0, "timestamp"] == T0
    assert moved.loc[0, "label"] == "Records (7 days ago)" and moved.loc[0, "id"] == "r_d7"


def test_glue_runs_newest_first_and_a_failed_run_is_a_finding() -> None:
    runs = {
        "JobRuns": [
            {"StartedOn": "2026-11-20T04:05:00+00:00", "JobRunState": "SUCCEEDED"},
            {
                "StartedOn": "2026-11-20T05:05:00+00:00",
                "JobRunState": "FAILED",
                "ErrorMessage": "boom",
            },
        ]
    }
    table = pipes_steps.glue_runs_table("etl", runs)
    assert list(table["state"]) == ["FAILED", "SUCCEEDED"]
    found = pipes_steps.glue_finding(_case(), table)
    assert found is not None and found.title == "Glue job etl run FAILED at 05:05 UTC"
    with pytest.raises(Exception, match="no runs"):
        pipes_steps.glue_runs_table("etl", {"JobRuns": []})


def test_pipeline_functions_by_prefix_after_the_catalogues() -> None:
    case = _case()
    case.params["pipeline_functions"] = ["shared-loader"]
    listing = {"Functions": [{"FunctionName": "FlightData-ingest"}, {"FunctionName": "billing"}]}
    assert pipes_steps.pipeline_functions(case, listing, "flightdata") == [
        "shared-loader",
        "FlightData-ingest",
    ]
    assert "FlightData-ingest" in case.params["resource_names"]
    assert pipes_steps.function_of_arn("arn:aws:lambda:us-east-1:1:function:f-1:live") == "f-1"


# -- composite alarms ------------------------------------------------------------------------------
def _composite_case() -> Case:
    alarm = parse_alarm(FIXTURES / "sns_message_composite_triggering_children.json")
    at = pd.Timestamp(alarm.state_change_time)
    return Case(
        alarm=alarm,
        source=None,
        start=at - pd.Timedelta(hours=1),
        end=at + pd.Timedelta(minutes=15),
    )  # type: ignore[arg-type]


def _history(name: str, *changes: tuple[pd.Timestamp, str, str]) -> dict:
    items = [
        {
            "AlarmName": name,
            "Timestamp": t.isoformat(),
            "HistoryItemType": "StateUpdate",
            "HistorySummary": f"Alarm updated from {old} to {new}",
            "HistoryData": json.dumps(
                {"oldState": {"stateValue": old}, "newState": {"stateValue": new}}
            ),
        }
        for t, old, new in changes
    ]
    return {"AlarmHistoryItems": items[::-1]}  # newest first, as AWS returns them


def test_the_first_child_to_fire_is_the_earliest_alarm_still_open_at_the_change() -> None:
    case = _composite_case()
    at = case.alarm_time
    histories = {
        "checkout-5xx": _history("checkout-5xx", (at - pd.Timedelta(seconds=1), "OK", "ALARM")),
        "checkout-latency": _history(
            "checkout-latency",
            (at - pd.Timedelta(minutes=50), "OK", "ALARM"),  # an earlier, closed episode
            (at - pd.Timedelta(minutes=45), "ALARM", "OK"),
            (at - pd.Timedelta(minutes=7), "OK", "ALARM"),
        ),
        "checkout-db": _history("checkout-db"),
    }
    table = pipes_steps.firing_table(case, histories)
    assert list(table["child"]) == ["checkout-latency", "checkout-5xx", "checkout-db"]
    assert table.loc[0, "alarm_since"] == at - pd.Timedelta(minutes=7)
    assert table.loc[0, "alarm_periods_in_window"] == 2
    found = pipes_steps.first_child_finding(case)
    assert found is not None
    assert found.title.startswith("checkout-latency fired first, at 02:38:55 UTC, 7 min before")
    assert "Not in ALARM in the window: checkout-db" in found.detail


def test_without_child_series_the_onset_is_the_first_childs_alarm_said_as_such() -> None:
    case = _composite_case()
    found = pipes_steps.composite_onset_finding(case)
    assert found is not None and found.kind == "onset" and found.confidence == "low"
    assert (
        found.title == "Onset no later than 2021-11-10 02:45 UTC, when checkout-5xx went into ALARM"
    )


def test_children_table_and_commands_name_each_childs_runbook() -> None:
    case = _composite_case()
    items = {
        "checkout-5xx": {
            "AlarmName": "checkout-5xx",
            "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-5xx",
            "Namespace": "AWS/ApiGateway",
            "MetricName": "5XXError",
            "Dimensions": [{"Name": "ApiName", "Value": "checkout"}],
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 3,
            "Threshold": 10.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "StateValue": "ALARM",
            "StateUpdatedTimestamp": "2021-11-10T02:45:55.640Z",
        }
    }
    table = pipes_steps.children_table(case, ["checkout-5xx", "checkout-latency"], items)
    assert table.loc[0, "watches"] == "AWS/ApiGateway 5XXError (ApiName=checkout) Sum/60s"
    assert table.loc[0, "condition"] == "GreaterThanThreshold 10.0 (3 of 3)"
    assert table.loc[1, "watches"] == "(not returned by DescribeAlarms)"
    commands = pipes_steps.child_commands(case, ["checkout-5xx", "my alarm"], items)
    assert list(commands["alert type"]) == ["apigateway_5xx", ""]
    assert (
        commands.loc[1, "command"]
        == "incident investigate --alarm-name 'my alarm' --region us-east-1"
    )
    assert "checkout" in case.params["resource_names"]  # changes to it are related


# -- RDS connections -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "cls", "limit"),
    [
        ("LEAST({DBInstanceClassMemory/9531392},5000)", "db.t3.medium", 450),  # PostgreSQL
        ("LEAST({DBInstanceClassMemory/9531392},5000)", "db.r6g.12xlarge", 5000),  # the cap
        ("{DBInstanceClassMemory/12582880}", "db.m5.large", 682),  # MySQL
        ("600", "db.m5.large", 600),  # set by hand
        ("{DBInstanceClassMemory/9531392}", "db.x2g.large", None),  # class not known
        ("", "db.t3.medium", None),
    ],
)
def test_max_connections_is_resolved_from_the_formula_and_the_class(value, cls, limit) -> None:
    found, how = pipes_steps.resolve_max_connections(value, cls)
    assert found == limit
    assert how


def _rds_case() -> Case:
    alarm = parse_alarm(FIXTURES / "sns_message_rds_database_connections.json")
    at = pd.Timestamp(alarm.state_change_time).floor("min")
    case = Case(
        alarm=alarm,
        source=None,
        start=at - pd.Timedelta(hours=1),
        end=at + pd.Timedelta(minutes=15),
    )  # type: ignore[arg-type]
    return case


def test_the_limit_finding_says_how_long_connections_sat_at_the_ceiling() -> None:
    case = _rds_case()
    instance = {"DBInstanceIdentifier": "prod-database", "DBInstanceClass": "db.t3.medium"}
    params = {
        "Parameters": [
            {
                "ParameterName": "max_connections",
                "ParameterValue": "LEAST({DBInstanceClassMemory/9531392},5000)",
                "Source": "engine-default",
            },
            {"ParameterName": "superuser_reserved_connections", "ParameterValue": "3"},
        ]
    }
    table = pipes_steps.database_table(case, instance, params)
    assert "450" in table.set_index("")["value"]["max_connections"]
    index = pd.date_range(case.start, case.end, freq="min", inclusive="left")
    values = pd.Series([100.0] * 40 + [300.0] * 10 + [447.0] * 25, index=index)
    _put(case, "connections", values)
    found = pipes_steps.connections_limit_finding(case)
    assert found is not None and found.kind == "cause" and found.severity == "critical"
    assert "447 of max_connections 450 (99%)" in found.title
    assert "at the ceiling for 25 min" in found.title


def test_clients_are_the_functions_whose_environment_names_the_database() -> None:
    case = _rds_case()
    listing = {
        "Functions": [
            {
                "FunctionName": "orders-api",
                "Environment": {"Variables": {"DB_HOST": "Prod-Database.abc.rds.amazonaws.com"}},
            },
            {"FunctionName": "search", "Environment": {"Variables": {"INDEX": "orders"}}},
            {"FunctionName": "nightly"},
        ]
    }
    assert pipes_steps.database_clients(case, listing, ["prod-database", ""]) == ["orders-api"]
    assert "orders-api" in case.params["resource_names"]
    settings = pipes_steps.pool_settings(
        {"orders-api": {"Environment": {"Variables": {"DB_POOL_SIZE": "10", "TZ": "UTC"}}}}
    )
    assert settings.loc[0, "pool settings"] == "DB_POOL_SIZE=10"


def test_pool_finding_says_when_the_pool_grew_and_when_it_did_not() -> None:
    case = _rds_case()
    case.state["onset"] = Onset(
        time=case.start + pd.Timedelta(minutes=40),
        baseline=1.0,
        spread=0.1,
        threshold=0.5,
        first_breach=case.start,
        peak=0.0,
        peak_time=case.start,
        direction="up",
        method="test",
    )
    bins = pd.date_range(case.start, case.end, freq="5min", inclusive="left")
    frame = pd.DataFrame({"bin(5m)": bins, "pool": [2.0] * 8 + [10.0] * (len(bins) - 8)})
    pipes_steps.pool_sizes(case, frame)
    found = pipes_steps.pool_finding(case)
    assert found is not None and found.title.startswith(
        "The clients' connection pool grew from 2 to 10"
    )
    pipes_steps.pool_sizes(case, frame.assign(pool=4.0))
    found = pipes_steps.pool_finding(case)
    assert found is not None and found.kind == "pool_unchanged"
