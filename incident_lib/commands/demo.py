"""``incident demo``: the whole product on a built-in incident, no AWS account needed."""

from __future__ import annotations

import argparse
import json
import sys

from incident_lib.commands.investigate import add_run_options, execute


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="build the demo incident's telemetry store and investigate its alarm",
        description="Build (once) a telemetry store for a demo scenario, then investigate "
        "the scenario's alarm event against it, exactly as 'investigate' would against AWS.",
    )
    p.add_argument(
        "--scenario", default="lambda_errors", help="demo scenario (default lambda_errors)"
    )
    p.add_argument(
        "--list", action="store_true", help="list the demo scenarios, one line each, and exit"
    )
    p.add_argument("--seed", type=int, default=7, help="scenario seed (default 7)")
    p.add_argument(
        "--shape",
        choices=["eventbridge", "sns"],
        default="eventbridge",
        help="which recorded alarm event to start from (default eventbridge)",
    )
    p.add_argument("--rebuild", action="store_true", help="rebuild the store even if present")
    p.add_argument(
        "--from-alarm",
        metavar="FILE",
        help="instead of a scenario: synthesise telemetry that explains this alarm "
        "event (any shape 'investigate' reads) and investigate it",
    )
    add_run_options(p, default_source=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from incident_lib.alarm import parse_alarm
    from incident_lib.demo import alarm_event, demo_store

    if args.list:
        return _list()
    if args.from_alarm:
        return _from_alarm(args)
    if not args.quiet:
        print(f"… preparing the {args.scenario} demo store", file=sys.stderr)
    store = demo_store(args.scenario, seed=args.seed, rebuild=args.rebuild)
    event = alarm_event(store, args.shape)
    event_file = store.path.parent / f"{store.path.name}.{args.shape}.json"
    event_file.write_text(json.dumps(event, indent=2) + "\n", encoding="utf-8")
    alarm = parse_alarm(event, source=str(event_file))
    return execute(alarm, args, str(store.path))


def _list() -> int:
    from incident_lib.scenarios import SCENARIOS

    width = max(map(len, SCENARIOS))
    types = max(len(s.alert_type) for s in SCENARIOS.values())
    for name in sorted(SCENARIOS):
        s = SCENARIOS[name]
        print(f"{name:<{width}}  {s.alert_type:<{types}}  {s.description}")
    return 0


def _from_alarm(args: argparse.Namespace) -> int:
    from pathlib import Path

    from incident_lib.alarm import parse_alarm
    from incident_lib.errors import BadInputError
    from incident_lib.paths import stores_dir
    from incident_lib.scenarios.from_alarm import build_store_for_alarm

    path = Path(args.from_alarm)
    if not path.is_file():
        raise BadInputError(f"no such file: {path}")
    alarm = parse_alarm(path)
    if not args.quiet:
        from incident_lib.redact import mask_secrets

        print(f"… synthesising telemetry for {mask_secrets(alarm.name)}", file=sys.stderr)
    store = build_store_for_alarm(
        alarm, stores_dir() / f"from-alarm-{alarm.incident_id}", seed=args.seed
    )
    return execute(alarm, args, str(store.path))
