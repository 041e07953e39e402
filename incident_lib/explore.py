"""The secondary on-call's deep-dive over one incident: ``notebooks/explore.ipynb``.

Two layers, so the notebook stays short and the logic is tested without a browser:

- :class:`Explorer`: the incident (alarm, window, onset, log groups), its source (the incident's
  evidence pack by default, or ``"aws"``, or any store), and the operations the widgets call:
  the window presets and the slider's steps (snapped to the metric period), the metric names
  and dimension values that exist (the store, or ListMetrics), a metric chart, a Logs Insights
  query (parsed first, so a syntax error comes back with its line and column), the history of
  queries run, and pins (:mod:`incident_lib.evidence.pins`).
- :class:`ExploreUI`: ipywidgets over an :class:`Explorer`; every callback is one call into it.

Every query goes through the :class:`~incident_lib.notebook.Case` verbs, so each one is shown
(query text, window, rows, seconds) and kept in :attr:`Explorer.history`.

>>> ex = Explorer.open(incident_dir="reports/<incident-id>")   # doctest: +SKIP
>>> ExploreUI(ex).show()                                      # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import html
import io
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from incident_lib.errors import BadInputError, IncidentError, QueryError, UnsupportedQueryError
from incident_lib.findings import FindingsDoc, QueryRecord
from incident_lib.redact import mask_frame, mask_secrets
from incident_lib.timeutil import ensure_utc, format_iso, parse_time

__all__ = ["ExploreUI", "Explorer", "QueryOutcome", "explore"]

log = logging.getLogger(__name__)

#: Most slider steps; a longer range steps by a multiple of the metric period.
MAX_STEPS = 600
#: Rows shown in the result table (the pin keeps up to pins.MAX_PIN_ROWS).
SHOW_ROWS = 200
DEFAULT_QUERY = (
    "fields @timestamp, @requestId, @message\n"
    "| filter @message like /(?i)(error|exception|timeout)/\n"
    "| sort @timestamp desc\n"
    "| limit 200"
)
#: How far around the incident window the slider reaches on sources that hold more.
REACH_BEFORE = pd.Timedelta(hours=2)
REACH_AFTER = pd.Timedelta(hours=1)


@dataclass
class QueryOutcome:
    """What one Logs Insights run gave: a frame, or an error with where it is."""

    frame: pd.DataFrame | None = None
    record: QueryRecord | None = None
    error: str = ""
    line: int | None = None
    column: int | None = None
    context: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.frame is not None and not self.error

    def error_html(self) -> str:
        """The error as the widget shows it: the message, then the query line with a caret."""
        if not self.error:
            return ""
        where = f" (line {self.line}, column {self.column})" if self.line and self.column else ""
        body = f'<div class="explore-error"><strong>{html.escape(self.error)}{where}</strong>'
        if self.context:
            body += f"<pre>{html.escape(self.context)}</pre>"
        return body + "</div>"


@dataclass
class Explorer:
    """One incident opened for exploration. Build it with :meth:`open`."""

    case: Any  # incident_lib.notebook.Case
    incident_dir: Path | None
    source_spec: str
    period: int
    onset: pd.Timestamp | None
    findings: FindingsDoc | None = None
    reach: tuple[pd.Timestamp, pd.Timestamp] | None = None
    current: dict[str, Any] = field(default_factory=dict)  # "metric" / "query": last results

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        *,
        incident_dir: str | Path | None = None,
        source: str | None = None,
        demo: str = "lambda_errors",
        profile: str | None = None,
        role_arn: str | None = None,
    ) -> Explorer:
        """An incident folder (``reports/<id>``; its ``pack/`` is the default source), or with
        none the ``demo`` scenario's incident on its store (nothing can be pinned then).
        ``source``: ``"aws"`` (live, the alarm's region) or a store path."""
        from incident_lib.notebook import setup

        with _quiet():
            if not incident_dir:
                case = setup(alarm_json="", source="", start="", end="", demo=demo)
                return cls._build(case, None, str(case.source.store.path), None)
            from incident_lib.evidence.replay import load_incident

            inc = load_incident(Path(incident_dir))
            params = inc.parameters
            pack = inc.path / "pack"
            spec = str(source) if source else (str(pack) if pack.is_dir() else "")
            if not spec:
                spec = str(params.get("source") or "")
            if not spec:
                raise BadInputError(f"{inc.path} has no pack/: name a source (aws or a store)")
            if spec != "aws" and not Path(spec).exists():
                raise BadInputError(f"source {spec}: no such store")
            keep = ("function_name", "resource_names", "api_name", "table_name", "queue_name")
            case = setup(
                alarm_json=inc.alarm.model_dump_json(),
                source=spec,
                start=str(params.get("start") or format_iso(inc.alarm.state_change_time)),
                end=str(params.get("end") or format_iso(inc.alarm.state_change_time)),
                log_groups=list(params.get("log_groups") or []),
                profile=profile or params.get("profile"),
                role_arn=role_arn or params.get("role_arn"),
                **{k: params[k] for k in keep if params.get(k)},
            )
            return cls._build(case, inc.path, spec, inc.findings)

    @classmethod
    def _build(
        cls, case: Any, incident_dir: Path | None, spec: str, findings: FindingsDoc | None
    ) -> Explorer:
        metric = case.alarm.metric
        period = int(getattr(metric, "period", None) or 60) if metric is not None else 60
        onset = None
        for f in (findings.findings if findings else []) or []:
            if f.kind == "onset" and f.time is not None:
                onset = ensure_utc(f.time)
                break
        ex = cls(
            case=case,
            incident_dir=incident_dir,
            source_spec=spec,
            period=max(period, 1),
            onset=onset,
            findings=findings,
        )
        ex.reach = ex._reach()
        return ex

    # -- facts -----------------------------------------------------------------------------
    @property
    def alarm(self) -> Any:
        return self.case.alarm

    @property
    def alarm_time(self) -> pd.Timestamp:
        return self.case.alarm_time

    @property
    def can_pin(self) -> bool:
        return self.incident_dir is not None

    @property
    def history(self) -> list[QueryRecord]:
        """Every query this session ran, oldest first (as the case recorded them)."""
        return list(self.case.queries)

    def _reach(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The slider's range: the incident window, widened where the source holds more."""
        start, end = self.case.start, self.case.end
        store = getattr(self.case.source, "store", None)
        if self.source_spec == "aws":
            from incident_lib.timeutil import utc_now

            lo, hi = start - REACH_BEFORE, min(end + REACH_AFTER, pd.Timestamp(utc_now()))
        elif store is not None and not _is_pack(self.case.source):
            span = store.time_range
            lo, hi = start - REACH_BEFORE, end + REACH_AFTER
            if span is not None:
                lo, hi = max(lo, ensure_utc(span[0])), min(hi, ensure_utc(span[1]))
                lo, hi = min(lo, start), max(hi, end)
        else:  # an evidence pack holds the incident window only
            lo, hi = start, end
        return self.snap(lo, "floor"), self.snap(hi, "ceil")

    def snap(self, ts: Any, how: str = "round") -> pd.Timestamp:
        """``ts`` on the metric period's grid (``floor``, ``ceil`` or ``round``)."""
        t = ensure_utc(pd.Timestamp(ts))
        return getattr(t, how)(f"{self.period}s")

    def steps(self) -> list[pd.Timestamp]:
        """The slider's positions: every metric period over :attr:`reach` (at most
        :data:`MAX_STEPS`, stepping by a multiple of the period beyond that)."""
        lo, hi = self.reach or (self.case.start, self.case.end)
        step = self.period
        while (hi - lo).total_seconds() / step > MAX_STEPS:
            step += self.period
        return list(pd.date_range(lo, hi, freq=f"{step}s"))

    def presets(self) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
        """Named windows, each inside :attr:`reach` and snapped to the period."""
        lo, hi = self.reach or (self.case.start, self.case.end)
        alarm = self.alarm_time
        out = {"incident window": (self.case.start, self.case.end)}
        if self.onset is not None:
            out["onset ± 15 min"] = (
                self.onset - pd.Timedelta(minutes=15),
                self.onset + pd.Timedelta(minutes=15),
            )
        out["alarm ± 30 min"] = (alarm - pd.Timedelta(minutes=30), alarm + pd.Timedelta(minutes=30))
        out["hour before the alarm"] = (alarm - pd.Timedelta(hours=1), alarm)
        out["everything"] = (lo, hi)
        clipped = {}
        for name, (a, b) in out.items():
            a, b = self.snap(max(a, lo), "floor"), self.snap(min(b, hi), "ceil")
            if b > a:
                clipped[name] = (a, b)
        return clipped

    def markers(self) -> list[tuple[pd.Timestamp, str]]:
        out = []
        if self.onset is not None:
            out.append((self.onset, "onset"))
        out.append((self.alarm_time, "alarm"))
        return out

    # -- metrics ---------------------------------------------------------------------------
    def metric_names(self) -> list[str]:
        """Metric names of the alarm's namespace that exist for its resources."""
        metric = self.alarm.metric
        if metric is None:
            return []
        names: list[str] = [metric.name]
        store = getattr(self.case.source, "store", None)
        if store is not None:
            con = self.case.source.con
            rows = con.execute(
                "SELECT DISTINCT metric_name FROM metrics WHERE namespace = ? ORDER BY metric_name",
                [metric.namespace],
            ).fetchall()
            names += [str(r[0]) for r in rows]
        elif self.source_spec == "aws":
            dims = [{"Name": k, "Value": v} for k, v in metric.dimensions.items()]
            with _quiet():
                answer = self.case.aws(
                    "cloudwatch", "list-metrics", Namespace=metric.namespace, Dimensions=dims
                )
            names += [str(m.get("MetricName")) for m in answer.get("Metrics") or []]
        return sorted(dict.fromkeys(n for n in names if n))

    def dimension_values(self, metric_name: str | None = None) -> dict[str, list[str]]:
        """For each dimension of the alarm's metric, the values that exist for
        ``metric_name`` (ListMetrics, or the store), the alarm's own value first."""
        metric = self.alarm.metric
        if metric is None or not metric.dimensions:
            return {}
        name = metric_name or metric.name
        keys = list(metric.dimensions)
        with _quiet():
            try:
                found = self.case.siblings(metric.namespace, name, keys)
            except IncidentError as exc:
                log.warning("ListMetrics failed: %s", exc)
                found = pd.DataFrame(columns=["dimensions"])
        out: dict[str, list[str]] = {k: [str(metric.dimensions[k])] for k in keys}
        for dims in found.get("dimensions", []):
            for k in keys:
                if isinstance(dims, dict) and dims.get(k) is not None:
                    out[k].append(str(dims[k]))
        return {k: list(dict.fromkeys(v)) for k, v in out.items()}

    def metric_chart(
        self,
        metric_name: str,
        dimensions: dict[str, str],
        start: Any,
        end: Any,
        *,
        stat: str | None = None,
    ) -> tuple[pd.DataFrame, Any]:
        """GetMetricData for one series over the window: ``(frame, figure)``; the onset and
        the alarm marked, the threshold drawn when it is the alarmed metric."""
        from incident_lib.notebook import metric
        from incident_lib.plotting import timeseries

        alarm_metric = self.alarm.metric
        if alarm_metric is None:
            raise BadInputError("the alarm has no single metric to chart")
        stat = stat or (alarm_metric.stat if metric_name == alarm_metric.name else None) or "Sum"
        t0, t1 = parse_time(start, name="start"), parse_time(end, name="end")
        with _quiet():
            frame = self.case.metrics(
                {"m": metric(alarm_metric.namespace, metric_name, dimensions, stat)},
                period=self.period,
                start=t0,
                end=t1,
            )
        record = self.case.queries[-1]
        same = metric_name == alarm_metric.name and dict(dimensions) == dict(
            alarm_metric.dimensions
        )
        dims = " ".join(f"{k}={v}" for k, v in dimensions.items())
        fig = timeseries(
            frame,
            title=f"{metric_name} {stat} {dims} ({t0:%H:%M}–{t1:%H:%M} UTC)",
            threshold=self.alarm.threshold if same else None,
            markers=[(t, label) for t, label in self.markers() if t0 <= t <= t1],
        )
        self.current["metric"] = {"frame": frame, "figure": fig, "record": record}
        return frame, fig

    # -- logs ------------------------------------------------------------------------------
    def log_groups(self) -> list[str]:
        """The incident's log groups first, then every other group the source holds."""
        groups = list(self.case.log_groups)
        store = getattr(self.case.source, "store", None)
        if store is not None:
            rows = self.case.source.con.execute(
                "SELECT DISTINCT log_group FROM logs ORDER BY log_group"
            ).fetchall()
            groups += [str(r[0]) for r in rows]
        return list(dict.fromkeys(groups))

    def check_query(self, text: str) -> QueryOutcome | None:
        """Parse ``text`` with the local Logs Insights parser: an outcome carrying the syntax
        error and its position, or None when it parses. On AWS a construct only the local
        engine lacks is not an error (AWS is asked)."""
        from incident_lib.insights.parser import parse

        try:
            parse(text)
        except UnsupportedQueryError as exc:
            if self.source_spec == "aws":
                return None
            return _outcome_of(exc)
        except QueryError as exc:
            return _outcome_of(exc)
        return None

    def run_query(self, text: str, log_groups: Sequence[str], start: Any, end: Any) -> QueryOutcome:
        """One Logs Insights query over ``log_groups`` and the window."""
        started = time.perf_counter()
        text = (text or "").strip()
        if not text:
            return QueryOutcome(error="the query is empty")
        if not log_groups:
            return QueryOutcome(error="pick at least one log group")
        bad = self.check_query(text)
        if bad is not None:
            bad.seconds = time.perf_counter() - started
            return bad
        try:
            with _quiet():
                frame = self.case.logs(
                    text,
                    log_groups=list(log_groups),
                    start=parse_time(start, name="start"),
                    end=parse_time(end, name="end"),
                )
        except QueryError as exc:
            return _outcome_of(exc)
        except IncidentError as exc:
            return QueryOutcome(error=mask_secrets(str(exc)), record=self.case.queries[-1])
        out = QueryOutcome(
            frame=frame,
            record=self.case.queries[-1],
            seconds=time.perf_counter() - started,
        )
        self.current["query"] = {
            "frame": frame,
            "figure": result_figure(frame, title=_first_line(text)),
            "record": out.record,
        }
        return out

    # -- pins ------------------------------------------------------------------------------
    def pin(self, what: str, note: str) -> Any:
        """Pin the current ``"metric chart"``, ``"query table"`` or ``"query chart"`` into the
        incident's pack and RCA draft; returns the :class:`~incident_lib.evidence.pins.Pin`."""
        from incident_lib.evidence.pins import add_pin

        if self.incident_dir is None:
            raise BadInputError(
                "no incident folder: pins go into an incident's pack (incident lab INCIDENT_DIR)"
            )
        slot, _, kind = what.partition(" ")
        current = self.current.get(slot)
        if current is None:
            raise BadInputError(f"nothing to pin: no {slot} result yet")
        if kind == "chart" and current.get("figure") is None:
            raise BadInputError("nothing to pin: this result has no chart")
        return add_pin(
            self.incident_dir,
            kind=kind,
            note=note,
            query=_query_facts(current["record"]),
            table=current["frame"],
            figure=current.get("figure") if kind == "chart" else None,
            source=self.source_spec,
        )

    def unpin(self) -> Any:
        """Take the last pin back (the step back)."""
        from incident_lib.evidence.pins import unpin

        if self.incident_dir is None:
            raise BadInputError("no incident folder: nothing was pinned")
        return unpin(self.incident_dir)

    def pins(self) -> list[Any]:
        from incident_lib.evidence.pins import read_pins

        return read_pins(self.incident_dir) if self.incident_dir is not None else []


# -- helpers -------------------------------------------------------------------------------------
@contextlib.contextmanager
def _quiet() -> Any:
    """Outside a kernel the case's displays go to stdout: keep them out of a terminal."""
    try:
        from IPython import get_ipython

        in_kernel = get_ipython() is not None
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        in_kernel = False
    if in_kernel:
        yield
        return
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def _outcome_of(exc: QueryError) -> QueryOutcome:
    return QueryOutcome(
        error=mask_secrets(exc.reason),
        line=exc.line,
        column=exc.column,
        context=mask_secrets(exc.context),
    )


def _is_pack(source: Any) -> bool:
    from incident_lib.evidence.packsource import PackSource

    return isinstance(source, PackSource)


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:80]


def _query_facts(record: QueryRecord | None) -> dict[str, Any]:
    if record is None:
        return {}
    return {
        "operation": record.operation,
        "kind": record.kind,
        "text": record.text,
        "target": record.target,
        "start": format_iso(record.start) if record.start is not None else None,
        "end": format_iso(record.end) if record.end is not None else None,
        "rows": record.rows,
        "seconds": record.seconds,
        "request": record.request,
    }


def _time_column(frame: pd.DataFrame) -> str | None:
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            return str(col)
    return None


def result_figure(frame: pd.DataFrame, *, title: str) -> Any:
    """A chart of a Logs Insights result, or None: values over a time column (a ``stats ...
    by bin()``), bars of the first numeric column by the first text column, else the rows
    counted per minute of ``@timestamp``."""
    import plotly.graph_objects as go

    from incident_lib.plotting import bar_by_time, epoch_ms

    if frame is None or frame.empty:
        return None
    tcol = _time_column(frame)
    numeric = [
        str(c)
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    text_cols = [str(c) for c in frame.columns if c not in numeric and c != tcol]
    text_cols = [c for c in text_cols if not c.startswith("@")]
    if tcol and numeric:
        fig = go.Figure()
        data = frame.sort_values(tcol)
        groups = data.groupby(text_cols[0], sort=False) if text_cols else [(None, data)]
        for name, part in groups:
            for col in numeric:
                label = col if name is None else f"{name} {col}"
                fig.add_trace(
                    go.Scatter(
                        x=epoch_ms(part[tcol]).to_numpy(),
                        y=part[col].astype("float64").to_numpy(),
                        mode="lines+markers",
                        name=mask_secrets(str(label)),
                    )
                )
        fig.update_layout(title=title, xaxis={"type": "date"}, height=320)
        return fig
    if numeric and text_cols:
        data = mask_frame(frame.head(30))
        fig = go.Figure(
            go.Bar(x=data[text_cols[0]].astype(str).str[:60], y=data[numeric[0]], name=numeric[0])
        )
        fig.update_layout(title=title, height=320, yaxis_title=numeric[0])
        return fig
    if tcol:
        counts = (
            frame.set_index(tcol)
            .resample("1min")
            .size()
            .rename("rows")
            .reset_index()
            .rename(columns={tcol: "minute"})
        )
        fig = bar_by_time(counts, x="minute", y="rows", title=f"rows per minute: {title}")
        fig.update_layout(height=320)
        return fig
    return None


def table_html(frame: pd.DataFrame, *, sort_by: str | None = None, ascending: bool = True) -> str:
    """The result as an escaped HTML table (secrets masked), sorted, first rows only."""
    if frame is None or frame.empty:
        return "<p>No rows.</p>"
    data = frame
    if sort_by and sort_by in data.columns:
        try:
            data = data.sort_values(sort_by, ascending=ascending, kind="stable")
        except TypeError:  # mixed types in one column: sort as text
            key = data[sort_by].astype(str)
            data = data.iloc[key.argsort(kind="stable")[:: 1 if ascending else -1]]
    shown = mask_frame(data.head(SHOW_ROWS))
    more = f"<p>{SHOW_ROWS} of {len(frame)} rows shown.</p>" if len(frame) > SHOW_ROWS else ""
    table = shown.to_html(index=False, escape=True, na_rep="", classes="explore-table")
    return f'<div class="explore-table-wrap">{table}</div>{more}'


def history_label(record: QueryRecord) -> str:
    when = (
        f"{record.start:%H:%M}–{record.end:%H:%M}"
        if record.start is not None and record.end is not None
        else ""
    )
    outcome = f"failed: {record.error}" if record.error else f"{record.rows} rows"
    return (
        f"#{record.n} {record.operation} {when} · {outcome} · {record.seconds:.2f} s · "
        f"{_first_line(record.text)[:70]}"
    )


# -- widgets -------------------------------------------------------------------------------------
class ExploreUI:
    """The widgets over an :class:`Explorer`. ``show()`` displays them; ``timings`` keeps how
    long each callback took (seconds), the figure the tests hold to one second."""

    def __init__(self, explorer: Explorer) -> None:
        import ipywidgets as w

        self.ex = explorer
        self.timings: dict[str, list[float]] = {}
        ex = explorer
        full = {"width": "100%"}
        steps = ex.steps()
        fmt = "%m-%d %H:%M" if steps and steps[0].date() != steps[-1].date() else "%H:%M"
        self._steps = steps
        presets = ex.presets()
        self.preset = w.Dropdown(
            options=[*presets, "custom"], value="incident window", description="Window"
        )
        self._presets = presets
        self.window = w.SelectionRangeSlider(
            options=[(t.strftime(fmt), t) for t in steps],
            index=self._indexes(*presets["incident window"]),
            description="Range",
            continuous_update=False,
            layout=full,
        )
        self.window_note = w.HTML()
        # metric
        metric = ex.alarm.metric
        names = ex.metric_names()
        self.metric = w.Dropdown(
            options=names or ["(none)"],
            value=metric.name if metric is not None and metric.name in names else None,
            description="Metric",
        )
        self.dims: dict[str, Any] = {}
        for key, values in ex.dimension_values().items():
            self.dims[key] = w.Dropdown(options=values, value=values[0], description=key)
        self.stat = w.Dropdown(
            options=["Sum", "Average", "Maximum", "Minimum", "SampleCount", "p50", "p90", "p99"],
            value=(metric.stat if metric is not None and metric.stat else "Sum")
            if (metric is not None and metric.stat in ("Sum", "Average", "Maximum", "Minimum"))
            else "Sum",
            description="Statistic",
        )
        self.metric_out = w.Output(layout={"min_height": "340px"})
        # logs
        groups = ex.log_groups()
        self.groups = w.SelectMultiple(
            options=groups or ["(none)"],
            value=tuple(g for g in ex.case.log_groups if g in groups),
            description="Log groups",
            rows=min(max(len(groups), 2), 6),
            layout={"width": "60%"},
        )
        self.query = w.Textarea(
            value=DEFAULT_QUERY,
            description="Query",
            rows=5,
            layout={"width": "100%"},
        )
        self.run = w.Button(description="Run query", button_style="primary", icon="play")
        self.query_status = w.HTML()
        self.sort_by = w.Dropdown(options=["(as returned)"], description="Sort by")
        self.order = w.ToggleButtons(options=["ascending", "descending"], value="descending")
        self.table = w.HTML()
        self.query_out = w.Output(layout={"min_height": "40px"})
        self.history = w.Select(options=[], description="History", rows=5, layout=full)
        # pins
        self.note = w.Text(description="Note", placeholder="why this matters", layout=full)
        self.pin_what = w.Dropdown(
            options=["metric chart", "query table", "query chart"], description="Pin"
        )
        self.pin_button = w.Button(description="Pin to RCA", icon="thumb-tack")
        self.undo_button = w.Button(description="Undo last pin", icon="undo")
        self.pin_status = w.HTML()
        self.pins = w.HTML()
        if not ex.can_pin:
            for b in (self.pin_button, self.undo_button):
                b.disabled = True
            self.pin_status.value = (
                "<em>No incident folder: pinning needs one (incident lab INCIDENT_DIR).</em>"
            )
        # wiring
        self.preset.observe(self._timed("preset", self._on_preset), names="value")
        self.window.observe(self._timed("window", self._on_window), names="value")
        self.metric.observe(self._timed("metric", self._on_metric), names="value")
        for d in self.dims.values():
            d.observe(self._timed("dimension", self._on_dimension), names="value")
        self.stat.observe(self._timed("statistic", self._on_dimension), names="value")
        self.run.on_click(lambda _b: self._timed("query", self._on_run)(None))
        self.sort_by.observe(self._timed("sort", self._on_sort), names="value")
        self.order.observe(self._timed("sort", self._on_sort), names="value")
        self.history.observe(self._timed("history", self._on_history), names="value")
        self.pin_button.on_click(lambda _b: self._timed("pin", self._on_pin)(None))
        self.undo_button.on_click(lambda _b: self._timed("unpin", self._on_unpin)(None))
        self._syncing = False
        self.box = w.VBox(
            [
                w.HTML(self._header()),
                w.HTML("<h3>Time window</h3>"),
                w.HBox([self.preset]),
                self.window,
                self.window_note,
                w.HTML("<h3>Metric</h3>"),
                w.HBox([self.metric, self.stat]),
                w.HBox(list(self.dims.values())),
                self.metric_out,
                w.HTML("<h3>Logs Insights</h3>"),
                self.groups,
                self.query,
                w.HBox([self.run, self.query_status]),
                w.HBox([self.sort_by, self.order]),
                self.table,
                self.query_out,
                self.history,
                w.HTML("<h3>Pin to the RCA draft</h3>"),
                self.note,
                w.HBox([self.pin_what, self.pin_button, self.undo_button]),
                self.pin_status,
                self.pins,
            ]
        )
        self._on_window(None)
        self._show_pins()

    # -- layout helpers --------------------------------------------------------------------
    def _header(self) -> str:
        ex = self.ex
        onset = f" · onset {ex.onset:%H:%M} UTC" if ex.onset is not None else ""
        where = str(ex.incident_dir) if ex.incident_dir is not None else "demo (no folder)"
        return (
            f"<p><strong>{html.escape(ex.alarm.name)}</strong> · alarm "
            f"{ex.alarm_time:%Y-%m-%d %H:%M} UTC{onset} · incident {html.escape(where)} · "
            f"source <code>{html.escape(ex.source_spec)}</code> · period {ex.period} s</p>"
        )

    def _indexes(self, a: pd.Timestamp, b: pd.Timestamp) -> tuple[int, int]:
        steps = self._steps
        i = max(0, min(range(len(steps)), key=lambda k: abs((steps[k] - a).total_seconds())))
        j = max(0, min(range(len(steps)), key=lambda k: abs((steps[k] - b).total_seconds())))
        if j <= i:
            j = min(i + 1, len(steps) - 1)
        return i, j

    def _timed(self, name: str, fn: Any) -> Any:
        def run(change: Any) -> None:
            t = time.perf_counter()
            try:
                fn(change)
            finally:
                self.timings.setdefault(name, []).append(time.perf_counter() - t)

        return run

    @property
    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        a, b = self.window.value
        return pd.Timestamp(a), pd.Timestamp(b)

    def _ruler(self) -> str:
        """Where the onset and the alarm sit on the slider's range."""
        steps = self._steps
        lo, hi = steps[0], steps[-1]
        width = (hi - lo).total_seconds() or 1.0
        a, b = self.span
        marks = []
        for when, label, colour in (
            (self.ex.onset, "onset", "#b35900"),
            (self.ex.alarm_time, "alarm", "#c62828"),
        ):
            if when is None or not lo <= when <= hi:
                continue
            pct = 100 * (when - lo).total_seconds() / width
            marks.append(
                f'<span title="{label} {when:%H:%M}" style="position:absolute;left:{pct:.2f}%;'
                f'top:0;height:14px;border-left:2px solid {colour}"></span>'
                f'<span style="position:absolute;left:{pct:.2f}%;top:14px;font-size:11px;'
                f'color:{colour}">{label} {when:%H:%M}</span>'
            )
        left = 100 * (a - lo).total_seconds() / width
        right = 100 * (b - lo).total_seconds() / width
        sel = (
            f'<span style="position:absolute;left:{left:.2f}%;width:{right - left:.2f}%;top:4px;'
            'height:6px;background:#90caf9"></span>'
        )
        return (
            '<div class="explore-ruler" style="position:relative;height:32px;margin:0 8px 0 '
            f'90px">{sel}{"".join(marks)}</div>'
            f"<div>Selected: {a:%Y-%m-%d %H:%M} – {b:%H:%M} UTC "
            f"({int((b - a).total_seconds() // 60)} min, steps of {self.ex.period} s)</div>"
        )

    # -- callbacks -------------------------------------------------------------------------
    def _on_preset(self, change: Any) -> None:
        name = self.preset.value
        if name in self._presets and not self._syncing:
            self._syncing = True
            try:
                self.window.index = self._indexes(*self._presets[name])
            finally:
                self._syncing = False
            self._on_window(None)

    def _on_window(self, change: Any) -> None:
        if change is not None and not self._syncing:
            self._syncing = True
            try:
                self.preset.value = "custom"
            finally:
                self._syncing = False
        self.window_note.value = self._ruler()
        self._draw_metric()

    def _on_metric(self, change: Any) -> None:
        values = self.ex.dimension_values(self.metric.value)
        for key, dd in self.dims.items():
            opts = values.get(key) or list(dd.options)
            if list(dd.options) != opts:
                current = dd.value
                self._syncing = True
                try:
                    dd.options = opts
                    dd.value = current if current in opts else opts[0]
                finally:
                    self._syncing = False
        self._draw_metric()

    def _on_dimension(self, change: Any) -> None:
        if not self._syncing:
            self._draw_metric()

    def _draw_metric(self) -> None:
        self.metric_out.clear_output(wait=True)
        if self.ex.alarm.metric is None or self.metric.value in (None, "(none)"):
            with self.metric_out:
                print("This alarm has no single metric to chart.")
            return
        a, b = self.span
        dims = {k: d.value for k, d in self.dims.items()}
        with self.metric_out, _quiet():
            try:
                frame, fig = self.ex.metric_chart(
                    self.metric.value, dims, a, b, stat=self.stat.value
                )
            except IncidentError as exc:
                print(f"GetMetricData failed: {mask_secrets(str(exc))}")
                return
            if frame.empty:
                print("No datapoints in this window.")
            fig.show()
        self._show_history()

    def _on_run(self, change: Any) -> None:
        a, b = self.span
        self.query_status.value = "<em>running…</em>"
        self.query_out.clear_output(wait=True)
        with self.query_out:  # the query as sent, its window, rows and seconds
            out = self.ex.run_query(self.query.value, list(self.groups.value), a, b)
        self._show_history()
        if not out.ok:
            self.query_status.value = out.error_html()
            return
        frame = out.frame
        assert frame is not None
        self.query_status.value = (
            f"<span class='explore-ok'>{len(frame)} rows in {out.seconds:.2f} s "
            f"(query #{out.record.n if out.record else '?'})</span>"
        )
        self._syncing = True
        try:
            self.sort_by.options = ["(as returned)", *[str(c) for c in frame.columns]]
            self.sort_by.value = "(as returned)"
        finally:
            self._syncing = False
        self.table.value = table_html(frame)
        fig = self.ex.current["query"]["figure"]
        if fig is not None:  # under the query's own line
            with self.query_out, _quiet():
                fig.show()

    def _on_sort(self, change: Any) -> None:
        if self._syncing:
            return
        current = self.ex.current.get("query")
        if current is None:
            return
        col = self.sort_by.value
        self.table.value = table_html(
            current["frame"],
            sort_by=None if col == "(as returned)" else col,
            ascending=self.order.value == "ascending",
        )

    def _show_history(self) -> None:
        records = list(reversed(self.ex.history))
        self._syncing = True
        try:
            self.history.options = [(history_label(r), r.n) for r in records]
            self.history.value = None
        finally:
            self._syncing = False

    def _on_history(self, change: Any) -> None:
        if self._syncing or self.history.value is None:
            return
        record = next((r for r in self.ex.history if r.n == self.history.value), None)
        if record is not None and record.kind == "insights":
            self.query.value = record.text

    def _on_pin(self, change: Any) -> None:
        try:
            pin = self.ex.pin(self.pin_what.value, self.note.value)
        except IncidentError as exc:
            self.pin_status.value = f"<span class='explore-error'>{html.escape(str(exc))}</span>"
            return
        self.pin_status.value = (
            f"Pinned <code>{pin.ref}</code> to rca.md ({html.escape(', '.join(pin.files))}); "
            "the manifest is updated."
        )
        self.note.value = ""
        self._show_pins()

    def _on_unpin(self, change: Any) -> None:
        try:
            pin = self.ex.unpin()
        except IncidentError as exc:
            self.pin_status.value = f"<span class='explore-error'>{html.escape(str(exc))}</span>"
            return
        self.pin_status.value = f"Removed <code>{pin.ref}</code> from rca.md and the pack."
        self._show_pins()

    def _show_pins(self) -> None:
        pins = self.ex.pins()
        if not pins:
            self.pins.value = "<p>Nothing pinned yet.</p>" if self.ex.can_pin else ""
            return
        items = "".join(
            f"<li><code>{p.ref}</code> {html.escape(p.kind)}: {html.escape(p.note)}</li>"
            for p in pins
        )
        self.pins.value = f'<ul class="explore-pins">{items}</ul>'

    def show(self) -> None:
        from IPython.display import display

        display(self.box)


def explore(
    incident_dir: str | Path | None = None,
    *,
    source: str | None = None,
    demo: str = "lambda_errors",
) -> ExploreUI:
    """Open the incident and show the widgets (what ``explore.ipynb`` calls)."""
    ui = ExploreUI(Explorer.open(incident_dir=incident_dir, source=source or None, demo=demo))
    ui.show()
    return ui
