"""``incident replay INCIDENT_DIR --out DIR``: the same notebook, offline, against the pack."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay",
        help="run an incident's notebook again offline against its evidence pack",
        description="Run the incident's notebook against its pack/ (no AWS, no network), "
        "write a new incident folder under --out, compare its findings with the original's "
        "and check the local Logs Insights engine against every recorded query. Exit status: "
        "0 same findings, 1 the findings differ, 3 same findings but a section failed (as in "
        "the original), 2 bad input.",
    )
    p.add_argument("incident_dir", type=Path, help="reports/<incident-id>")
    p.add_argument("--out", type=Path, required=True, help="reports folder for the replay")
    p.add_argument("--notebook", type=Path, help="run this notebook instead of the recorded one")
    p.add_argument("--no-figures", action="store_true", help="do not draw the RCA's PNGs")
    p.add_argument("--quiet", action="store_true", help="print only the report path")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from incident_lib.evidence.replay import replay

    say = (lambda _m: None) if args.quiet else (lambda m: print(f"… {m}", file=sys.stderr))
    result = replay(
        args.incident_dir,
        args.out,
        notebook=args.notebook,
        figures=not args.no_figures,
        progress=say,
    )
    if not args.quiet:
        if result.verification is not None and not result.verification.ok:
            print("original folder does not match its manifest:", file=sys.stderr)
            for line in result.verification.lines():
                print(f"  {line}", file=sys.stderr)
        print("fidelity of the local Logs Insights engine:", file=sys.stderr)
        for f in result.fidelity:
            print(f"  {f.line()}", file=sys.stderr)
        if result.same_findings:
            print("same findings as the original", file=sys.stderr)
        else:
            print("findings differ from the original:", file=sys.stderr)
            for line in result.differences:
                print(f"  {line}", file=sys.stderr)
    print(result.run.report)
    if not result.same_findings:
        return 1
    return result.run.exit_code
