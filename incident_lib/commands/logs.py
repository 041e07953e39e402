"""``incident logs``: CloudWatch Logs API calls answered from a telemetry store.

* ``incident logs filter-log-events --store STORE --log-group-name NAME --filter-pattern P``
  prints what ``aws logs filter-log-events`` prints (``events`` with ``logStreamName``,
  ``timestamp``, ``message``, ``ingestionTime``, ``eventId``; ``searchedLogStreams``), so a
  runbook's command runs offline with its own filter pattern.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from incident_lib.errors import BadInputError
from incident_lib.sources.local import LocalSource
from incident_lib.store import open_store
from incident_lib.timeutil import parse_time

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("logs", help="CloudWatch Logs calls answered from a store")
    sub = parser.add_subparsers(dest="logs_command", metavar="ACTION", required=True)
    fle = sub.add_parser(
        "filter-log-events",
        help="events matching a filter pattern, printed as aws logs filter-log-events does",
        description="Search a store's log events with a CloudWatch Logs filter pattern "
        '(terms, "phrases", ?alternatives, -exclusions, %regex%, { JSON }, '
        "[space-delimited]) and print the JSON 'aws logs filter-log-events' prints. Events "
        "come oldest first, at most --limit. A malformed pattern prints where it is wrong "
        "and exits 2. See docs/filter-patterns.md.",
    )
    fle.add_argument(
        "--store", required=True, type=Path, metavar="STORE", help="the telemetry store folder"
    )
    fle.add_argument("--log-group-name", required=True, metavar="NAME", help="the log group")
    fle.add_argument(
        "--filter-pattern",
        default="",
        metavar="P",
        help="filter pattern (default: every event); one that starts with '-' is written "
        "--filter-pattern=-DEBUG",
    )
    fle.add_argument(
        "--start-time",
        metavar="TIME",
        help="window start, ISO-8601 with offset or epoch milliseconds (default: store start)",
    )
    fle.add_argument(
        "--end-time",
        metavar="TIME",
        help="window end, inclusive, ISO-8601 or epoch milliseconds (default: store end)",
    )
    fle.add_argument(
        "--log-stream-name-prefix", metavar="PREFIX", help="only streams starting with PREFIX"
    )
    fle.add_argument(
        "--limit", type=int, default=10_000, metavar="N", help="at most N events (10000)"
    )
    fle.set_defaults(func=_filter_log_events)


def _filter_log_events(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    default = store.time_range
    if (args.start_time is None or args.end_time is None) and default is None:
        raise BadInputError("the store has no time range: give --start-time and --end-time")
    start = parse_time(args.start_time, name="--start-time") if args.start_time else default[0]
    end = parse_time(args.end_time, name="--end-time") if args.end_time else default[1]
    frame = LocalSource(store).filter_log_events(
        [args.log_group_name],
        start,
        end,
        filter_pattern=args.filter_pattern,
        limit=args.limit,
        log_stream_prefix=args.log_stream_name_prefix,
    )
    print(json.dumps(to_cli_json(frame), indent=4, ensure_ascii=False))
    if frame.attrs.get("truncated"):
        print(
            f"incident logs: the first {len(frame)} matching events are shown; more matched "
            "(raise --limit or narrow the window)",
            file=sys.stderr,
        )
    return 0


def to_cli_json(frame: pd.DataFrame) -> dict[str, Any]:
    """The document ``aws logs filter-log-events`` prints for these events.

    ``searchedLogStreams`` is always empty: AWS stopped filling it in May 2020 (FilterLogEvents
    API reference).
    """
    events = [
        {
            "logStreamName": row.log_stream,
            "timestamp": _epoch_ms(row.timestamp),
            "message": row.message,
            "ingestionTime": _epoch_ms(row.ingestion_time),
            "eventId": row.event_id,
        }
        for row in frame.itertuples(index=False)
    ]
    return {"events": events, "searchedLogStreams": []}


def _epoch_ms(value: pd.Timestamp) -> int:
    return int(pd.Timestamp(value).value // 1_000_000)
