"""``incident catalog``: list the alert types, what each matches and the notebook it runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from incident_lib.catalog import Catalog, load_catalog


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "catalog",
        help="list alert types, what they match and the notebook each runs",
        description="List the alert types of the catalogue (package rules merged with a user "
        "configuration file), what each matches, the notebook each runs and whether it is "
        "planned.",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="a user catalogue file (TOML); default $INCIDENT_CATALOG",
    )
    parser.set_defaults(func=run)


def rows(catalog: Catalog) -> list[dict[str, Any]]:
    """One dict per alert type, in matching order, the fallback marked."""
    out = []
    for at in catalog:
        notebook = catalog.notebook_path(at)
        if at.planned:
            status = "planned"
        elif notebook.is_file():
            status = "ready"
        else:
            status = "no notebook yet"
        matches = [f"{kind} alarms" for kind in at.alarm_kinds]
        matches += [rule.describe() for rule in at.match]
        if at.name == catalog.fallback:
            matches.append("fallback: anything unmatched")
        overrides = [o.alarm_name for o in catalog.overrides if o.alert_type == at.name]
        matches += [f"alarm name {pattern!r}" for pattern in overrides]
        out.append(
            {
                "name": at.name,
                "title": at.title,
                "status": status,
                "planned": at.planned,
                "matches": matches,
                "notebook": str(notebook),
            }
        )
    return out


def run(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.config)
    table = rows(catalog)
    if args.format == "json":
        print(json.dumps(table, indent=2))
        return 0
    # A plain fixed-width table: four columns do not justify a table-formatting dependency.
    lines = [("NAME", "STATUS", "MATCHES", "NOTEBOOK")]
    for row in table:
        lines.append(
            (row["name"], row["status"], "; ".join(row["matches"]) or "-", row["notebook"])
        )
    widths = [max(len(line[i]) for line in lines) for i in range(3)]
    for line in lines:
        padded = [cell.ljust(w) for cell, w in zip(line[:3], widths, strict=True)]
        print("  ".join([*padded, line[3]]))
    return 0
