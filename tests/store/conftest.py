"""Helpers for the store tests: a small valid store with a row in every table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from incident_lib.store import StoreWriter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "store"
T0 = pd.Timestamp("2026-01-01T00:00:00Z")


def write_sample_store(path: Path) -> None:
    with StoreWriter(path, account_id="111122223333", region="eu-west-1") as w:
        w.add_metrics(
            pd.DataFrame(
                {
                    "namespace": ["AWS/Lambda", "AWS/Lambda"],
                    "metric_name": ["Duration", "Duration"],
                    "dimensions": [
                        {"FunctionName": "checkout", "Alias": "live"},
                        [{"Name": "FunctionName", "Value": "checkout"}],
                    ],
                    "timestamp": [T0, T0 + pd.Timedelta(minutes=1)],
                    "unit": ["Milliseconds", "Milliseconds"],
                    "value": [120.5, None],
                    "sample_count": [None, 10.0],
                    "sum": [None, 2000.0],
                    "minimum": [None, 50.0],
                    "maximum": [None, 900.0],
                }
            )
        )
        w.add_log_events(
            [
                {
                    "timestamp": T0 + pd.Timedelta(seconds=5),
                    "message": "ERROR boom",
                    "log_stream": "stream-1",
                }
            ],
            log_group="/aws/lambda/checkout",
        )
        w.add_alarms(
            [
                {
                    "AlarmName": "checkout-errors",
                    "AlarmArn": "arn:aws:cloudwatch:x",
                    "StateValue": "ALARM",
                    "StateUpdatedTimestamp": T0,
                    "MetricName": "Errors",
                    "Threshold": 1.0,
                }
            ]
        )
        w.add_alarm_history(
            [
                {
                    "AlarmName": "checkout-errors",
                    "Timestamp": T0,
                    "HistoryItemType": "StateUpdate",
                    "HistorySummary": "OK to ALARM",
                    "HistoryData": {"newState": {"stateValue": "ALARM"}},
                }
            ]
        )
        w.add_change_events(
            [
                {
                    "EventId": "e1",
                    "EventTime": T0 - pd.Timedelta(minutes=10),
                    "EventName": "UpdateFunctionCode20150331v2",
                    "EventSource": "lambda.amazonaws.com",
                    "Username": "deployer",
                    "ReadOnly": "false",
                    "Resources": [
                        {"ResourceType": "AWS::Lambda::Function", "ResourceName": "checkout"}
                    ],
                    "CloudTrailEvent": '{"requestParameters": {"functionName": "checkout"}}',
                }
            ]
        )
        w.set_scenario(
            {
                "name": "lambda_errors",
                "seed": 7,
                "ground_truth": {"cause": "bad deploy", "onset": T0},
            }
        )


@pytest.fixture
def sample_store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    write_sample_store(path)
    return path


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
