"""``incident rca INCIDENT_DIR``: (re)write the RCA draft from the incident's evidence pack."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rca",
        help="(re)write rca.md, the RCA draft, from an incident folder's evidence pack",
        description="Write rca.md (and its PNG figures) from findings.json and pack/, then "
        "re-hash those files in pack/manifest.json (nothing else in it changes).",
    )
    p.add_argument("incident_dir", type=Path, help="reports/<incident-id>")
    p.add_argument("--no-figures", action="store_true", help="do not draw the PNG figures")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from incident_lib.evidence.manifest import MANIFEST, update_files
    from incident_lib.evidence.rca import rca_files, write_rca
    from incident_lib.evidence.replay import load_incident

    inc = load_incident(args.incident_dir)
    path = write_rca(
        inc.path,
        doc=inc.findings,
        alarm=inc.alarm,
        parameters=inc.parameters,
        figures=not args.no_figures,
    )
    if (inc.path / MANIFEST).is_file():
        update_files(inc.path, rca_files(inc.path), note="rca.md rewritten by incident rca")
    print(path)
    return 0
