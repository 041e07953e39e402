"""``pack/manifest.json``: every file of the incident folder with its SHA-256, each query as sent
with its statistics and cost estimate, the tool version and when the pack was made; and the
check that a folder still matches it (``incident verify``).

Prices (us-east-1, ``reference/cloudwatch-facts.md`` §3): Logs Insights $0.005 per GB scanned
(``statistics.bytesScanned`` from GetQueryResults; GB taken as 2^30 bytes, the binary GB AWS
bills in, unverified); GetMetricData $0.01 per 1,000 metrics requested (each ``MetricStat`` in
the request; expressions are free); other read calls are standard API requests (free tier)
and CloudTrail LookupEvents is free. A query answered by a local store costs nothing; its
estimate says what the same request would cost on AWS where that can be known from the request.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incident_lib import __version__
from incident_lib.errors import BadInputError
from incident_lib.findings import FindingsDoc, QueryRecord
from incident_lib.timeutil import format_iso, utc_now

__all__ = [
    "MANIFEST",
    "Verification",
    "incident_files",
    "read_manifest",
    "update_files",
    "verify",
    "write_manifest",
]

MANIFEST = "pack/manifest.json"
FORMAT = "incident-evidence-manifest"

#: USD per GB (2^30 bytes) scanned by Logs Insights.
INSIGHTS_USD_PER_GB = 0.005
#: USD per 1,000 metrics requested by GetMetricData.
GET_METRIC_DATA_USD_PER_1000 = 0.01
GB = 2**30


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def incident_files(incident_dir: Path) -> list[str]:
    """Every file under ``incident_dir`` (relative, ``/``-separated, sorted), the manifest
    itself left out."""
    root = Path(incident_dir)
    out = []
    for path in root.rglob("*"):
        if path.is_file() or path.is_symlink():
            rel = path.relative_to(root).as_posix()
            if rel != MANIFEST:
                out.append(rel)
    return sorted(out)


def _hashes(incident_dir: Path, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    root = Path(incident_dir)
    return {
        name: {"sha256": sha256_file(root / name), "bytes": (root / name).stat().st_size}
        for name in names
    }


# -- queries and their cost ----------------------------------------------------------------------
def metrics_requested(request: Mapping[str, Any]) -> int:
    """Metrics a GetMetricData request asks for: its ``MetricStat`` entries."""
    return sum(1 for q in request.get("queries") or [] if q.get("MetricStat"))


def query_entry(
    q: QueryRecord, call: Mapping[str, Any] | None, *, recorded_from: str
) -> dict[str, Any]:
    """One query of the manifest: as sent, its statistics and its cost estimate."""
    entry: dict[str, Any] = {
        "n": q.n,
        "kind": q.kind,
        "operation": q.operation,
        "section": q.section,
        "text": q.text,
        "window": {
            "start": format_iso(q.start) if q.start else None,
            "end": format_iso(q.end) if q.end else None,
        },
        "rows": q.rows,
        "seconds": q.seconds,
        "truncated": q.truncated,
        "error": q.error or None,
        "result": (call or {}).get("result", {}).get("file") if call else None,
        "recorded": call is not None,
    }
    attrs = dict((call or {}).get("attrs") or {})
    stats = attrs.get("statistics") or None
    cost: float | None = None
    basis = ""
    if q.kind == "insights":
        entry["log_groups"] = list(q.request.get("logGroupNames") or [])
        entry["query_language"] = "CWLI"  # Logs Insights QL (StartQuery queryLanguage)
        entry["limit"] = q.request.get("limit")
        entry["statistics"] = stats
        entry["query_ids"] = attrs.get("query_ids")
        if stats and "bytesScanned" in stats:
            cost = float(stats["bytesScanned"]) / GB * INSIGHTS_USD_PER_GB
            basis = f"{stats['bytesScanned']:.0f} bytes scanned x ${INSIGHTS_USD_PER_GB}/GB"
        else:
            basis = (
                "no scan statistics from the source (a local store, or an endpoint without them)"
            )
    elif q.kind == "filter":
        entry["log_groups"] = list(q.request.get("logGroupNames") or [])
        entry["filter_pattern"] = q.request.get("filterPattern", "")
        cost, basis = 0.0, "FilterLogEvents: standard API request"
    elif q.kind == "metrics":
        n = metrics_requested(q.request)
        entry["metrics_requested"] = n
        cost = n / 1000 * GET_METRIC_DATA_USD_PER_1000
        basis = f"{n} metrics x ${GET_METRIC_DATA_USD_PER_1000}/1,000"
    elif q.kind == "changes":
        cost, basis = 0.0, "CloudTrail LookupEvents: free"
    else:
        cost, basis = 0.0, f"{q.operation}: standard API request"
    entry["cost_usd"] = None if cost is None else round(cost, 8)
    entry["cost_basis"] = basis
    entry["charged"] = recorded_from == "aws"
    return entry


# -- writing -------------------------------------------------------------------------------------
def write_manifest(
    incident_dir: Path,
    *,
    doc: FindingsDoc,
    incident_id: str,
    alarm_name: str,
    source: str,
    calls: Sequence[Mapping[str, Any]] = (),
    raw_logs: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Hash every file of ``incident_dir`` and write ``pack/manifest.json`` (last)."""
    recorded_from = "aws" if source == "aws" else "store"
    by_query = {c.get("query"): c for c in calls if c.get("query") is not None}
    queries = [query_entry(q, by_query.get(q.n), recorded_from=recorded_from) for q in doc.queries]
    known = [q["cost_usd"] for q in queries if q["cost_usd"] is not None]
    unknown = [q["n"] for q in queries if q["cost_usd"] is None]
    gb = sum(float((q.get("statistics") or {}).get("bytesScanned") or 0) for q in queries) / GB
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": 1,
        "tool": {"name": "incident-notebooks", "version": __version__},
        "created": format_iso(utc_now()),
        "incident_id": incident_id,
        "alarm": alarm_name,
        "source": source,
        "recorded_from": recorded_from,
        "queries": queries,
        "cost": {
            "estimated_usd": round(sum(known), 8),
            "charged": recorded_from == "aws",
            "logs_insights_gb_scanned": round(gb, 9),
            "metrics_requested": sum(q.get("metrics_requested", 0) for q in queries),
            "queries_without_estimate": unknown,
            "prices": {
                "logs_insights_usd_per_gb_scanned": INSIGHTS_USD_PER_GB,
                "get_metric_data_usd_per_1000_metrics": GET_METRIC_DATA_USD_PER_1000,
                "region": "us-east-1 list prices; check yours",
            },
        },
        "raw_logs": dict(raw_logs or {}),
        "calls_not_from_a_step": [c["seq"] for c in calls if c.get("query") is None],
        **dict(extra or {}),
        "files": _hashes(incident_dir, incident_files(incident_dir)),
    }
    _write_json(Path(incident_dir) / MANIFEST, manifest)
    return manifest


def _write_json(path: Path, value: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(value, indent=2, sort_keys=False, default=str) + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_manifest(incident_dir: Path) -> dict[str, Any]:
    path = Path(incident_dir) / MANIFEST
    if not Path(incident_dir).is_dir():
        raise BadInputError(f"no such incident folder: {incident_dir}")
    if not path.is_file():
        raise BadInputError(
            f"{incident_dir} has no {MANIFEST} (not an incident folder with a pack)"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BadInputError(f"cannot read {path}: {exc}") from None
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), dict):
        raise BadInputError(f"{path} is not an evidence manifest")
    return manifest


def update_files(incident_dir: Path, names: Iterable[str], *, note: str = "") -> dict[str, Any]:
    """Re-hash only ``names`` (files this program rewrote, such as ``rca.md``) in the manifest,
    adding or dropping their entries; every other entry stays as it was."""
    manifest = read_manifest(incident_dir)
    root = Path(incident_dir)
    for name in names:
        if (root / name).is_file():
            manifest["files"].update(_hashes(root, [name]))
        else:
            manifest["files"].pop(name, None)
    manifest["files"] = dict(sorted(manifest["files"].items()))
    if note:
        manifest.setdefault("updates", []).append({"at": format_iso(utc_now()), "note": note})
    _write_json(root / MANIFEST, manifest)
    return manifest


# -- verifying -----------------------------------------------------------------------------------
@dataclass
class Verification:
    """How an incident folder compares with its manifest."""

    checked: int
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    created: str = ""

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.unlisted)

    def lines(self) -> list[str]:
        return (
            [f"changed: {n}" for n in self.changed]
            + [f"missing: {n}" for n in self.missing]
            + [f"unlisted: {n}" for n in self.unlisted]
        )


def verify(incident_dir: Path) -> Verification:
    """Compare every file of ``incident_dir`` with ``pack/manifest.json``."""
    manifest = read_manifest(incident_dir)
    root = Path(incident_dir)
    listed: dict[str, Any] = manifest["files"]
    present = set(incident_files(root))
    result = Verification(checked=len(listed), created=str(manifest.get("created", "")))
    for name, info in sorted(listed.items()):
        if name not in present:
            result.missing.append(name)
        elif sha256_file(root / name) != info.get("sha256"):
            result.changed.append(name)
    result.unlisted = sorted(present - set(listed))
    return result
