"""``incident store``: look after telemetry stores.

* ``incident store import-logs STORE --log-group NAME FILE`` adds log events (JSON lines in the
  FilterLogEvents event shape, or ``aws logs filter-log-events`` output; ``-`` reads stdin);
* ``incident store info STORE`` prints what a store holds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from incident_lib.store import Store, open_store
from incident_lib.store.importer import import_logs
from incident_lib.timeutil import format_iso


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("store", help="import into and describe telemetry stores")
    sub = parser.add_subparsers(dest="store_command", metavar="ACTION", required=True)

    imp = sub.add_parser(
        "import-logs",
        help="add log events to a store (created if missing)",
        description="Add log events to STORE under a log group. FILE holds JSON lines "
        "(timestamp in epoch ms, message, logStreamName, ingestionTime) or the JSON that "
        "'aws logs filter-log-events' prints; '-' reads standard input. A bad line stops "
        "the import and nothing is written.",
    )
    imp.add_argument("store", metavar="STORE", help="store folder")
    imp.add_argument("--log-group", required=True, metavar="NAME", help="log group name")
    imp.add_argument("file", metavar="FILE", help="input file, or - for stdin")
    imp.set_defaults(func=_import_logs)

    info = sub.add_parser("info", help="print a store's tables, rows, time range, scenario")
    info.add_argument("store", metavar="STORE", help="store folder")
    info.set_defaults(func=_info)


def _import_logs(args: argparse.Namespace) -> int:
    # A missing store is created; a broken one is reported by open_store (StoreError, exit 2).
    existing = Path(args.store).exists()
    before = open_store(args.store).descriptor.tables["logs"].rows if existing else 0
    store = import_logs(args.store, args.log_group, args.file)
    added = store.descriptor.tables["logs"].rows - before
    print(f"imported {added} events into {store.path} (log group {args.log_group})")
    print(f"time range: {_range(store)}")
    return 0


def _info(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    d = store.descriptor
    scenario = (d.scenario or {}).get("name") if d.scenario else None
    print(f"store:      {store.path}")
    print(f"format:     {d.format} v{d.version}, created {format_iso(d.created)}")
    print(f"account:    {d.account_id} ({d.region})")
    print(f"time range: {_range(store)}")
    print(f"scenario:   {scenario or '-'}")
    print("tables:")
    width = max(len(name) for name in d.tables)
    for name, table in d.tables.items():
        print(f"  {name:<{width}}  {table.rows:>10,} rows  {table.file}")
    return 0


def _range(store: Store) -> str:
    span = store.time_range
    if span is None:
        return "(empty)"
    return f"{format_iso(span[0])} .. {format_iso(span[1])}"
