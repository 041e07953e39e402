"""The telemetry store's table schemas (see docs/store-format.md).

One Parquet file per table. Timestamps are ``timestamp[us, tz=UTC]``. JSON-shaped values
(dimensions, alarm definitions, CloudTrail records) are stored as canonical JSON strings so the
same files read the same in DuckDB, pandas and any Parquet tool.
"""

from __future__ import annotations

import pyarrow as pa

FORMAT_NAME = "incident-telemetry-store"
FORMAT_VERSION = 1
DESCRIPTOR = "store.json"

TS = pa.timestamp("us", tz="UTC")

TABLES: dict[str, pa.Schema] = {
    # One row is either a raw sample (value set, the four statistics null) or a CloudWatch
    # statistic set (value null; sample_count, sum, minimum, maximum set), as PutMetricData takes.
    "metrics": pa.schema(
        [
            ("namespace", pa.string()),
            ("metric_name", pa.string()),
            ("dimensions", pa.string()),  # canonical JSON object, keys sorted: {"FunctionName":"x"}
            ("timestamp", TS),
            ("unit", pa.string()),
            ("value", pa.float64()),
            ("sample_count", pa.float64()),
            ("sum", pa.float64()),
            ("minimum", pa.float64()),
            ("maximum", pa.float64()),
        ]
    ),
    # FilterLogEvents events plus the group they belong to.
    "logs": pa.schema(
        [
            ("log_group", pa.string()),
            ("log_stream", pa.string()),
            ("timestamp", TS),
            ("ingestion_time", TS),
            ("message", pa.string()),
            ("event_id", pa.string()),
        ]
    ),
    # DescribeAlarms items (MetricAlarms and CompositeAlarms), whole, in ``definition``.
    "alarms": pa.schema(
        [
            ("alarm_name", pa.string()),
            ("alarm_arn", pa.string()),
            ("alarm_type", pa.string()),  # MetricAlarm | CompositeAlarm
            ("state_value", pa.string()),
            ("state_updated", TS),
            ("definition", pa.string()),  # JSON of the DescribeAlarms item
        ]
    ),
    # DescribeAlarmHistory items.
    "alarm_history": pa.schema(
        [
            ("alarm_name", pa.string()),
            ("alarm_type", pa.string()),
            ("timestamp", TS),
            ("history_item_type", pa.string()),  # StateUpdate | ConfigurationUpdate | Action
            ("history_summary", pa.string()),
            ("history_data", pa.string()),  # JSON string, as AWS returns it
        ]
    ),
    # CloudTrail LookupEvents records.
    "changes": pa.schema(
        [
            ("event_id", pa.string()),
            ("event_time", TS),
            ("event_name", pa.string()),
            ("event_source", pa.string()),
            ("username", pa.string()),
            ("read_only", pa.bool_()),
            ("resources", pa.string()),  # JSON list of {"ResourceType","ResourceName"}
            ("request_parameters", pa.string()),  # JSON object or null
            ("cloudtrail_event", pa.string()),  # the full record, JSON
        ]
    ),
    # Read-only AWS calls (describe-*, get-*, list-*) and their answers: the state of a
    # resource at alarm time, as a notebook's ``case.aws(...)`` step asked for it.
    "aws_calls": pa.schema(
        [
            ("service", pa.string()),  # boto3 service name: lambda, ecs, rds ...
            ("operation", pa.string()),  # API name: GetFunctionConfiguration
            ("parameters", pa.string()),  # canonical JSON object of the request
            ("response", pa.string()),  # JSON of the response (ResponseMetadata dropped)
            ("recorded_at", TS),
        ]
    ),
    # Prometheus samples (raw, as a TSDB holds them): answered offline by
    # incident_lib.sources.promql_local for the PromQL the notebooks use.
    "prometheus_samples": pa.schema(
        [
            ("metric_name", pa.string()),  # __name__
            ("labels", pa.string()),  # canonical JSON object of the other labels, keys sorted
            ("timestamp", TS),
            ("value", pa.float64()),
        ]
    ),
}

#: Tables added after version 1 shipped: a store without them reads as if they were empty.
OPTIONAL_TABLES = frozenset({"aws_calls", "prometheus_samples"})

# Columns that may not be null in a valid store.
REQUIRED: dict[str, tuple[str, ...]] = {
    "metrics": ("namespace", "metric_name", "dimensions", "timestamp"),
    "logs": ("log_group", "log_stream", "timestamp", "message", "event_id"),
    "alarms": ("alarm_name", "alarm_type", "definition"),
    "alarm_history": ("alarm_name", "timestamp", "history_item_type"),
    "changes": ("event_id", "event_time", "event_name"),
    "aws_calls": ("service", "operation", "parameters", "response"),
    "prometheus_samples": ("metric_name", "labels", "timestamp", "value"),
}


def table_file(name: str) -> str:
    return f"{name}.parquet"


def type_matches(expected: pa.DataType, actual: pa.DataType) -> bool:
    """Whether a column's stored type is acceptable for the expected one."""
    if expected == actual:
        return True
    if pa.types.is_timestamp(expected):
        # Any unit is fine, the zone must be UTC: a naive timestamp is a wrong type here.
        return pa.types.is_timestamp(actual) and actual.tz in ("UTC", "+00:00", "Etc/UTC")
    if pa.types.is_string(expected):
        return (
            pa.types.is_string(actual)
            or pa.types.is_large_string(actual)
            or (pa.types.is_string_view(actual))
        )
    if pa.types.is_floating(expected):
        return pa.types.is_floating(actual) or pa.types.is_integer(actual)
    return False
