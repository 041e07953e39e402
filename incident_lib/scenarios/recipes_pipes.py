"""Pieces for the data-pipeline, composite-alarm and RDS scenarios (``catalog_pipes.py``):
metrics published only while a job runs, the same metrics on previous days, scheduled runs
that write log lines, and the recorded calls a runbook makes about EventBridge rules, Glue
jobs, child alarms and RDS instances, in the shapes AWS uses.

:class:`PipelineScenario` is a :class:`~incident_lib.scenarios.services.ServiceScenario`
with three additions a pipeline needs: :class:`Published` gauges (written only in the minutes
their ``when`` selects: a metric nobody publishes when no job runs), ``history_days`` (the
``history`` gauges written for the same window on earlier days, so "the same hour of previous
days" can be read) and ``runs`` (:class:`Runs`: one log line per scheduled run).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from incident_lib.scenarios import alarms
from incident_lib.scenarios.ids import new_uuid, new_uuids
from incident_lib.scenarios.lambda_logs import app_line
from incident_lib.scenarios.services import (
    ACCOUNT,
    REGION,
    AlarmOn,
    Call,
    Context,
    Gauge,
    ServiceScenario,
    recorded,
)
from incident_lib.scenarios.traffic import minute_index
from incident_lib.store import StoreWriter

#: ``when(ctx) -> bool per minute``: the minutes a metric is published in.
When = Callable[[Context], np.ndarray]


@dataclass(frozen=True)
class Published(Gauge):
    """A :class:`Gauge` written only in the minutes ``when`` selects (AWS publishes nothing
    for a function nobody invoked, an application publishes nothing when its job did not
    run); every minute when ``when`` is None."""

    when: When | None = None


@dataclass(frozen=True)
class Runs:
    """A scheduled job's log lines: ``line(minute, i)`` for each minute ``when`` selects (one
    run a minute), in ``group``."""

    group: str
    when: When
    line: Callable[[pd.Timestamp, int], str]
    log_streams: int = 2


@dataclass(frozen=True)
class PipelineScenario(ServiceScenario):
    """A :class:`ServiceScenario` with :class:`Published` gauges, ``history`` gauges written
    for ``history_days`` earlier days too, and :class:`Runs` log lines."""

    history: Sequence[Gauge] = ()
    history_days: Sequence[int] = (1, 2, 3, 7)
    runs: Sequence[Runs] = ()
    #: Extra alarms evaluated over the same rows (the children of a composite).
    extra_alarms: Sequence[AlarmOn] = ()

    def _metric_rows(self, m, frames, rng):  # type: ignore[override]
        rows = super()._metric_rows(m, frames, rng)
        if isinstance(m, Published) and m.when is not None:
            index = minute_index(self.start, self.end)
            keep = pd.Series(m.when(Context(index, frames)), index=index).astype(bool)
            rows = rows[keep.reindex(pd.DatetimeIndex(rows["timestamp"])).to_numpy()]
        return rows

    def _history_rows(self, rng: np.random.Generator) -> pd.DataFrame:
        parts = []
        for days in self.history_days:
            shift = pd.Timedelta(days=days)
            earlier = dataclasses.replace(
                self,
                start=self.start - shift,
                end=self.end - shift,
                history=(),
                runs=(),
                requests=(),
            )
            for m in self.history:
                parts.append(earlier._metric_rows(m, {}, rng))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def _run_lines(self, spec: Runs, rng: np.random.Generator) -> pd.DataFrame:
        index = minute_index(self.start, self.end)
        minutes = index[np.asarray(spec.when(Context(index, {})), bool)]
        streams = [
            f"{self.start:%Y/%m/%d}/[$LATEST]{new_uuid(rng).replace('-', '')}"
            for _ in range(spec.log_streams)
        ]
        offsets = rng.integers(150, 900, size=len(minutes))
        stamps = [
            t + pd.Timedelta(milliseconds=int(o)) for t, o in zip(minutes, offsets, strict=True)
        ]
        return pd.DataFrame(
            {
                "timestamp": stamps,
                "message": [spec.line(t, i) for i, t in enumerate(stamps)],
                "log_stream": [streams[(i // 15) % len(streams)] for i in range(len(stamps))],
                "ingestion_time": [t + pd.Timedelta(milliseconds=700) for t in stamps],
            }
        )

    def generate(self, writer: StoreWriter, rng: np.random.Generator) -> dict[str, Any]:
        entry = super().generate(writer, rng)
        if self.history:
            writer.add_metrics(self._history_rows(rng))
        for spec in self.runs:
            writer.add_log_events(self._run_lines(spec, rng), log_group=spec.group)
        for extra in self.extra_alarms:
            self._write_alarm(writer, extra, rng)
        return entry

    def _write_alarm(self, writer: StoreWriter, alarm: AlarmOn, rng: np.random.Generator) -> None:
        """Evaluate one more alarm over the metric rows and write its definition and
        history (the rows are read back from the metrics already written)."""
        other = dataclasses.replace(self, alarm=alarm)
        rows = _written_metrics(writer)
        spec = other._alarm_spec()
        values, counts = other._alarmed_values(rows)
        created = alarms.creation_transition(spec, spec.configured + pd.Timedelta(seconds=61.2))
        transitions = alarms.evaluate_alarm(spec, values, sample_counts=counts, rng=rng)
        writer.add_alarm_history(alarms.history_items(spec, [created, *transitions]))
        writer.add_alarms([alarms.describe_alarms_item(spec, (transitions or [created])[-1])])


def _written(writer: StoreWriter, table: str) -> pd.DataFrame:
    """The rows of ``table`` a writer holds so far (metrics with canonical dimension strings)."""
    import pyarrow as pa

    # The writer keeps Arrow tables until it closes; read back, an alarm sees what AWS would.
    tables = writer._frames[table]
    return pa.concat_tables(tables).to_pandas()


def _written_metrics(writer: StoreWriter) -> pd.DataFrame:
    return _written(writer, "metrics")


def _long_date(ts: pd.Timestamp) -> str:
    """``Wednesday 10 November, 2021 02:45:55 UTC``: a composite's reason text."""
    return f"{ts:%A} {ts.day} {ts:%B, %Y %H:%M:%S} UTC"


@dataclass(frozen=True)
class CompositeScenario(PipelineScenario):
    """A composite alarm over the scenario's ``alarm`` and ``extra_alarms`` (its children):
    ``rule`` is ``ALARM(a) AND ALARM(b)`` (one operator, AND or OR, between ALARM terms: the
    scenarios' own rules, so no parser is needed). The composite is evaluated at each child's
    state change, and its records (definition, history, EventBridge event and SNS message)
    replace the first child's as the scenario's alarm. DescribeAlarms of the children and
    each child's DescribeAlarmHistory are recorded, as the composite's runbook asks them."""

    composite: str = ""
    rule: str = ""
    composite_description: str = ""

    def _children(self) -> list[str]:
        """The children in the rule's order (as the composite's runbook reads them)."""
        named = [self.alarm.name, *[a.name for a in self.extra_alarms]]
        return sorted(named, key=lambda n: self.rule.find(f"({n})"))

    def generate(self, writer: StoreWriter, rng: np.random.Generator) -> dict[str, Any]:
        entry = super().generate(writer, rng)
        children = self._children()
        hist = _written(writer, "alarm_history")
        hist = hist[hist["alarm_name"].isin(children)]
        changes = hist[hist["history_item_type"] == "StateUpdate"].sort_values("timestamp")
        op = " OR " if " OR " in self.rule else " AND "
        state = dict.fromkeys(children, "OK")
        composite = "OK"
        arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{self.composite}"
        topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:oncall-{self.alert_type}"
        configured = self.start - pd.Timedelta(days=8, hours=3, minutes=40)
        items: list[dict[str, Any]] = [
            {
                "AlarmName": self.composite,
                "AlarmType": "CompositeAlarm",
                "Timestamp": configured,
                "HistoryItemType": "ConfigurationUpdate",
                "HistorySummary": f'Alarm "{self.composite}" created',
                "HistoryData": json.dumps({"version": "1.0", "type": "Create"}),
            }
        ]
        transitions: list[tuple[pd.Timestamp, str, str, str, dict[str, Any]]] = []
        for row in changes.itertuples():
            new = json.loads(row.history_data)["newState"]["stateValue"]
            state[row.alarm_name] = new
            flags = [state[c] == "ALARM" for c in children]
            now = "ALARM" if (any(flags) if op == " OR " else all(flags)) else "OK"
            if now == composite:
                continue
            when = pd.Timestamp(row.timestamp) + pd.Timedelta(milliseconds=94)
            child_arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{row.alarm_name}"
            stamp = alarms.aws_ms(pd.Timestamp(row.timestamp))
            reason = (
                f"{child_arn} transitioned to {new} at {_long_date(pd.Timestamp(row.timestamp))}"
            )
            data = {
                "triggeringAlarms": [
                    {"arn": child_arn, "state": {"value": new, "timestamp": stamp}}
                ]
            }
            transitions.append((when, composite, now, reason, data))
            items.append(
                {
                    "AlarmName": self.composite,
                    "AlarmType": "CompositeAlarm",
                    "Timestamp": when,
                    "HistoryItemType": "StateUpdate",
                    "HistorySummary": f"Alarm updated from {composite} to {now}",
                    "HistoryData": json.dumps(
                        {
                            "version": "1.0",
                            "oldState": {"stateValue": composite},
                            "newState": {
                                "stateValue": now,
                                "stateReason": reason,
                                "stateReasonData": data,
                            },
                        }
                    ),
                }
            )
            composite = now
        fired = [t for t in transitions if t[2] == "ALARM"]
        if not fired:
            raise RuntimeError(f"scenario {self.name}: the composite never fired")
        when, old, new, reason, data = fired[0]
        writer.add_alarm_history(items)
        last = transitions[-1]
        writer.add_alarms(
            [
                {
                    "AlarmName": self.composite,
                    "AlarmArn": arn,
                    "AlarmDescription": self.composite_description,
                    "AlarmRule": self.rule,
                    "ActionsEnabled": True,
                    "AlarmActions": [topic],
                    "OKActions": [topic],
                    "InsufficientDataActions": [],
                    "StateValue": last[2],
                    "StateReason": last[3],
                    "StateReasonData": json.dumps(last[4]),
                    "StateUpdatedTimestamp": last[0].isoformat(),
                    "StateTransitionedTimestamp": last[0].isoformat(),
                }
            ]
        )
        defs = _written(writer, "alarms")
        described = [
            json.loads(d)
            for n, d in zip(defs["alarm_name"], defs["definition"], strict=True)
            if n in children
        ]
        calls = [
            history_call(
                [
                    {
                        "AlarmName": r.alarm_name,
                        "AlarmType": r.alarm_type,
                        "Timestamp": r.timestamp,
                        "HistoryItemType": r.history_item_type,
                        "HistorySummary": r.history_summary,
                        "HistoryData": r.history_data,
                    }
                    for r in hist.itertuples()
                ],
                child,
            )
            for child in children
        ]
        calls.append(
            recorded(
                "cloudwatch",
                "DescribeAlarms",
                {"MetricAlarms": described, "CompositeAlarms": []},
                AlarmNames=children,
                AlarmTypes=["CompositeAlarm", "MetricAlarm"],
            )
        )
        writer.add_aws_calls(
            {
                "service": c.service,
                "operation": c.operation,
                "parameters": dict(c.parameters),
                "response": dict(c.response),
                "recorded_at": self.end - pd.Timedelta(minutes=1),
            }
            for c in calls
        )
        triggering = data["triggeringAlarms"]
        entry["alarm_name"] = self.composite
        entry["alarm_events"] = {
            "eventbridge": {
                "version": "0",
                "id": new_uuid(rng),
                "detail-type": "CloudWatch Alarm State Change",
                "source": "aws.cloudwatch",
                "account": ACCOUNT,
                "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": REGION,
                "resources": [arn],
                "detail": {
                    "alarmName": self.composite,
                    "state": {
                        "value": new,
                        "reason": reason,
                        "reasonData": json.dumps(data, separators=(",", ":")),
                        "timestamp": alarms.aws_ms(when),
                    },
                    "previousState": {
                        "value": old,
                        "reason": "Unchecked: Initial alarm creation",
                        "timestamp": alarms.aws_ms(configured),
                    },
                    "configuration": {
                        "alarmRule": self.rule,
                        "description": self.composite_description,
                    },
                },
            },
            "sns": {
                "AlarmName": self.composite,
                "AlarmDescription": self.composite_description,
                "AWSAccountId": ACCOUNT,
                "NewStateValue": new,
                "NewStateReason": reason,
                "StateChangeTime": alarms.aws_ms(when),
                "Region": alarms.REGION_NAMES.get(REGION, REGION),
                "AlarmArn": arn,
                "OldStateValue": old,
                "OKActions": [topic],
                "AlarmActions": [topic],
                "InsufficientDataActions": [],
                "AlarmRule": self.rule,
                "TriggeringChildren": [
                    {
                        "Arn": t["arn"],
                        "State": {
                            "Value": t["state"]["value"],
                            "Timestamp": t["state"]["timestamp"],
                        },
                    }
                    for t in triggering
                ],
            },
        }
        truth = entry["ground_truth"]
        first = changes[changes["history_data"].str.contains('"newState":{"stateValue":"ALARM"')]
        truth.update(
            alarm_name=self.composite,
            alarm_state_change_time=when.isoformat(),
            first_alarm_time=when.isoformat(),
            alarm_periods=len(fired),
            first_child=str(first.iloc[0]["alarm_name"]) if len(first) else None,
            children=children,
        )
        return entry


# -- levels ------------------------------------------------------------------------------------
def before(at: pd.Timestamp) -> When:
    """Minutes before ``at``."""
    return lambda ctx: ctx.minutes_since(at) < 0


def every_minute(ctx: Context) -> np.ndarray:
    return np.ones(len(ctx.index), bool)


# -- EventBridge, Lambda, Glue ---------------------------------------------------------------------
def rule_arn(rule: str) -> str:
    return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"


def function_arn(function: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"


def schedule_metrics(rule: str, fired: When) -> list[Gauge]:
    """AWS/Events for a schedule rule that fires once a minute while ``fired``: TriggeredRules
    and Invocations (one target), both published only when it fires."""
    dims = {"RuleName": rule}
    return [
        Published("AWS/Events", "TriggeredRules", dims, 1.0, 0.0, when=fired),
        Published("AWS/Events", "Invocations", dims, 1.0, 0.0, when=fired),
    ]


def job_function_metrics(
    function: str,
    invoked: When,
    *,
    per_minute: float | Callable[[Context], np.ndarray] = 1.0,
    duration_ms: float = 2500.0,
) -> list[Gauge]:
    """AWS/Lambda for a function a schedule or an upstream stage invokes: Invocations, Errors
    (0) and Duration, published only in the minutes it ran."""
    dims = {"FunctionName": function}
    return [
        Published("AWS/Lambda", "Invocations", dims, per_minute, 0.0, when=invoked),
        Published("AWS/Lambda", "Errors", dims, 0.0, 0.0, when=invoked),
        Published("AWS/Lambda", "Duration", dims, duration_ms, 0.15, "Milliseconds", when=invoked),
    ]


def rule_calls(rule: str, target: str, *, schedule: str, state: str) -> list[Call]:
    """ListRuleNamesByTarget of the target function and DescribeRule of ``rule``."""
    return [
        recorded(
            "events",
            "ListRuleNamesByTarget",
            {"RuleNames": [rule]},
            TargetArn=function_arn(target),
        ),
        recorded(
            "events",
            "DescribeRule",
            {
                "Name": rule,
                "Arn": rule_arn(rule),
                "ScheduleExpression": schedule,
                "State": state,
                "Description": f"Runs {target} on a schedule",
                "EventBusName": "default",
                "CreatedBy": ACCOUNT,
            },
            Name=rule,
        ),
    ]


def no_rules(function: str) -> Call:
    """ListRuleNamesByTarget of a function no rule targets."""
    return recorded(
        "events", "ListRuleNamesByTarget", {"RuleNames": []}, TargetArn=function_arn(function)
    )


def glue_calls(job: str, runs: Sequence[tuple[pd.Timestamp, int, str]]) -> list[Call]:
    """GetJobRuns of ``job``: ``runs`` as (started, seconds, state), newest
    first as AWS returns them."""
    items = []
    for started, seconds, state in sorted(runs, key=lambda r: r[0], reverse=True):
        run = {
            "Id": f"jr_{abs(hash((job, started.isoformat()))) % 10**12:012d}",
            "Attempt": 0,
            "JobName": job,
            "StartedOn": started.isoformat(),
            "JobRunState": state,
            "ExecutionTime": seconds,
            "WorkerType": "G.1X",
            "NumberOfWorkers": 2,
        }
        if state != "RUNNING":
            run["CompletedOn"] = (started + pd.Timedelta(seconds=seconds)).isoformat()
        if state == "FAILED":
            run["ErrorMessage"] = "An error occurred while calling o97.save"
        items.append(run)
    return [recorded("glue", "GetJobRuns", {"JobRuns": items}, JobName=job, MaxResults=10)]


def list_functions(names: Sequence[str]) -> Call:
    """ListFunctions: the account's functions (the pipeline's among them)."""
    return recorded(
        "lambda",
        "ListFunctions",
        {
            "Functions": [
                {
                    "FunctionName": n,
                    "FunctionArn": function_arn(n),
                    "Runtime": "python3.12",
                    "LastModified": "2026-11-12T09:14:03.000+0000",
                }
                for n in names
            ]
        },
    )


def list_metrics(namespace: str, dimensions: Mapping[str, str], names: Sequence[str]) -> Call:
    """ListMetrics of a custom namespace with the alarm's dimensions: the pipeline's own
    metrics."""
    dims = [{"Name": k, "Value": v} for k, v in dimensions.items()]
    return recorded(
        "cloudwatch",
        "ListMetrics",
        {"Metrics": [{"Namespace": namespace, "MetricName": n, "Dimensions": dims} for n in names]},
        Namespace=namespace,
        Dimensions=dims,
    )


def pipeline_line(level: str, message: str, **fields: Any) -> Callable[[pd.Timestamp, int], str]:
    """An application line of a scheduled run; ``fields`` values may be callables of
    ``(minute, i)`` (a record count)."""

    def line(ts: pd.Timestamp, i: int) -> str:
        rid = new_uuids(np.random.default_rng(int(ts.value // 1000) % 2**32), 1)[0]
        body = {"level": level, "message": message}
        body.update({k: (v(ts, i) if callable(v) else v) for k, v in fields.items()})
        return app_line(ts, rid, level, body)

    return line


# -- the alarm histories a composite's runbook reads ----------------------------------------------
def history_call(writer_items: Sequence[Mapping[str, Any]], name: str) -> Call:
    """DescribeAlarmHistory of one alarm (StateUpdate items, newest first), as recorded."""
    items = [
        {
            **{k: v for k, v in it.items() if k != "Timestamp"},
            "Timestamp": pd.Timestamp(it["Timestamp"]).isoformat(),
        }
        for it in writer_items
        if it["AlarmName"] == name and it["HistoryItemType"] == "StateUpdate"
    ]
    items.sort(key=lambda it: it["Timestamp"], reverse=True)
    return recorded(
        "cloudwatch",
        "DescribeAlarmHistory",
        {"AlarmHistoryItems": items},
        AlarmName=name,
        HistoryItemType="StateUpdate",
        MaxRecords=100,
    )


__all__ = [
    "CompositeScenario",
    "PipelineScenario",
    "Published",
    "Runs",
    "before",
    "every_minute",
    "function_arn",
    "glue_calls",
    "job_function_metrics",
    "list_functions",
    "list_metrics",
    "no_rules",
    "pipeline_line",
    "rule_arn",
    "rule_calls",
    "schedule_metrics",
]


# -- RDS -----------------------------------------------------------------------------------------
def rds_instance_calls(
    db: str,
    *,
    instance_class: str,
    parameter_group: str,
    engine: str = "postgres",
    version: str = "15.5",
    max_connections: str = "LEAST({DBInstanceClassMemory/9531392},5000)",
    source: str = "engine-default",
    reserved: int = 3,
) -> list[Call]:
    """DescribeDBInstances of ``db`` and DescribeDBParameters of its parameter group (the
    connection parameters: ``max_connections`` as a formula or a number)."""
    endpoint = f"{db}.c9xk2mplq3rt.{REGION}.rds.amazonaws.com"

    def param(name: str, value: str, src: str, kind: str = "integer") -> dict[str, Any]:
        return {
            "ParameterName": name,
            "ParameterValue": value,
            "Source": src,
            "ApplyType": "static" if name == "max_connections" else "dynamic",
            "DataType": kind,
            "IsModifiable": True,
        }

    return [
        recorded(
            "rds",
            "DescribeDBInstances",
            {
                "DBInstances": [
                    {
                        "DBInstanceIdentifier": db,
                        "DBInstanceClass": instance_class,
                        "Engine": engine,
                        "EngineVersion": version,
                        "DBInstanceStatus": "available",
                        "Endpoint": {"Address": endpoint, "Port": 5432},
                        "MultiAZ": True,
                        "AllocatedStorage": 200,
                        "DBParameterGroups": [
                            {
                                "DBParameterGroupName": parameter_group,
                                "ParameterApplyStatus": "in-sync",
                            }
                        ],
                        "PendingModifiedValues": {},
                        "DBInstanceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{db}",
                    }
                ]
            },
            DBInstanceIdentifier=db,
        ),
        recorded(
            "rds",
            "DescribeDBParameters",
            {
                "Parameters": [
                    param("max_connections", max_connections, source),
                    param("superuser_reserved_connections", str(reserved), "engine-default"),
                    param("idle_in_transaction_session_timeout", "0", "engine-default"),
                    param("shared_buffers", "{DBInstanceClassMemory/32768}", "system"),
                ]
            },
            DBParameterGroupName=parameter_group,
        ),
    ]


def rds_metrics(
    db: str,
    connections: Callable[[Context], np.ndarray],
    *,
    cpu: Callable[[Context], np.ndarray],
    memory_bytes: float = 1.7e9,
    per_connection_bytes: float = 1.2e6,
) -> list[Gauge]:
    """AWS/RDS for ``db``: DatabaseConnections (``connections``), CPUUtilization (``cpu``),
    FreeableMemory (falling with each connection), Read/WriteLatency (seconds)."""
    dims = {"DBInstanceIdentifier": db}
    return [
        Gauge("AWS/RDS", "DatabaseConnections", dims, lambda c: np.round(connections(c)), 0.0),
        Gauge("AWS/RDS", "CPUUtilization", dims, cpu, 0.05, "Percent"),
        Gauge(
            "AWS/RDS",
            "FreeableMemory",
            dims,
            lambda c: memory_bytes - per_connection_bytes * connections(c),
            0.01,
            "Bytes",
        ),
        Gauge("AWS/RDS", "ReadLatency", dims, 0.0009, 0.1, "Seconds"),
        Gauge("AWS/RDS", "WriteLatency", dims, 0.0021, 0.1, "Seconds"),
    ]
