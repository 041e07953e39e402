"""``incident verify INCIDENT_DIR``: does the incident folder still match its manifest?"""

from __future__ import annotations

import argparse
from pathlib import Path

from incident_lib.errors import EvidenceMismatchError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="check every file of an incident folder against pack/manifest.json",
        description="Hash every file of the incident folder and compare with "
        "pack/manifest.json. Exit status: 0 every hash matches (one line), 4 a file changed, "
        "is missing or is not listed (each named), 2 no manifest.",
    )
    p.add_argument("incident_dir", type=Path, help="reports/<incident-id>")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from incident_lib.evidence.manifest import verify

    result = verify(args.incident_dir)
    if result.ok:
        print(
            f"ok: {result.checked} files match {args.incident_dir / 'pack' / 'manifest.json'} "
            f"(made {result.created})"
        )
        return 0
    for line in result.lines():
        print(line)
    raise EvidenceMismatchError(
        f"{len(result.lines())} file(s) of {args.incident_dir} do not match its manifest",
        problems=result.lines(),
    )
