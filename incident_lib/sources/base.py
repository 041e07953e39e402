"""The one interface every telemetry source answers (see DESIGN.md, "Sources").

A notebook asks a :class:`Source`; :class:`~incident_lib.sources.local.LocalSource` answers from
a store with DuckDB, :class:`~incident_lib.sources.aws.AwsSource` from AWS with boto3. Every
method takes explicit tz-aware UTC ``start``/``end`` and returns a DataFrame with tz-aware UTC
timestamps, shaped the same whichever source answered.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from incident_lib.errors import MetricQueryError

_ID = re.compile(r"^[a-z][A-Za-z0-9_]{0,254}$")


@dataclass(frozen=True)
class MetricQuery:
    """One ``MetricDataQuery``: a metric stat (namespace, name, dimensions, stat, period) or an
    ``expression`` over other queries' ids. ``stat`` is any CloudWatch statistic string
    (``Sum``, ``Average``, ``p99``, ``p99.9`` ...)."""

    id: str
    namespace: str | None = None
    metric_name: str | None = None
    dimensions: Mapping[str, str] = field(default_factory=dict)
    stat: str | None = None
    period: int = 60
    expression: str | None = None
    label: str | None = None
    return_data: bool = True
    unit: str | None = None

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise MetricQueryError(
                "Id must start with a lowercase letter and hold only letters, digits and _",
                query_id=self.id,
            )
        if (self.expression is None) == (self.metric_name is None):
            raise MetricQueryError(
                "give either a metric (namespace, name, stat) or an expression", query_id=self.id
            )
        if self.expression is None and (not self.namespace or not self.stat):
            raise MetricQueryError("a metric query needs namespace and stat", query_id=self.id)
        if (
            self.period < 1
            or (self.period >= 60 and self.period % 60)
            or (self.period < 60 and self.period not in (1, 5, 10, 20, 30))
        ):
            raise MetricQueryError(
                f"period {self.period} is not 1, 5, 10, 20, 30 or a multiple of 60",
                query_id=self.id,
            )
        object.__setattr__(self, "dimensions", dict(self.dimensions))

    def to_api(self) -> dict[str, Any]:
        """The ``MetricDataQuery`` structure as GetMetricData takes it."""
        out: dict[str, Any] = {"Id": self.id, "ReturnData": self.return_data}
        if self.label:
            out["Label"] = self.label
        if self.expression is not None:
            out["Expression"] = self.expression
            out["Period"] = self.period
            return out
        stat: dict[str, Any] = {
            "Metric": {
                "Namespace": self.namespace,
                "MetricName": self.metric_name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(self.dimensions.items())],
            },
            "Period": self.period,
            "Stat": self.stat,
        }
        if self.unit:
            stat["Unit"] = self.unit
        out["MetricStat"] = stat
        return out

    @property
    def default_label(self) -> str:
        return self.label or (self.metric_name if self.expression is None else self.id) or self.id


@dataclass(frozen=True)
class InsightsQuery:
    """A Logs Insights query ready to run: text plus the log groups it reads."""

    query: str
    log_groups: tuple[str, ...]
    limit: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "log_groups", tuple(self.log_groups))


class Source(ABC):
    """What a notebook may ask. Subclasses: ``LocalSource`` and ``AwsSource``."""

    #: ``"aws"`` or the store path; shown in reports.
    name: str
    account_id: str
    region: str

    @abstractmethod
    def metric_data(
        self, queries: Sequence[MetricQuery], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """GetMetricData. Long frame ``id, label, timestamp, value``, sorted by id then time;
        only queries with ``return_data``. Start inclusive, end exclusive."""

    @abstractmethod
    def insights(
        self,
        query: str,
        log_groups: Sequence[str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """A Logs Insights query. Columns named as AWS names them (``@timestamp``,
        ``count(*)``, aliases), typed (see :func:`incident_lib.sources.frames.type_insights`)."""

    def insights_many(
        self,
        queries: Mapping[str, InsightsQuery],
        start: pd.Timestamp,
        end: pd.Timestamp,
    ) -> dict[str, pd.DataFrame | Exception]:
        """Several queries of one section. AWS starts them together; a failed query's entry is
        its exception, so one bad query never costs the others."""
        out: dict[str, pd.DataFrame | Exception] = {}
        for key, q in queries.items():
            try:
                out[key] = self.insights(q.query, q.log_groups, start, end, limit=q.limit)
            except Exception as exc:
                out[key] = exc
        return out

    @abstractmethod
    def describe_alarms(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """DescribeAlarms items (metric and composite) for these names, API shape."""

    @abstractmethod
    def alarm_history(
        self, alarm_name: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """DescribeAlarmHistory as a frame: ``timestamp, alarm_name, history_item_type,
        summary, old_state, new_state, data`` (``data`` the parsed HistoryData dict), oldest
        first."""

    @abstractmethod
    def change_events(
        self,
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        resource_names: Sequence[str] = (),
    ) -> pd.DataFrame:
        """CloudTrail events touching these resources (all write events if none given):
        ``event_time, event_name, event_source, username, resources, request_parameters,
        event_id``, oldest first."""

    @abstractmethod
    def log_events(
        self,
        log_groups: Sequence[str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        limit: int = 10_000,
    ) -> pd.DataFrame:
        """Raw events (FilterLogEvents), oldest first, at most ``limit``: ``log_group,
        log_stream, timestamp, ingestion_time, message, event_id``."""

    @abstractmethod
    def filter_log_events(
        self,
        log_groups: Sequence[str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        filter_pattern: str = "",
        limit: int = 10_000,
        log_stream_prefix: str | None = None,
    ) -> pd.DataFrame:
        """FilterLogEvents with a ``filterPattern`` (CloudWatch Logs filter-pattern syntax, see
        docs/filter-patterns.md): the matching events of the window (both ends inclusive),
        oldest first, at most ``limit``, in the :meth:`log_events` columns. ``frame.attrs
        ["truncated"]`` is True when more events matched than were returned. A malformed
        pattern raises :class:`~incident_lib.errors.FilterPatternError` on either source."""

    @abstractmethod
    def list_metrics(
        self, namespace: str, metric_name: str, *, dimension_names: Sequence[str] = ()
    ) -> pd.DataFrame:
        """ListMetrics: ``namespace, metric_name, dimensions`` (dict) for the sibling scan."""

    def aws_call(self, service: str, operation: str, parameters: Mapping[str, Any]) -> dict:
        """A read-only AWS call (``describe-*``, ``get-*``, ``list-*``) as plain JSON.

        ``operation`` is the API name (``GetFunctionConfiguration``, already checked by
        :func:`incident_lib.sources.recorded.api_operation`); ``parameters`` the request as
        boto3 takes it. AWS calls it; a store answers from its recorded ``aws_calls``."""
        raise NotImplementedError(f"{type(self).__name__} cannot answer AWS calls")
