"""Findings: what an investigation concluded, each citing the evidence it rests on.

Notebooks record findings with one call (``incident_lib.notebook.record``), which displays a
bundle under :data:`FINDINGS_MIMETYPE`; the report header, the RCA draft and the tests read them
back from the executed notebook with :func:`extract`. Sections that fail display a bundle under
:data:`SECTION_MIMETYPE`, so a report can say which parts are missing and why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

FINDINGS_MIMETYPE = "application/vnd.incident.findings+json"
SECTION_MIMETYPE = "application/vnd.incident.section+json"
QUERY_MIMETYPE = "application/vnd.incident.query+json"

Severity = Literal["info", "warning", "critical"]
#: How sure a finding is: ``high`` (the evidence leaves little doubt), ``medium`` (plausible,
#: with a stated gap), ``low`` (a lead to check by hand).
Confidence = Literal["high", "medium", "low"]


class Evidence(BaseModel):
    """A citation: what a finding rests on (a query, a series, a CloudTrail event, a log line)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    label: str
    ref: str = ""  # e.g. "insights:error_signatures", "metric:errors", "cloudtrail:<EventId>"


class RuledOut(BaseModel):
    """A candidate a finding considered and rejected, and why (a change 40 min before the
    onset after which errors stayed at their baseline, say)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    label: str
    reason: str
    ref: str = ""  # e.g. "cloudtrail:<EventId>"
    #: Every item it stands for (the calls of one rollout), ``ref`` first.
    refs: tuple[str, ...] = ()


class Finding(BaseModel):
    """One conclusion. ``kind`` is a short machine name (onset, culprit_change, new_signature,
    impact, sibling_scan, ...); ``title`` is the one-line statement shown first."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: str
    title: str
    detail: str = ""
    severity: Severity = "info"
    time: datetime | None = None
    evidence: tuple[Evidence, ...] = ()
    data: dict[str, Any] = Field(default_factory=dict)
    #: How sure the finding is, and why (also said in ``detail`` so every reader sees it).
    confidence: Confidence | None = None
    confidence_reason: str = ""
    #: Candidates considered and rejected, each with its reason.
    ruled_out: tuple[RuledOut, ...] = ()
    #: What the finding could not check (no CloudTrail access, no logs, no metric series).
    unchecked: tuple[str, ...] = ()

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("finding time must be timezone-aware")
        return value


class SectionStatus(BaseModel):
    """How one runbook section went: ``ok``; ``empty`` (no data: an answer, not a failure);
    ``partial`` (results shown, but a step failed); ``failed`` (nothing could be shown)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    status: Literal["ok", "failed", "partial", "empty"]
    error: str = ""


class QueryRecord(BaseModel):
    """One telemetry call a runbook step made, as asked and as answered: what the evidence
    pack keeps and a finding cites as ``query:<n>``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    n: int
    kind: str  # metrics | insights | filter | aws_call | history | changes | list_metrics
    operation: str  # GetMetricData, StartQuery, lambda:GetFunctionConfiguration ...
    text: str  # the query as a reader reads it
    target: str = ""  # log groups, resource
    request: dict[str, Any] = Field(default_factory=dict)
    start: datetime | None = None
    end: datetime | None = None
    rows: int = 0
    seconds: float = 0.0
    truncated: bool = False
    section: str = ""
    error: str = ""

    @property
    def ref(self) -> str:
        return f"query:{self.n}"


class FindingsDoc(BaseModel):
    """All findings of one run plus the status of every section."""

    model_config = ConfigDict(extra="forbid")
    summary: str = ""
    findings: list[Finding] = Field(default_factory=list)
    sections: list[SectionStatus] = Field(default_factory=list)
    #: How the run went: the source, AWS API calls per operation (``api_calls``), timings.
    stats: dict[str, Any] = Field(default_factory=dict)
    #: Every telemetry call the run made, in order.
    queries: list[QueryRecord] = Field(default_factory=list)

    @property
    def partial(self) -> bool:
        return any(s.status in ("failed", "partial") for s in self.sections)


def extract(nb: Any) -> FindingsDoc:
    """Read the findings and section statuses back from an executed notebook (nbformat node or
    dict). The last findings bundle wins; section bundles accumulate in order."""
    doc = FindingsDoc()
    sections: dict[str, SectionStatus] = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            if QUERY_MIMETYPE in data:
                doc.queries.append(QueryRecord.model_validate(data[QUERY_MIMETYPE]))
            if FINDINGS_MIMETYPE in data:
                found = FindingsDoc.model_validate(data[FINDINGS_MIMETYPE])
                doc.summary, doc.findings, doc.stats = found.summary, found.findings, found.stats
            if SECTION_MIMETYPE in data:
                status = SectionStatus.model_validate(data[SECTION_MIMETYPE])
                sections[status.name] = status
    doc.sections = list(sections.values())
    return doc
