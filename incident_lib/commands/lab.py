"""``incident lab INCIDENT_DIR|--demo``: JupyterLab on one incident, its executed notebook and
``explore.ipynb`` bound to it, on 127.0.0.1 with a token (:mod:`incident_lib.lab`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from incident_lib.errors import BadInputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lab",
        help="open an incident in JupyterLab: its executed notebook and explore.ipynb",
        description="Start JupyterLab on 127.0.0.1 with a token, with the incident's executed "
        "notebook and explore.ipynb (bound to the incident) open, and print the URL. Lab runs "
        "in <reports>/_lab/<incident-id>/ so the incident folder stays as its manifest says; "
        "pins from explore.ipynb update the folder and its manifest together. No news, "
        "update checks or extension look-ups. Ctrl-C stops it.",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("incident_dir", nargs="?", type=Path, help="reports/<incident-id>")
    where.add_argument(
        "--demo",
        action="store_true",
        help="the demo incident (investigated first if reports/ does not have it yet)",
    )
    p.add_argument(
        "--source",
        help="where explore.ipynb reads: 'aws' (live) or a store path (default: the pack)",
    )
    p.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from incident_lib.lab import demo_incident, prepare_lab, start_lab

    if args.port is not None and not 0 < args.port < 65536:
        raise BadInputError(f"--port {args.port}: not a port number")
    incident = demo_incident() if args.demo else args.incident_dir
    if args.source and args.source != "aws" and not Path(args.source).exists():
        raise BadInputError(f"--source {args.source}: no such store")
    folder = prepare_lab(incident, source=args.source)
    print(f"… starting JupyterLab in {folder.root}", file=sys.stderr)
    server = start_lab(folder, port=args.port)
    print(server.url(), flush=True)
    print(
        f"(incident {folder.incident_dir}; Lab log {server.log}; Ctrl-C stops it)",
        file=sys.stderr,
    )
    try:
        server.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
