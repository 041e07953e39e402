"""Tokenizer for the Logs Insights query language.

Hand-written rather than built on a lexer library: the language has one context-sensitive
token, ``/``, which is a regex delimiter after ``like``, ``=~``, ``parse <field>`` or an
opening bracket and a division operator after an operand. A small scanner that remembers the
previous token decides that directly.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from incident_lib.errors import QueryError

#: Characters of a number literal; longer ones are an error (``int()`` of 4,300+ digits fails).
MAX_NUMBER_CHARS = 64


class T(enum.Enum):
    """Token types."""

    IDENT = "identifier"
    STRING = "string"
    REGEX = "regex"
    NUMBER = "number"
    DURATION = "time period"
    PIPE = "|"
    COMMA = ","
    LPAREN = "("
    RPAREN = ")"
    LBRACKET = "["
    RBRACKET = "]"
    PLUS = "+"
    MINUS = "-"
    STAR = "*"
    SLASH = "/"
    PERCENT = "%"
    CARET = "^"
    EQ = "="
    NEQ = "!="
    LT = "<"
    LTE = "<="
    GT = ">"
    GTE = ">="
    MATCH = "=~"
    COLON = ":"  # only in SOURCE logGroups(namePrefix: [...])
    DOT = "."  # only after "]" or before a backtick name: j.users[0].name, j.`user.id`
    EOF = "end of query"


@dataclass(frozen=True)
class Token:
    """One token. ``start``/``end`` are offsets into the query text; ``quoted`` marks a
    backtick identifier (never a keyword)."""

    type: T
    text: str
    value: object
    start: int
    end: int
    quoted: bool = False


_OPERATORS = [
    ("!=", T.NEQ), ("<=", T.LTE), (">=", T.GTE), ("=~", T.MATCH), ("==", T.EQ),
    ("|", T.PIPE), (",", T.COMMA), ("(", T.LPAREN), (")", T.RPAREN), ("[", T.LBRACKET),
    ("]", T.RBRACKET), ("+", T.PLUS), ("-", T.MINUS), ("*", T.STAR), ("%", T.PERCENT),
    ("^", T.CARET), (":", T.COLON), ("=", T.EQ), ("<", T.LT), (">", T.GT),
]  # fmt: skip

_IDENT = re.compile(r"[A-Za-z_@$][\w@$.]*")
_NUMBER = re.compile(r"(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)([A-Za-z]+)?")

# Time-period units (AWS CWL_QuerySyntax-operations-functions), aliases to a canonical unit.
UNITS: dict[str, str] = {}
for _canon, _names in {
    "ms": ("ms", "msec", "msecs", "millisecond", "milliseconds"),
    "s": ("s", "sec", "secs", "second", "seconds"),
    "m": ("m", "min", "mins", "minute", "minutes"),
    "h": ("h", "hr", "hrs", "hour", "hours"),
    "d": ("d", "day", "days"),
    "w": ("w", "week", "weeks"),
    "mo": ("mo", "mon", "mons", "month", "months"),
    "q": ("q", "qtr", "qtrs", "quarter", "quarters"),
    "y": ("y", "yr", "yrs", "year", "years"),
}.items():
    for _name in _names:
        UNITS[_name] = _canon

# After these words a ``/`` opens a regex literal.
_REGEX_AFTER_WORDS = {"like", "and", "or", "not", "in", "parse", "filter", "where"}
_OPERAND_END = {T.IDENT, T.NUMBER, T.DURATION, T.STRING, T.REGEX, T.RPAREN, T.RBRACKET}


def tokenize(query: str) -> list[Token]:
    """Split ``query`` into tokens, dropping whitespace and ``#`` comments.

    Raises
    ------
    QueryError
        On an unterminated string, regex or backtick name, or a character the language has
        no use for; the error carries line, column and the marked text.
    """
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "#":  # comment to the end of the line
            while i < n and query[i] != "\n":
                i += 1
            continue
        if ch in "\"'":
            end, value = _scan_quoted(query, i, ch, "string")
            tokens.append(Token(T.STRING, query[i:end], value, i, end))
            i = end
            continue
        if ch == "`":
            end, value = _scan_quoted(query, i, "`", "field name")
            tokens.append(Token(T.IDENT, query[i:end], value, i, end, quoted=True))
            i = end
            continue
        if ch == "/" and _regex_allowed(tokens):
            end, value = _scan_regex(query, i)
            tokens.append(Token(T.REGEX, query[i:end], value, i, end))
            i = end
            continue
        if ch == "/":
            tokens.append(Token(T.SLASH, "/", "/", i, i + 1))
            i += 1
            continue
        if (
            ch == "."
            and tokens
            and tokens[-1].type is T.RBRACKET
            and tokens[-1].end == i
            and i + 1 < n
            and (query[i + 1].isalpha() or query[i + 1] in "_@$`")
        ):
            tokens.append(Token(T.DOT, ".", ".", i, i + 1))
            i += 1
            continue
        if ch.isdigit() or (ch == "." and i + 1 < n and query[i + 1].isdigit()):
            m = _NUMBER.match(query, i) if ch.isdigit() else re.compile(r"\.\d+").match(query, i)
            assert m is not None
            end = m.end()
            number_text = m.group(1) if ch.isdigit() else m.group(0)
            unit = m.group(2) if ch.isdigit() else None
            if len(number_text) > MAX_NUMBER_CHARS:  # int() refuses 4,300+ digits, slowly
                raise error(query, f"number longer than {MAX_NUMBER_CHARS} characters", i, end - i)
            value: object = (
                float(number_text) if any(c in number_text for c in ".eE") else int(number_text)
            )
            if unit is not None:
                if unit.lower() not in UNITS:
                    raise error(query, f"unknown time unit {unit!r}", i, end - i)
                value = (value, UNITS[unit.lower()])
                tokens.append(Token(T.DURATION, query[i:end], value, i, end))
            else:
                tokens.append(Token(T.NUMBER, query[i:end], value, i, end))
            i = end
            continue
        m = _IDENT.match(query, i)
        if m:
            text = m.group(0)
            if text.endswith(".") and query.startswith("`", m.end()):
                # ``a.`b-c``: the dot before a backtick name is a member access.
                text = text[:-1]
                tokens.append(Token(T.IDENT, text, text, i, m.end() - 1))
                tokens.append(Token(T.DOT, ".", ".", m.end() - 1, m.end()))
            else:
                tokens.append(Token(T.IDENT, text, text, i, m.end()))
            i = m.end()
            continue
        for text, kind in _OPERATORS:
            if query.startswith(text, i):
                tokens.append(Token(kind, text, text, i, i + len(text)))
                i += len(text)
                break
        else:
            raise error(query, f"unexpected character {ch!r}", i, 1)
    tokens.append(Token(T.EOF, "", None, n, n))
    return tokens


def _regex_allowed(tokens: list[Token]) -> bool:
    if not tokens:
        return True
    prev = tokens[-1]
    if prev.type is T.IDENT and not prev.quoted and prev.text.lower() in _REGEX_AFTER_WORDS:
        return True
    # ``parse <field> /regex/``: the field follows the ``parse`` keyword at a stage start.
    if (
        prev.type is T.IDENT
        and len(tokens) >= 2
        and tokens[-2].type is T.IDENT
        and tokens[-2].text.lower() == "parse"
        and (len(tokens) == 2 or tokens[-3].type is T.PIPE)
    ):
        return True
    return prev.type not in _OPERAND_END


def _scan_quoted(query: str, start: int, quote: str, what: str) -> tuple[int, str]:
    out: list[str] = []
    i = start + 1
    while i < len(query):
        ch = query[i]
        if ch == "\\" and i + 1 < len(query) and quote != "`":
            nxt = query[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
            i += 2
            continue
        if ch == quote:
            return i + 1, "".join(out)
        out.append(ch)
        i += 1
    raise error(query, f"unterminated {what}", start, len(query) - start)


def _scan_regex(query: str, start: int) -> tuple[int, str]:
    i = start + 1
    while i < len(query):
        ch = query[i]
        if ch == "\\" and i + 1 < len(query):
            i += 2
            continue
        if ch == "/":
            # ``\/`` inside a regex literal is an escaped slash: keep the regex text as RE2 wants.
            return i + 1, query[start + 1 : i].replace("\\/", "/")
        if ch == "\n":
            break
        i += 1
    raise error(query, "unterminated regex", start, max(1, i - start))


def position(query: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset`` in ``query``."""
    line = query.count("\n", 0, offset) + 1
    column = offset - (query.rfind("\n", 0, offset) + 1) + 1
    return line, column


def error(query: str, message: str, offset: int, length: int = 1, *, cls=QueryError) -> QueryError:
    """A :class:`QueryError` (or ``cls``) pointing at ``offset`` in ``query``."""
    line, column = position(query, offset)
    line_end = query.find("\n", offset)
    if line_end == -1:
        line_end = len(query)
    length = max(1, min(length, line_end - offset))
    return cls(message, query=query, line=line, column=column, length=length)
