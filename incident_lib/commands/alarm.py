"""``incident alarm FILE``: read an alarm payload in any shape and print it normalised, as JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from incident_lib.alarm import parse_alarm
from incident_lib.limits import MAX_ALARM_BYTES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "alarm",
        help="print an alarm payload (SNS, SQS, EventBridge, alarm action) normalised, as JSON",
        description="Read a CloudWatch alarm payload in any delivery shape and print the "
        "normalised alarm as JSON (times ISO-8601 UTC with Z). Exit 2 on bad input.",
    )
    parser.add_argument("file", metavar="FILE", help="the payload file; '-' reads stdin")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.file == "-":
        # One byte past the limit is enough for parse_alarm to refuse an oversized payload.
        alarm = parse_alarm(sys.stdin.buffer.read(MAX_ALARM_BYTES + 1), source="<stdin>")
    else:
        alarm = parse_alarm(Path(args.file))
    print(alarm.to_json())
    return 0
