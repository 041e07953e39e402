"""``incident investigate``: run the investigation for one alarm and write its report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from incident_lib.errors import BadInputError

#: Alerts of one notification investigated by default: each is a notebook run (10-20 s).
MAX_ALERTS = 5


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "investigate",
        help="investigate an alarm event (file or name) and write the HTML report",
        description="Run the notebook that fits the alarm, with the alarm's facts as "
        "parameters, and write reports/<incident-id>/ (report.html, notebook.ipynb, "
        "findings.json). An Alertmanager notification with several alerts is investigated "
        "alert by alert (one report each, at most --max-alerts). Exit status: 0 complete, 2 bad "
        "input, 3 report written but a section failed (the worst of the alerts').",
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "file",
        nargs="?",
        help="alarm event JSON (SNS, SQS, EventBridge, alarm-action, Alertmanager webhook, AMP "
        "through SNS); '-' reads standard input",
    )
    what.add_argument("--alarm-name", help="look the alarm up with DescribeAlarms instead")
    p.add_argument(
        "--max-alerts",
        type=int,
        default=MAX_ALERTS,
        metavar="N",
        help=f"alerts of one Alertmanager notification to investigate, in payload order "
        f"(default {MAX_ALERTS}); the others are listed, not investigated",
    )
    add_run_options(p, default_source="aws")
    p.set_defaults(func=run)


def add_run_options(p: argparse.ArgumentParser, *, default_source: str | None) -> None:
    if default_source is not None:
        p.add_argument(
            "--source",
            default=default_source,
            help="'aws' (default) or the path of a telemetry store",
        )
    p.add_argument("--out", type=Path, help="reports folder (default: reports/)")
    p.add_argument("--config", type=Path, help="catalogue overrides (TOML; env INCIDENT_CATALOG)")
    p.add_argument(
        "--before",
        help="window start before the state change (default: the alert type's, else 60m)",
    )
    p.add_argument(
        "--after", help="window end after the state change (default: the alert type's, else 15m)"
    )
    p.add_argument("--profile", help="AWS profile (source aws)")
    p.add_argument("--role-arn", help="role to assume for the investigation (source aws)")
    p.add_argument("--region", help="region when it cannot come from the alarm ARN")
    p.add_argument(
        "--notebook",
        type=Path,
        help="run this notebook (a team's own runbook) instead of the catalogue's; it gets the "
        "same parameters, report, findings and exit codes",
    )
    p.add_argument(
        "--deadline",
        default="90s",
        metavar="DURATION",
        help="time the investigation may spend on AWS calls, all sections together "
        "(default 90s, 5s to 1h); then the report is written with what was gathered",
    )
    p.add_argument("--quiet", action="store_true", help="print only the report path")


def load_alarm(args: argparse.Namespace):
    """The alarm of ``args`` (the first alert of an Alertmanager notification)."""
    return load_alarms(args)[0]


def load_alarms(args: argparse.Namespace) -> list:
    """Every alarm of ``args``: one per alert of an Alertmanager notification, else one."""
    from incident_lib.alarm import alarm_from_description, parse_alarms
    from incident_lib.limits import MAX_ALARM_BYTES

    if args.file:
        if args.file == "-":
            # One byte past the limit is enough for parse_alarm to refuse an oversized payload.
            return parse_alarms(sys.stdin.buffer.read(MAX_ALARM_BYTES + 1), source="<stdin>")
        path = Path(args.file)
        if not path.is_file():
            raise BadInputError(f"no such file: {path}")
        return parse_alarms(path)
    from incident_lib.sources import open_source

    src = open_source(args.source, region=args.region, profile=args.profile, role_arn=args.role_arn)
    if hasattr(src, "deadline"):
        from incident_lib.run import check_options
        from incident_lib.sources.clients import Deadline

        src.deadline = Deadline(check_options(deadline=args.deadline))
    items = src.describe_alarms([args.alarm_name])
    if not items:
        raise BadInputError(f"no alarm named {args.alarm_name!r} in {src.name}")
    return [alarm_from_description(items[0], region=src.region, account=src.account_id)]


def execute(alarm, args: argparse.Namespace, source: str) -> int:
    from incident_lib.redact import mask_secrets
    from incident_lib.run import investigate

    _check(args)

    def say(message: str) -> None:  # incident text reaches the terminal masked
        if not args.quiet:
            print(f"… {mask_secrets(message)}", file=sys.stderr)

    say(
        f"alarm {alarm.name} ({alarm.previous_state} → {alarm.new_state} at "
        f"{alarm.state_change_time:%Y-%m-%d %H:%M:%S} UTC), incident {alarm.incident_id}"
    )
    result = investigate(
        alarm,
        source=source,
        out=args.out,
        config=args.config,
        window_before=args.before,
        window_after=args.after,
        profile=args.profile,
        role_arn=args.role_arn,
        notebook=args.notebook,
        progress=say,
        deadline=args.deadline,
    )
    if not args.quiet:
        print(f"\n{mask_secrets(result.findings.summary or 'no summary')}\n", file=sys.stderr)
        for f in result.findings.findings:
            print(f"  [{f.severity}] {mask_secrets(f.title)}", file=sys.stderr)
        for s in result.findings.sections:
            if s.status in ("failed", "partial"):
                what = "failed" if s.status == "failed" else "incomplete"
                print(f"  section {what}: {s.name}: {mask_secrets(s.error)}", file=sys.stderr)
        print(f"\ndone in {result.seconds:.1f}s ({result.alert_type})", file=sys.stderr)
    print(result.report)
    return result.exit_code


def run(args: argparse.Namespace) -> int:
    # Options first: a wrong window or --out costs no DescribeAlarms call and no progress line.
    _check(args)
    limit = getattr(args, "max_alerts", MAX_ALERTS)
    if limit < 1:
        raise BadInputError(f"--max-alerts: {limit} is not a positive number of alerts")
    if not args.quiet:
        _show_aws_progress()
    alarms = load_alarms(args)
    if len(alarms) == 1:
        return execute(alarms[0], args, args.source)
    from incident_lib.redact import mask_secrets

    # One investigation per alert of the group: each alert has its own labels (instance, type)
    # and so its own series; the reports are written one after the other.
    chosen, skipped = alarms[:limit], alarms[limit:]
    left = f", {len(skipped)} left out (--max-alerts)" if skipped else ""
    print(
        f"… {len(alarms)} alerts in the notification: investigating {len(chosen)} in turn{left}",
        file=sys.stderr,
    )
    for alarm in skipped:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(alarm.metric.dimensions.items()))
        print(mask_secrets(f"… not investigated: {alarm.name} {{{labels}}}"), file=sys.stderr)
    return max(execute(alarm, args, args.source) for alarm in chosen)


def _check(args: argparse.Namespace) -> None:
    from incident_lib.run import check_options

    check_options(
        window_before=args.before, window_after=args.after, out=args.out, deadline=args.deadline
    )


def _show_aws_progress() -> None:
    """AWS calls made in this process (``--alarm-name``) show their retries on stderr; the
    kernel's come through the run's progress file."""
    import logging

    from incident_lib.redact import MaskingFormatter

    logger = logging.getLogger("incident_lib.sources.aws")
    if any(getattr(h, "_incident_cli", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.INFO)
    handler.setFormatter(MaskingFormatter("… %(message)s"))
    handler._incident_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.propagate = False  # shown once, by this handler
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
