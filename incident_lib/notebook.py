"""The verbs a runbook notebook is written with: one :func:`setup`, then steps.

A notebook is the runbook. Each step is a cell that says what it asks and runs it through one
short verb of the :class:`Case`, inside a section that isolates failure::

    case = setup(alarm_json=alarm_json, source=source, start=start, end=end)

    with case.section("Logs"):
        errors = case.logs('''
            fields @timestamp, @requestId, @message
            | filter @message like /ERROR/
            | sort @timestamp desc | limit 1000
        ''')
        case.show(errors)

The verbs (see ``docs/writing-runbooks.md``):

========================  =====================================================================
``case.metrics(...)``     GetMetricData: a dict of ``id: metric(...) | expression(...)``
``case.series(id)``       one metric query's values, from any earlier ``metrics`` step
``case.logs(query)``      a Logs Insights query over the alarm's log groups
``case.filter_logs(p)``   FilterLogEvents with a CloudWatch Logs filter pattern
``case.aws(svc, op)``     a read-only AWS call (describe-*, get-*, list-*), recorded
``case.alarm_history()``  DescribeAlarmHistory of the alarm (read from a day before the window)
``case.changes()``        CloudTrail changes to the alarm's resources
``case.siblings(...)``    ListMetrics: the same metric on other resources
``case.show(*items)``     display tables, figures, text (escaped, secrets masked)
``case.record(...)``      the run's findings, read back by the report, the RCA and the tests
========================  =====================================================================

Every verb that reads telemetry shows what it asked (the query, its window, rows and seconds)
and keeps a :class:`~incident_lib.findings.QueryRecord` in :attr:`Case.queries`, cited by
findings as ``query:<n>`` and kept by the evidence pack.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# plotly imports nbformat to render figures; nbformat imports jsonschema, which imports
# rfc3987_syntax when it is installed (JupyterLab pulls it in), and that compiles a Lark
# grammar at import: 2.1 s of a 7.6 s investigation, measured here. Its one use is checking
# the JSON Schema "iri" format, which nothing in a notebook run needs: marking the module
# unavailable (before jsonschema is first imported) makes jsonschema skip that checker.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

import pandas as pd

from incident_lib.alarm import Alarm
from incident_lib.errors import (
    AccessDeniedError,
    BadInputError,
    IncidentError,
    NoDataError,
    SourceError,
)
from incident_lib.findings import (
    FINDINGS_MIMETYPE,
    QUERY_MIMETYPE,
    SECTION_MIMETYPE,
    Finding,
    FindingsDoc,
    QueryRecord,
    SectionStatus,
)
from incident_lib.limits import coarse_period, describe_span
from incident_lib.redact import mask_frame, mask_json, mask_secrets
from incident_lib.sources import MetricQuery, Source, open_source
from incident_lib.timeutil import format_iso, parse_time

__all__ = ["Case", "expression", "metric", "setup"]

log = logging.getLogger(__name__)

#: Rows of a table shown in a report; the evidence pack keeps everything.
MAX_TABLE_ROWS = 50
#: Findings a report carries: the most severe first; the rest are counted, not listed.
MAX_FINDINGS = 25
#: Characters of the one-line summary.
MAX_SUMMARY = 300
#: History is read from further back than the window so the state at the window's start is known.
HISTORY_LOOKBACK = pd.Timedelta(days=1)


# -- metric query builders ---------------------------------------------------------------------
@dataclass(frozen=True)
class _MetricSpec:
    namespace: str
    name: str
    dimensions: Mapping[str, str]
    stat: str
    period: int | None
    label: str | None
    unit: str | None

    def query(self, qid: str, period: int) -> MetricQuery:
        return MetricQuery(
            qid,
            self.namespace,
            self.name,
            dict(self.dimensions),
            self.stat,
            self.period or period,
            label=self.label or _default_label(self.name, self.stat),
            unit=self.unit,
        )


@dataclass(frozen=True)
class _ExpressionSpec:
    expression: str
    label: str | None
    period: int | None

    def query(self, qid: str, period: int) -> MetricQuery:
        return MetricQuery(
            qid, expression=self.expression, period=self.period or period, label=self.label or qid
        )


def metric(
    namespace: str,
    name: str,
    dimensions: Mapping[str, str] | None = None,
    stat: str = "Average",
    *,
    period: int | None = None,
    label: str | None = None,
    unit: str | None = None,
) -> _MetricSpec:
    """One metric of a :meth:`Case.metrics` step, as ``get-metric-statistics`` names it.

    ``stat`` is any CloudWatch statistic: ``Sum``, ``Average``, ``Maximum``, ``p99``, ``p99.9``
    ... ; ``period`` defaults to the step's.

    >>> metric("AWS/Lambda", "Errors", {"FunctionName": "checkout"}, "Sum")  # doctest: +ELLIPSIS
    _MetricSpec(namespace='AWS/Lambda', name='Errors', ...)
    """
    return _MetricSpec(namespace, name, dict(dimensions or {}), stat, period, label, unit)


def expression(
    text: str, *, label: str | None = None, period: int | None = None
) -> _ExpressionSpec:
    """A metric-math expression over the step's other ids: ``"100 * errors / invocations"``."""
    return _ExpressionSpec(text, label, period)


def _default_label(name: str, stat: str) -> str:
    return name if stat in ("Sum", "SampleCount") else f"{name} {stat}"


# -- the case ------------------------------------------------------------------------------------
@dataclass
class Case:
    """One investigation in progress: the alarm, the source, the window, and what steps found.

    ``log_groups`` are the step verbs' default log groups (from the catalogue); ``params`` the
    notebook's other parameters; ``state`` carries analysis results between sections (the onset
    one section found, used by the next).
    """

    alarm: Alarm
    source: Source
    start: pd.Timestamp
    end: pd.Timestamp
    params: dict[str, Any] = field(default_factory=dict)
    log_groups: list[str] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    sections: list[SectionStatus] = field(default_factory=list)
    queries: list[QueryRecord] = field(default_factory=list)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _series: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    _current: _Section | None = field(default=None, repr=False)

    # -- sections --------------------------------------------------------------------------
    @contextmanager
    def section(self, name: str) -> Iterator[Case]:
        """A runbook section. An exception inside it is shown with its reason and recorded;
        the notebook goes on with the next cell. No data (:class:`NoDataError`) is an answer,
        not a failure. A step that failed while others in the section still showed results
        makes the section ``partial``. Failed and partial sections make the run's exit status 3.
        """
        if self._current is not None:
            raise BadInputError(f"section {name!r} opened inside {self._current.name!r}")
        sec = _Section(name)
        self._current = sec
        started = time.perf_counter()
        try:
            yield self
        except NoDataError as exc:
            sec.notes.append(str(exc))
        except Exception as exc:
            sec.error = _describe(exc)
            sec.detail = _traceback_tail(exc)
            log.warning("section %r failed: %s", name, sec.error)
        finally:
            self._current = None
            status = sec.status()
            self.sections.append(status)
            _display_section(status, detail=sec.detail, shown=sec.shown)
            log.info("section %r: %s in %.2fs", name, status.status, time.perf_counter() - started)

    def problem(self, message: str) -> None:
        """Record that a step of the current section could not be done while the section
        went on (the history is unreadable, so the chart has no ALARM shading): the section
        becomes ``partial`` and the message is shown."""
        text = mask_secrets(str(message))
        if self._current is not None:
            self._current.problems.append(text)
        _display_html(f'<p class="incident-problem">{html.escape(text)}</p>', text)

    # -- showing ---------------------------------------------------------------------------
    def show(self, *items: Any) -> None:
        """Display each item: a DataFrame (first rows, secrets masked, escaped), a plotly
        figure, a dict (as a field/value table), text (escaped, never markup), or anything
        IPython displays. ``None`` and empty frames show nothing."""
        for item in items:
            if _display_item(item) and self._current is not None:
                self._current.shown += 1

    # -- telemetry verbs -------------------------------------------------------------------
    def metrics(
        self,
        queries: Mapping[str, _MetricSpec | _ExpressionSpec] | Sequence[MetricQuery],
        *,
        period: int = 60,
        start: Any = None,
        end: Any = None,
    ) -> pd.DataFrame:
        """GetMetricData, one call for the step: long frame ``id, label, timestamp, value``.

        ``queries`` maps an id (lower-case first letter) to :func:`metric` or
        :func:`expression`; a sequence of :class:`MetricQuery` works too.
        """
        if isinstance(queries, Mapping):
            built = [spec.query(qid, period) for qid, spec in queries.items()]
        else:
            built = list(queries)
        t0, t1 = self._window(start, end)
        built = self._coarsened(built, t1 - t0)
        text = "\n".join(_describe_query(q) for q in built)
        frame = self._run(
            "metrics",
            "GetMetricData",
            text,
            {"queries": [q.to_api() for q in built]},
            t0,
            t1,
            lambda: self.source.metric_data(built, t0, t1),
        )
        for qid, part in frame.groupby("id", sort=False):
            self._series[str(qid)] = part
        return frame

    def _coarsened(self, built: list[MetricQuery], window: pd.Timedelta) -> list[MetricQuery]:
        """The queries with a period too fine for the window raised to a standard one (the
        report's size budget: :data:`~incident_lib.limits.MAX_POINTS_PER_SERIES`), said in
        the section."""
        out = []
        for q in built:
            period = coarse_period(q.period, window.to_pytimedelta())
            if period != q.period:
                if self._current is not None:
                    span = describe_span(window.to_pytimedelta())
                    points = int(window.total_seconds() // q.period)
                    self._current.notes.append(
                        f"{q.id}: {q.period} s periods over {span} would be {points:,} points; "
                        f"fetched at {period} s"
                    )
                q = dataclasses.replace(q, period=period)
            out.append(q)
        return out

    def promql(
        self,
        queries: Mapping[str, str] | str,
        *,
        step: int | float = 60,
        start: Any = None,
        end: Any = None,
    ) -> pd.DataFrame:
        """PromQL range queries (``query_range``), one per id: long frame ``id, label,
        timestamp, value`` as :meth:`metrics` gives, one ``label`` per series (``{type="x"}``).

        Asks the Prometheus at the ``prometheus_url`` parameter or ``$PROMETHEUS_URL``; offline,
        the store's ``prometheus_samples`` (``docs/prometheus.md`` lists what it evaluates).
        """
        from incident_lib.sources.prometheus import open_prometheus, prometheus_target

        if isinstance(queries, str):
            queries = {"q": queries}
        queries = dict(queries)
        t0, t1 = self._window(start, end)

        def fetch() -> pd.DataFrame:
            prom = self._cached("prometheus", lambda: open_prometheus(self.params, self.source))
            return prom.query_range(queries, t0, t1, step=step)

        # An evidence run keeps the answer (RecordingSource); a replay answers from it.
        through = getattr(self.source, "promql_range", None)
        text = "\n".join(f"{qid}: {expr}" for qid, expr in queries.items())
        frame = self._run(
            "promql",
            "query_range",
            text,
            {"queries": queries, "step": step},
            t0,
            t1,
            (lambda: through(queries, t0, t1, step, fetch)) if through else fetch,
            target=prometheus_target(self.params),
        )
        for qid, part in frame.groupby("id", sort=False):
            self._series[str(qid)] = part
        return frame

    def metric_frame(self, *ids: str) -> pd.DataFrame:
        """The long ``id, label, timestamp, value`` rows of these query ids from earlier
        :meth:`metrics` steps (the ids no step returned are left out)."""
        parts = [self._series[i] for i in ids if i in self._series]
        if not parts:
            return pd.DataFrame(columns=["id", "label", "timestamp", "value"])
        return pd.concat(parts, ignore_index=True)

    def series(self, qid: str) -> pd.Series:
        """The values of metric query ``qid`` from any earlier :meth:`metrics` step, indexed by
        time: how a later section (the findings) uses what an earlier one fetched. An id no
        step returned is :class:`NoDataError` (its step failed or found nothing)."""
        part = self._series.get(qid)
        if part is None or part.empty:
            raise NoDataError(f"no datapoints for {qid!r} (its step failed or found none)")
        return pd.Series(
            part["value"].to_numpy(), index=pd.DatetimeIndex(part["timestamp"]), name=qid
        )

    def logs(
        self,
        query: str,
        *,
        log_groups: Sequence[str] | None = None,
        start: Any = None,
        end: Any = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """A Logs Insights query over ``log_groups`` (default: the alarm's). Columns as AWS names
        them (``@timestamp``, ``count(*)``, aliases), typed."""
        groups = self._groups(log_groups)
        t0, t1 = self._window(start, end)
        text = _dedent(query)
        cap = limit or _query_limit(text)

        def fetch() -> pd.DataFrame:
            frame = self.source.insights(text, groups, t0, t1, limit=limit)
            if cap and len(frame) >= cap:
                # As many rows as the query's limit: the rest of the window was cut. Said
                # in the query's record and read by the steps (a baseline may be missing).
                frame.attrs["truncated"] = True
                frame.attrs["limit"] = cap
            return frame

        return self._run(
            "insights",
            "StartQuery",
            text,
            {"queryString": text, "logGroupNames": groups, "limit": limit},
            t0,
            t1,
            fetch,
            target=", ".join(groups),
        )

    def filter_logs(
        self,
        pattern: str = "",
        *,
        log_groups: Sequence[str] | None = None,
        start: Any = None,
        end: Any = None,
        limit: int = 1000,
    ) -> pd.DataFrame:
        """FilterLogEvents with a CloudWatch Logs filter pattern (``"ERROR"``, ``"?ERROR
        ?Exception"``, ``{ $.level = "error" }``): ``log_group, log_stream, timestamp,
        ingestion_time, message, event_id``, oldest first, at most ``limit``."""
        groups = self._groups(log_groups)
        t0, t1 = self._window(start, end)
        return self._run(
            "filter",
            "FilterLogEvents",
            pattern or "(every event)",
            {"filterPattern": pattern, "logGroupNames": groups, "limit": limit},
            t0,
            t1,
            lambda: self.source.filter_log_events(
                groups, t0, t1, filter_pattern=pattern, limit=limit
            ),
            target=", ".join(groups),
        )

    def aws(self, service: str, operation: str, **parameters: Any) -> dict[str, Any]:
        """A read-only AWS call, as a runbook's ``aws <service> <operation>`` line: on AWS it
        is made (and recorded); on a store it is answered from the recording. Returns the
        response as plain JSON with secrets masked; ``case.show(answer)`` shows it as a
        table.

        >>> case.aws("lambda", "get-function-configuration", FunctionName=function_name)
        ... # doctest: +SKIP
        """
        from incident_lib.sources.recorded import RecordedCall, api_operation

        name = api_operation(service, operation)
        args = " ".join(f"{k}={v!r}" for k, v in parameters.items())
        response = self._run(
            "aws_call",
            f"{service}:{name}",
            f"aws {service} {name} {args}".strip(),
            {"service": service, "operation": name, "parameters": parameters},
            self.start,
            self.end,
            lambda: self.source.aws_call(service, name, parameters),
            windowed=False,
        )
        return RecordedCall(
            mask_json(response), service=service, operation=name, parameters=parameters
        )

    def alarm_history(self) -> pd.DataFrame:
        """DescribeAlarmHistory of the alarm from a day before the window to its end (so the
        state at the window's start is known): ``timestamp, alarm_name, history_item_type,
        summary, old_state, new_state, data``. Fetched once per run."""
        t0 = self.start - HISTORY_LOOKBACK
        return self._cached(
            "history",
            lambda: self._run(
                "history",
                "DescribeAlarmHistory",
                f"alarm {self.alarm.name}",
                {"alarmName": self.alarm.name},
                t0,
                self.end,
                lambda: self.source.alarm_history(self.alarm.name, t0, self.end),
            ),
        )

    def changes(self, resource_names: Sequence[str] | None = None) -> pd.DataFrame:
        """CloudTrail LookupEvents: changes to ``resource_names`` (default: the alarm's
        resources) in the window, oldest first. Fetched once per run for the same names."""
        names = list(resource_names) if resource_names is not None else self.resource_names
        return self._cached(
            f"changes:{','.join(names)}",
            lambda: self._run(
                "changes",
                "LookupEvents",
                f"resources {', '.join(names) or '(all write events)'}",
                {"resourceNames": names},
                self.start,
                self.end,
                lambda: self.source.change_events(self.start, self.end, resource_names=names),
            ),
        )

    def siblings(
        self, namespace: str, metric_name: str, dimension_names: Sequence[str]
    ) -> pd.DataFrame:
        """ListMetrics: every series of ``namespace metric_name`` with these dimension names:
        ``namespace, metric_name, dimensions`` (a dict)."""
        dims = list(dimension_names)
        return self._run(
            "list_metrics",
            "ListMetrics",
            f"{namespace} {metric_name} by {', '.join(dims)}",
            {"namespace": namespace, "metricName": metric_name, "dimensionNames": dims},
            self.start,
            self.end,
            lambda: self.source.list_metrics(namespace, metric_name, dimension_names=dims),
            windowed=False,
        )

    # -- findings --------------------------------------------------------------------------
    def record(
        self, *findings: Finding | Iterable[Finding] | None, summary: str = ""
    ) -> FindingsDoc:
        """Record the run's findings (``None`` items are skipped; lists are flattened). They
        are displayed, and read back by the report header, the RCA draft and the tests."""
        from IPython.display import display

        flat: list[Finding] = []
        for item in findings:
            if item is None:
                continue
            if isinstance(item, Finding):
                flat.append(item)
            else:
                flat.extend(f for f in item if f is not None)
        rank = {"critical": 0, "warning": 1, "info": 2}
        kept = sorted(flat, key=lambda f: rank.get(f.severity, 3))[:MAX_FINDINGS]
        dropped = len(flat) - len(kept)
        if dropped:
            kept.append(
                Finding(
                    kind="more_findings",
                    title=f"{dropped} more findings not listed",
                    detail=f"The {MAX_FINDINGS} most severe are shown; the notebook's tables "
                    "hold the rest.",
                )
            )
        text = mask_secrets(summary)
        if len(text) > MAX_SUMMARY:
            text = text[: MAX_SUMMARY - 1].rstrip() + "…"
        doc = FindingsDoc(
            summary=text,
            findings=[_mask_finding(f) for f in kept],
            sections=list(self.sections),
            stats={
                "source": self.source.name,
                "api_calls": dict(getattr(self.source, "calls", None) or {}),
                "queries": len(self.queries),
                "findings_not_listed": dropped,
            },
        )
        bundle = {
            FINDINGS_MIMETYPE: doc.model_dump(mode="json"),
            "text/html": _findings_html(doc),
            "text/plain": "\n".join(f"- {f.title}" for f in doc.findings) or "no findings",
        }
        display(bundle, raw=True)
        if self._current is not None:
            self._current.shown += 1
        return doc

    # -- context ---------------------------------------------------------------------------
    @property
    def resource_names(self) -> list[str]:
        """Names of the resources the alarm is about: the catalogue's ``resource_names`` and
        ``function_name`` parameters, else the alarm's dimension values."""
        names = [str(n) for n in self.params.get("resource_names") or []]
        for key in ("function_name", "api_name", "table_name", "queue_name", "service_name"):
            if self.params.get(key):
                names.insert(0, str(self.params[key]))
        if not names and self.alarm.metric is not None:
            names = [str(v) for v in self.alarm.metric.dimensions.values()]
        return list(dict.fromkeys(names))

    @property
    def alarm_time(self) -> pd.Timestamp:
        """The alarm's state change time (UTC)."""
        return pd.Timestamp(self.alarm.state_change_time).tz_convert("UTC")

    def cached(self, key: str, fetch: Callable[[], Any]) -> Any:
        """``fetch()`` once per run; later calls get the first result, or raise its error
        again (a call that failed is not repeated by every section that needs it)."""
        return self._cached(key, fetch)

    # -- internals -------------------------------------------------------------------------
    def _cached(self, key: str, fetch: Callable[[], Any]) -> Any:
        if key not in self._cache:
            try:
                self._cache[key] = fetch()
            except Exception as exc:
                self._cache[key] = _Failed(exc)
        value = self._cache[key]
        if isinstance(value, _Failed):
            raise value.error
        return value

    def _window(self, start: Any, end: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
        t0 = self.start if start is None else parse_time(start, name="start")
        t1 = self.end if end is None else parse_time(end, name="end")
        if t1 <= t0:
            raise BadInputError(f"the window ends ({format_iso(t1)}) before it starts")
        return t0, t1

    def _groups(self, log_groups: Sequence[str] | None) -> list[str]:
        if isinstance(log_groups, str):
            log_groups = [log_groups]
        groups = list(log_groups if log_groups is not None else self.log_groups)
        if not groups:
            raise NoDataError("no log groups for this alarm (map them in the catalogue file)")
        return groups

    def _run(
        self,
        kind: str,
        operation: str,
        text: str,
        request: dict[str, Any],
        start: pd.Timestamp,
        end: pd.Timestamp,
        fetch: Callable[[], Any],
        *,
        target: str = "",
        windowed: bool = True,
    ) -> Any:
        """Run one telemetry call, time it, keep its record, and show what was asked."""
        n = len(self.queries) + 1
        t = time.perf_counter()
        error = ""
        result: Any = None
        try:
            result = fetch()
        except NoDataError as exc:
            error = str(exc)
            raise
        except Exception as exc:
            error = _describe(exc)
            raise
        finally:
            rows = len(result) if isinstance(result, pd.DataFrame) else (1 if result else 0)
            record = QueryRecord(
                n=n,
                kind=kind,
                operation=operation,
                text=mask_secrets(text),
                target=mask_secrets(target),
                request=mask_json(request),
                start=start if windowed else None,
                end=end if windowed else None,
                rows=rows,
                seconds=round(time.perf_counter() - t, 3),
                truncated=bool(isinstance(result, pd.DataFrame) and result.attrs.get("truncated")),
                section=self._current.name if self._current is not None else "",
                error=mask_secrets(error),
            )
            self.queries.append(record)
            _display_query(record)
        return result


def _query_limit(text: str) -> int | None:
    """The last ``limit N`` of a Logs Insights query, or ``None`` (no limit, or a query the
    engine's parser does not read: the source then says what is wrong with it)."""
    from incident_lib.insights import nodes, parse

    try:
        commands = parse(text).commands
    except Exception:
        return None
    limits = [c.count for c in commands if isinstance(c, nodes.Limit)]
    return limits[-1] if limits else None


@dataclass
class _Section:
    name: str
    shown: int = 0
    error: str = ""
    detail: str = ""
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def status(self) -> SectionStatus:
        if self.error:
            state = "partial" if self.shown else "failed"
            return SectionStatus(name=self.name, status=state, error=self.error)
        if self.problems:
            return SectionStatus(name=self.name, status="partial", error="; ".join(self.problems))
        if not self.shown:
            reason = "; ".join(self.notes) or "no data in the window"
            return SectionStatus(name=self.name, status="empty", error=reason)
        return SectionStatus(name=self.name, status="ok", error="; ".join(self.notes))


@dataclass(frozen=True)
class _Failed:
    error: Exception


def setup(
    *,
    alarm_json: str,
    source: str,
    start: str,
    end: str,
    profile: str | None = None,
    role_arn: str | None = None,
    endpoint_url: str | None = None,
    log_groups: Sequence[str] = (),
    demo: str = "lambda_errors",
    pack_dir: str | None = None,
    **params: Any,
) -> Case:
    """Prepare a run: plots that survive export, tables that fit, the alarm, the source.

    ``alarm_json`` is the normalised alarm (``Alarm.model_dump_json()``, as the catalogue passes
    it) or any payload :func:`incident_lib.alarm.parse_alarm` reads; ``source`` is ``"aws"`` or
    a store path; ``start``/``end`` ISO-8601 with an offset. With no ``alarm_json`` (a
    notebook opened as it is) the run investigates the ``demo`` scenario's incident.
    ``pack_dir`` (else ``$INCIDENT_PACK_CALLS``, which ``incident investigate`` sets in the
    kernel) records every answer there for the evidence pack.
    """
    from incident_lib.alarm import parse_alarm
    from incident_lib.plotting import setup_plotly

    setup_plotly()
    pd.set_option("display.max_colwidth", 200)
    pd.set_option("display.max_rows", MAX_TABLE_ROWS)
    if not alarm_json:
        # Opened as it is (JupyterLab, nbval): investigate the demo incident.
        return _demo_case(demo, profile=profile, role_arn=role_arn)
    try:
        alarm = Alarm.model_validate_json(alarm_json)
    except ValueError:
        alarm = parse_alarm(alarm_json)
    src = open_source(
        source,
        region=alarm.region,
        account_id=alarm.account,
        profile=profile,
        role_arn=role_arn,
        endpoint_url=endpoint_url,
    )
    pack_calls = pack_dir or os.environ.get("INCIDENT_PACK_CALLS")
    if pack_calls:  # the run keeps an evidence pack: every answer is recorded (masked)
        from incident_lib.evidence.recorder import RecordingSource

        src = RecordingSource(src, calls_dir=pack_calls)
    return Case(
        alarm=alarm,
        source=src,
        start=parse_time(start, name="start"),
        end=parse_time(end, name="end"),
        params=dict(params),
        log_groups=list(log_groups or []),
    )


def _demo_case(scenario: str, **kw: Any) -> Case:
    from incident_lib.alarm import parse_alarm
    from incident_lib.catalog import resolve
    from incident_lib.demo import alarm_event, demo_store

    store = demo_store(scenario)
    alarm = parse_alarm(alarm_event(store))
    params = dict(resolve(alarm).parameters)
    log.info("no alarm given: investigating the %s demo incident", scenario)
    for key in ("source", "alert_type", "alarm_name", "region", "account_id"):
        params.pop(key, None)
    return setup(
        alarm_json=params.pop("alarm_json"),
        source=str(store.path),
        start=params.pop("start"),
        end=params.pop("end"),
        **params,
        **kw,
    )


# -- display helpers ---------------------------------------------------------------------------
def _display_item(item: Any) -> bool:
    from IPython.display import display

    if item is None:
        return False
    if isinstance(item, pd.DataFrame):
        if item.empty:
            return False
        shown = mask_frame(item.head(MAX_TABLE_ROWS))
        # The index is pandas' row counter, not data: left out. to_html escapes every cell.
        keep_index = not isinstance(shown.index, pd.RangeIndex)
        display(
            {
                "text/html": shown.to_html(index=keep_index, escape=True, na_rep=""),
                "text/plain": shown.to_string(index=keep_index, max_colwidth=80),
            },
            raw=True,
        )
        if len(item) > MAX_TABLE_ROWS:
            _display_html(
                f'<p class="incident-more">{MAX_TABLE_ROWS} of {len(item)} rows shown; the '
                "evidence pack keeps them all.</p>",
                f"{MAX_TABLE_ROWS} of {len(item)} rows shown",
            )
        return True
    if isinstance(item, str):
        text = mask_secrets(item)
        _display_html(f'<p class="incident-text">{html.escape(text)}</p>', text)
        return True
    if hasattr(item, "table") and isinstance(item, dict):  # a RecordedCall
        return _display_item(item.table())
    if isinstance(item, Mapping) and "text/html" in item:
        display(item, raw=True)
        return True
    if isinstance(item, Mapping):
        from incident_lib.sources.recorded import response_table

        return _display_item(response_table(item))
    if isinstance(item, Finding):
        _display_html(_findings_html(FindingsDoc(findings=[_mask_finding(item)])), item.title)
        return True
    if hasattr(item, "to_plotly_json"):
        item.show()
        return True
    display(item)
    return True


def _display_html(body: str, text: str) -> None:
    from IPython.display import display

    display({"text/html": body, "text/plain": text}, raw=True)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, AccessDeniedError):
        return f"access denied: {exc} (the role needs this permission; see docs/aws.md)"
    if isinstance(exc, SourceError | IncidentError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _traceback_tail(exc: BaseException) -> str:
    if isinstance(exc, IncidentError):
        return ""
    # The frames' file names are machine paths: keep the function names and lines only.
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    lines = [f"  in {f.name}: {(f.line or '').strip()}" for f in frames]
    return "\n".join([*lines, f"{type(exc).__name__}: {exc}"])


def _display_section(status: SectionStatus, *, detail: str = "", shown: int = 0) -> None:
    from IPython.display import display

    bundle: dict[str, Any] = {SECTION_MIMETYPE: status.model_dump(mode="json")}
    if status.status in ("failed", "partial", "empty"):
        label = {
            "failed": "Section failed",
            "partial": "Section incomplete",
            "empty": "No data",
        }[status.status]
        css = f"incident-section-{status.status}"
        body = (
            f'<div class="incident-section {css}"><strong>{label}: '
            f"{html.escape(status.name)}</strong><p>{html.escape(mask_secrets(status.error))}</p>"
        )
        if detail:
            body += f"<pre>{html.escape(mask_secrets(detail))}</pre>"
        body += "</div>"
        bundle["text/html"] = body
        bundle["text/plain"] = f"{label}: {status.name}: {status.error}"
    display(bundle, raw=True)


def _display_query(record: QueryRecord) -> None:
    from IPython.display import display

    when = (
        f" · {record.start:%H:%M}–{record.end:%H:%M} UTC"
        if record.start is not None and record.end is not None
        else ""
    )
    where = f" on {record.target}" if record.target else ""
    outcome = (
        f"failed: {record.error}"
        if record.error
        else f"{record.rows} row{'s' if record.rows != 1 else ''}"
        + (" (truncated)" if record.truncated else "")
    )
    summary = (
        f"query:{record.n} · {record.operation}{where}{when} · {outcome} · {record.seconds:.2f} s"
    )
    body = (
        f'<details class="incident-query" id="query-{record.n}"><summary>'
        f"{html.escape(summary)}</summary><pre>{html.escape(record.text)}</pre></details>"
    )
    display(
        {
            QUERY_MIMETYPE: record.model_dump(mode="json"),
            "text/html": body,
            "text/plain": summary,
        },
        raw=True,
    )


def _describe_query(q: MetricQuery) -> str:
    if q.expression is not None:
        return f"{q.id} = {q.expression}  (period {q.period}s)"
    dims = " ".join(f"{k}={v}" for k, v in sorted(q.dimensions.items()))
    return f"{q.id} = {q.namespace} {q.metric_name} {dims} {q.stat} (period {q.period}s)"


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text).strip()


def _mask_finding(f: Finding) -> Finding:
    return f.model_copy(update={"title": mask_secrets(f.title), "detail": mask_secrets(f.detail)})


def _findings_html(doc: FindingsDoc) -> str:
    items = "".join(
        f'<li class="finding finding-{f.severity}"><strong>{html.escape(f.title)}</strong>'
        f"<br>{html.escape(f.detail)}</li>"
        for f in doc.findings
    )
    return f'<div class="incident-findings-inline"><ul>{items}</ul></div>'
