"""``incident replay``: run the same notebook again, offline, against an incident's pack.

The pack's ``PackSource`` answers every call the run recorded exactly as it was answered, so
the replay computes the same findings; calls the run did not make (a newer notebook's new
steps) are answered by the local engines over the pack's tables. The replay also runs the
fidelity check (:mod:`incident_lib.evidence.fidelity`) and writes both verdicts to
``replay.json`` in the new folder.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from incident_lib.alarm import Alarm
from incident_lib.errors import BadInputError
from incident_lib.evidence.fidelity import QueryFidelity, check_fidelity
from incident_lib.evidence.manifest import MANIFEST, Verification, update_files, verify
from incident_lib.evidence.pack import PACK_DIR
from incident_lib.evidence.view import PackView
from incident_lib.findings import FindingsDoc
from incident_lib.timeutil import format_iso, utc_now

__all__ = ["ReplayResult", "compare_findings", "load_incident", "replay"]

log = logging.getLogger(__name__)

REPLAY_FILE = "replay.json"
#: Parameters that say where the data came from, not what to investigate.
_SOURCE_PARAMETERS = frozenset({"source", "profile", "role_arn", "endpoint_url", "alarm_json"})


@dataclass
class ReplayResult:
    run: Any  # incident_lib.run.RunResult
    differences: list[str]
    fidelity: list[QueryFidelity]
    verification: Verification | None
    unrecorded: list[dict[str, Any]] = field(default_factory=list)

    @property
    def same_findings(self) -> bool:
        return not self.differences


@dataclass
class Incident:
    """An incident folder as written by an investigation."""

    path: Path
    alarm: Alarm
    findings: FindingsDoc
    metadata: dict[str, Any]

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self.metadata.get("parameters") or {})


def load_incident(incident_dir: Path) -> Incident:
    """Read ``alarm.json``, ``findings.json`` and the notebook's run metadata."""
    root = Path(incident_dir)
    if not root.is_dir():
        raise BadInputError(f"no such incident folder: {root}")
    try:
        alarm = Alarm.model_validate_json((root / "alarm.json").read_text(encoding="utf-8"))
        findings = FindingsDoc.model_validate_json(
            (root / "findings.json").read_text(encoding="utf-8")
        )
    except FileNotFoundError as exc:
        name = Path(exc.filename or "alarm.json").name
        raise BadInputError(f"{root} is not an incident folder (no {name})") from None
    except ValueError as exc:
        raise BadInputError(f"cannot read the incident in {root}: {exc}") from None
    metadata: dict[str, Any] = {}
    if (root / "notebook.ipynb").is_file():
        nb = nbformat.read(root / "notebook.ipynb", as_version=4)
        metadata = json.loads(json.dumps(nb.metadata.get("incident") or {}))
    return Incident(root, alarm, findings, metadata)


def _finding_key(doc: FindingsDoc) -> list[dict[str, Any]]:
    return [f.model_dump(mode="json") for f in doc.findings]


def compare_findings(before: FindingsDoc, after: FindingsDoc) -> list[str]:
    """What differs between two runs' findings: summary, each finding, section statuses."""
    out: list[str] = []
    if before.summary != after.summary:
        out.append(f"summary: {before.summary!r} -> {after.summary!r}")
    a, b = _finding_key(before), _finding_key(after)
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x != y:
            what = (x or y or {}).get("kind", "?")
            if x is None or y is None:
                out.append(
                    f"finding {i + 1} ({what}): only in the {'replay' if x is None else 'original'}"
                )
            else:
                keys = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
                out.append(f"finding {i + 1} ({what}): {', '.join(keys)} differ")
    sa = {s.name: s.status for s in before.sections}
    sb = {s.name: s.status for s in after.sections}
    if sa != sb:
        out.append(f"sections: {sa} -> {sb}")
    return out


def replay(
    incident_dir: Path,
    out: Path,
    *,
    notebook: Path | None = None,
    figures: bool = True,
    progress: Callable[[str], None] | None = None,
) -> ReplayResult:
    """Replay ``incident_dir`` into ``out/<incident-id>/``.

    ``notebook`` runs that notebook instead of the one the run used (the catalogue's current
    notebook for the alert type when the recorded path is gone).
    """
    from incident_lib.evidence.investigation import EvidenceOptions
    from incident_lib.run import investigate

    say = progress or (lambda _m: None)
    inc = load_incident(incident_dir)
    pack = inc.path / PACK_DIR
    if not (pack / "store.json").is_file():
        raise BadInputError(f"{inc.path} has no evidence pack ({PACK_DIR}/)")
    if Path(out).resolve() == inc.path.parent.resolve():
        raise BadInputError(
            "replay writes a new incident folder: give an --out other than the folder that "
            f"holds {inc.path.name}"
        )
    verification = verify(inc.path) if (inc.path / MANIFEST).is_file() else None
    if verification is not None and not verification.ok:
        log.warning("the incident folder does not match its manifest: %s", verification.lines())
    view = PackView(pack)
    say(f"fidelity check: {len(view.calls_of('insights'))} Logs Insights queries")
    fidelity = check_fidelity(view)
    recorded_notebook = inc.metadata.get("notebook")
    chosen = notebook or (
        Path(recorded_notebook) if recorded_notebook and Path(recorded_notebook).is_file() else None
    )
    params = {k: v for k, v in inc.parameters.items() if k not in _SOURCE_PARAMETERS}
    say(f"replaying {inc.alarm.incident_id} offline from {pack}")
    run = investigate(
        inc.alarm,
        source=pack,
        out=out,
        notebook=chosen,
        extra_parameters=params,
        evidence=EvidenceOptions(figures=figures),
        progress=say,
    )
    differences = compare_findings(inc.findings, run.findings)
    report = {
        "replayed_from": str(inc.path),
        "replayed_at": format_iso(utc_now()),
        "original_manifest_ok": None if verification is None else verification.ok,
        "original_manifest_problems": [] if verification is None else verification.lines(),
        "same_findings": not differences,
        "differences": differences,
        "fidelity": [f.to_json() for f in fidelity],
    }
    (run.directory / REPLAY_FILE).write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    update_files(run.directory, [REPLAY_FILE], note="replay.json added by incident replay")
    return ReplayResult(run, differences, fidelity, verification)
