"""``incident query QUERY --store STORE``: run a Logs Insights query on a local store."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb
import pandas as pd

from incident_lib.errors import BadInputError, InputLimitError, QueryError
from incident_lib.insights import run_query
from incident_lib.limits import MAX_QUERY_CHARS, check_time, first_surrogate
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
    """The query text: ``-`` reads stdin, ``@path`` reads a file, anything else is the query.

    At most :data:`~incident_lib.limits.MAX_QUERY_CHARS` characters (AWS's own limit), UTF-8.
    """
    where = "the query"
    try:
        if text == "-":
            where = "standard input"
            text = sys.stdin.read(MAX_QUERY_CHARS + 1)
        elif text.startswith("@"):
            where = f"query file {text[1:]!r}"
            with Path(text[1:]).open(encoding="utf-8") as fh:
                text = fh.read(MAX_QUERY_CHARS + 1)
    except OSError as exc:
        raise BadInputError(f"cannot read {where}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise BadInputError(f"cannot read {where}: not UTF-8 text (byte {exc.start})") from None
    if len(text) > MAX_QUERY_CHARS:
        raise InputLimitError(
            f"{where} is longer than {MAX_QUERY_CHARS:,} characters (the Logs Insights limit)",
            limit="query length",
        )
    if (at := first_surrogate(text)) is not None:
        raise BadInputError(f"{where}: a lone surrogate at character {at} (not valid Unicode)")
    return text


def run(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    query = read_query(args.query)
    default = store.time_range
    if (args.start is None or args.end is None) and default is None:
        raise BadInputError("the store has no time range: give --start and --end")
    start = _time(args.start, "--start") if args.start else default[0]
    end = _time(args.end, "--end") if args.end else default[1]
    for group in args.log_groups or []:
        if first_surrogate(group) is not None:
            raise BadInputError(f"--log-group {group!r}: not valid Unicode")
    if args.limit is not None and not 1 <= args.limit <= 10_000:
        raise BadInputError(f"--limit {args.limit}: StartQuery takes 1 to 10,000")
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
    except duckdb.Error as exc:
        # The engine turns user errors it knows into QueryError; anything else DuckDB refuses
        # (a conversion, an overflow) is still the query's fault, not a crash.
        reason = str(exc).splitlines()[0][:300]
        raise QueryError(f"query failed: {reason}", query=query) from None
    finally:
        con.close()
    print(render(frame, args.format), end="")
    return 0


def _time(text: str, name: str):
    try:
        value = parse_time(text, name=name)
    except (OverflowError, ValueError):  # pandas: past its bounds
        raise BadInputError(f"{name}: cannot read {text[:40]!r} as a time") from None
    return check_time(value, name=name)


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
