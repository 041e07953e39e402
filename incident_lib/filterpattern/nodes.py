"""Syntax tree of a CloudWatch Logs filter pattern.

A pattern is one of five kinds (:class:`MatchAll`, :class:`TermPattern`, :class:`RegexPattern`,
:class:`JsonPattern`, :class:`DelimitedPattern`). JSON and space-delimited patterns hold a
condition tree of :class:`And`, :class:`Or` and leaf tests on a :class:`Selector` (``$.a[0]``)
or a :class:`FieldRef` (a named field of the line). As in :mod:`incident_lib.insights.nodes`,
nodes are frozen dataclasses that declare their child fields in ``children``; ``start`` and
``end`` are offsets into the pattern text, used to point errors at the right place.
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
                yield from (item for item in value if isinstance(item, Node))

    def walk(self) -> Iterator[Node]:
        """This node and all its descendants, depth first."""
        yield self
        for child in self.iter_children():
            yield from child.walk()


# -- values ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Value(Node):
    """The right-hand side of a comparison."""


@dataclass(frozen=True)
class Text(Value):
    """A string, quoted or not. A ``*`` at its start or end is a wildcard (``*Event``,
    ``4*``, ``*.html*``); a ``*`` elsewhere is the character itself, as AWS documents
    ("``Ev*ent`` will only match the actual string ``Ev*ent``")."""

    text: str
    leading_star: bool = False
    trailing_star: bool = False


@dataclass(frozen=True)
class Number(Value):
    """A number: sign, decimals and exponent allowed (``+1000``, ``10e-3``, ``55.5``)."""

    value: float
    text: str


@dataclass(frozen=True)
class AnyValue(Value):
    """A lone ``*``: any string or number."""


@dataclass(frozen=True)
class Regex(Value):
    """A ``%regex%`` in AWS's restricted syntax; ``re2`` is the translated RE2 text."""

    source: str
    re2: str


# -- what a condition tests --------------------------------------------------------------------
@dataclass(frozen=True)
class Selector(Node):
    """A JSON property selector. ``segments`` are ``("key", name)``, ``("index", n)``,
    ``("any_key",)`` for ``.*`` and ``("any_index",)`` for ``[*]``."""

    segments: tuple[tuple[str, object] | tuple[str], ...]
    text: str

    @property
    def wildcard(self) -> bool:
        return any(seg[0] in ("any_key", "any_index") for seg in self.segments)


@dataclass(frozen=True)
class FieldRef(Node):
    """A named field of a space-delimited pattern, used in a condition (``status_code``)."""

    name: str


# -- conditions --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Expr(Node):
    """A condition."""


@dataclass(frozen=True)
class And(Expr):
    children = ("operands",)
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or(Expr):
    children = ("operands",)
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Compare(Expr):
    """``target op value`` with ``op`` one of ``= != < > <= >=``."""

    children = ("target", "value")
    target: Selector | FieldRef
    op: str
    value: Value


@dataclass(frozen=True)
class Is(Expr):
    """``$.x IS NULL`` / ``IS TRUE`` / ``IS FALSE``; ``literal`` is ``null``, ``true`` or
    ``false``."""

    children = ("target",)
    target: Selector
    literal: str


@dataclass(frozen=True)
class NotExists(Expr):
    """``$.x NOT EXISTS``."""

    children = ("target",)
    target: Selector


# -- patterns ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pattern(Node):
    """A whole filter pattern; ``text`` is the pattern as written."""

    text: str = field(default="", kw_only=True, compare=False)
    kind: ClassVar[str] = ""


@dataclass(frozen=True)
class MatchAll(Pattern):
    """The empty pattern (and ``" "``): every event."""

    kind = "all"


@dataclass(frozen=True)
class Term(Node):
    """One word or ``"quoted phrase"``, matched anywhere in the message, case-sensitive."""

    text: str
    quoted: bool = False

    @property
    def blank(self) -> bool:
        """An empty or all-blank phrase, which AWS documents as matching every event."""
        return not self.text.strip()


@dataclass(frozen=True)
class TermPattern(Pattern):
    """Unstructured terms: every ``required`` term, none of the ``excluded`` (``-term``) ones;
    ``optional`` (``?term``) terms are alternatives, one of which must appear. AWS ignores the
    ``?`` terms when the pattern has other terms too; :attr:`ignored_optional` says so."""

    kind = "terms"
    children = ("required", "excluded", "optional")
    required: tuple[Term, ...] = ()
    excluded: tuple[Term, ...] = ()
    optional: tuple[Term, ...] = ()

    @property
    def ignored_optional(self) -> bool:
        return bool(self.optional) and bool(self.required or self.excluded)


@dataclass(frozen=True)
class RegexPattern(Pattern):
    """A whole-pattern ``%regex%``, matched anywhere in the message."""

    kind = "regex"
    children = ("regex",)
    regex: Regex


@dataclass(frozen=True)
class JsonPattern(Pattern):
    """``{ condition }``: only events whose message is a JSON object can match."""

    kind = "json"
    children = ("condition",)
    condition: Expr


@dataclass(frozen=True)
class DelimitedField(Node):
    """One entry of a space-delimited pattern: a named or unnamed field, or ``...``
    (``ellipsis``). ``condition`` is the entry's test, if it has one."""

    children = ("condition",)
    name: str | None = None
    condition: Expr | None = None
    ellipsis: bool = False


@dataclass(frozen=True)
class DelimitedPattern(Pattern):
    """``[f1, f2 = x, ..., fn]``: the message split into fields on spaces, text between
    double quotes or square brackets being one field."""

    kind = "delimited"
    children = ("fields",)
    fields: tuple[DelimitedField, ...]

    @property
    def has_ellipsis(self) -> bool:
        return any(f.ellipsis for f in self.fields)
