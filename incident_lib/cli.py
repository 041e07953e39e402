"""``incident``: the one command line entry point.

Each sub-command lives in ``incident_lib/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int``. Exit codes:
0 done, 2 bad input, 3 report written but partial, 1 anything else.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from incident_lib import __version__
from incident_lib.errors import IncidentError
from incident_lib.redact import MaskingFormatter, mask_secrets

# Order here is the order in ``incident --help``.
COMMANDS = (
    "demo",
    "investigate",
    "serve",
    "replay",
    "rca",
    "verify",
    "lab",
    "alarm",
    "catalog",
    "query",
    "logs",
    "runbook",
    "store",
)

log = logging.getLogger("incident_lib")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="incident",
        description="Investigate CloudWatch alarms with parameterised notebooks.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-v info, -vv debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"incident_lib.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"incident_lib.commands.{name}":
                continue  # not built yet in this checkout
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        handlers=[handler],
    )
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except IncidentError as exc:
        print(mask_secrets(f"incident {args.command}: error: {exc}"), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("incident: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
