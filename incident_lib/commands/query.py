"""``incident query QUERY --store STORE``: run a Logs Insights query on a local store."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from incident_lib.errors import BadInputError
from incident_lib.insights import run_query
from incident_lib.store import open_store
from incident_lib.timeutil import parse_time

_AWS_TIME = "%Y-%m-%d %H:%M:%S.%f"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "query",
        help="run a Logs Insights query on a local telemetry store",
        description="Run a CloudWatch Logs Insights query (Logs Insights QL) over the log "
        "events of a local store with the DuckDB engine. QUERY may be '-' (read stdin) or "
        "'@FILE'. A malformed query prints where it is wrong and exits 2.",
    )
    parser.add_argument("query", metavar="QUERY", help="query text, '-' for stdin, '@FILE'")
    parser.add_argument(
        "--store", required=True, type=Path, metavar="STORE", help="the telemetry store folder"
    )
    parser.add_argument(
        "--log-group",
        action="append",
        dest="log_groups",
        metavar="NAME",
        help="log group to read (repeatable); default: all",
    )
    parser.add_argument("--start", metavar="ISO", help="window start (default: store start)")
    parser.add_argument("--end", metavar="ISO", help="window end (default: store end)")
    parser.add_argument("--limit", type=int, metavar="N", help="StartQuery limit (rows)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.set_defaults(func=run)


def read_query(text: str) -> str:
    """The query text: ``-`` reads stdin, ``@path`` reads a file, anything else is the query."""
    if text == "-":
        return sys.stdin.read()
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise BadInputError(f"cannot read query file {str(path)!r}: {exc.strerror}") from None
    return text


def run(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    query = read_query(args.query)
    default = store.time_range
    if (args.start is None or args.end is None) and default is None:
        raise BadInputError("the store has no time range: give --start and --end")
    start = parse_time(args.start, name="--start") if args.start else default[0]
    end = parse_time(args.end, name="--end") if args.end else default[1]
    con = store.connect()
    try:
        frame = run_query(
            con,
            query,
            start=start,
            end=end,
            log_groups=args.log_groups,
            account_id=store.descriptor.account_id,
            region=store.descriptor.region,
            limit=args.limit,
        )
    finally:
        con.close()
    print(render(frame, args.format), end="")
    return 0


def render(frame: pd.DataFrame, fmt: str) -> str:
    """The result as a text table, CSV or JSON records (times as AWS prints them, UTC)."""
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.DatetimeTZDtype):
            out[name] = out[name].dt.strftime(_AWS_TIME).str[:-3]
    if fmt == "csv":
        return out.to_csv(index=False)
    if fmt == "json":
        records = json.loads(out.to_json(orient="records", force_ascii=False))
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    if out.empty:
        return "(no rows) columns: " + ", ".join(map(str, out.columns)) + "\n"
    return out.to_string(index=False) + "\n"
