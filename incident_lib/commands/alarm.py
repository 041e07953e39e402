"""``incident alarm FILE``: read an alarm payload in any shape and print it normalised, as JSON.

A payload holding several alarms (an Alertmanager notification with several alerts) prints a
JSON list of them, in payload order; one alarm prints as one object."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from incident_lib.alarm import parse_alarms
from incident_lib.limits import MAX_ALARM_BYTES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "alarm",
        help="print an alarm payload (SNS, SQS, EventBridge, alarm action, Alertmanager) "
        "normalised, as JSON",
        description="Read a CloudWatch alarm payload in any delivery shape, or a Prometheus "
        "Alertmanager notification (webhook, or Amazon Managed Prometheus through SNS), and print "
        "the normalised alarm as JSON (times ISO-8601 UTC with Z); a notification with several "
        "alerts prints a JSON list, one alarm per alert. Exit 2 on bad input.",
    )
    parser.add_argument("file", metavar="FILE", help="the payload file; '-' reads stdin")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.file == "-":
        # One byte past the limit is enough for parse_alarm to refuse an oversized payload.
        alarms = parse_alarms(sys.stdin.buffer.read(MAX_ALARM_BYTES + 1), source="<stdin>")
    else:
        alarms = parse_alarms(Path(args.file))
    if len(alarms) == 1:
        print(alarms[0].to_json())
    else:
        print(json.dumps([json.loads(a.to_json()) for a in alarms], indent=2, ensure_ascii=False))
    return 0
