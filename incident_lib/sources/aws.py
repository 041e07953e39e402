"""``AwsSource``: every :class:`Source` question answered live from AWS with boto3.

Frames come back in exactly the shapes :class:`~incident_lib.sources.local.LocalSource` returns
(see :mod:`incident_lib.sources.frames`), so a notebook cannot tell the two apart. Clients are
built by :mod:`incident_lib.sources.clients`; every API call is counted in :attr:`AwsSource.calls`.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import pandas as pd
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from incident_lib.errors import (
    BadInputError,
    DeadlineExceeded,
    IncidentError,
    MetricQueryError,
    QueryTimeoutError,
    SourceError,
)
from incident_lib.filterpattern import compile_pattern
from incident_lib.sources.base import InsightsQuery, MetricQuery, Source
from incident_lib.sources.calls import CallCounter
from incident_lib.sources.clients import (
    ClientSettings,
    Deadline,
    attach_progress_log,
    make_client,
    make_session,
    translate_error,
)
from incident_lib.sources.frames import (
    CHANGE_COLUMNS,
    LOG_EVENT_COLUMNS,
    METRIC_COLUMNS,
    empty_metric_frame,
    history_frame,
    rows_to_frame,
)
from incident_lib.timeutil import ensure_utc

__all__ = ["AwsSource"]

log = logging.getLogger(__name__)
progress_log = log  # INFO lines here are the terminal's progress (see clients.attach_progress_log)

#: GetMetricData: at most 500 MetricDataQuery structures per request.
MAX_METRIC_QUERIES = 500
#: StartQuery: at most 50 log groups per query.
MAX_LOG_GROUPS = 50
#: Logs Insights returns 10,000 rows when the query sets no ``limit``.
DEFAULT_INSIGHTS_ROWS = 10_000
#: AlarmNames per DescribeAlarms request.
MAX_ALARM_NAMES = 100
#: LookupEvents page size (the API maximum).
LOOKUP_PAGE_SIZE = 50
#: FilterLogEvents: at most 10,000 events per page (``limit`` 1-10,000).
FILTER_PAGE_SIZE = 10_000

_TERMINAL_FAILURES = ("Failed", "Cancelled", "Timeout", "Unknown")
#: Seconds between progress lines while Logs Insights queries run.
_PROGRESS_EVERY = 10.0
_WAITING = ("Scheduled", "Running")
_COMMENT = re.compile(r"^\s*#.*$", re.MULTILINE)
_LIMIT_CMD = re.compile(r"(?:^|\|)\s*limit\s+\d+", re.IGNORECASE)
_STATS_CMD = re.compile(r"(?:^|\|)\s*stats\b", re.IGNORECASE)
#: A query that names its own log groups (``SOURCE logGroups(...)``, its first command): AWS
#: refuses StartQuery when logGroupNames is given as well.
_SOURCE_CMD = re.compile(r"^\s*SOURCE\b", re.IGNORECASE)
_SORT_CMD = re.compile(r"(?:^|\|)\s*sort\b([^|]*)", re.IGNORECASE)
_IDENT = re.compile(r"\b[a-z][A-Za-z0-9_]*\b")


class AwsSource(Source):
    """Answer from CloudWatch, CloudWatch Logs and CloudTrail in one account and Region.

    Parameters
    ----------
    region : str
        The alarm's Region.
    account_id : str, optional
        Looked up with STS GetCallerIdentity on first use when not given.
    profile, role_arn : str, optional
        Credentials: a profile, and a role to assume from it (see :func:`make_session`).
    endpoint_url : str, optional
        One endpoint for every service (a moto server, a VPC endpoint). ``AWS_ENDPOINT_URL``
        is honoured by boto3 when this is ``None``.
    session : boto3.Session, optional
        A ready session; then ``profile`` and ``role_arn`` must be ``None``.
    insights_timeout : float
        Overall seconds one :meth:`insights` / :meth:`insights_many` call may wait.
    poll_interval : float
        Seconds between GetQueryResults rounds.
    max_log_events : int
        Upper bound on :meth:`log_events`, whatever ``limit`` asks.
    clients : Mapping[str, BaseClient], optional
        Ready clients by service name (``cloudwatch``, ``logs``, ``cloudtrail``, ``sts``); the
        others are built with :func:`make_client`. Lets tests inject a client under a
        ``botocore.stub.Stubber``.
    settings : ClientSettings, optional
        Retries and timeouts of the clients built here.
    max_split_depth : int
        How many times a truncated Logs Insights window may be halved (2**depth windows).
    max_concurrent_queries : int
        Logs Insights queries this source keeps running at once (the account quota is shared).
    deadline : Deadline or float, optional
        The investigation's overall budget for AWS calls (seconds, or a shared
        :class:`Deadline`); default: the one ``incident investigate`` set for this run
        (``INCIDENT_DEADLINE_AT``), else 90 s from now. Past it, calls raise
        :class:`~incident_lib.errors.DeadlineExceeded` instead of waiting.

    Examples
    --------
    >>> src = AwsSource(region="eu-west-1")  # doctest: +SKIP
    >>> src.insights("stats count(*) by bin(5m)", ["/aws/lambda/checkout"], start, end)
    >>> src.calls.summary()  # doctest: +SKIP
    '3 AWS API calls: logs:GetQueryResults 2, logs:StartQuery 1'
    """

    name = "aws"

    def __init__(
        self,
        *,
        region: str,
        account_id: str | None = None,
        profile: str | None = None,
        role_arn: str | None = None,
        endpoint_url: str | None = None,
        session: boto3.Session | None = None,
        insights_timeout: float = 300,
        poll_interval: float = 1.0,
        max_log_events: int = 10_000,
        clients: Mapping[str, BaseClient] | None = None,
        settings: ClientSettings | None = None,
        max_split_depth: int = 4,
        max_concurrent_queries: int = 20,
        deadline: Deadline | float | None = None,
    ) -> None:
        if not region:
            raise BadInputError("AwsSource needs a region (the alarm's)")
        if session is not None and (profile or role_arn):
            raise BadInputError("give either session= or profile=/role_arn=, not both")
        self.region = region
        self.endpoint_url = endpoint_url
        self.settings = settings or ClientSettings()
        self.insights_timeout = float(insights_timeout)
        self.poll_interval = float(poll_interval)
        self.max_log_events = int(max_log_events)
        self.max_split_depth = int(max_split_depth)
        self.max_concurrent_queries = max(1, int(max_concurrent_queries))
        self.calls = CallCounter()
        if deadline is None:
            deadline = Deadline.from_env()
        self.deadline = deadline if isinstance(deadline, Deadline) else Deadline(deadline)
        attach_progress_log()
        self._account_id = account_id
        self._profile = profile
        self._role_arn = role_arn
        self._session = session
        self._clients: dict[str, BaseClient] = {}
        for service, client in (clients or {}).items():
            self._clients[service] = self.deadline.watch(self.calls.attach(client))

    def __repr__(self) -> str:
        return f"AwsSource(region={self.region!r}, endpoint_url={self.endpoint_url!r})"

    # -- plumbing --------------------------------------------------------------------------
    @property
    def session(self) -> boto3.Session:
        if self._session is None:
            self._session = make_session(
                self._profile,
                self._role_arn,
                self.region,
                endpoint_url=self.endpoint_url,
                settings=self.settings,
            )
        return self._session

    def client(self, service: str) -> BaseClient:
        """The (cached, counted) client for ``service``."""
        if service not in self._clients:
            built = make_client(
                self.session, service, self.region, self.endpoint_url, settings=self.settings
            )
            self._clients[service] = self.deadline.watch(
                self.calls.attach(built), self.settings.max_attempts
            )
        return self._clients[service]

    @property
    def account_id(self) -> str:  # type: ignore[override]
        """The account answering, from STS GetCallerIdentity unless given.

        https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
        """
        if self._account_id is None:
            with _api("GetCallerIdentity"):
                self._account_id = str(self.client("sts").get_caller_identity()["Account"])
        return self._account_id

    # -- metrics ---------------------------------------------------------------------------
    def metric_data(
        self, queries: Sequence[MetricQuery], start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """GetMetricData for all ``queries``, batched by 500 and paginated.

        Parameters
        ----------
        queries : Sequence[MetricQuery]
            Metric stats and expressions; an expression stays in the same request as the
            queries it names.
        start, end : pd.Timestamp
            tz-aware; start inclusive, end exclusive.

        Returns
        -------
        pd.DataFrame
            ``id, label, timestamp, value`` sorted by id then time. ``attrs["messages"]``
            lists what AWS reported (``Forbidden``, ``InternalError``, ``PartialData`` left
            at the end, request-level messages) as ``{"id", "code", "message"}`` dicts.

        See Also
        --------
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html

        Examples
        --------
        >>> src.metric_data([MetricQuery("m1", "AWS/Lambda", "Errors", {"FunctionName": "f"},
        ...                              "Sum", 60)], start, end)  # doctest: +SKIP
        """
        start = ensure_utc(start, name="start")
        end = ensure_utc(end, name="end")
        if end <= start:
            raise BadInputError(f"end {end} is not after start {start}")
        queries = list(queries)
        messages: list[dict[str, Any]] = []
        if not queries:
            frame = empty_metric_frame()
            frame.attrs["messages"] = messages
            return frame
        labels: dict[str, str] = {}
        points: dict[str, dict[datetime, float]] = {}
        last_status: dict[str, str] = {}
        cloudwatch = self.client("cloudwatch")
        paginator = cloudwatch.get_paginator("get_metric_data")

        def fetch(batch: list[MetricQuery]) -> None:
            with _api("GetMetricData"):
                pages = paginator.paginate(
                    MetricDataQueries=[q.to_api() for q in batch],
                    StartTime=start.to_pydatetime(),
                    EndTime=end.to_pydatetime(),
                    ScanBy="TimestampAscending",
                )
                for page in pages:
                    for msg in page.get("Messages", []):
                        messages.append(
                            {"id": None, "code": msg.get("Code"), "message": msg.get("Value")}
                        )
                    for result in page.get("MetricDataResults", []):
                        self._merge_result(result, labels, points, last_status, messages)

        for batch in _metric_batches(queries, MAX_METRIC_QUERIES):
            try:
                fetch(batch)
            except SourceError as exc:
                groups = _metric_groups(batch)
                if len(groups) < 2 or not _server_fault(exc):
                    raise
                # One query the service cannot answer must not cost the others: ask again
                # group by group (an expression with the ids it names) and report the losers.
                log.warning(
                    "GetMetricData failed for %d queries (%s); retrying per query", len(batch), exc
                )
                failures = 0
                for group in groups:
                    try:
                        fetch(group)
                    except SourceError as group_exc:
                        if not _server_fault(group_exc):
                            raise
                        failures += 1
                        messages.extend(
                            {
                                "id": q.id,
                                "code": group_exc.code or "InternalError",
                                "message": str(group_exc)[:300],
                            }
                            for q in group
                        )
                if failures == len(groups):
                    raise
        for qid, status in last_status.items():
            if status == "PartialData":
                log.warning("GetMetricData %s: still PartialData after the last page", qid)
                messages.append(
                    {
                        "id": qid,
                        "code": "PartialData",
                        "message": "AWS returned partial data for this query",
                    }
                )
        by_id = {q.id: q for q in queries}
        rows_id: list[str] = []
        rows_label: list[str] = []
        rows_ts: list[datetime] = []
        rows_value: list[float] = []
        for qid, series in points.items():
            query = by_id.get(qid)
            if query is not None and not query.return_data:
                continue
            label = labels.get(qid) or (query.default_label if query else qid)
            for ts, value in series.items():
                rows_id.append(qid)
                rows_label.append(label)
                rows_ts.append(ts)
                rows_value.append(value)
        frame = (
            empty_metric_frame()
            if not rows_id
            else pd.DataFrame(
                {
                    "id": pd.Series(rows_id, dtype="str"),
                    "label": pd.Series(rows_label, dtype="str"),
                    "timestamp": pd.to_datetime(rows_ts, utc=True).astype("datetime64[us, UTC]"),
                    "value": pd.Series(rows_value, dtype="float64"),
                }
            )
        )
        frame = frame[(frame["timestamp"] >= start) & (frame["timestamp"] < end)]
        frame = frame.sort_values(["id", "timestamp"], kind="stable")[METRIC_COLUMNS]
        frame = frame.reset_index(drop=True)
        frame.attrs["messages"] = messages
        return frame

    @staticmethod
    def _merge_result(
        result: Mapping[str, Any],
        labels: dict[str, str],
        points: dict[str, dict[datetime, float]],
        last_status: dict[str, str],
        messages: list[dict[str, Any]],
    ) -> None:
        qid = result["Id"]
        if result.get("Label"):
            labels.setdefault(qid, result["Label"])
        status = result.get("StatusCode", "Complete")
        last_status[qid] = status
        if status in ("Forbidden", "InternalError"):
            log.warning("GetMetricData %s: status %s", qid, status)
            messages.append(
                {"id": qid, "code": status, "message": f"GetMetricData returned {status} for {qid}"}
            )
        for msg in result.get("Messages", []):
            messages.append({"id": qid, "code": msg.get("Code"), "message": msg.get("Value")})
        series = points.setdefault(qid, {})
        for ts, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
            series[ts] = float(value) if value is not None else math.nan

    def list_metrics(
        self, namespace: str, metric_name: str, *, dimension_names: Sequence[str] = ()
    ) -> pd.DataFrame:
        """ListMetrics for the sibling scan: ``namespace, metric_name, dimensions`` (dict).

        With ``dimension_names``, only metrics with exactly that set of dimensions.

        See Also
        --------
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListMetrics.html

        Examples
        --------
        >>> src.list_metrics("AWS/Lambda", "Errors", dimension_names=["FunctionName"])
        ...  # doctest: +SKIP
        """
        params: dict[str, Any] = {"Namespace": namespace, "MetricName": metric_name}
        if dimension_names:
            params["Dimensions"] = [{"Name": n} for n in dimension_names]
        wanted = set(dimension_names)
        seen: dict[str, dict[str, Any]] = {}
        with _api("ListMetrics"):
            for page in self.client("cloudwatch").get_paginator("list_metrics").paginate(**params):
                for metric in page.get("Metrics", []):
                    dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
                    if wanted and set(dims) != wanted:
                        continue
                    key = json.dumps(
                        dict(sorted(dims.items())), separators=(",", ":"), ensure_ascii=False
                    )
                    seen.setdefault(
                        key,
                        {
                            "namespace": metric["Namespace"],
                            "metric_name": metric["MetricName"],
                            "dimensions": dims,
                        },
                    )
        rows = [seen[k] for k in sorted(seen)]
        return pd.DataFrame(rows, columns=["namespace", "metric_name", "dimensions"])

    # -- Logs Insights ---------------------------------------------------------------------
    def insights(
        self,
        query: str,
        log_groups: Sequence[str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Run one Logs Insights query: StartQuery, then GetQueryResults until it ends.

        Parameters
        ----------
        query : str
            Logs Insights QL.
        log_groups : Sequence[str]
            1 to 50 log group names.
        start, end : pd.Timestamp
            tz-aware; sent as whole epoch seconds, both inclusive (start floored, end ceiled).
        limit : int, optional
            StartQuery ``limit``.

        Returns
        -------
        pd.DataFrame
            Typed by :func:`~incident_lib.sources.frames.rows_to_frame`. ``attrs`` holds
            ``query_ids``, summed ``statistics`` and ``messages`` (e.g. a truncated result).

        Raises
        ------
        QueryTimeoutError
            Not finished within ``insights_timeout`` (the query is stopped, best effort).
        SourceError
            The query ended Failed, Cancelled, Timeout or Unknown (``code`` is the status).
        QueryError
            MalformedQueryException, with line and column.

        See Also
        --------
        https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartQuery.html
        https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetQueryResults.html

        Examples
        --------
        >>> src.insights("fields @timestamp, @message | sort @timestamp desc | limit 20",
        ...              ["/aws/lambda/checkout"], start, end)  # doctest: +SKIP
        """
        spec = InsightsQuery(query, tuple(log_groups), limit)
        result = self._run_insights({"query": spec}, start, end)["query"]
        if isinstance(result, Exception):
            raise result
        return result

    def insights_many(
        self,
        queries: Mapping[str, InsightsQuery],
        start: pd.Timestamp,
        end: pd.Timestamp,
    ) -> dict[str, pd.DataFrame | Exception]:
        """Start every query of a section first, then poll them together.

        A query that fails (bad input, access denied, Failed status, timeout) has its
        exception as its entry; the others are unaffected.
        """
        return self._run_insights(dict(queries), start, end)

    def _run_insights(
        self,
        queries: Mapping[str, InsightsQuery],
        start: pd.Timestamp,
        end: pd.Timestamp,
    ) -> dict[str, pd.DataFrame | Exception]:
        start = ensure_utc(start, name="start")
        end = ensure_utc(end, name="end")
        start_s = math.floor(start.timestamp())
        end_s = math.ceil(end.timestamp())
        states: dict[str, _KeyState] = {}
        queue: deque[_Job] = deque()
        for key, spec in queries.items():
            state = states[key] = _KeyState(spec)
            problem = _check_insights(spec, start_s, end_s)
            if problem is not None:
                state.error = problem
                continue
            queue.append(_Job(key, spec, start_s, end_s, 0))
        running: list[_Job] = []
        # Polling stops at the query timeout or the investigation's deadline, whichever first.
        overall = self.deadline.remaining()
        budget = min(self.insights_timeout, max(0.0, overall))
        by_deadline = overall < self.insights_timeout
        deadline = time.monotonic() + budget
        began = time.monotonic()
        next_note = began + _PROGRESS_EVERY
        try:
            self._start_jobs(queue, running, states)
            while running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._time_out(running, queue, states, by_deadline=by_deadline)
                    break
                if time.monotonic() >= next_note:
                    next_note += _PROGRESS_EVERY
                    progress_log.info(
                        "Logs Insights: %d quer%s still running after %.0f s (%.0f s left)",
                        len(running),
                        "y" if len(running) == 1 else "ies",
                        time.monotonic() - began,
                        remaining,
                    )
                time.sleep(min(self.poll_interval, remaining))
                for job in list(running):
                    if states[job.key].error is not None:
                        running.remove(job)
                        self._stop(job)
                        continue
                    if self._poll(job, states[job.key], queue):
                        running.remove(job)
                self._start_jobs(queue, running, states)
            for job in queue:  # left when the deadline passed
                states[job.key].fail(self._gave_up(job, by_deadline))
        finally:
            for job in running:
                self._stop(job)
        return {key: state.result() for key, state in states.items()}

    def _start_jobs(
        self, queue: deque[_Job], running: list[_Job], states: dict[str, _KeyState]
    ) -> None:
        while queue and len(running) < self.max_concurrent_queries:
            job = queue.popleft()
            state = states[job.key]
            if state.error is not None:
                continue
            params: dict[str, Any] = {
                "queryString": job.spec.query,
                "startTime": job.start_s,
                "endTime": job.end_s,
            }
            if not _SOURCE_CMD.search(_strip(job.spec.query)):
                params["logGroupNames"] = list(job.spec.log_groups)
            if job.spec.limit:
                params["limit"] = job.spec.limit
            try:
                with _api(
                    "StartQuery",
                    query=job.spec.query,
                    detail=f"log group(s) {', '.join(job.spec.log_groups)}",
                ):
                    job.query_id = self.client("logs").start_query(**params)["queryId"]
            except IncidentError as exc:
                state.fail(exc)
                continue
            state.query_ids.append(job.query_id)
            log.debug(
                "started %s (%s) for %s [%s, %s]",
                job.query_id,
                job.key,
                job.spec.log_groups,
                job.start_s,
                job.end_s,
            )
            running.append(job)

    def _poll(self, job: _Job, state: _KeyState, queue: deque[_Job]) -> bool:
        """One GetQueryResults for ``job``; ``True`` when the job is finished (either way)."""
        logs = self.client("logs")
        try:
            with _api("GetQueryResults", query=job.spec.query):
                response = logs.get_query_results(queryId=job.query_id)
                status = response.get("status", "Unknown")
                if status in _WAITING:
                    job.status = status
                    return False
                if status != "Complete":
                    state.fail(
                        SourceError(
                            f"Logs Insights query {job.query_id} ended with status {status}",
                            operation="GetQueryResults",
                            code=status,
                        )
                    )
                    return True
                rows = list(response.get("results", []))
                _add_statistics(state.statistics, response.get("statistics"))
                token = response.get("nextToken")
                seen: set[str] = set()
                while token and token not in seen:
                    seen.add(token)
                    page = logs.get_query_results(queryId=job.query_id, nextToken=token)
                    rows.extend(page.get("results", []))
                    token = page.get("nextToken")
        except IncidentError as exc:
            if isinstance(exc, DeadlineExceeded):
                self._stop(job)  # still running on AWS: stop it, we will not read it
            state.fail(exc)
            return True
        if _truncated(job.spec, rows):
            if job.depth < self.max_split_depth and job.end_s > job.start_s:
                mid = (job.start_s + job.end_s) // 2
                log.info(
                    "query %s hit %d rows: splitting [%s, %s] at %s",
                    job.query_id,
                    len(rows),
                    job.start_s,
                    job.end_s,
                    mid,
                )
                queue.append(_Job(job.key, job.spec, job.start_s, mid, job.depth + 1))
                queue.append(_Job(job.key, job.spec, mid + 1, job.end_s, job.depth + 1))
                return True
            text = (
                f"result truncated at {len(rows)} rows in window "
                f"[{job.start_s}, {job.end_s}] (split depth {job.depth})"
            )
            log.warning("Logs Insights %s: %s", job.key, text)
            state.messages.append({"code": "Truncated", "message": text})
        elif (
            not _has_explicit_limit(job.spec)
            and _STATS_CMD.search(_strip(job.spec.query))
            and len(rows) >= DEFAULT_INSIGHTS_ROWS
        ):
            state.messages.append(
                {"code": "Truncated", "message": f"stats result truncated at {len(rows)} rows"}
            )
        state.leaves.append((job.start_s, rows))
        return True

    def _time_out(
        self,
        running: list[_Job],
        queue: deque[_Job],
        states: dict[str, _KeyState],
        *,
        by_deadline: bool = False,
    ) -> None:
        for job in list(running):
            running.remove(job)
            self._stop(job)
            states[job.key].fail(self._gave_up(job, by_deadline))

    def _gave_up(self, job: _Job, by_deadline: bool) -> IncidentError:
        if not by_deadline:
            return _timeout_error(job, self.insights_timeout)
        return DeadlineExceeded(
            f"Logs Insights query {job.query_id or '(not started)'} for {job.key!r} was still "
            f"{job.status} when the investigation's {self.deadline.seconds:g} s deadline "
            "passed; it was stopped (raise it with --deadline)",
            operation="GetQueryResults",
            code="DeadlineExceeded",
        )

    def _stop(self, job: _Job) -> None:
        """StopQuery, best effort: a query that already ended, or a denied call, is fine."""
        if not job.query_id:
            return
        try:
            self.client("logs").stop_query(queryId=job.query_id)
        except (ClientError, BotoCoreError) as exc:
            log.debug("StopQuery %s failed (ignored): %s", job.query_id, exc)

    # -- raw log events --------------------------------------------------------------------
    def log_events(
        self,
        log_groups: Sequence[str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        limit: int = 10_000,
    ) -> pd.DataFrame:
        """FilterLogEvents per group, oldest first, at most ``min(limit, max_log_events)``.

        See Also
        --------
        https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html

        Examples
        --------
        >>> src.log_events(["/aws/lambda/checkout"], start, end, limit=1000)  # doctest: +SKIP
        """
        start = ensure_utc(start, name="start")
        end = ensure_utc(end, name="end")
        bound = max(0, min(int(limit), self.max_log_events))
        start_ms = math.floor(start.value / 1e6)
        end_ms = math.floor(end.value / 1e6)
        rows: list[dict[str, Any]] = []
        paginator = self.client("logs").get_paginator("filter_log_events")
        for group in dict.fromkeys(log_groups):
            if bound == 0:
                break
            taken = 0
            with _api("FilterLogEvents", detail=f"log group {group!r}"):
                pages = paginator.paginate(
                    logGroupName=group,
                    startTime=start_ms,
                    endTime=end_ms,
                    PaginationConfig={"MaxItems": bound, "PageSize": min(bound, 10_000)},
                )
                for page in pages:
                    for ev in page.get("events", []):
                        rows.append(
                            {
                                "log_group": group,
                                "log_stream": ev.get("logStreamName"),
                                "timestamp": ev["timestamp"],
                                "ingestion_time": ev.get("ingestionTime", ev["timestamp"]),
                                "message": ev.get("message", ""),
                                "event_id": str(ev.get("eventId", "")),
                            }
                        )
                        taken += 1
                    if taken >= bound:
                        break
        frame = pd.DataFrame(rows, columns=LOG_EVENT_COLUMNS)
        for col in ("timestamp", "ingestion_time"):
            frame[col] = pd.to_datetime(frame[col].astype("float64"), unit="ms", utc=True).astype(
                "datetime64[us, UTC]"
            )
        for col in ("log_group", "log_stream", "message", "event_id"):
            frame[col] = frame[col].astype("str")
        frame = frame.sort_values(["timestamp", "event_id"], kind="stable").head(bound)
        return frame.reset_index(drop=True)

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
        """FilterLogEvents with ``filterPattern``, one log group after another, paged with
        ``nextToken``; oldest first, at most ``limit`` (``attrs["truncated"]`` says whether
        more matched).

        The pattern is parsed locally first, so a malformed one fails before any call, with the
        same :class:`~incident_lib.errors.FilterPatternError` the local source raises. Each
        group is read up to ``limit + 1`` events (one page holds at most 10,000), which is
        enough to take the oldest ``limit`` of all groups and to know whether any were left.

        See Also
        --------
        https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html

        Examples
        --------
        >>> src.filter_log_events(["/aws/lambda/checkout"], start, end,
        ...                       filter_pattern='?ERROR ?"Task timed out"')  # doctest: +SKIP
        """
        compile_pattern(filter_pattern)  # fail early, as the local source does
        if limit < 1:
            raise BadInputError(f"limit must be at least 1, got {limit}")
        start_ms = math.floor(ensure_utc(start, name="start").value / 1e6)
        end_ms = math.floor(ensure_utc(end, name="end").value / 1e6)
        want = int(limit) + 1
        rows: list[dict[str, Any]] = []
        logs = self.client("logs")
        for group in dict.fromkeys(log_groups):
            request: dict[str, Any] = {
                "logGroupName": group,
                "startTime": start_ms,
                "endTime": end_ms,
            }
            if filter_pattern:
                request["filterPattern"] = filter_pattern
            if log_stream_prefix:
                request["logStreamNamePrefix"] = log_stream_prefix
            taken = 0
            seen: set[str] = set()
            with _api("FilterLogEvents", detail=f"log group {group!r}"):
                while taken < want:
                    page = logs.filter_log_events(
                        **request, limit=min(FILTER_PAGE_SIZE, want - taken)
                    )
                    for ev in page.get("events", [])[: want - taken]:
                        rows.append(_filtered_event(group, ev))
                        taken += 1
                    token = page.get("nextToken")
                    if not token or token in seen:  # a repeated token would loop for ever
                        break
                    seen.add(token)
                    request["nextToken"] = token
        frame = pd.DataFrame(rows, columns=LOG_EVENT_COLUMNS)
        for col in ("timestamp", "ingestion_time"):
            frame[col] = pd.to_datetime(frame[col].astype("float64"), unit="ms", utc=True).astype(
                "datetime64[us, UTC]"
            )
        for col in ("log_group", "log_stream", "message", "event_id"):
            frame[col] = frame[col].astype("str")
        frame = frame.sort_values(["timestamp", "event_id"], kind="stable")
        truncated = len(frame) > limit
        frame = frame.head(limit).reset_index(drop=True)
        frame.attrs["truncated"] = truncated
        return frame

    # -- alarms ----------------------------------------------------------------------------
    def describe_alarms(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """DescribeAlarms items (MetricAlarms and CompositeAlarms), sorted by name.

        Times are ISO-8601 strings, as a telemetry store keeps them.

        See Also
        --------
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html

        Examples
        --------
        >>> src.describe_alarms(["checkout-api-errors"])[0]["StateValue"]  # doctest: +SKIP
        'ALARM'
        """
        wanted = list(dict.fromkeys(names))
        items: dict[str, dict[str, Any]] = {}
        paginator = self.client("cloudwatch").get_paginator("describe_alarms")
        for i in range(0, len(wanted), MAX_ALARM_NAMES):
            with _api("DescribeAlarms"):
                for page in paginator.paginate(
                    AlarmNames=wanted[i : i + MAX_ALARM_NAMES],
                    AlarmTypes=["CompositeAlarm", "MetricAlarm"],
                ):
                    for kind in ("MetricAlarms", "CompositeAlarms"):
                        for item in page.get(kind, []):
                            items.setdefault(item["AlarmName"], _plain(item))
        return [items[n] for n in sorted(items)]

    def alarm_history(
        self, alarm_name: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """DescribeAlarmHistory (metric and composite) as ``timestamp, alarm_name,
        history_item_type, summary, old_state, new_state, data``, oldest first.

        See Also
        --------
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html

        Examples
        --------
        >>> src.alarm_history("checkout-api-errors", start, end)  # doctest: +SKIP
        """
        start = ensure_utc(start, name="start")
        end = ensure_utc(end, name="end")
        items: list[dict[str, Any]] = []
        with _api("DescribeAlarmHistory", detail=f"alarm {alarm_name!r}"):
            pages = (
                self.client("cloudwatch")
                .get_paginator("describe_alarm_history")
                .paginate(
                    AlarmName=alarm_name,
                    AlarmTypes=["CompositeAlarm", "MetricAlarm"],
                    StartDate=start.to_pydatetime(),
                    EndDate=end.to_pydatetime(),
                    ScanBy="TimestampAscending",
                )
            )
            for page in pages:
                for item in page.get("AlarmHistoryItems", []):
                    items.append({"AlarmName": alarm_name, **item})
        return history_frame(items)

    # -- recorded read-only calls ----------------------------------------------------------
    def aws_call(self, service: str, operation: str, parameters: Mapping[str, Any]) -> dict:
        """One read-only call through the counted client for ``service``; a paginated list
        is read whole, up to :data:`~incident_lib.sources.recorded.MAX_ITEMS` items.

        Examples
        --------
        >>> src.aws_call("lambda", "GetFunctionConfiguration", {"FunctionName": "checkout"})
        ... # doctest: +SKIP
        """
        from botocore import xform_name

        from incident_lib.sources.recorded import MAX_ITEMS, plain_response

        client = self.client(service)
        method = xform_name(operation)
        with _api(operation, detail=f"{service} {operation}"):
            if client.can_paginate(method):
                pages = client.get_paginator(method).paginate(
                    **parameters, PaginationConfig={"MaxItems": MAX_ITEMS}
                )
                response = pages.build_full_result()
            else:
                response = getattr(client, method)(**parameters)
        return plain_response(response)

    # -- CloudTrail ------------------------------------------------------------------------
    def change_events(
        self,
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        resource_names: Sequence[str] = (),
    ) -> pd.DataFrame:
        """CloudTrail LookupEvents: one lookup per resource name (LookupEvents takes a single
        attribute), or every write event (``ReadOnly=false``) when no name is given;
        de-duplicated by EventId, oldest first.

        See Also
        --------
        https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html

        Examples
        --------
        >>> src.change_events(start, end, resource_names=["checkout-api"])  # doctest: +SKIP
        """
        start = ensure_utc(start, name="start")
        end = ensure_utc(end, name="end")
        if resource_names:
            lookups = [
                {"AttributeKey": "ResourceName", "AttributeValue": name}
                for name in dict.fromkeys(resource_names)
            ]
        else:
            lookups = [{"AttributeKey": "ReadOnly", "AttributeValue": "false"}]
        events: dict[str, dict[str, Any]] = {}
        paginator = self.client("cloudtrail").get_paginator("lookup_events")
        for attribute in lookups:
            with _api(
                "LookupEvents", detail=f"{attribute['AttributeKey']}={attribute['AttributeValue']}"
            ):
                for page in paginator.paginate(
                    LookupAttributes=[attribute],
                    StartTime=start.to_pydatetime(),
                    EndTime=end.to_pydatetime(),
                    PaginationConfig={"PageSize": LOOKUP_PAGE_SIZE},
                ):
                    for ev in page.get("Events", []):
                        events.setdefault(ev["EventId"], ev)
        rows = []
        for ev in events.values():
            detail = _json_object(ev.get("CloudTrailEvent"))
            params = detail.get("requestParameters")
            rows.append(
                {
                    "event_time": ev["EventTime"],
                    "event_name": ev.get("EventName"),
                    "event_source": ev.get("EventSource"),
                    "username": ev.get("Username"),
                    "resources": _compact_json(ev.get("Resources", [])),
                    "request_parameters": None if params is None else _compact_json(params),
                    "event_id": ev["EventId"],
                }
            )
        frame = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
        frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True).astype(
            "datetime64[us, UTC]"
        )
        frame = frame.sort_values(["event_time", "event_id"], kind="stable")
        return frame.reset_index(drop=True)


# -- Logs Insights jobs ------------------------------------------------------------------------
@dataclass
class _Job:
    """One StartQuery over one window; a truncated job is replaced by its two halves."""

    key: str
    spec: InsightsQuery
    start_s: int
    end_s: int
    depth: int
    query_id: str | None = None
    status: str = "Scheduled"


@dataclass
class _KeyState:
    """What one key of ``insights_many`` has gathered so far."""

    spec: InsightsQuery
    leaves: list[tuple[int, list[Any]]] = field(default_factory=list)
    query_ids: list[str] = field(default_factory=list)
    statistics: dict[str, float] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    error: Exception | None = None

    def fail(self, exc: Exception) -> None:
        if self.error is None:
            self.error = exc

    def result(self) -> pd.DataFrame | Exception:
        if self.error is not None:
            return self.error
        leaves = sorted(self.leaves, key=lambda leaf: leaf[0])
        if not _ascending(self.spec.query):
            leaves.reverse()  # default order is newest first: later windows first
        frame = rows_to_frame(row for _, rows in leaves for row in rows)
        frame.attrs["query_ids"] = list(self.query_ids)
        frame.attrs["statistics"] = dict(self.statistics)
        frame.attrs["messages"] = list(self.messages)
        return frame


def _check_insights(spec: InsightsQuery, start_s: int, end_s: int) -> IncidentError | None:
    if not spec.query.strip():
        return BadInputError("empty Logs Insights query")
    if not spec.log_groups:
        return BadInputError("a Logs Insights query needs at least one log group")
    if len(spec.log_groups) > MAX_LOG_GROUPS:
        return BadInputError(
            f"{len(spec.log_groups)} log groups in one query; StartQuery takes at most "
            f"{MAX_LOG_GROUPS} (split the query or use SOURCE)"
        )
    if end_s <= start_s:
        return BadInputError(f"query window end ({end_s}) is not after start ({start_s})")
    return None


def _timeout_error(job: _Job, timeout: float) -> QueryTimeoutError:
    return QueryTimeoutError(
        f"Logs Insights query {job.query_id or '(not started)'} for {job.key!r} did not finish "
        f"within {timeout:g} s; it was stopped",
        operation="GetQueryResults",
        code="Timeout",
    )


def _strip(query: str) -> str:
    return _COMMENT.sub("", query)


def _has_explicit_limit(spec: InsightsQuery) -> bool:
    return bool(spec.limit) or bool(_LIMIT_CMD.search(_strip(spec.query)))


def _truncated(spec: InsightsQuery, rows: Sequence[Any]) -> bool:
    """The default 10,000-row cap was hit by a row-returning (non-stats) query."""
    if _has_explicit_limit(spec) or _STATS_CMD.search(_strip(spec.query)):
        return False
    return len(rows) >= DEFAULT_INSIGHTS_ROWS


def _ascending(query: str) -> bool:
    sorts = _SORT_CMD.findall(_strip(query))
    return bool(sorts) and bool(re.search(r"\basc\b", sorts[-1], re.IGNORECASE))


def _add_statistics(total: dict[str, float], stats: Mapping[str, Any] | None) -> None:
    for key, value in (stats or {}).items():
        if isinstance(value, int | float):
            total[key] = total.get(key, 0.0) + float(value)


# -- GetMetricData batching --------------------------------------------------------------------
def _server_fault(exc: SourceError) -> bool:
    """A 5xx / internal failure (not access, throttling or a bad request)."""
    code = str(exc.code or "")
    return code.startswith("5") or code in {
        "InternalFailure",
        "InternalServiceFault",
        "InternalServiceError",
        "InternalError",
        "ServiceUnavailable",
    }


def _metric_batches(queries: Sequence[MetricQuery], size: int) -> list[list[MetricQuery]]:
    """Split into requests of at most ``size``, keeping each expression with the ids it names."""
    batches: list[list[MetricQuery]] = []
    current: list[MetricQuery] = []
    for group in _metric_groups(queries):
        if len(group) > size:
            raise MetricQueryError(
                f"{len(group)} queries depend on each other; GetMetricData takes {size} per call",
                query_id=group[0].id,
            )
        if len(current) + len(group) > size:
            batches.append(current)
            current = []
        current.extend(group)
    if current:
        batches.append(current)
    return batches


def _metric_groups(queries: Sequence[MetricQuery]) -> list[list[MetricQuery]]:
    """The queries that must travel together: each expression with the ids it names."""
    ids = {q.id for q in queries}
    parent = {q.id: q.id for q in queries}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for q in queries:
        if q.expression:
            for ref in set(_IDENT.findall(q.expression)) & ids:
                parent[find(ref)] = find(q.id)
    groups: dict[str, list[MetricQuery]] = {}
    for q in queries:
        groups.setdefault(find(q.id), []).append(q)
    return list(groups.values())


# -- helpers -----------------------------------------------------------------------------------
@contextmanager
def _api(operation: str, *, query: str | None = None, detail: str | None = None) -> Iterator[None]:
    """Translate botocore errors raised inside the block (see :func:`translate_error`)."""
    try:
        yield
    except (ClientError, BotoCoreError, ResponseParserError, UnicodeDecodeError) as exc:
        # botocore's ResponseParserError is no BotoCoreError, and it decodes a JSON answer
        # before parsing it, so a body that is not UTF-8 escapes as UnicodeDecodeError.
        raise translate_error(exc, operation, query=query, detail=detail) from exc


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | pd.Timestamp):
        return pd.Timestamp(value).isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _compact_json(value: Any) -> str:
    """The store's JSON spelling: compact separators, UTF-8 kept."""
    return json.dumps(value, default=_json_default, separators=(",", ":"), ensure_ascii=False)


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """An API item as plain JSON types (times as ISO strings), as a store returns it."""
    return json.loads(_compact_json(dict(item)))


def _json_object(text: Any) -> dict[str, Any]:
    if isinstance(text, Mapping):
        return dict(text)
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _filtered_event(group: str, ev: Mapping[str, Any]) -> dict[str, Any]:
    """A FilterLogEvents ``events`` item as a row of the log-event frame."""
    return {
        "log_group": group,
        "log_stream": ev.get("logStreamName", ""),
        "timestamp": ev["timestamp"],
        "ingestion_time": ev.get("ingestionTime", ev["timestamp"]),
        "message": ev.get("message", ""),
        "event_id": str(ev.get("eventId", "")),
    }
