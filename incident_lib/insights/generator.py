"""Syntax tree -> DuckDB SQL, one CTE per pipe stage.

The generator tracks the columns each stage produces (with a kind: ``num``, ``str``, ``ts``,
``bool``, or ``any`` for discovered values that are strings which may look numeric), the order
the rows are in, and which fields the output shows. Discovered fields are derived in the base
CTE only when some stage references them. Comparisons are numeric when both sides are
numbers, string otherwise (AWS CWL_QuerySyntax-operations-functions does not say; see
docs/logs-insights.md).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import pandas as pd

from incident_lib.errors import QueryError
from incident_lib.insights import fields as F
from incident_lib.insights import nodes as n
from incident_lib.insights.functions import FUNCTIONS
from incident_lib.insights.tokens import error
from incident_lib.timeutil import ensure_utc

DEFAULT_LIMIT = 10_000
_PATTERN_UDF = "__cwli_pattern"
_EXACT_DOUBLE = 2**53  # every integer below it is a double
# A pattern's @severityLabel: the first level word of its most frequent text.
_SEVERITY = (
    "CASE upper(regexp_extract(__text, '(?i)\\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|"
    "CRITICAL)\\b', 1)) WHEN 'TRACE' THEN 'Trace' WHEN 'DEBUG' THEN 'Debug' WHEN 'INFO' "
    "THEN 'Info' WHEN 'WARN' THEN 'Warning' WHEN 'WARNING' THEN 'Warning' WHEN 'ERROR' THEN "
    "'Error' WHEN 'FATAL' THEN 'Fatal' WHEN 'CRITICAL' THEN 'Fatal' END"
)
_SQL_OPS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_NUMERIC = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_RELATION = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")
# Period caps (AWS CWL_QuerySyntax-operations-functions): "The cap for ms is 1000, the caps
# for s and m are 60, and the cap for h is 24."
_CAPS = {"ms": 1000, "s": 60, "m": 60, "h": 24}
_MICROS = {
    "ms": 1_000,
    "s": 1_000_000,
    "m": 60_000_000,
    "h": 3_600_000_000,
    "d": 86_400_000_000,
    "w": 604_800_000_000,
}
_MONTHS = {"mo": 1, "q": 3, "y": 12}


@dataclasses.dataclass(frozen=True)
class C:
    """A compiled expression: SQL text and its kind."""

    sql: str
    kind: str
    literal: bool = False


@dataclasses.dataclass
class Ctx:
    """Compilation context of one expression."""

    local: dict[str, C] = dataclasses.field(default_factory=dict)
    aggregates: bool = False  # aggregate functions allowed (stats)
    in_aggregate: bool = False
    saw_aggregate: bool = False


def quote(name: str) -> str:
    """An SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """An SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ts_literal(value: pd.Timestamp) -> str:
    return f"TIMESTAMPTZ '{value.tz_convert('UTC').isoformat()}'"


class Generator:
    """Generate the SQL of one query. Use :func:`incident_lib.insights.to_sql`."""

    def __init__(
        self,
        query: n.Query,
        *,
        relation: str = "logs",
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        log_groups: Sequence[str] | None = None,
        account_id: str = "123456789012",
        region: str | None = None,
        limit: int | None = None,
    ) -> None:
        if not _RELATION.match(relation):
            raise QueryError(f"relation must be a table or view name, got {relation!r}")
        self.query = query
        self.text = query.text
        self.relation = relation
        self.start = ensure_utc(start, name="start") if start is not None else None
        self.end = ensure_utc(end, name="end") if end is not None else None
        self.log_groups = list(log_groups) if log_groups is not None else None
        self.account_id = account_id
        self.region = region
        self.limit = limit
        self.ctes: list[tuple[str, str]] = []
        self.prev = "_base"
        self.columns: dict[str, str] = {name: kind for name, (_, kind) in F.SYSTEM_FIELDS.items()}
        self.discovered: dict[str, str] = {}
        self.event_level = True
        self.order: list[str] | None = None  # ORDER BY items, None = default
        self.shown: list[str] = []
        self.display: list[str] | None = None
        self.group_columns: list[str] = []
        self.stats_seen = 0
        self.limited = False
        self.uses_udfs = False
        self.presence: dict[str, str] = {}  # field -> boolean column telling it is present
        self.replaced: set[str] = set()  # base fields a later stage redefined
        self.implicit_order: list[str] | None = None  # an aggregate's own default order
        self.tiebreak: list[str] = []  # after @timestamp, @ptr: the order unnest made
        self.bin_group: tuple[str, n.Duration] | None = None  # stats ... by bin(): for fillmissing
        self.source: n.Source | None = None
        self.diff: n.Diff | None = None
        self.uses_patterns = False  # needs the pattern UDF on the connection
        self.aggregate_stage = ""

    # -- errors ------------------------------------------------------------------------------
    def fail(self, message: str, node: n.Node) -> QueryError:
        return error(self.text, message, node.start, max(1, node.end - node.start))

    # -- driver ------------------------------------------------------------------------------
    def generate(self) -> str:
        """The whole query as one SQL statement."""
        commands = self.query.commands
        stats_positions = [i for i, c in enumerate(commands) if isinstance(c, n.Stats)]
        if len(stats_positions) > 2:
            raise self.fail(
                "a query can have at most two stats commands", commands[stats_positions[2]]
            )
        if len(stats_positions) == 2:
            for c in commands[: stats_positions[1]]:
                if isinstance(c, n.Sort | n.Limit):
                    raise self.fail(f"{c.keyword} must come after the second stats command", c)
        dedup_at = next((i for i, c in enumerate(commands) if isinstance(c, n.Dedup)), None)
        if dedup_at is not None:
            for c in commands[dedup_at + 1 :]:
                if not isinstance(c, n.Limit):
                    raise self.fail("only limit may follow dedup", c)
        self.check_diff(commands)
        for index, command in enumerate(commands, start=1):
            handler = getattr(self, f"stage_{command.keyword}")
            handler(command, index)
        final = self.final_select()
        base = self.base_ctes()
        body = ",\n".join(f"{name} AS (\n  {sql}\n)" for name, sql in [*base, *self.ctes])
        return f"WITH {body}\n{final}"

    def check_diff(self, commands: Sequence[n.Command]) -> None:
        """``diff`` clusters the events of two periods: only event stages may precede it."""
        diffs = [c for c in commands if isinstance(c, n.Diff)]
        if not diffs:
            return
        if len(diffs) > 1:
            raise self.fail("a query can have only one diff", diffs[1])
        self.diff = diffs[0]
        if self.start is None or self.end is None:
            raise self.fail("diff needs the query window (start and end)", self.diff)
        event_stages = (n.Source, n.Fields, n.Display, n.Filter, n.Parse, n.Unnest)
        for c in commands[: commands.index(self.diff)]:
            if not isinstance(c, event_stages):
                raise self.fail(
                    f"{c.keyword} cannot come before diff: diff compares the events of two "
                    "periods (put sort, limit and filters on its output after it)",
                    c,
                )

    def add_cte(self, label: str, index: int, sql: str) -> None:
        name = f"s{index}_{label}" if index else label
        while any(existing == name for existing, _ in self.ctes):
            name += "_"
        self.ctes.append((name, sql))
        self.prev = name

    def base_ctes(self) -> list[tuple[str, str]]:
        names = {
            "account": literal(self.account_id),
            "region": literal(self.region) if self.region else "NULL",
        }
        cols = ", ".join(
            f"{sql.format(**names)} AS {quote(name)}" for name, (sql, _) in F.SYSTEM_FIELDS.items()
        )
        where = self.group_conditions(names)
        if self.diff is not None:
            src = self.diff_source(cols, where)
        else:
            window: list[str] = []
            if self.start is not None:
                window.append(f"timestamp >= {ts_literal(self.start)}")
            if self.end is not None:
                window.append(f"timestamp <= {ts_literal(self.end)}")
            src = f"SELECT {cols} FROM {self.relation}"
            if window or where:
                src += " WHERE " + " AND ".join([*window, *where])
        out = [("_src", src)]
        derived: list[str] = []
        json_names = [name for name in self.discovered if name not in F.LAMBDA_FIELDS]
        for name in self.discovered:
            if name in F.LAMBDA_FIELDS:
                derived.append(f"{F.LAMBDA_FIELDS[name][0]} AS {quote(name)}")
        if len(json_names) == 1:
            pointer = literal(F.json_pointer(json_names[0]))
            derived.append(
                f"try(json_extract_string({F.JSON_DOCUMENT}, {pointer})) AS {quote(json_names[0])}"
            )
        elif json_names:
            pointers = ", ".join(literal(F.json_pointer(name)) for name in json_names)
            out.append(
                (
                    "_doc",
                    "SELECT *, try(json_extract_string("
                    f"{F.JSON_DOCUMENT}, [{pointers}])) AS __jv FROM _src",
                )
            )
            derived.extend(f"__jv[{i}] AS {quote(name)}" for i, name in enumerate(json_names, 1))
        source = out[-1][0]
        if derived:
            exclude = " EXCLUDE (__jv)" if len(json_names) > 1 else ""
            out.append(("_base", f"SELECT *{exclude}, {', '.join(derived)} FROM {source}"))
        else:
            out.append(("_base", f"SELECT * FROM {source}"))
        return out

    def group_conditions(self, names: dict[str, str]) -> list[str]:
        """The log groups to read: the ``log_groups`` argument (names or ARNs) and SOURCE."""
        where: list[str] = []
        if self.log_groups is not None:
            wanted: list[str] = []
            for group in self.log_groups:
                wanted.append(group)
                if group.startswith("arn:"):  # logGroupIdentifiers may be ARNs
                    wanted.append(group.split(":")[6] if group.count(":") >= 6 else group)
                    wanted.append(group.removesuffix(":*"))
            groups = ", ".join(literal(g) for g in dict.fromkeys(wanted)) or "NULL"
            where.append(f"log_group IN ({groups})")
        if self.source is not None:
            name = f"({F.GROUP_NAME})"
            if self.source.names:
                where.append(f"{name} IN ({', '.join(literal(x) for x in self.source.names)})")
            if self.source.name_prefixes:
                tests = [f"starts_with({name}, {literal(x)})" for x in self.source.name_prefixes]
                where.append("(" + " OR ".join(tests) + ")")
            if self.source.accounts:
                account = f"({F.GROUP_ACCOUNT.format(**names)})"
                where.append(
                    f"{account} IN ({', '.join(literal(x) for x in self.source.accounts)})"
                )
        return where

    def diff_periods(self) -> tuple[tuple[pd.Timestamp, pd.Timestamp, bool], ...]:
        """(start, end, end inclusive) of the query window and of the period diff compares it
        with: the one just before (same length, ending where the window starts), or the same
        window a day, a week or a calendar month earlier."""
        assert self.diff is not None and self.start is not None and self.end is not None
        if self.diff.period == "previous":
            before = (self.start - (self.end - self.start), self.start, False)
        else:
            shift = {
                "previousDay": pd.Timedelta(days=1),
                "previousWeek": pd.Timedelta(days=7),
                "previousMonth": pd.DateOffset(months=1),
            }[self.diff.period]
            before = (self.start - shift, self.end - shift, True)
        return (self.start, self.end, True), before

    def diff_source(self, cols: str, where: list[str]) -> str:
        """Both periods' events, each tagged with ``__period`` (0 the window, 1 the one before);
        a UNION ALL, so an event in both (a window longer than the shift) counts in both."""
        parts = []
        for number, (lo, hi, inclusive) in enumerate(self.diff_periods()):
            window = [
                f"timestamp >= {ts_literal(lo)}",
                f"timestamp {'<=' if inclusive else '<'} {ts_literal(hi)}",
            ]
            parts.append(
                f"SELECT {cols}, {number} AS __period FROM {self.relation} "
                f"WHERE {' AND '.join([*window, *where])}"
            )
        return "\n  UNION ALL ".join(parts)

    # -- stages ------------------------------------------------------------------------------
    def select_adding(self, new: list[tuple[str, C]]) -> str:
        """``SELECT *`` from the previous stage, adding or replacing ``new`` columns."""
        replaced = [name for name, _ in new if name in self.columns]
        exclude = f" EXCLUDE ({', '.join(quote(r) for r in replaced)})" if replaced else ""
        adds = ", ".join(f"{c.sql} AS {quote(name)}" for name, c in new)
        for name, c in new:
            self.columns.pop(name, None)
            self.columns[name] = c.kind
            self.presence.pop(name, None)
            self.replaced.add(name)
        return f"SELECT *{exclude}, {adds} FROM {self.prev}"

    def stage_fields(self, cmd: n.Fields, index: int) -> None:
        ctx = Ctx()
        new: list[tuple[str, C]] = []
        for p in cmd.projections:
            self.project(p, ctx, new)
            if p.name not in self.shown:
                self.shown.append(p.name)
        sql = self.select_adding(new) if new else f"SELECT * FROM {self.prev}"
        self.add_cte("fields", index, sql)

    def project(self, p: n.Projection, ctx: Ctx, new: list[tuple[str, C]]) -> None:
        """Compile one fields/display projection; computed ones go into ``new``."""
        if isinstance(p.expr, n.Field) and not p.aliased:
            c = self.resolve(p.expr.name, p.expr, ctx)
            if c.sql == quote(p.name):
                return  # a column already (or a discovered field the base derives)
        else:
            c = self.compile(p.expr, ctx)
        ctx.local[p.name] = c
        new[:] = [(name, x) for name, x in new if name != p.name]
        new.append((p.name, c))

    def stage_display(self, cmd: n.Display, index: int) -> None:
        # Like fields (expressions and aliases allowed), but the output is exactly these
        # columns, and only the last display counts (AWS CWL_QuerySyntax-Display).
        ctx = Ctx()
        names: list[str] = []
        new: list[tuple[str, C]] = []
        for p in cmd.projections:
            self.project(p, ctx, new)
            if p.name not in names:
                names.append(p.name)
        self.display = names
        sql = self.select_adding(new) if new else f"SELECT * FROM {self.prev}"
        self.add_cte("display", index, sql)

    def stage_source(self, cmd: n.Source, index: int) -> None:
        # Applied in the source scan (base_ctes), with the window: no stage of its own.
        self.source = cmd

    def stage_unnest(self, cmd: n.Unnest, index: int) -> None:
        operand = self.compile(cmd.operand, Ctx())
        if operand.kind == "json":
            # "The input for unnest is LIST, which comes from the jsonParse function... Any
            # other types, such as MAP, String and numbers, are treated as a list with one item."
            items = (
                f"(CASE WHEN json_type({operand.sql}) = 'ARRAY' THEN CAST({operand.sql} AS JSON[])"
                f" ELSE [{operand.sql}] END)"
            )
        else:
            items = f"[{operand.sql}]"
        order = f"__unnest{index}_ord"
        replaced = [cmd.name] if cmd.name in self.columns else []
        exclude = f" EXCLUDE ({quote(cmd.name)})" if replaced else ""
        # A missing field is an empty list: the event gives no rows.
        self.add_cte(
            "unnest",
            index,
            f"SELECT *{exclude}, unnest({items}) AS {quote(cmd.name)}, "
            f"unnest(range(1, len({items}) + 1)) AS {order} "
            f"FROM {self.prev} WHERE ({operand.sql}) IS NOT NULL",
        )
        self.columns.pop(cmd.name, None)
        self.columns[cmd.name] = operand.kind
        self.presence.pop(cmd.name, None)
        self.replaced.add(cmd.name)
        if self.event_level:
            self.tiebreak.append(f"{order} ASC")
        elif self.order is None:
            self.order = [*self.current_order(), f"{order} ASC"]

    def stage_filter(self, cmd: n.Filter, index: int) -> None:
        cond = self.as_bool(self.compile(cmd.condition, Ctx()))
        self.add_cte("filter", index, f"SELECT * FROM {self.prev} WHERE {cond}")

    def stage_parse(self, cmd: n.Parse, index: int) -> None:
        source = self.as_str(self.compile(cmd.source, Ctx()))
        pattern = literal(cmd.regex)
        flag = f"__parse{index}_matched"
        # A match flag first (RE2's DFA, cheap), then the extraction for the matching rows only.
        self.add_cte(
            "parse_match",
            index,
            f"SELECT *, regexp_matches({source}, {pattern}) AS {flag} FROM {self.prev}",
        )
        highest = max(group for _, group in cmd.groups)
        if len(cmd.groups) == 1 and highest <= 9:
            ((name, group),) = cmd.groups
            extract = f"regexp_extract({source}, {pattern}, {group})"
            new = [(name, C(f"CASE WHEN {flag} THEN {extract} END", "any"))]
        else:
            # One extraction into a struct of every group: RE2 runs a capturing match once per
            # row instead of once per field (9 fields over 1M lines: 37 s against 172 s here,
            # 3 fields: 29 s against 49 s), and DuckDB's regexp_extract takes a group number
            # of 0-9 only, while VPC flow logs need 14 captures.
            struct = f"__parse{index}_groups"
            names = ", ".join(f"'g{k}'" for k in range(1, highest + 1))
            self.add_cte(
                "parse_groups",
                index,
                f"SELECT *, CASE WHEN {flag} THEN regexp_extract({source}, {pattern}, "
                f"[{names}]) END AS {struct} FROM {self.prev}",
            )
            new = [(name, C(f"{struct}.g{group}", "any")) for name, group in cmd.groups]
        self.add_cte("parse", index, self.select_adding(new))
        for name, _ in cmd.groups:
            # ispresent(<parsed field>) is the match flag: no second extraction in a filter.
            self.presence[name] = flag

    def stage_stats(self, cmd: n.Stats, index: int) -> None:
        self.stats_seen += 1
        groups: list[tuple[str, C]] = []
        bin_group: tuple[str, n.Duration] | None = None
        for p in cmd.groups:
            c = self.compile(p.expr, Ctx())
            if c.kind == "json":
                c = C(self.as_str(c), "any")
            groups.append((p.name, c))
            if isinstance(p.expr, n.Func) and p.expr.name == "bin" and bin_group is None:
                period = p.expr.args[0]
                assert isinstance(period, n.Duration)
                bin_group = (p.name, period)
        ctx = Ctx(aggregates=True)
        aggs: list[tuple[str, C]] = []
        for p in cmd.aggregations:
            ctx.saw_aggregate = False
            c = self.compile(p.expr, ctx)
            if not ctx.saw_aggregate:
                raise self.fail(
                    "stats needs an aggregate function here (count, sum, avg ...)", p.expr
                )
            ctx.local[p.name] = c
            aggs.append((p.name, c))
        outputs: dict[str, C] = {}
        for name, c in [*groups, *aggs]:
            outputs[name] = c
        select = ", ".join(f"{c.sql} AS {quote(name)}" for name, c in outputs.items())
        sql = f"SELECT {select} FROM {self.prev}"
        if groups:
            sql += " GROUP BY " + ", ".join(str(i) for i in range(1, len(groups) + 1))
        self.add_cte("stats", index, sql)
        self.columns = {name: c.kind for name, c in outputs.items()}
        self.presence = {}
        self.replaced |= set(outputs)
        self.after_aggregate("stats", list(outputs), [name for name, _ in groups])
        self.bin_group = bin_group

    def after_aggregate(
        self, keyword: str, shown: list[str], groups: list[str], order: list[str] | None = None
    ) -> None:
        """State after a stage that turns events into summary rows (stats, pattern, diff)."""
        self.aggregate_stage = keyword
        self.group_columns = groups
        self.event_level = False
        self.order = None
        self.implicit_order = order
        self.tiebreak = []
        self.shown = shown
        self.display = None
        self.bin_group = None

    def pattern_texts(self, source: C, index: int, by_period: bool) -> str:
        """CTE of the distinct texts to cluster with their counts and level word: the pattern
        function (Python) then runs once per distinct text, not once per event."""
        text = self.as_str(source)
        period = ", __period" if by_period else ""
        name = f"s{index}_pattern_texts"
        self.ctes.append(
            (
                name,
                f"SELECT __text{period}, count(*) AS __n, {_SEVERITY} AS __severity FROM "
                f"(SELECT {text} AS __text{period} FROM {self.prev}) WHERE __text IS NOT NULL "
                f"GROUP BY __text{period}",
            )
        )
        self.uses_patterns = True
        return name

    def stage_pattern(self, cmd: n.Pattern, index: int) -> None:
        # @pattern, @ratio, @sampleCount and @severityLabel as the pattern page documents them;
        # the templates are incident_lib.analysis.signatures.signature() (docs/logs-insights.md).
        source = self.compile(cmd.source, Ctx())
        texts = self.pattern_texts(source, index, by_period=False)
        self.add_cte(
            "pattern",
            index,
            f'SELECT {_PATTERN_UDF}(__text) AS "@pattern", sum(__n) / '
            f'(SELECT sum(__n) FROM {texts}) AS "@ratio", CAST(sum(__n) AS BIGINT) AS '
            f'"@sampleCount", arg_max(__severity, __n) AS "@severityLabel" FROM {texts} '
            "GROUP BY 1",
        )
        self.set_columns(
            {"@pattern": "str", "@ratio": "num", "@sampleCount": "num", "@severityLabel": "str"}
        )
        self.after_aggregate(
            "pattern",
            list(self.columns),
            [],
            ['"@sampleCount" DESC', '"@pattern" ASC'],
        )

    def stage_diff(self, cmd: n.Diff, index: int) -> None:
        # Patterns of @message in the window against the period before it (base_ctes reads
        # both, tagged __period). Field names are this engine's (docs/logs-insights.md).
        texts = self.pattern_texts(C(quote("@message"), "str"), index, by_period=True)
        self.add_cte(
            "diff",
            index,
            f'SELECT {_PATTERN_UDF}(__text) AS "@pattern", '
            'arg_max(__severity, __n) AS "@severityLabel", '
            'CAST(coalesce(sum(__n) FILTER (WHERE __period = 0), 0) AS BIGINT) AS "@sampleCount", '
            "CAST(coalesce(sum(__n) FILTER (WHERE __period = 1), 0) AS BIGINT) "
            'AS "@previousSampleCount" '
            f"FROM {texts} GROUP BY 1",
        )
        self.add_cte(
            "diff_change",
            index,
            'SELECT *, "@sampleCount" - "@previousSampleCount" AS "@change" FROM ' + self.prev,
        )
        self.set_columns(
            {
                "@pattern": "str",
                "@severityLabel": "str",
                "@sampleCount": "num",
                "@previousSampleCount": "num",
                "@change": "num",
            }
        )
        self.after_aggregate(
            "diff",
            list(self.columns),
            [],
            ['"@change" DESC', '"@sampleCount" DESC', '"@pattern" ASC'],
        )

    def stage_fillmissing(self, cmd: n.FillMissing, index: int) -> None:
        previous = self.query.commands[index - 2] if index >= 2 else None
        if not isinstance(previous, n.Stats) or self.bin_group is None:
            raise self.fail("fillmissing must follow stats ... by bin(period)", cmd)
        bin_name, period = self.bin_group
        fills: dict[str, C] = {}
        for value, field in cmd.fills:
            if field.name not in self.columns:
                raise self.fail(
                    f"{field.name!r} is not an output of the stats before fillmissing "
                    f"({', '.join(self.columns)})",
                    field,
                )
            if field.name in self.group_columns:
                raise self.fail(
                    f"{field.name!r} is a group of the stats: it is never missing", field
                )
            fills[field.name] = self.compile(value, Ctx())
        step = period_interval(period)
        if self.start is not None and self.end is not None:
            lo = floor_ts(ts_literal(self.start), period)
            hi = floor_ts(ts_literal(self.end), period)
        else:
            lo = f"(SELECT min({quote(bin_name)}) FROM {self.prev})"
            hi = f"(SELECT max({quote(bin_name)}) FROM {self.prev})"
        keys = [g for g in self.group_columns if g != bin_name]
        key_source = (
            f"(SELECT DISTINCT {', '.join(quote(k) for k in keys)} FROM {self.prev})"
            if keys
            else "(SELECT 1 AS __one)"
        )
        on = [f"p.{quote(bin_name)} = g.__bin"]
        on += [f"p.{quote(k)} IS NOT DISTINCT FROM k.{quote(k)}" for k in keys]
        select: list[str] = []
        for name, kind in self.columns.items():
            if name == bin_name:
                select.append(f"g.__bin AS {quote(name)}")
            elif name in keys:
                select.append(f"k.{quote(name)} AS {quote(name)}")
            elif name in fills:
                fill = fills[name]
                value = fill.sql if kind != "num" else self.as_num(fill)
                if kind in ("str", "any") and fill.kind == "num":
                    value = self.as_str(fill)
                select.append(
                    f"CASE WHEN p.{quote(bin_name)} IS NULL THEN {value} "
                    f"ELSE p.{quote(name)} END AS {quote(name)}"
                )
            else:
                select.append(f"p.{quote(name)} AS {quote(name)}")
        self.add_cte(
            "fillmissing",
            index,
            # The series in naive UTC: month steps on a TIMESTAMPTZ follow the session's zone.
            f"SELECT {', '.join(select)} FROM (SELECT unnest(generate_series(({lo}) AT TIME "
            f"ZONE 'UTC', ({hi}) AT TIME ZONE 'UTC', {step})) AT TIME ZONE 'UTC' AS __bin) g "
            f"CROSS JOIN {key_source} k LEFT JOIN {self.prev} p ON " + " AND ".join(on),
        )
        self.bin_group = None

    def set_columns(self, columns: dict[str, str]) -> None:
        """The columns after an aggregate stage replace every earlier one."""
        self.columns = dict(columns)
        self.presence = {}
        self.replaced |= set(columns)

    def stage_sort(self, cmd: n.Sort, index: int) -> None:
        items: list[str] = []
        for key in cmd.keys:
            c = self.compile(key.expr, Ctx())
            items.extend(self.order_items(c, key.descending))
        self.order = items
        # The order is applied where it matters (limit, dedup, the final select): SQL does
        # not promise that an ORDER BY inside a CTE survives the stages after it.
        self.add_cte("sort", index, f"SELECT * FROM {self.prev}")

    def stage_limit(self, cmd: n.Limit, index: int) -> None:
        self.limited = True
        order = self.current_order()
        order_sql = f" ORDER BY {', '.join(order)}" if order else ""
        self.add_cte("limit", index, f"SELECT * FROM {self.prev}{order_sql} LIMIT {cmd.count}")

    def stage_dedup(self, cmd: n.Dedup, index: int) -> None:
        cols = [self.resolve(f.name, f, Ctx()).sql for f in cmd.fields]
        order = self.current_order()
        over = f"PARTITION BY {', '.join(cols)}"
        if order:
            over += f" ORDER BY {', '.join(order)}"
        # "Null values are not considered duplicates" (AWS CWL_QuerySyntax-Dedup): rows with a
        # null key stay.
        keep = " OR ".join([f"row_number() OVER ({over}) = 1", *(f"{c} IS NULL" for c in cols)])
        self.add_cte("dedup", index, f"SELECT * FROM {self.prev} QUALIFY {keep}")

    def final_select(self) -> str:
        if self.display is not None:
            names = list(self.display)
        elif self.shown:
            names = list(self.shown)
        else:
            names = ["@timestamp", "@message"]
        if self.event_level and "@ptr" not in names:
            names.append("@ptr")
        items: list[str] = []
        for name in names:
            if name in self.columns:
                c = C(quote(name), self.columns[name])
            else:
                c = self.resolve(name, n.Query((), start=0, end=0), Ctx())
            if c.kind == "json":
                # Maps and lists shown as their JSON text, scalars as their value.
                c = C(
                    f"CASE WHEN json_type({c.sql}) IN ('OBJECT', 'ARRAY') THEN "
                    f"CAST({c.sql} AS VARCHAR) ELSE json_extract_string({c.sql}, '$') END",
                    "str",
                )
            items.append(c.sql if c.sql == quote(name) else f"{c.sql} AS {quote(name)}")
        sql = f"SELECT {', '.join(items)} FROM {self.prev}"
        order = self.current_order()
        if order:
            sql += f" ORDER BY {', '.join(order)}"
        limit = self.limit
        if not self.limited:
            limit = min(DEFAULT_LIMIT, limit or DEFAULT_LIMIT)
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return sql

    # -- ordering ----------------------------------------------------------------------------
    def current_order(self) -> list[str]:
        if self.order is not None:
            return self.order
        if self.event_level:
            return ['"@timestamp" DESC NULLS LAST', '"@ptr" DESC NULLS LAST', *self.tiebreak]
        if self.implicit_order is not None:
            return self.implicit_order
        items: list[str] = []
        for name in self.group_columns:
            items.extend(self.order_items(C(quote(name), self.columns[name]), False))
        return items

    def order_items(self, c: C, descending: bool) -> list[str]:
        direction = "DESC" if descending else "ASC"
        if c.kind == "json":
            c = self.json_scalar(c)
        if c.kind in ("any", "str") and not c.literal:
            # AWS sort: all non-number values before all number values when ascending,
            # numbers compared as numbers; missing values last.
            num = f"TRY_CAST({c.sql} AS DOUBLE)"
            return [
                f"({c.sql} IS NULL) ASC",
                f"({num} IS NOT NULL) {direction}",
                f"{num} {direction}",
                f"{c.sql} {direction}",
            ]
        return [f"{c.sql} {direction} NULLS LAST"]

    # -- fields ------------------------------------------------------------------------------
    def resolve(self, name: str, node: n.Node, ctx: Ctx) -> C:
        if name in ctx.local:
            if ctx.aggregates:
                ctx.saw_aggregate = True
            return ctx.local[name]
        if name in self.columns:
            return C(quote(name), self.columns[name])
        path = self.json_path(name, ctx)
        if path is not None:
            return path
        if not self.event_level:
            raise self.fail(
                f"field {name!r} is not defined here: after {self.aggregate_stage} only its "
                f"output fields exist ({', '.join(self.columns)})",
                node,
            )
        kind = F.LAMBDA_FIELDS[name][1] if name in F.LAMBDA_FIELDS else "any"
        self.discovered[name] = kind
        self.columns[name] = kind
        return C(quote(name), kind)

    def json_path(self, name: str, ctx: Ctx) -> C | None:
        """``j.a.b`` where ``j`` is a jsonParse value (a column or an alias of this stage): the
        member ``a.b`` of it: dot notation on a map, as AWS documents it
        (CWL_QuerySyntax-operations-functions)."""
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            head = ".".join(parts[:cut])
            base = ctx.local.get(head)
            if base is None and head in self.columns:
                base = C(quote(head), self.columns[head])
            if base is not None and base.kind == "json":
                return C(json_member(base.sql, parts[cut:]), "json")
        return None

    # -- coercions ---------------------------------------------------------------------------
    @staticmethod
    def json_scalar(c: C) -> C:
        """A jsonParse value as text: "Maps and lists are treated as null for string, number,
        and datetime functions" (AWS CWL_QuerySyntax-operations-functions)."""
        return C(
            f"(CASE WHEN json_type({c.sql}) IN ('OBJECT', 'ARRAY') THEN NULL "
            f"ELSE json_extract_string({c.sql}, '$') END)",
            "any",
        )

    @classmethod
    def as_num(cls, c: C) -> str:
        if c.kind == "json":
            c = cls.json_scalar(c)
        if c.kind == "num":
            return c.sql
        if c.kind == "bool":
            return f"CAST({c.sql} AS INTEGER)"
        if c.kind == "ts":
            return f"epoch_ms({c.sql})"
        return f"TRY_CAST({c.sql} AS DOUBLE)"

    @classmethod
    def as_str(cls, c: C) -> str:
        if c.kind == "json":
            c = cls.json_scalar(c)
        if c.kind in ("str", "any"):
            return c.sql
        if c.kind == "ts":
            return f"strftime({c.sql}, '%Y-%m-%d %H:%M:%S.%g')"
        if c.kind == "bool":
            return f"CAST(CAST({c.sql} AS INTEGER) AS VARCHAR)"
        return f"CAST({c.sql} AS VARCHAR)"

    @classmethod
    def as_bool(cls, c: C) -> str:
        if c.kind == "json":
            c = cls.json_scalar(c)
        if c.kind == "bool":
            return c.sql
        if c.kind == "num":
            return f"(({c.sql}) <> 0)"
        if c.kind == "ts":
            return f"(({c.sql}) IS NOT NULL)"
        return f"coalesce(TRY_CAST({c.sql} AS BOOLEAN), TRY_CAST({c.sql} AS DOUBLE) <> 0)"

    def as_ts(self, c: C, node: n.Node) -> str:
        if c.kind == "ts":
            return c.sql
        if c.kind == "num":  # epoch milliseconds
            return f"make_timestamptz(CAST(({c.sql}) * 1000 AS BIGINT))"
        if c.kind in ("str", "any"):
            return f"TRY_CAST({c.sql} AS TIMESTAMPTZ)"
        if c.kind == "json":
            return f"TRY_CAST({self.as_str(c)} AS TIMESTAMPTZ)"
        raise self.fail("expected a timestamp", node)

    # -- expressions -------------------------------------------------------------------------
    def compile(self, node: n.Expr, ctx: Ctx) -> C:
        method = getattr(self, f"x_{type(node).__name__.lower()}")
        return method(node, ctx)

    def x_field(self, node: n.Field, ctx: Ctx) -> C:
        return self.resolve(node.name, node, ctx)

    def x_literal(self, node: n.Literal, ctx: Ctx) -> C:
        if isinstance(node.value, str):
            kind = "any" if _NUMERIC.match(node.value) else "str"
            return C(literal(node.value), kind, literal=True)
        return C(repr(node.value), "num", literal=True)

    def x_access(self, node: n.Access, ctx: Ctx) -> C:
        if isinstance(node.operand, n.Field) and isinstance(node.key, str):
            head = node.operand.name
            known = ctx.local.get(head) or (
                C(quote(head), self.columns[head]) if head in self.columns else None
            )
            if (known is None or known.kind != "json") and self.json_path(head, ctx) is None:
                # A discovered JSON field written with a backtick segment: a.`b-c` is a.b-c.
                if "." in node.key:
                    raise self.fail(
                        "a discovered field name part with a dot is not supported "
                        "(use jsonParse(@message) and j.`a.b`)",
                        node,
                    )
                return self.resolve(f"{head}.{node.key}", node, ctx)
        base = self.compile(node.operand, ctx)
        if base.kind != "json":
            raise self.fail(
                "only a jsonParse map or list has members and elements "
                "(fields jsonParse(x) as j | ... j.a[0])",
                node.operand,
            )
        return C(json_member(base.sql, [node.key]), "json")

    def x_regex(self, node: n.Regex, ctx: Ctx) -> C:
        raise self.fail("a /regex/ is only allowed after like, =~ or in parse", node)

    def x_duration(self, node: n.Duration, ctx: Ctx) -> C:
        raise self.fail("a time period is only allowed in bin(), datefloor() or dateceil()", node)

    def x_star(self, node: n.Star, ctx: Ctx) -> C:
        raise self.fail("'*' is only allowed in count(*)", node)

    def x_listexpr(self, node: n.ListExpr, ctx: Ctx) -> C:
        raise self.fail("a [list] is only allowed after in", node)

    def x_unary(self, node: n.Unary, ctx: Ctx) -> C:
        operand = self.compile(node.operand, ctx)
        if node.op == "not":
            return C(f"(NOT {self.as_bool(operand)})", "bool")
        return C(f"(-{self.as_num(operand)})", "num")

    def x_binary(self, node: n.Binary, ctx: Ctx) -> C:
        left = self.compile(node.left, ctx)
        right = self.compile(node.right, ctx)
        if node.op in ("and", "or"):
            return C(f"({self.as_bool(left)} {node.op.upper()} {self.as_bool(right)})", "bool")
        if node.op in _SQL_OPS:
            return C(self.comparison(node.op, left, right), "bool")
        a, b = self.as_num(left), self.as_num(right)
        if node.op == "^":
            return C(f"pow({a}, {b})", "num")
        return C(f"({a} {node.op} {b})", "num")

    def comparison(self, op: str, a: C, b: C) -> str:
        sql_op = _SQL_OPS[op]
        if a.kind == "json" or b.kind == "json":
            # A map or a list compares false with anything (its scalar text is null: the
            # row drops like any null comparison); JSON scalars compare by their value.
            a = self.json_scalar(a) if a.kind == "json" else a
            b = self.json_scalar(b) if b.kind == "json" else b
        lambda_type = self.lambda_type_test(op, a, b)
        if lambda_type is not None:
            return lambda_type
        if a.kind == b.kind and a.kind in ("num", "str", "ts", "bool"):
            return f"({a.sql} {sql_op} {b.sql})"
        if "ts" in (a.kind, b.kind):
            ts, other = (a, b) if a.kind == "ts" else (b, a)
            if other.kind in ("num", "bool"):
                x, y = (
                    (f"epoch_ms({a.sql})", self.as_num(b))
                    if a is ts
                    else (self.as_num(a), f"epoch_ms({b.sql})")
                )
                return f"({x} {sql_op} {y})"
            return f"({self.as_ts(a, n.Star())} {sql_op} {self.as_ts(b, n.Star())})"
        if {a.kind, b.kind} <= {"str", "any"} and "str" in (a.kind, b.kind):
            return f"({a.sql} {sql_op} {b.sql})"
        # Numeric when both sides read as numbers, else compare the text.
        na, nb = self.as_num(a), self.as_num(b)
        sa, sb = self.as_str(a), self.as_str(b)
        numeric = f"{na} {sql_op} {nb}"
        if op in ("=", "!="):
            # Past 2**53 doubles merge neighbouring integers (two Kinesis sequence numbers read
            # as one double): equality there compares the text.
            numeric = (
                f"CASE WHEN abs({na}) < {_EXACT_DOUBLE} AND abs({nb}) < {_EXACT_DOUBLE} "
                f"THEN {na} {sql_op} {nb} ELSE {sa} {sql_op} {sb} END"
            )
        return (
            f"(CASE WHEN {na} IS NOT NULL AND {nb} IS NOT NULL THEN {numeric}"
            f" ELSE {sa} {sql_op} {sb} END)"
        )

    def lambda_type_test(self, op: str, a: C, b: C) -> str | None:
        """``@type = "REPORT"`` as a prefix test on the message (what @type is derived from),
        so the filter needs no CASE per row. None when the shortcut does not apply."""
        # Only "=": for "!=" a missing @type is null (the row drops), not "different".
        if op != "=" or "@type" in self.replaced or not self.event_level:
            return None
        field, lit = (a, b) if b.literal else (b, a)
        if field.sql != quote("@type") or not lit.literal or not lit.sql.startswith("'"):
            return None
        value = lit.sql[1:-1]
        if value in ("START", "END", "REPORT"):
            test = f'starts_with("@message", {literal(value + " RequestId:")})'
        else:
            test = "false"
        return f"({test})"

    def x_like(self, node: n.Like, ctx: Ctx) -> C:
        operand = self.as_str(self.compile(node.operand, ctx))
        if isinstance(node.pattern, n.Regex):
            sql = f"regexp_matches({operand}, {literal(node.pattern.pattern)})"
        else:
            assert isinstance(node.pattern, n.Literal)
            sql = f"contains({operand}, {literal(str(node.pattern.value))})"
        return C(f"(NOT {sql})" if node.negated else sql, "bool")

    def x_in(self, node: n.In, ctx: Ctx) -> C:
        operand = self.compile(node.operand, ctx)
        items = [self.compile(item, ctx) for item in node.items.items]
        if not items:
            return C("false" if not node.negated else "true", "bool")
        if operand.kind in ("str", "any") and all(i.kind == "str" for i in items):
            sql = f"{operand.sql} IN ({', '.join(i.sql for i in items)})"
        else:
            sql = "(" + " OR ".join(self.comparison("=", operand, i) for i in items) + ")"
        return C(f"(NOT {sql})" if node.negated else sql, "bool")

    # -- functions ---------------------------------------------------------------------------
    def x_func(self, node: n.Func, ctx: Ctx) -> C:
        fn = FUNCTIONS[node.name]
        if fn.aggregate:
            if not ctx.aggregates:
                raise self.fail(f"{fn.name}() is an aggregate function: use it in stats", node)
            if ctx.in_aggregate:
                raise self.fail(f"{fn.name}() cannot be nested in another aggregate", node)
            ctx.saw_aggregate = True
            inner = dataclasses.replace(ctx, in_aggregate=True, aggregates=False)
            inner.local = {}
        else:
            inner = ctx
        special = getattr(self, f"f_{node.name}", None)
        if special is not None:
            result = special(node, inner)
            if fn.aggregate:
                ctx.saw_aggregate = True
            return result
        args = [self.compile(a, inner) for a in node.args]
        if fn.aggregate:
            ctx.saw_aggregate = True
        if fn.udf:
            self.uses_udfs = True
        template = fn.template
        if isinstance(template, dict):
            template = template[len(node.args)]
        assert template is not None
        sql = self.render(template, node, args)
        kind = fn.result
        if kind == "arg0":
            kind = args[0].kind
        elif kind == "common":
            kinds = {a.kind for a in args if a.sql != "NULL"}
            kind = kinds.pop() if len(kinds) == 1 else "any"
            if kind == "any" and len({a.kind for a in args}) > 1:
                sql = self.render(
                    template.replace("{*}", "{*:s}")
                    .replace("{1}", "{1:s}")
                    .replace("{2}", "{2:s}"),
                    node,
                    args,
                )
        return C(sql, kind)

    def render(self, template: str, node: n.Func, args: list[C]) -> str:
        coerce = {
            "n": self.as_num,
            "s": self.as_str,
            "b": self.as_bool,
            "t": lambda c: self.as_ts(c, node),
            "": lambda c: c.sql,
        }

        def one(match: re.Match[str]) -> str:
            index, spec = match.group(1), match.group(2) or ""
            if index == "*":
                return ", ".join(coerce[spec](a) for a in args)
            arg = args[int(index)]
            if spec == "re":
                source = node.args[int(index)]
                if isinstance(source, n.Regex):
                    return literal(source.pattern)
                if isinstance(source, n.Literal):
                    return literal(str(source.value))
                raise self.fail(f"{node.name}() needs a literal pattern", source)
            return coerce[spec](arg)

        return re.sub(r"\{(\d+|\*)(?::(\w+))?\}", one, template)

    def _args(self, node: n.Func, ctx: Ctx) -> list[C]:
        return [self.compile(a, ctx) for a in node.args]

    def f_ispresent(self, node: n.Func, ctx: Ctx) -> C:
        arg = node.args[0]
        if isinstance(arg, n.Field) and arg.name not in ctx.local and arg.name in self.presence:
            return C(quote(self.presence[arg.name]), "bool")
        return C(f"(({self.compile(arg, ctx).sql}) IS NOT NULL)", "bool")

    def f_count(self, node: n.Func, ctx: Ctx) -> C:
        if not node.args or isinstance(node.args[0], n.Star):
            return C("count(*)", "num")
        return C(f"count({self.compile(node.args[0], ctx).sql})", "num")

    def _minmax(self, node: n.Func, ctx: Ctx, fn: str) -> C:
        arg = self.compile(node.args[0], ctx)
        if arg.kind == "any":
            # Discovered values are text: take the numeric extreme when there are numbers.
            return C(
                f"coalesce(CAST({fn}(TRY_CAST({arg.sql} AS DOUBLE)) AS VARCHAR), {fn}({arg.sql}))",
                "any",
            )
        return C(f"{fn}({arg.sql})", arg.kind)

    def f_min(self, node: n.Func, ctx: Ctx) -> C:
        return self._minmax(node, ctx, "min")

    def f_max(self, node: n.Func, ctx: Ctx) -> C:
        return self._minmax(node, ctx, "max")

    def f_jsonstringify(self, node: n.Func, ctx: Ctx) -> C:
        arg = self.compile(node.args[0], ctx)
        if arg.kind == "json":
            return C(f"CAST({arg.sql} AS VARCHAR)", "str")
        return C(self.as_str(arg), "str")

    def _timestamp(self, node: n.Func) -> str:
        if "@timestamp" not in self.columns:
            raise self.fail(
                f"{node.name}() uses @timestamp, which is not defined here "
                "(after stats, carry it as e.g. max(@timestamp) as @timestamp)",
                node,
            )
        return quote("@timestamp")

    def f_earliest(self, node: n.Func, ctx: Ctx) -> C:
        arg = self.compile(node.args[0], ctx)
        return C(f"arg_min({arg.sql}, {self._timestamp(node)})", arg.kind)

    def f_latest(self, node: n.Func, ctx: Ctx) -> C:
        arg = self.compile(node.args[0], ctx)
        return C(f"arg_max({arg.sql}, {self._timestamp(node)})", arg.kind)

    def _period(self, node: n.Func, arg: n.Expr) -> n.Duration:
        if not isinstance(arg, n.Duration):
            raise self.fail(f"{node.name}() needs a time period such as 5m", arg)
        if arg.amount <= 0:
            raise self.fail("the time period must be positive", arg)
        return arg

    def f_bin(self, node: n.Func, ctx: Ctx) -> C:
        period = self._period(node, node.args[0])
        return C(floor_ts(self._timestamp(node), period), "ts")

    def f_datefloor(self, node: n.Func, ctx: Ctx) -> C:
        ts = self.as_ts(self.compile(node.args[0], ctx), node.args[0])
        return C(floor_ts(ts, self._period(node, node.args[1])), "ts")

    def f_dateceil(self, node: n.Func, ctx: Ctx) -> C:
        ts = self.as_ts(self.compile(node.args[0], ctx), node.args[0])
        return C(floor_ts(ts, self._period(node, node.args[1]), ceil=True), "ts")


def period_interval(period: n.Duration) -> str:
    """The SQL INTERVAL of a bin() period, with the AWS caps (as :func:`floor_ts`)."""
    amount = period.amount
    if period.unit in _CAPS:
        amount = min(amount, _CAPS[period.unit])
    if period.unit in _MONTHS:
        return f"INTERVAL '{int(amount * _MONTHS[period.unit])} months'"
    return f"INTERVAL '{max(1, int(amount * _MICROS[period.unit]))} microseconds'"


def floor_ts(ts: str, period: n.Duration, *, ceil: bool = False) -> str:
    """SQL rounding ``ts`` down (or up) to a multiple of ``period`` since the Unix epoch."""
    amount = period.amount
    if period.unit in _CAPS:
        amount = min(amount, _CAPS[period.unit])
    if period.unit in _MONTHS:
        months = int(amount * _MONTHS[period.unit])
        bucket = f"time_bucket(INTERVAL '{months} months', {ts}, 'UTC')"
        if ceil:
            return (
                f"(CASE WHEN {bucket} = {ts} THEN {bucket} "
                f"ELSE {bucket} + INTERVAL '{months} months' END)"
            )
        return bucket
    micros = max(1, int(amount * _MICROS[period.unit]))
    if ceil:
        return f"make_timestamptz(((epoch_us({ts}) + {micros - 1}) // {micros}) * {micros})"
    return f"make_timestamptz((epoch_us({ts}) // {micros}) * {micros})"


def json_member(sql: str, path: Sequence[str | int]) -> str:
    """SQL for a member (``str``) or element (``int``, 0-based) path of a JSON value."""
    pointer = F.json_pointer(".".join(str(p) for p in path)) if path else ""
    if any(isinstance(p, str) and "." in p for p in path):  # a member name with dots
        pointer = "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return f"json_extract({sql}, {literal(pointer)})"
