"""Syntax tree of a Logs Insights query.

Every node is a frozen dataclass that declares its child fields in ``children`` (as sqlglot's
expressions declare ``arg_types``), so a generic :meth:`Node.walk` can visit a tree without
knowing each node type. ``start``/``end`` are offsets into the query text, used to name
unaliased columns by their literal text (``count(*)``) and to point errors at the right place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class Node:
    """Base of every node."""

    children: ClassVar[tuple[str, ...]] = ()
    start: int = field(default=0, kw_only=True, compare=False)
    end: int = field(default=0, kw_only=True, compare=False)

    def iter_children(self) -> Iterator[Node]:
        """The direct child nodes, in declaration order."""
        for name in self.children:
            value = getattr(self, name)
            if isinstance(value, Node):
                yield value
            elif isinstance(value, tuple):
                for item in value:
                    if isinstance(item, Node):
                        yield item
                    elif isinstance(item, tuple):  # (expr, descending) pairs
                        yield from (x for x in item if isinstance(x, Node))

    def walk(self) -> Iterator[Node]:
        """This node and all its descendants, depth first."""
        yield self
        for child in self.iter_children():
            yield from child.walk()


# -- expressions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Expr(Node):
    """An expression."""


@dataclass(frozen=True)
class Field(Expr):
    """A field reference: ``@message``, ``status``, ``a.items.0.id``, `` `foo-bar` ``."""

    name: str


@dataclass(frozen=True)
class Literal(Expr):
    """A string or number literal."""

    value: str | int | float


@dataclass(frozen=True)
class Regex(Expr):
    """A ``/regex/`` literal (RE2 syntax)."""

    pattern: str


@dataclass(frozen=True)
class Duration(Expr):
    """A time period such as ``5m``; ``unit`` is canonical (``ms s m h d w mo q y``)."""

    amount: int | float
    unit: str


@dataclass(frozen=True)
class Star(Expr):
    """``*`` in ``count(*)``."""


@dataclass(frozen=True)
class ListExpr(Expr):
    """``[a, b, 1]``."""

    children: ClassVar[tuple[str, ...]] = ("items",)
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Unary(Expr):
    """``not x`` or ``-x``."""

    children: ClassVar[tuple[str, ...]] = ("operand",)
    op: str
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    """Arithmetic (``+ - * / % ^``), comparison (``= != < <= > >=``) or boolean (``and or``)."""

    children: ClassVar[tuple[str, ...]] = ("left", "right")
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Like(Expr):
    """``x like "text"``, ``x like /re/``, ``x =~ /re/``, with ``negated`` for ``not like``."""

    children: ClassVar[tuple[str, ...]] = ("operand", "pattern")
    operand: Expr
    pattern: Expr
    negated: bool = False


@dataclass(frozen=True)
class In(Expr):
    """``x in [a, b]`` / ``x not in [...]``."""

    children: ClassVar[tuple[str, ...]] = ("operand", "items")
    operand: Expr
    items: ListExpr
    negated: bool = False


@dataclass(frozen=True)
class Func(Expr):
    """A function call; ``name`` is lower-cased."""

    children: ClassVar[tuple[str, ...]] = ("args",)
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Access(Expr):
    """A member or element of a ``jsonParse`` map or list: ``j.users[1].action`` is
    ``Access(Access(Field("j.users"), 1), "action")`` (the dotted head stays one field name,
    split by the generator against the columns it knows)."""

    children: ClassVar[tuple[str, ...]] = ("operand",)
    operand: Expr
    key: str | int


@dataclass(frozen=True)
class Projection(Node):
    """An expression with its output name: the alias, or the expression's literal text."""

    children: ClassVar[tuple[str, ...]] = ("expr",)
    expr: Expr
    name: str
    aliased: bool = False


# -- commands ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Command(Node):
    """One pipe stage."""

    keyword: ClassVar[str] = ""


@dataclass(frozen=True)
class Fields(Command):
    keyword: ClassVar[str] = "fields"
    children: ClassVar[tuple[str, ...]] = ("projections",)
    projections: tuple[Projection, ...]


@dataclass(frozen=True)
class Display(Command):
    """``display a, b = 1 as c``: the output columns (the last display wins)."""

    keyword: ClassVar[str] = "display"
    children: ClassVar[tuple[str, ...]] = ("projections",)
    projections: tuple[Projection, ...]


@dataclass(frozen=True)
class Filter(Command):
    keyword: ClassVar[str] = "filter"
    children: ClassVar[tuple[str, ...]] = ("condition",)
    condition: Expr


@dataclass(frozen=True)
class Parse(Command):
    """``parse [field] "glob * pattern" as a, b`` or ``parse [field] /(?<a>re)/``.

    ``regex`` is the RE2 pattern the generator runs (a glob is already translated) and
    ``groups`` maps each output name to its capture-group number.
    """

    keyword: ClassVar[str] = "parse"
    children: ClassVar[tuple[str, ...]] = ("source",)
    source: Expr
    regex: str
    groups: tuple[tuple[str, int], ...]
    mode: str  # "glob" | "regex"


@dataclass(frozen=True)
class Stats(Command):
    keyword: ClassVar[str] = "stats"
    children: ClassVar[tuple[str, ...]] = ("aggregations", "groups")
    aggregations: tuple[Projection, ...]
    groups: tuple[Projection, ...]


@dataclass(frozen=True)
class SortKey(Node):
    children: ClassVar[tuple[str, ...]] = ("expr",)
    expr: Expr
    descending: bool


@dataclass(frozen=True)
class Sort(Command):
    keyword: ClassVar[str] = "sort"
    children: ClassVar[tuple[str, ...]] = ("keys",)
    keys: tuple[SortKey, ...]


@dataclass(frozen=True)
class Limit(Command):
    keyword: ClassVar[str] = "limit"
    count: int


@dataclass(frozen=True)
class Dedup(Command):
    keyword: ClassVar[str] = "dedup"
    children: ClassVar[tuple[str, ...]] = ("fields",)
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Source(Command):
    """``SOURCE logGroups(namePrefix: [...], names: [...], accountIdentifiers: [...],
    class: [...])``: which log groups the query reads (first command only)."""

    keyword: ClassVar[str] = "source"
    name_prefixes: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pattern(Command):
    """``pattern [expr]``: events clustered into templates (``@pattern``, ``@sampleCount``...)."""

    keyword: ClassVar[str] = "pattern"
    children: ClassVar[tuple[str, ...]] = ("source",)
    source: Expr


@dataclass(frozen=True)
class Diff(Command):
    """``diff [previousDay|previousWeek|previousMonth]``: patterns against an earlier period."""

    keyword: ClassVar[str] = "diff"
    period: str  # "previous" | "previousDay" | "previousWeek" | "previousMonth"


@dataclass(frozen=True)
class Unnest(Command):
    """``unnest expr into name``: one row per element of a list."""

    keyword: ClassVar[str] = "unnest"
    children: ClassVar[tuple[str, ...]] = ("operand",)
    operand: Expr
    name: str


@dataclass(frozen=True)
class FillMissing(Command):
    """``fillmissing [with value for field, ...]``: rows for empty bins after stats by bin()."""

    keyword: ClassVar[str] = "fillmissing"
    children: ClassVar[tuple[str, ...]] = ("fills",)
    fills: tuple[tuple[Literal, Field], ...] = ()


@dataclass(frozen=True)
class Query(Node):
    """A whole query: its commands in pipe order, plus the query text for error messages."""

    children: ClassVar[tuple[str, ...]] = ("commands",)
    commands: tuple[Command, ...]
    text: str = field(default="", compare=False)
