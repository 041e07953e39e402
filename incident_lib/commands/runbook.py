"""``incident runbook import RUNBOOK.md --out DIR``: draft notebooks from a markdown runbook.

One notebook per alert section (a heading whose section holds AWS CLI investigation
commands), plus ``DIR/catalog.toml`` mapping the runbook's alarm names to them. Prints each
notebook written with what its commands became (converted, mitigation, manual) and the
reason for each manual step, then a summary. Bad input (a missing or binary file, a runbook
with nothing to run, ``--out`` an existing file) exits 2 and writes nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from incident_lib.runbook_import import ImportResult


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("runbook", help="draft runbook notebooks from markdown")
    sub = parser.add_subparsers(dest="runbook_command", metavar="ACTION", required=True)
    imp = sub.add_parser(
        "import",
        help="write one notebook per alert section of a markdown runbook",
        description="Read a markdown runbook and write one parameterised notebook per alert "
        "section: read-only AWS CLI commands become steps (metrics, Logs Insights, filter "
        "patterns, recorded AWS calls, CloudTrail changes), commands that change things "
        "become quoted mitigation steps (never run), the rest quoted manual steps. Also "
        "writes DIR/catalog.toml mapping the runbook's alarm names to the notebooks.",
    )
    imp.add_argument("runbook", type=Path, metavar="RUNBOOK", help="the markdown runbook")
    imp.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="folder for the notebooks"
    )
    imp.add_argument("--no-catalog", action="store_true", help="do not write DIR/catalog.toml")
    imp.set_defaults(func=_import)


def _import(args: argparse.Namespace) -> int:
    # Imported here: the importer pulls in nbformat and its JSON-schema checks, a second of
    # start-up that every other command would pay for nothing.
    from incident_lib.runbook_import import import_runbook

    result = import_runbook(args.runbook, args.out, catalog=not args.no_catalog)
    print(render(result), end="")
    return 0


def render(result: ImportResult) -> str:
    """Each notebook written with its counts and manual steps, then the summary."""
    from incident_lib.runbook_import.convert import CONVERTED, MANUAL, MITIGATION

    lines: list[str] = []
    for nb in result.notebooks:
        c = nb.counts
        lines.append(str(nb.path))
        alerts = f"  alerts: {', '.join(nb.plan.alerts)}" if nb.plan.alerts else ""
        lines.append(
            f"  {c[CONVERTED]} converted, {c[MITIGATION]} mitigation, {c[MANUAL]} manual" + alerts
        )
        for step in nb.plan.steps:
            if step.kind == MANUAL:
                lines.append(f"  manual: {step.title}: {step.reason}")
    if result.catalog is not None:
        lines.append(str(result.catalog))
    t = result.totals()
    lines.append(
        f"{_n(len(result.notebooks), 'notebook')} from {result.runbook.name}: "
        f"{_n(t[CONVERTED], 'command')} converted, {t[MITIGATION]} mitigation (not run), "
        f"{t[MANUAL]} manual"
    )
    for s in result.skipped:
        n = sum(s.counts.values())
        lines.append(f"skipped {s.title!r} ({_n(n, 'command')}): {s.reason}")
    return "\n".join(lines) + "\n"


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
