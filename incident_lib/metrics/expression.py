"""Metric math expressions: tokenizer and Pratt parser (facts §2.5).

Written by hand because no library parses CloudWatch metric math: it is not SQL, PromQL or a
Python expression (``^`` is power, functions are uppercase, ``REPEAT``/``LINEAR`` are bare
keywords, ``METRICS('x')`` takes a string). The grammar is small enough that a Pratt parser is
shorter and gives better errors than a generated one.

Supported: numbers, query ids, ``+ - * / ^`` (``^`` right-associative, above unary minus),
parentheses, and calls of :data:`SUPPORTED_FUNCTIONS`. Every other CloudWatch function
(:data:`KNOWN_FUNCTIONS`), comparison and logical operators raise :class:`MetricQueryError`
naming what is not supported; bad syntax raises it with the position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from incident_lib.errors import MetricQueryError

__all__ = [
    "KNOWN_FUNCTIONS",
    "SUPPORTED_FUNCTIONS",
    "BinOp",
    "Call",
    "Keyword",
    "Neg",
    "Node",
    "Num",
    "Ref",
    "Str",
    "parse_expression",
]

SUPPORTED_FUNCTIONS = frozenset(
    {"ABS", "AVG", "DIFF", "FILL", "MAX", "METRICS", "MIN", "RATE", "SUM"}
)
# Every function of the metric math reference (facts §2.5): named in the error when used.
KNOWN_FUNCTIONS = SUPPORTED_FUNCTIONS | frozenset(
    {
        "ANOMALY_DETECTION_BAND",
        "CEIL",
        "DATAPOINT_COUNT",
        "DATE",
        "DAY",
        "DIFF_TIME",
        "EPOCH",
        "FIRST",
        "FLOOR",
        "HOUR",
        "IF",
        "INSIGHT_RULE_METRIC",
        "LAST",
        "LOG",
        "LOG10",
        "METRIC_COUNT",
        "MINUTE",
        "MONTH",
        "PERIOD",
        "REMOVE_EMPTY",
        "RUNNING_SUM",
        "SEARCH",
        "SERVICE_QUOTA",
        "SLICE",
        "SORT",
        "STDDEV",
        "TIME_SERIES",
        "YEAR",
    }
)

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<cmp>==|!=|<=|>=|&&|\|\||<|>)
  | (?P<op>[-+*/^])
  | (?P<lp>\()
  | (?P<rp>\))
  | (?P<comma>,)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # num | name | str | op | lp | rp | comma | end
    text: str
    pos: int  # 0-based offset in the expression


class Node:
    """Base of the syntax tree."""


@dataclass(frozen=True)
class Num(Node):
    value: float


@dataclass(frozen=True)
class Str(Node):
    value: str


@dataclass(frozen=True)
class Ref(Node):
    """A reference to another query's id."""

    id: str


@dataclass(frozen=True)
class Keyword(Node):
    """A bare uppercase word used as an argument (``REPEAT``, ``LINEAR``)."""

    name: str


@dataclass(frozen=True)
class Neg(Node):
    operand: Node


@dataclass(frozen=True)
class BinOp(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


# Binding powers: (left, right). ``^`` is right-associative and binds tighter than unary minus,
# so ``-2^2`` is ``-(2^2)``, as in most calculators.
_INFIX = {"+": (10, 11), "-": (10, 11), "*": (20, 21), "/": (20, 21), "^": (41, 40)}
_PREFIX_NEG = 30


def tokenize(text: str, *, query_id: str | None = None) -> list[Token]:
    """Split ``text`` into tokens; an unknown character or unsupported operator is an error."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise MetricQueryError(
                f"unexpected character {text[pos]!r} at position {pos + 1} in {text!r}",
                query_id=query_id,
            )
        kind = match.lastgroup or ""
        if kind == "cmp":
            raise MetricQueryError(
                f"operator {match.group()!r} (comparison/logical) is not supported by the "
                "local engine",
                query_id=query_id,
            )
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, query_id: str | None) -> None:
        self.text = text
        self.query_id = query_id
        self.tokens = tokenize(text, query_id=query_id)
        self.i = 0

    def error(self, message: str, token: Token) -> MetricQueryError:
        where = "at the end" if token.kind == "end" else f"at position {token.pos + 1}"
        return MetricQueryError(f"{message} {where} in {self.text!r}", query_id=self.query_id)

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, kind: str, what: str) -> Token:
        if self.peek.kind != kind:
            raise self.error(f"expected {what}, found {self.peek.text or 'nothing'!r}", self.peek)
        return self.advance()

    def parse(self) -> Node:
        if self.peek.kind == "end":
            raise self.error("empty expression", self.peek)
        node = self.expression(0)
        if self.peek.kind != "end":
            raise self.error(f"unexpected {self.peek.text!r}", self.peek)
        return node

    def expression(self, min_bp: int) -> Node:
        left = self.prefix()
        while True:
            token = self.peek
            if token.kind == "name" and token.text.upper() in ("AND", "OR"):
                raise MetricQueryError(
                    f"operator {token.text!r} (logical) is not supported by the local engine",
                    query_id=self.query_id,
                )
            if token.kind != "op":
                if token.kind in ("num", "name", "str", "lp"):
                    raise self.error(f"expected an operator before {token.text!r}", token)
                return left
            lbp, rbp = _INFIX[token.text]
            if lbp < min_bp:
                return left
            self.advance()
            left = BinOp(token.text, left, self.expression(rbp))

    def prefix(self) -> Node:
        token = self.advance()
        if token.kind == "num":
            return Num(float(token.text))
        if token.kind == "str":
            return Str(token.text[1:-1])
        if token.kind == "op" and token.text in "+-":
            operand = self.expression(_PREFIX_NEG)
            return Neg(operand) if token.text == "-" else operand
        if token.kind == "lp":
            node = self.expression(0)
            self.expect("rp", "')'")
            return node
        if token.kind == "name":
            if self.peek.kind == "lp":
                return self.call(token)
            if token.text[0].islower():
                return Ref(token.text)
            return Keyword(token.text)
        raise self.error(f"expected a value, found {token.text or 'nothing'!r}", token)

    def call(self, name: Token) -> Node:
        fn = name.text
        if fn not in SUPPORTED_FUNCTIONS:
            if fn in KNOWN_FUNCTIONS:
                raise MetricQueryError(
                    f"function {fn} is not supported by the local engine (supported: "
                    f"{', '.join(sorted(SUPPORTED_FUNCTIONS))})",
                    query_id=self.query_id,
                )
            hint = " (functions are uppercase)" if fn.upper() in KNOWN_FUNCTIONS else ""
            raise self.error(f"unknown function {fn!r}{hint}", name)
        self.expect("lp", "'('")
        args: list[Node] = []
        if self.peek.kind != "rp":
            while True:
                args.append(self.expression(0))
                if self.peek.kind != "comma":
                    break
                self.advance()
        self.expect("rp", "')' or ','")
        return Call(fn, tuple(args))


def parse_expression(text: str, *, query_id: str | None = None) -> Node:
    """Parse a metric math expression into a syntax tree.

    Parameters
    ----------
    text
        The ``Expression`` of a ``MetricDataQuery``.
    query_id
        The query's id, put at the front of any error message.

    Raises
    ------
    MetricQueryError
        Bad syntax (with the position), an unsupported function or operator (named).

    >>> parse_expression("100 * e / m")
    BinOp(op='/', left=BinOp(op='*', left=Num(value=100.0), right=Ref(id='e')), right=Ref(id='m'))
    """
    return _Parser(text, query_id).parse()


def references(node: Node) -> set[str]:
    """The query ids an expression refers to directly."""
    if isinstance(node, Ref):
        return {node.id}
    if isinstance(node, Neg):
        return references(node.operand)
    if isinstance(node, BinOp):
        return references(node.left) | references(node.right)
    if isinstance(node, Call):
        out: set[str] = set()
        for arg in node.args:
            out |= references(arg)
        return out
    return set()
