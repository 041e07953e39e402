"""What a notebook calls: one :func:`setup`, then one :meth:`Case.show` per section.

Notebooks stay thin. A section is a function ``fn(case) -> iterable of displayables`` (figures,
DataFrames, Markdown strings, :class:`~incident_lib.findings.Finding` lists); :meth:`Case.show`
runs it, displays what it returns, and when it fails shows why and lets the notebook go on.
Findings are recorded with one call, :meth:`Case.record`, so the report header, the RCA draft
and the tests read them back from the executed notebook.

>>> case = setup(alarm_json=alarm_json, source=source, start=start, end=end)  # doctest: +SKIP
>>> case.show("Traffic and errors", lambda_errors.traffic)                     # doctest: +SKIP
"""

from __future__ import annotations

import html
import logging
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
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
from incident_lib.errors import AccessDeniedError, IncidentError, NoDataError, SourceError
from incident_lib.findings import (
    FINDINGS_MIMETYPE,
    SECTION_MIMETYPE,
    Finding,
    FindingsDoc,
    SectionStatus,
)
from incident_lib.redact import mask_frame, mask_secrets
from incident_lib.sources import Source, open_source
from incident_lib.timeutil import parse_time

log = logging.getLogger(__name__)

#: Rows of a table shown in a report; the evidence pack keeps everything.
MAX_TABLE_ROWS = 50


@dataclass
class Case:
    """One investigation in progress: the alarm, the source, the window, and what sections found.

    ``state`` carries results between sections (the onset found by one, used by the next);
    ``cached`` fetches a thing once per run.
    """

    alarm: Alarm
    source: Source
    start: pd.Timestamp
    end: pd.Timestamp
    params: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    sections: list[SectionStatus] = field(default_factory=list)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def cached(self, key: str, fetch: Callable[[], Any]) -> Any:
        """``fetch()`` once per run; later calls get the first result, or raise its error
        again (a call that failed is not repeated by every section that needs it)."""
        if key not in self._cache:
            try:
                self._cache[key] = fetch()
            except Exception as exc:
                self._cache[key] = _Failed(exc)
        value = self._cache[key]
        if isinstance(value, _Failed):
            raise value.error
        return value

    def remember(self, key: str, value: Any) -> None:
        """Set what :meth:`cached` returns for ``key`` (e.g. an empty frame after a failure
        that one section has already reported)."""
        self._cache[key] = value

    def show(self, name: str, fn: Callable[[Case], Iterable[Any] | None]) -> None:
        """Run one section and display its results; a failure is shown, never raised. The
        section's status is appended to :attr:`sections`."""
        from IPython.display import display

        started = time.perf_counter()
        try:
            items = list(fn(self) or [])
        except NoDataError as exc:
            # Nothing to show is an answer, not a failure: the report is still complete.
            status = SectionStatus(name=name, status="empty", error=str(exc))
            display(_section_bundle(status), raw=True)
            self.sections.append(status)
            return
        except Exception as exc:
            status = SectionStatus(name=name, status="failed", error=_describe(exc))
            log.warning("section %r failed: %s", name, status.error)
            display(_section_bundle(status, detail=_traceback_tail(exc)), raw=True)
            self.sections.append(status)
            return
        shown = 0
        for item in items:
            shown += _display_item(item)
        status = SectionStatus(
            name=name,
            status="ok" if shown else "empty",
            error="" if shown else "no data in the window",
        )
        if not shown:
            display(_section_bundle(status), raw=True)
        else:
            display({SECTION_MIMETYPE: status.model_dump(mode="json")}, raw=True)
        self.sections.append(status)
        log.info("section %r: %s in %.2fs", name, status.status, time.perf_counter() - started)

    def record(self, findings: Iterable[Finding], *, summary: str = "") -> FindingsDoc:
        """Record the run's findings (displayed as a bundle the report and RCA read back)."""
        from IPython.display import display

        doc = FindingsDoc(
            summary=mask_secrets(summary),
            findings=[_mask_finding(f) for f in findings],
            sections=list(self.sections),
            stats={
                "source": self.source.name,
                "api_calls": dict(getattr(self.source, "calls", None) or {}),
            },
        )
        bundle = {
            FINDINGS_MIMETYPE: doc.model_dump(mode="json"),
            "text/html": _findings_html(doc),
            "text/plain": "\n".join(f"- {f.title}" for f in doc.findings) or "no findings",
        }
        display(bundle, raw=True)
        return doc


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
    demo: str = "lambda_errors",
    **params: Any,
) -> Case:
    """Prepare a run: plots that survive export, tables that fit, the alarm, the source.

    ``alarm_json`` is the normalised alarm (``Alarm.model_dump_json()``, as the catalogue passes
    it) or any payload :func:`incident_lib.alarm.parse_alarm` reads; ``source`` is ``"aws"`` or
    a store path; ``start``/``end`` ISO-8601 with an offset. With no ``alarm_json`` (a
    notebook opened as it is) the run investigates the ``demo`` scenario's incident.
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
    return Case(
        alarm=alarm,
        source=src,
        start=parse_time(start, name="start"),
        end=parse_time(end, name="end"),
        params=dict(params),
    )


def _demo_case(scenario: str, **kw: Any) -> Case:
    from incident_lib.alarm import parse_alarm
    from incident_lib.catalog import resolve
    from incident_lib.demo import alarm_event, demo_store

    store = demo_store(scenario)
    alarm = parse_alarm(alarm_event(store))
    params = dict(resolve(alarm).parameters)
    log.info("no alarm given: investigating the %s demo incident", scenario)
    return setup(
        alarm_json=params.pop("alarm_json"),
        source=str(store.path),
        start=params.pop("start"),
        end=params.pop("end"),
        **params,
        **kw,
    )


# -- display helpers ---------------------------------------------------------------------------
def _display_item(item: Any) -> int:
    from IPython.display import Markdown, display

    if item is None:
        return 0
    if isinstance(item, pd.DataFrame):
        if item.empty:
            return 0
        display(mask_frame(item.head(MAX_TABLE_ROWS)))
        return 1
    if isinstance(item, str):
        display(Markdown(item))
        return 1
    if isinstance(item, Mapping) and "text/html" in item:
        display(item, raw=True)
        return 1
    if hasattr(item, "to_plotly_json"):
        item.show()
        return 1
    display(item)
    return 1


def _describe(exc: BaseException) -> str:
    if isinstance(exc, AccessDeniedError):
        return f"access denied: {exc} (the role needs this permission; see docs/aws.md)"
    if isinstance(exc, SourceError | IncidentError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _traceback_tail(exc: BaseException) -> str:
    if isinstance(exc, IncidentError):
        return ""
    return "".join(traceback.format_exception(exc)[-4:])


def _section_bundle(status: SectionStatus, *, detail: str = "") -> dict[str, Any]:
    css = "incident-section-failed" if status.status == "failed" else "incident-section-empty"
    label = "Section failed" if status.status == "failed" else "No data"
    body = (
        f'<div class="incident-section {css}"><strong>{label}: '
        f"{html.escape(status.name)}</strong><p>{html.escape(mask_secrets(status.error))}</p>"
    )
    if detail:
        body += f"<pre>{html.escape(mask_secrets(detail))}</pre>"
    body += "</div>"
    return {
        SECTION_MIMETYPE: status.model_dump(mode="json"),
        "text/html": body,
        "text/plain": f"{label}: {status.name}: {status.error}",
    }


def _mask_finding(f: Finding) -> Finding:
    return f.model_copy(update={"title": mask_secrets(f.title), "detail": mask_secrets(f.detail)})


def _findings_html(doc: FindingsDoc) -> str:
    items = "".join(
        f'<li class="finding finding-{f.severity}"><strong>{html.escape(f.title)}</strong>'
        f"<br>{html.escape(f.detail)}</li>"
        for f in doc.findings
    )
    return f'<div class="incident-findings-inline"><ul>{items}</ul></div>'
