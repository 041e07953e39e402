"""Parser: pattern text -> :class:`~incident_lib.filterpattern.nodes.Pattern`.

The first non-blank character picks the form, as AWS does: ``{`` a JSON pattern, ``[`` a
space-delimited one, a pattern that is one ``%...%`` a regex, anything else unstructured terms;
a blank pattern matches everything. JSON and space-delimited conditions share one
precedence-climbing expression parser (``()`` > ``&&`` > ``||``, AWS's documented order) and
differ only in their leaf: ``$.selector op value`` / ``IS`` / ``NOT EXISTS`` in JSON,
``name op value`` in a field.

Limits AWS documents are enforced here, so a pattern that AWS would refuse is refused locally
with the same reason: 1,024 characters; at most 2 regexes in a JSON or space-delimited pattern;
one wildcard per selector and 3 per pattern.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from incident_lib.filterpattern import nodes as n
from incident_lib.filterpattern.regex import check_count, translate
from incident_lib.filterpattern.tokens import T, Token, error, scan_terms, tokenize

log = logging.getLogger(__name__)

#: FilterLogEvents ``filterPattern``: "Length Constraints: Minimum length of 0. Maximum length
#: of 1024."
MAX_LENGTH = 1024
MAX_REGEXES = 2
MAX_WILDCARDS = 3

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMPARISONS = {T.EQ: "=", T.NEQ: "!=", T.LT: "<", T.LTE: "<=", T.GT: ">", T.GTE: ">="}


def parse(text: str) -> n.Pattern:
    """Parse a filter pattern.

    Raises
    ------
    FilterPatternError
        The pattern is malformed or breaks an AWS limit; the error marks the position.

    Examples
    --------
    >>> parse('ERROR -DEBUG').kind
    'terms'
    >>> parse('{ $.latency > 500 }').condition.op
    '>'
    """
    if len(text) > MAX_LENGTH:
        raise error(text, f"a filter pattern is at most {MAX_LENGTH} characters", MAX_LENGTH)
    stripped = text.strip()
    if not stripped:
        return n.MatchAll(text=text, start=0, end=len(text))
    first = len(text) - len(text.lstrip())
    if stripped[0] == "{":
        return Parser(text, first).parse_json()
    if stripped[0] == "[":
        return Parser(text, first).parse_delimited()
    if stripped[0] == "%" and len(stripped) > 1:
        return _parse_regex_pattern(text, first)
    return _parse_terms(text)


# -- unstructured ------------------------------------------------------------------------------
def _parse_terms(text: str) -> n.Pattern:
    required: list[n.Term] = []
    excluded: list[n.Term] = []
    optional: list[n.Term] = []
    for tok in scan_terms(text):
        term = n.Term(tok.text, tok.quoted, start=tok.start, end=tok.end)
        {"": required, "-": excluded, "?": optional}[tok.prefix].append(term)
    pattern = n.TermPattern(
        tuple(required),
        tuple(excluded),
        tuple(optional),
        text=text,
        start=0,
        end=len(text),
    )
    if pattern.ignored_optional:
        log.info(
            "filter pattern %r: the ?term alternatives are ignored because the pattern has "
            "other terms (AWS behaves the same)",
            text,
        )
    return pattern


def _parse_regex_pattern(text: str, first: int) -> n.Pattern:
    close = text.find("%", first + 1)
    if close == -1:
        raise error(text, "unterminated regex: a %regex% ends with '%'", first, len(text) - first)
    if text[close + 1 :].strip():
        rest = close + 1 + (len(text[close + 1 :]) - len(text[close + 1 :].lstrip()))
        raise error(
            text,
            "a %regex% must be the whole filter pattern (AWS does not combine it with terms)",
            rest,
            len(text.rstrip()) - rest,
        )
    regex = n.Regex(
        text[first + 1 : close],
        translate(text, first + 1, close),
        start=first,
        end=close + 1,
    )
    return n.RegexPattern(regex, text=text, start=0, end=len(text))


# -- JSON and space-delimited ------------------------------------------------------------------
class Parser:
    """Parse one JSON or space-delimited pattern. Use :func:`parse`."""

    def __init__(self, text: str, start: int) -> None:
        self.text = text
        self.tokens = tokenize(text, start)
        self.i = 0
        self.regexes: list[int] = []
        self.wildcards: list[int] = []

    # -- token helpers ---------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def describe(self, tok: Token) -> str:
        return "end of pattern" if tok.type is T.EOF else repr(tok.text)

    def fail(self, message: str, tok: Token | None = None):
        tok = tok or self.tok
        return error(self.text, message, tok.start, max(1, tok.end - tok.start))

    def expect(self, kind: T, what: str | None = None) -> Token:
        if self.tok.type is not kind:
            raise self.fail(f"expected {what or repr(kind.value)}, found {self.describe(self.tok)}")
        return self.advance()

    def is_word(self, *words: str) -> bool:
        return self.tok.type is T.WORD and self.tok.text.upper() in words

    def expect_end(self, closer: str) -> None:
        if self.tok.type is not T.EOF:
            raise self.fail(f"unexpected text after the closing {closer!r}")

    # -- JSON ------------------------------------------------------------------------------
    def parse_json(self) -> n.JsonPattern:
        """``{ condition }``."""
        self.expect(T.LBRACE)
        if self.tok.type is T.RBRACE:
            raise self.fail("empty JSON pattern: expected a condition such as $.level = ERROR")
        condition = self.parse_or(self.json_leaf)
        self.expect(T.RBRACE, "'}', '&&' or '||'")
        self.expect_end("}")
        self.check_limits()
        return n.JsonPattern(condition, text=self.text, start=0, end=len(self.text))

    def json_leaf(self) -> n.Expr:
        tok = self.tok
        if tok.type is not T.SELECTOR:
            found = self.describe(tok)
            raise self.fail(f"expected a property selector such as $.name, found {found}")
        self.advance()
        selector = self.selector(tok)
        if self.is_word("IS"):
            self.advance()
            if self.is_word("NOT"):
                raise self.fail("'IS NOT' is not supported by CloudWatch filter patterns")
            if not self.is_word("NULL", "TRUE", "FALSE"):
                found = self.describe(self.tok)
                raise self.fail(f"expected NULL, TRUE or FALSE after IS, found {found}")
            literal = self.advance().text.lower()
            return n.Is(selector, literal, start=tok.start, end=self.tokens[self.i - 1].end)
        if self.is_word("NOT"):
            self.advance()
            if not self.is_word("EXISTS"):
                raise self.fail(f"expected EXISTS after NOT, found {self.describe(self.tok)}")
            self.advance()
            return n.NotExists(selector, start=tok.start, end=self.tokens[self.i - 1].end)
        if self.is_word("EXISTS"):
            raise self.fail("'EXISTS' is not supported by CloudWatch filter patterns; use '= *'")
        return self.comparison(selector, tok)

    def selector(self, tok: Token) -> n.Selector:
        segments = tok.value
        assert isinstance(segments, tuple)
        wild = sum(1 for seg in segments if seg[0] in ("any_key", "any_index"))
        if wild > 1:
            raise self.fail("AWS allows one wildcard selector in a property selector", tok)
        if wild:
            self.wildcards.append(tok.start)
        return n.Selector(segments, tok.text, start=tok.start, end=tok.end)

    # -- space-delimited -------------------------------------------------------------------
    def parse_delimited(self) -> n.DelimitedPattern:
        """``[name, name = value, ..., name]``."""
        self.expect(T.LBRACKET)
        fields: list[n.DelimitedField] = []
        if self.tok.type is T.RBRACKET:
            raise self.fail("empty space-delimited pattern: name at least one field, or '...'")
        while True:
            fields.append(self.delimited_field())
            if self.tok.type is T.RBRACKET:
                break
            self.expect(T.COMMA, "',' or ']'")
        self.advance()
        self.expect_end("]")
        self.check_fields(fields)
        self.check_limits()
        return n.DelimitedPattern(tuple(fields), text=self.text, start=0, end=len(self.text))

    def delimited_field(self) -> n.DelimitedField:
        tok = self.tok
        if tok.type is T.ELLIPSIS:
            self.advance()
            return n.DelimitedField(ellipsis=True, start=tok.start, end=tok.end)
        if tok.type in (T.COMMA, T.RBRACKET):
            return n.DelimitedField(start=tok.start, end=tok.start)
        if tok.type is T.WORD and self.peek().type not in _COMPARISONS:
            self.advance()
            return n.DelimitedField(self.field_name(tok), start=tok.start, end=tok.end)
        refs: list[n.FieldRef] = []
        condition = self.parse_or(lambda: self.field_leaf(refs))
        return n.DelimitedField(
            refs[0].name, condition, start=tok.start, end=self.tokens[self.i - 1].end
        )

    def field_leaf(self, refs: list[n.FieldRef]) -> n.Expr:
        tok = self.tok
        if tok.type is not T.WORD:
            raise self.fail(f"expected a field name, found {self.describe(tok)}")
        self.advance()
        ref = n.FieldRef(self.field_name(tok), start=tok.start, end=tok.end)
        refs.append(ref)
        if self.tok.type not in _COMPARISONS:
            raise self.fail(
                f"expected a comparison (= != < > <= >=) after {tok.text!r}, found "
                f"{self.describe(self.tok)}"
            )
        return self.comparison(ref, tok)

    def field_name(self, tok: Token) -> str:
        if not _FIELD_NAME.fullmatch(tok.text):
            raise self.fail(
                f"{tok.text!r} is not a field name (letters, digits and '_', not starting "
                "with a digit)",
                tok,
            )
        return tok.text

    def check_fields(self, fields: list[n.DelimitedField]) -> None:
        ellipses = [f for f in fields if f.ellipsis]
        if len(ellipses) > 1:
            raise error(self.text, "only one '...' is allowed", ellipses[1].start, 3)
        declared: dict[str, int] = {}
        for f in fields:
            if f.name:
                declared[f.name] = declared.get(f.name, 0) + 1
        for f in fields:
            if f.condition is None:
                continue
            for node in f.condition.walk():
                if not isinstance(node, n.FieldRef):
                    continue
                if node.name not in declared:
                    raise error(
                        self.text,
                        f"the condition names field {node.name!r}, which the pattern does "
                        "not declare",
                        node.start,
                        node.end - node.start,
                    )
                if declared[node.name] > 1:
                    raise error(
                        self.text,
                        f"field {node.name!r} is declared more than once, so the condition "
                        "is ambiguous",
                        node.start,
                        node.end - node.start,
                    )

    # -- conditions (shared) ---------------------------------------------------------------
    def parse_or(self, leaf: Callable[[], n.Expr]) -> n.Expr:
        start = self.tok.start
        operands = [self.parse_and(leaf)]
        while self.tok.type is T.OR:
            self.advance()
            operands.append(self.parse_and(leaf))
        if len(operands) == 1:
            return operands[0]
        return n.Or(tuple(operands), start=start, end=self.tokens[self.i - 1].end)

    def parse_and(self, leaf: Callable[[], n.Expr]) -> n.Expr:
        start = self.tok.start
        operands = [self.parse_primary(leaf)]
        while self.tok.type is T.AND:
            self.advance()
            operands.append(self.parse_primary(leaf))
        if len(operands) == 1:
            return operands[0]
        return n.And(tuple(operands), start=start, end=self.tokens[self.i - 1].end)

    def parse_primary(self, leaf: Callable[[], n.Expr]) -> n.Expr:
        if self.tok.type is T.LPAREN:
            self.advance()
            inner = self.parse_or(leaf)
            self.expect(T.RPAREN, "')', '&&' or '||'")
            return inner
        return leaf()

    def comparison(self, target: n.Selector | n.FieldRef, first: Token) -> n.Compare:
        op_tok = self.tok
        if op_tok.type not in _COMPARISONS:
            raise self.fail(
                f"expected =, !=, <, >, <=, >=, IS or NOT EXISTS, found {self.describe(op_tok)}"
            )
        self.advance()
        op = _COMPARISONS[op_tok.type]
        value = self.value(op, op_tok)
        return n.Compare(target, op, value, start=first.start, end=value.end)

    def value(self, op: str, op_tok: Token) -> n.Value:
        tok = self.tok
        if tok.type is T.REGEX:
            if op not in ("=", "!="):
                raise self.fail(f"{op!r} needs a number, not a regex", tok)
            self.advance()
            assert isinstance(tok.value, str)
            self.regexes.append(tok.start)
            re2 = translate(self.text, tok.start + 1, tok.end - 1)
            return n.Regex(tok.value, re2, start=tok.start, end=tok.end)
        if tok.type not in (T.STRING, T.WORD):
            raise self.fail(f"expected a value after {op_tok.text!r}, found {self.describe(tok)}")
        self.advance()
        text = str(tok.value)
        if tok.type is T.WORD and _NUMBER.fullmatch(text):
            return n.Number(float(text), text, start=tok.start, end=tok.end)
        if op not in ("=", "!="):
            raise self.fail(f"{op!r} compares numbers; {tok.text} is not a number", tok)
        if text == "*":
            return n.AnyValue(start=tok.start, end=tok.end)
        leading = text.startswith("*")
        trailing = len(text) > 1 and text.endswith("*")
        body = text[1 if leading else 0 : len(text) - 1 if trailing else len(text)]
        return n.Text(body, leading, trailing, start=tok.start, end=tok.end)

    def check_limits(self) -> None:
        check_count(self.text, self.regexes, MAX_REGEXES)
        if len(self.wildcards) > MAX_WILDCARDS:
            raise error(
                self.text,
                f"AWS allows at most {MAX_WILDCARDS} wildcard selectors in a filter pattern",
                self.wildcards[MAX_WILDCARDS],
            )
