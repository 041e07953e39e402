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


def _written_metrics(writer: StoreWriter) -> pd.DataFrame:
    """The metric rows a writer holds so far (canonical dimension strings)."""
    import pyarrow as pa

    # The writer keeps Arrow tables until it closes; read back, the alarm sees what AWS would.
    tables = writer._frames["metrics"]
    return pa.concat_tables(tables).to_pandas()


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
