"""One runbook command -> one notebook step.

Read-only AWS calls become verbs of the case: ``cloudwatch get-metric-statistics`` and
``get-metric-data`` -> ``case.metrics``, ``logs filter-log-events`` and ``logs tail`` ->
``case.filter_logs``, ``logs start-query`` -> ``case.logs``, ``cloudtrail lookup-events`` ->
``case.changes``, ``cloudwatch describe-alarm-history`` -> ``case.alarm_history``, any other
``describe-*``/``get-*``/``list-*`` -> ``case.aws``. Commands that change things become
*mitigation* steps (quoted, never run); the rest *manual* steps, each with the reason.

Literal resource names become notebook parameters (:class:`ParamTable`): the first function
name is ``function_name``, bound at run time to the alarm's ``FunctionName`` dimension when
it has one, with the runbook's literal as the default; ``/aws/lambda/<fn>`` log groups are
derived from it. Times computed with ``$(date ...)`` become the investigation window, or an
offset from its end when the runbook looks further back (or less far) than an hour.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from incident_lib.runbook_import import awscli
from incident_lib.runbook_import.classify import (
    judge_program,
    placeholders,
    shell_variables,
    strip_prefixes,
)
from incident_lib.runbook_import.dates import (
    TimeRef,
    describe,
    format_offset,
    read_duration,
    read_time,
    strftime_of,
)
from incident_lib.runbook_import.pycode import (
    Call,
    Dict,
    List,
    Lit,
    Node,
    Raw,
    fstring,
    literal,
    render,
)
from incident_lib.runbook_import.shell import ShellCommand
from incident_lib.sources.recorded import READ_PREFIXES, REFUSED

__all__ = ["Context", "Param", "ParamTable", "Step", "convert"]

#: The kinds of step and what they count as in the summary.
CONVERTED, MITIGATION, MANUAL = "converted", "mitigation", "manual"

#: An API member naming a resource -> the CloudWatch dimension that names the same resource.
MEMBER_DIMENSION = {
    "FunctionName": "FunctionName",
    "TableName": "TableName",
    "ApiName": "ApiName",
    "cluster": "ClusterName",
    "Cluster": "ClusterName",
    "ClusterName": "ClusterName",
    "services": "ServiceName",
    "service": "ServiceName",
    "serviceName": "ServiceName",
    "ServiceName": "ServiceName",
    "DBInstanceIdentifier": "DBInstanceIdentifier",
    "DBClusterIdentifier": "DBClusterIdentifier",
    "InstanceIds": "InstanceId",
    "InstanceId": "InstanceId",
    "QueueName": "QueueName",
    "AutoScalingGroupName": "AutoScalingGroupName",
    "AutoScalingGroupNames": "AutoScalingGroupName",
    "Bucket": "BucketName",
    "StateMachineArn": "StateMachineArn",
    "DistributionId": "DistributionId",
    "JobName": "JobName",
    "StreamName": "StreamName",
    "DeliveryStreamName": "DeliveryStreamName",
    "CacheClusterId": "CacheClusterId",
    "LoadBalancerNames": "LoadBalancerName",
    "DomainName": "DomainName",
}
#: A dimension -> the notebook parameter that holds it.
DIMENSION_PARAM = {
    "FunctionName": "function_name",
    "TableName": "table_name",
    "ApiName": "api_name",
    "ClusterName": "cluster_name",
    "ServiceName": "service_name",
    "DBInstanceIdentifier": "db_instance",
    "DBClusterIdentifier": "db_cluster",
    "InstanceId": "instance_id",
    "QueueName": "queue_name",
    "AutoScalingGroupName": "asg_name",
    "BucketName": "bucket",
    "LoadBalancer": "load_balancer",
    "TargetGroup": "target_group",
    "StateMachineArn": "state_machine_arn",
    "CacheClusterId": "cache_cluster",
}
#: A member without a dimension -> its parameter, where the member's own name reads badly.
MEMBER_PARAM = {
    "LogGroupName": "log_group",
    "GroupIds": "security_group_id",
    "DBParameterGroupName": "db_parameter_group",
}
#: Members named like resources that are not: left as the runbook wrote them.
NOT_RESOURCES = {
    "MetricName",
    "AttributeNames",
    "Namespace",
    "StatisticName",
    "Name",
    "Id",
    "Arn",
    "ParameterName",
    "ServiceCode",
    "QuotaCode",
    "NamePrefix",
    "KeyName",
    "AttributeName",
    "IndexName",
    "ProfileName",
    "LogStreamName",
    "LogStreamNames",
    "EventName",
    "ResourceName",
    "ResourceType",
}
_RESOURCE_MEMBER = re.compile(r"(Name|Names|Id|Ids|Identifier|Identifiers|Arn|Arns|Url)$")
#: Operations that start work (a query that writes results) rather than change a resource.
STARTS_WORK = {
    ("athena", "StartQueryExecution"): "starts an Athena query that writes its results to S3",
    ("logs", "StartLiveTail"): "streams live events to a terminal",
    ("ssm", "StartSession"): "opens a shell on the instance",
}
#: Names the generated code uses itself: a parameter never takes one.
RESERVED = {
    "case",
    "steps",
    "metric",
    "expression",
    "setup",
    "timeseries",
    "pd",
    "jmespath",
    "dims",
    "m",
    "answer",
    "events",
    "rows",
    "query",
    "found",
    "changes",
    "dimensions",
    "history",
    "alarm_json",
    "source",
    "start",
    "end",
    "profile",
    "role_arn",
    "endpoint_url",
    "log_groups",
    "alarm_name",
    "alert_type",
    "region",
    "account_id",
    "resource_names",
}
#: A runbook's "last hour" is the investigation window (by default the hour before the alarm
#: and a quarter after it); any other look-back is kept as an offset from the window's end.
WINDOW_LOOKBACK = pd.Timedelta(hours=1)
#: Steps whose period is this long or longer are cost or capacity views: no onset on them.
ONSET_MAX_PERIOD = 3600


@dataclass
class Param:
    """A notebook parameter: the runbook's literal, and the alarm dimension it binds to."""

    name: str
    default: Any
    dimension: str | None = None
    origin: str = ""


class ParamTable:
    """The parameters a notebook's steps use, one per distinct resource literal."""

    def __init__(self) -> None:
        self.params: dict[str, Param] = {}
        self._by_value: dict[tuple[str, str], str] = {}
        self._bound: set[str] = set()

    def resource(self, kind: str, value: str, *, dimension: str | None, origin: str) -> str:
        """The parameter holding ``value`` (a resource of ``kind``: a dimension or member
        name), made on first use. The first parameter of a dimension binds to it."""
        key = (dimension or kind, value)
        if key in self._by_value:
            return self._by_value[key]
        base = (
            DIMENSION_PARAM.get(dimension or "")
            or MEMBER_PARAM.get(kind)
            or _snake(_singular(kind))
        )
        if base in RESERVED or not base.isidentifier():
            base = f"runbook_{base}"
        name, n = base, 2
        while name in self.params:
            name, n = f"{base}_{n}", n + 1
        bind = dimension if dimension and dimension not in self._bound else None
        if bind:
            self._bound.add(bind)
        self.params[name] = Param(name, value, bind, origin)
        self._by_value[key] = name
        return name

    def find(self, value: str) -> str | None:
        """The parameter already holding exactly ``value``."""
        for (_, v), name in self._by_value.items():
            if v == value:
                return name
        return None

    def log_group(self, value: str, origin: str) -> tuple[Node | None, str]:
        """A log group as code: ``/aws/lambda/<fn>`` derived from the function's parameter,
        a name containing another parameter's value derived from it, else a parameter of its
        own. ``None`` (with why) when the name is computed or a wildcard: the step then reads
        the alarm's log groups."""
        if not value:
            return None, "no log group given"
        if "$" in value or "*" in value or "`" in value:
            return None, (
                f"the runbook's log group `{value}` is computed or a wildcard; this step reads "
                "the alarm's log groups (map them in the catalogue file)"
            )
        known = self.find(value)
        if known:
            return Raw(known), ""
        m = re.fullmatch(r"/aws/lambda/([^/:]+)", value)
        if m:
            fn = self.resource("FunctionName", m.group(1), dimension="FunctionName", origin=origin)
            return fstring(["/aws/lambda/", Raw(fn)]), ""
        for param in sorted(self.params.values(), key=lambda p: -len(str(p.default))):
            text = str(param.default)
            if isinstance(param.default, str) and len(text) >= 4 and text in value:
                head, _, tail = value.partition(text)
                return fstring([head, Raw(param.name), tail]), ""
        name = self.resource("LogGroupName", value, dimension=None, origin=origin)
        return Raw(name), ""


@dataclass
class Context:
    """What a notebook's conversion shares between its steps."""

    params: ParamTable = field(default_factory=ParamTable)
    alerts: list[str] = field(default_factory=list)
    metric_ids: set[str] = field(default_factory=set)
    uses: set[str] = field(default_factory=set)
    onset: bool = False
    changes: bool = False


@dataclass
class Step:
    """One step of a notebook: a converted command (code), or a quoted one."""

    kind: str  # converted | mitigation | manual
    title: str
    commands: list[ShellCommand]
    code: list[str] = field(default_factory=list)  # the section's body, indented 4
    notes: list[str] = field(default_factory=list)
    reason: str = ""
    verb: str = ""
    #: What each command became (a merged step can hold a manual command under a mitigation
    #: heading); "" for a ``cd`` line, which is not counted.
    kinds: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.kinds:
            self.kinds = [self.kind] * len(self.commands)


# -- entry point ---------------------------------------------------------------------------------
def convert(cmd: ShellCommand, ctx: Context, title: str) -> Step:
    """The step for ``cmd`` (``title`` names it)."""
    if cmd.error:
        return _manual(cmd, title, f"the command cannot be read ({cmd.error})")
    words = strip_prefixes(cmd.words)
    if not words or words[0] != "aws":
        verdict = judge_program(words or cmd.words)
        if verdict.kind == MITIGATION:
            return Step(MITIGATION, title, [cmd], reason=verdict.reason)
        return _manual(cmd, title, verdict.reason)
    call = awscli.parse_aws(words)
    if call is None:
        return _manual(cmd, title, "an aws command without a service and an operation")
    return _aws(call, cmd, ctx, title)


def _manual(cmd: ShellCommand, title: str, reason: str) -> Step:
    return Step(MANUAL, title, [cmd], reason=reason)


def _aws(call: awscli.AwsCall, cmd: ShellCommand, ctx: Context, title: str) -> Step:
    service, operation = call.api_service, call.operation
    # Changes first: a mutating command is mitigation whatever it holds.
    kind = _operation_kind(call)
    if kind[0] != CONVERTED:
        return Step(kind[0], title, [cmd], reason=kind[1])
    holes = placeholders(cmd.words[3:])
    if holes:
        return _manual(cmd, title, f"a template: fill in {', '.join(holes)} first")
    unbound = [v for w in cmd.words[3:] for v in shell_variables(w)]
    if unbound:
        return _manual(cmd, title, f"uses the shell variable {', '.join(dict.fromkeys(unbound))}")
    converter = _CONVERTERS.get((service, operation), _generic)
    try:
        return converter(call, cmd, ctx, title)
    except _Unconvertible as exc:
        return _manual(cmd, title, str(exc))


def _operation_kind(call: awscli.AwsCall) -> tuple[str, str]:
    """(``converted``, "") for an operation the notebook may run, else why not."""
    service = call.api_service
    if (service, call.operation) in _CONVERTERS:
        return CONVERTED, ""
    if call.service == "s3":
        if call.operation in ("rm", "mv", "mb", "rb", "sync", "website"):
            return MITIGATION, f"s3 {call.operation} changes buckets or objects"
        if call.operation == "cp":
            return MANUAL, "s3 cp copies objects: not something an investigation runs"
        return MANUAL, f"s3 {call.operation}: an AWS CLI command the notebook does not know"
    op = awscli.operation_model(call.service, call.operation)
    if op is None:
        return MANUAL, f"aws {call.service} {call.operation}: not an operation botocore knows"
    name = op.name
    if (service, name) in STARTS_WORK:
        verdict = MITIGATION if name == "StartSession" else MANUAL
        return verdict, f"{service} {name} {STARTS_WORK[(service, name)]}"
    if not name.startswith(READ_PREFIXES):
        return MITIGATION, f"{service} {name} changes state"
    why = REFUSED.get((service, name))
    if why:
        return MANUAL, f"{service} {name} is not run by investigations: it {why}"
    return CONVERTED, ""


class _Unconvertible(Exception):
    """A read-only command this converter cannot express; the message says why."""


# -- times ---------------------------------------------------------------------------------------
def _time_kwargs(
    start_word: str | None,
    end_word: str | None,
    notes: list[str],
    ctx: Context,
    *,
    since: pd.Timedelta | None = None,
) -> list[tuple[str, Node]]:
    """``start=`` / ``end=`` for a verb: nothing for the investigation window."""
    out: list[tuple[str, Node]] = []
    start = _read_time_word(start_word, "start") if start_word else None
    if since is not None:
        start = TimeRef(-since, "iso")
    end = _read_time_word(end_word, "end") if end_word else None
    if isinstance(start, str):
        out.append(("start", Lit(start)))
    elif start is not None:
        lookback = -start.offset
        if start.note:
            notes.append(start.note)
        if start.unit == "date":
            notes.append(
                "the runbook's `date --iso-8601` gives a date only (midnight); read as "
                f"{describe(lookback)} before the end, as meant"
            )
        if lookback == WINDOW_LOOKBACK:
            notes.append("the runbook's last hour is the investigation window")
        elif lookback > pd.Timedelta(0):
            ctx.uses.add("pd")
            out.append(("start", Raw(f"case.end - {format_offset(lookback)}")))
            notes.append(
                f"from {describe(lookback)} before the window's end, as the runbook looks back"
            )
    if isinstance(end, str):
        out.append(("end", Lit(end)))
    elif end is not None and end.offset != pd.Timedelta(0):
        ctx.uses.add("pd")
        sign = "-" if end.offset < pd.Timedelta(0) else "+"
        out.append(("end", Raw(f"case.end {sign} {format_offset(end.offset)}")))
    return out


def _read_time_word(word: str, what: str) -> TimeRef | str:
    """A time argument: ``$(date ...)`` -> :class:`TimeRef`; a literal -> ISO text."""
    ref = read_time(word)
    if ref is not None:
        return ref
    if "$" in word or "`" in word:
        raise _Unconvertible(f"cannot read the {what} time {word!r}")
    if re.fullmatch(r"\d{9,13}", word):
        number = int(word)
        unit = "ms" if number > 10**11 else "s"
        return pd.Timestamp(number, unit=unit, tz="UTC").isoformat()
    try:
        ts = pd.Timestamp(word)
    except (ValueError, TypeError):
        raise _Unconvertible(f"cannot read the {what} time {word!r}") from None
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert("UTC").isoformat()


def _time_node(word: str, member: str, ctx: Context, notes: list[str]) -> Node:
    """A timestamp parameter of a ``case.aws`` call, as ISO text."""
    ref = _read_time_word(word, member)
    if isinstance(ref, str):
        return Lit(ref)
    if ref.offset == pd.Timedelta(0):
        return Raw("case.end.isoformat()")
    if ref.offset == -WINDOW_LOOKBACK:
        notes.append("the runbook's last hour is the investigation window")
        return Raw("case.start.isoformat()")
    ctx.uses.add("pd")
    sign = "-" if ref.offset < pd.Timedelta(0) else "+"
    return Raw(f"(case.end {sign} {format_offset(ref.offset)}).isoformat()")


def _text_node(value: str) -> Node:
    """A string argument; ``$(date +FMT)`` inside it is the window's end, formatted."""
    if "$(" not in value and "`" not in value:
        return Lit(value)
    parts: list[str | Raw] = []
    pos = 0
    for m in re.finditer(r"\$\((?:[^()]|\([^()]*\))*\)|`[^`]*`", value):
        fmt = strftime_of(m.group(0))
        if fmt is None:
            raise _Unconvertible(f"cannot read the substitution {m.group(0)!r}")
        parts.append(value[pos : m.start()])
        parts.append(Raw(f"case.end:{fmt}"))
        pos = m.end()
    parts.append(value[pos:])
    return fstring([p for p in parts if p != ""])


# -- metrics -------------------------------------------------------------------------------------
def _metrics(call: awscli.AwsCall, cmd: ShellCommand, ctx: Context, title: str) -> Step:
    namespace = call.value("namespace")
    names = [n.strip() for v in call.values("metric-name") for n in v.split(",") if n.strip()]
    if not namespace or not names:
        raise _Unconvertible("get-metric-statistics without --namespace or --metric-name")
    notes: list[str] = []
    if len(names) > 1:
        notes.append(
            f"the runbook joins {len(names)} metric names with commas (the CLI takes one): "
            "one query each"
        )
    dims = _dimensions(call.values("dimensions"))
    stats = [s for v in call.values("statistics") for s in re.split(r"[,\s]+", v) if s]
    stats += [s for v in call.values("extended-statistics") for s in re.split(r"[,\s]+", v) if s]
    if not stats:
        stats = ["Average"]
        notes.append("no --statistics given: Average")
    try:
        period = int(call.value("period") or 300)
    except ValueError:
        raise _Unconvertible(f"cannot read --period {call.value('period')!r}") from None
    if call.value("unit"):
        notes.append(f"--unit {call.value('unit')} is not passed: datapoints in their own unit")
    dim_node = _dims_node(dims, ctx, "--dimensions")
    queries: list[tuple[str, Node, str, str]] = []  # id, node, stat, label
    for name in names:
        for stat in stats:
            qid = _metric_id(ctx, name, stat if len(stats) > 1 else "")
            node = Call(
                "metric",
                [Lit(namespace), Lit(name), Raw("dimensions") if dims else Lit({}), Lit(stat)],
            )
            queries.append(
                (qid, node, stat, name if stat in ("Sum", "SampleCount") else f"{name} {stat}")
            )
    kwargs = [
        ("period", Lit(period)),
        *_time_kwargs(call.value("start-time"), call.value("end-time"), notes, ctx),
    ]
    code: list[str] = []
    if dims:
        code.append(render(dim_node, 4, "dimensions = "))
    return _metric_step(cmd, ctx, title, queries, kwargs, period, code, notes)


def _metric_step(
    cmd: ShellCommand,
    ctx: Context,
    title: str,
    queries: list[tuple[str, Node, str, str]],
    kwargs: list[tuple[str, Node]],
    period: int,
    code: list[str],
    notes: list[str],
) -> Step:
    ctx.uses.update({"metric", "timeseries"})
    call = Call("case.metrics", [Dict([(qid, node) for qid, node, _, _ in queries])], kwargs)
    code.append(render(call, 4, "m = "))
    chart = Call("timeseries", [Raw("m")], [("title", Lit(f"{title} ({_period_text(period)})"))])
    code.append("    if not m.empty:")
    code.append(render(Call("case.show", [chart]), 8))
    first = next(
        (
            (q, s, label)
            for q, node, s, label in queries
            if isinstance(node, Call) and node.head == "metric"
        ),
        None,
    )
    if first and not ctx.onset and period < ONSET_MAX_PERIOD:
        qid, stat, label = first
        counts = stat in ("Sum", "SampleCount")
        kw: list[tuple[str, Node]] = [("label", Lit(label))]
        if counts:
            kw.append(("counts", Lit(True)))
        onset = Call("steps.onset", [Raw("case"), Call("steps.series", [Raw("m"), Lit(qid)])], kw)
        code.append(render(onset, 4))
        notes.append(f"the onset (where {label} left its baseline) is looked for here")
        ctx.onset = True
    return Step(CONVERTED, title, [cmd], code=code, notes=notes, verb="metrics")


def _metric_data(call: awscli.AwsCall, cmd: ShellCommand, ctx: Context, title: str) -> Step:
    params = awscli.api_params(call)
    if params.problems:
        raise _Unconvertible("; ".join(params.problems))
    items = params.params.get("MetricDataQueries") or []
    if not items:
        raise _Unconvertible("get-metric-data without --metric-data-queries")
    notes: list[str] = []
    queries: list[tuple[str, Node, str, str]] = []
    periods: list[int] = []
    dims_code: list[str] = []
    for item in items:
        qid = _unique_id(ctx, _id_text(str(item.get("Id") or "q")))
        if item.get("Expression"):
            ctx.uses.add("expression")
            kw = [("label", Lit(item["Label"]))] if item.get("Label") else []
            queries.append((qid, Call("expression", [Lit(item["Expression"])], kw), "", qid))
            if item.get("Period"):
                periods.append(int(item["Period"]))
            continue
        stat_block = item.get("MetricStat") or {}
        metric_def = stat_block.get("Metric") or {}
        dims = [(d.get("Name", ""), d.get("Value", "")) for d in metric_def.get("Dimensions") or []]
        node: Node = _dims_node(dims, ctx, "--metric-data-queries") if dims else Lit({})
        stat = str(stat_block.get("Stat") or "Average")
        name = str(metric_def.get("MetricName") or "")
        queries.append(
            (
                qid,
                Call("metric", [Lit(metric_def.get("Namespace", "")), Lit(name), node, Lit(stat)]),
                stat,
                name if stat in ("Sum", "SampleCount") else f"{name} {stat}",
            )
        )
        if stat_block.get("Period"):
            periods.append(int(stat_block["Period"]))
    period = min(periods) if periods else 60
    if len(set(periods)) > 1:
        notes.append(f"the queries have periods {sorted(set(periods))}: the step uses {period}")
    kwargs = [
        ("period", Lit(period)),
        *_time_kwargs(call.value("start-time"), call.value("end-time"), notes, ctx),
    ]
    return _metric_step(cmd, ctx, title, queries, kwargs, period, dims_code, notes)


def _dimensions(values: list[str]) -> list[tuple[str, str]]:
    """``Name=X,Value=Y`` (several, or repeated in one word), JSON, or ``X=Y`` shorthand."""
    dims: list[tuple[str, str]] = []
    for word in values:
        text = word.strip()
        if text[:1] in "[{":
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                data = None
            if data is not None:
                for d in data if isinstance(data, list) else [data]:
                    dims.append((str(d.get("Name", "")), str(d.get("Value", ""))))
                continue
        pairs = [p.split("=", 1) for p in awscli._split_top(text, ",") if "=" in p]
        pending_name: str | None = None
        for key, value in pairs:
            key = key.strip()
            if key.lower() == "name":
                pending_name = value
            elif key.lower() == "value" and pending_name is not None:
                dims.append((pending_name, value))
                pending_name = None
            else:
                dims.append((key, value))
        if pending_name is not None:
            raise _Unconvertible(f"the dimension {pending_name!r} has no Value")
    return dims


def _dims_node(dims: Sequence[tuple[str, str]], ctx: Context, origin: str) -> Node:
    entries: list[tuple[Any, Node]] = []
    for name, value in dims:
        if not name:
            raise _Unconvertible("a dimension without a name")
        param = ctx.params.resource(name, value, dimension=name, origin=f"{origin} {name}")
        entries.append((name, Raw(param)))
    return Dict(entries)


def _metric_id(ctx: Context, name: str, stat: str) -> str:
    base = _snake(name)
    if stat:
        base += "_" + re.sub(r"[^a-z0-9]+", "_", stat.lower()).strip("_")
    return _unique_id(ctx, _id_text(base))


def _id_text(text: str) -> str:
    text = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "q"
    return (
        text
        if text[0].islower()
        else f"m{text.lower()}"
        if text[0].isdigit()
        else text[0].lower() + text[1:]
    )


def _unique_id(ctx: Context, base: str) -> str:
    qid, n = base, 2
    while qid in ctx.metric_ids:
        qid, n = f"{base}_{n}", n + 1
    ctx.metric_ids.add(qid)
    return qid


def _period_text(period: int) -> str:
    if period % 86400 == 0:
        return f"{period // 86400} d" if period != 86400 else "daily"
    if period % 3600 == 0:
        return f"{period // 3600} h" if period != 3600 else "hourly"
    if period % 60 == 0:
        return f"{period // 60} min"
    return f"{period} s"


# -- logs ----------------------------------------------------------------------------------------
def _log_groups_kwarg(values: list[str], ctx: Context, notes: list[str]) -> list[tuple[str, Node]]:
    nodes: list[Node] = []
    for value in values:
        node, why = ctx.params.log_group(value, "--log-group-name")
        if node is None:
            notes.append(why)
            return []
        nodes.append(node)
    if not nodes:
        notes.append("no log group given: the alarm's log groups")
        return []
    return [("log_groups", List(nodes))]


def _filter(call: awscli.AwsCall, cmd: ShellCommand, ctx: Context, title: str) -> Step:
    notes: list[str] = []
    groups = call.values("log-group-name") or call.values("log-group-identifier")
    kwargs = _log_groups_kwarg(groups, ctx, notes)
    kwargs += _time_kwargs(call.value("start-time"), call.value("end-time"), notes, ctx)
    limit = call.value("limit") or call.options.get("max-items")
    if limit:
        try:
            kwargs.append(("limit", Lit(int(limit))))
        except ValueError:
            raise _Unconvertible(f"cannot read the limit {limit!r}") from None
    for arg in ("log-stream-names", "log-stream-name-prefix"):
        if call.values(arg):
            notes.append(f"`--{arg}` is not applied: every stream of the log group is read")
    pattern = call.value("filter-pattern") or ""
    if not pattern:
        notes.append("no filter pattern: every event of the window")
    _cli_options(call, notes)
    code = [
        render(Call("case.filter_logs", [Lit(pattern)], kwargs), 4, "events = "),
        "    case.show(events)",
    ]
    return Step(CONVERTED, title, [cmd], code=code, notes=notes, verb="filter_logs")


def _tail(call: awscli.AwsCall, cmd: ShellCommand, ctx: Context, title: str) -> Step:
    notes: list[str] = []
    kwargs = _log_groups_kwarg(call.positional[:1], ctx, notes)
    since_text = call.value("since")
    since = None
    if since_text:
        since = read_duration(since_text)
        if since is None:
            kwargs += _time_kwargs(since_text, None, notes, ctx)
    else:
        notes.append("no --since: the events of the investigation window")
    if since is not None:
        kwargs += _time_kwargs(None, None, notes, ctx, since=since)
    if "follow" in call.args:
        notes.append("`--follow` streams new events in a terminal; here, the window's events")
    pattern = call.value("filter-pattern") or ""
    code = [
        render(Call("case.filter_logs", [Lit(pattern)], kwargs), 4, "events = "),
        "    case.show(events)",
    ]
    return Step(CONVERTED, title, [cmd], code=code, notes=notes, verb="filter_logs")


def _insights(call: awscli.AwsCall, cmd: ShellCommand, ctx: Context, title: str) -> Step:
    query = call.value("query-string")
    if not query:
        raise _Unconvertible("start-query without --query-string")
    notes: list[str] = []
    groups = (
        call.values("log-group-names")
        or call.values("log-group-name")
        or call.values("log-group-identifiers")
    )
    kwargs = _log_groups_kwarg(groups, ctx, notes)
    kwargs += _time_kwargs(call.value("start-time"), call.value("end-time"), notes, ctx)
    if call.value("limit"):
        kwargs.append(("limit", Lit(int(call.value("limit") or 0))))
    code = [
        *_query_literal(query),
        render(Call("case.logs", [Raw("query")], kwargs), 4, "rows = "),
        "    case.show(rows)",
    ]
    return Step(CONVERTED, title, [cmd], code=code, notes=notes, verb="logs")


def _query_literal(query: str) -> list[str]:
    """``query = \"\"\"...\"\"\"``: one pipe stage per line, as Logs Insights is written."""
    text = query.strip()
    if "\n" not in text:
        text = re.sub(r"\s+\|\s*", "\n| ", text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    body = "\n".join(" " * 8 + line for line in lines)
    if '"""' in body or body.endswith("\\"):
        return [render(Lit(text), 4, "query = ")]
    prefix = "r" if "\\" in body else ""
    return [f'    query = {prefix}"""\n{body}\n    """']


# -- changes, history ----------------------------------------------------------------------------
def _changes(call: awscli.AwsCall, cmd: ShellCommand, ctx: Context, title: str) -> Step:
    params = awscli.api_params(call)
    if params.problems:
        raise _Unconvertible("; ".join(params.problems))
    notes: list[str] = []
    args: list[Node] = []
    filters: list[tuple[str, str]] = []
    for attr in params.params.get("LookupAttributes") or []:
        key, value = attr.get("AttributeKey"), str(attr.get("AttributeValue", ""))
        if key == "ResourceName":
            known = ctx.params.find(value)
            args = [List([Raw(known) if known else Lit(value)])]
        elif key in ("EventName", "EventSource", "Username"):
            filters.append(
                (
                    {
                        "EventName": "event_name",
                        "EventSource": "event_source",
                        "Username": "username",
                    }[key],
                    value,
                )
            )
        else:
            notes.append(f"the lookup attribute {key}={value} is not applied")
    notes += _time_notes(call)
    ctx.changes = True
    code = [render(Call("case.changes", args), 4, "changes = ")]
    for column, value in filters:
        code.append(f"    changes = changes[changes[{literal(column)}] == {literal(value)}]")
    code.append(
        render(Call("case.show", [Call("steps.ranked_changes", [Raw("case"), Raw("changes")])]), 4)
    )
    notes.append("ranked by nearness to the onset and relation to the alarm's resources")
    return Step(CONVERTED, title, [cmd], code=code, notes=notes, verb="changes")


def _time_notes(call: awscli.AwsCall) -> list[str]:
    if call.value("start-time") or call.value("end-time"):
        return ["CloudTrail is read over the investigation window"]
    return []


def _history(call: awscli.AwsCall, cmd: ShellCommand, ctx: Context, title: str) -> Step:
    name = call.value("alarm-name")
    if name and ctx.alerts and name not in ctx.alerts:
        return _generic(call, cmd, ctx, title)
    notes = ["the alarm's own history, from a day before the window"]
    code = ["    case.show(steps.history_table(case.alarm_history()))"]
    return Step(CONVERTED, title, [cmd], code=code, notes=notes, verb="alarm_history")


# -- s3 ls, other reads --------------------------------------------------------------------------
def _s3_ls(call: awscli.AwsCall, cmd: ShellCommand, ctx: Context, title: str) -> Step:
    notes: list[str] = []
    target = call.positional[0] if call.positional else ""
    if not target or target == "s3://":
        code = ['    answer = case.aws("s3", "list-buckets")', "    case.show(answer)"]
        return Step(CONVERTED, title, [cmd], code=code, notes=notes, verb="aws")
    bucket, _, prefix = target.removeprefix("s3://").partition("/")
    param = ctx.params.resource("Bucket", bucket, dimension="BucketName", origin="s3://")
    kwargs: list[tuple[str, Node]] = [("Bucket", Raw(param))]
    if prefix:
        kwargs.append(("Prefix", _text_node(prefix)))
    if "recursive" not in call.args:
        kwargs.append(("Delimiter", Lit("/")))
    _cli_options(call, notes)
    code = [
        render(Call("case.aws", [Lit("s3"), Lit("list-objects-v2")], kwargs), 4, "answer = "),
        "    case.show(answer)",
    ]
    notes.append("`s3 ls` is ListObjectsV2 (up to 1000 keys)")
    return Step(CONVERTED, title, [cmd], code=code, notes=notes, verb="aws")


def _generic(call: awscli.AwsCall, cmd: ShellCommand, ctx: Context, title: str) -> Step:
    op = awscli.operation_model(call.service, call.operation)
    if op is None:  # pragma: no cover - _operation_kind said it exists
        raise _Unconvertible(f"aws {call.service} {call.operation} is not known")
    params = awscli.api_params(call)
    if params.problems:
        raise _Unconvertible("; ".join(params.problems))
    notes: list[str] = []
    members = op.input_shape.members if op.input_shape is not None else {}
    kwargs: list[tuple[str, Node]] = []
    for member, value in params.params.items():
        shape = members[member]
        kwargs.append(
            (member, _param_node(member, value, shape, params.raw.get(member, []), ctx, notes))
        )
    if call.positional:
        raise _Unconvertible(f"unexpected words {' '.join(call.positional)!r}")
    _cli_options(call, notes)
    code = [
        render(
            Call("case.aws", [Lit(call.api_service), Lit(call.operation)], kwargs), 4, "answer = "
        )
    ]
    query = call.options.get("query")
    if query:
        ctx.uses.add("jmespath")
        code.append(
            render(
                Call(
                    "case.show",
                    [Call("jmespath.search", [Lit(query), Raw("answer")]), Raw("answer")],
                ),
                4,
            )
        )
        notes.append(
            f"the runbook's `--query {query}` picks from the answer (JMESPath), shown first"
        )
    else:
        code.append("    case.show(answer)")
    return Step(CONVERTED, title, [cmd], code=code, notes=notes, verb="aws")


def _param_node(
    member: str, value: Any, shape: Any, raw: list[str], ctx: Context, notes: list[str]
) -> Node:
    kind = shape.type_name
    if kind == "timestamp":
        return _time_node(raw[0] if raw else str(value), member, ctx, notes)
    if member in ("AlarmName", "AlarmNames", "AlarmNamePrefix") and ctx.alerts:
        values = value if isinstance(value, list) else [value]
        if all(v in ctx.alerts for v in values):
            notes.append("the runbook's alarm name is the alarm being investigated")
            node = Raw("case.alarm.name")
            return List([node]) if isinstance(value, list) else node
    if member == "LogGroupName" and isinstance(value, str):
        node, why = ctx.params.log_group(value, f"--{_kebab(member)}")
        if node is None:
            raise _Unconvertible(why)
        return node
    if _is_resource(member) and isinstance(value, str | list):
        dimension = MEMBER_DIMENSION.get(member)
        values = value if isinstance(value, list) else [value]
        if all(isinstance(v, str) for v in values):
            names = [
                Raw(
                    ctx.params.resource(
                        member, v, dimension=dimension, origin=f"--{_kebab(member)}"
                    )
                )
                for v in values
            ]
            return List(names) if isinstance(value, list) else names[0]
    if isinstance(value, str):
        return _text_node(value)
    return Lit(value)


def _is_resource(member: str) -> bool:
    if member in NOT_RESOURCES:
        return False
    return member in MEMBER_DIMENSION or bool(_RESOURCE_MEMBER.search(member))


def _cli_options(call: awscli.AwsCall, notes: list[str]) -> None:
    for name, value in call.options.items():
        if name == "region":
            notes.append(f"the runbook names region {value}; the notebook reads the alarm's region")
        elif name == "profile":
            notes.append(
                f"the runbook names profile {value}; pass --profile to `incident investigate`"
            )
        elif name in ("max-items", "page-size"):
            notes.append(f"`--{name} {value}` pages the CLI's output; the verb reads what it needs")
        elif name == "output":
            continue
        elif name not in ("query", "no-paginate", "no-cli-pager", "limit"):
            notes.append(f"the CLI option `--{name}` is not used")


_CONVERTERS = {
    ("cloudwatch", "get-metric-statistics"): _metrics,
    ("cloudwatch", "get-metric-data"): _metric_data,
    ("logs", "filter-log-events"): _filter,
    ("logs", "tail"): _tail,
    ("logs", "start-query"): _insights,
    ("cloudtrail", "lookup-events"): _changes,
    ("cloudwatch", "describe-alarm-history"): _history,
    ("s3", "ls"): _s3_ls,
}


# -- names ---------------------------------------------------------------------------------------
def _snake(name: str) -> str:
    """``DBInstanceIdentifier`` -> ``db_instance_identifier``; ``5XXError`` -> ``5xx_error``."""
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    text = re.sub(r"([a-z])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([0-9])([A-Z][a-z])", r"\1_\2", text)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _singular(name: str) -> str:
    for plural, one in (
        ("Ids", "Id"),
        ("Names", "Name"),
        ("Arns", "Arn"),
        ("Identifiers", "Identifier"),
    ):
        if name.endswith(plural):
            return name[: -len(plural)] + one
    if name in ("services",):
        return "service"
    return name


def _kebab(member: str) -> str:
    from botocore import xform_name

    return xform_name(member, "-")
