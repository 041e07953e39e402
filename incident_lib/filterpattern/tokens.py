"""Tokenizers for the filter-pattern language.

The language is three small languages behind one text box, told apart by the first character:
unstructured terms (``ERROR -DEBUG``, ``?"timed out" ?ERROR``), JSON conditions (``{ ... }``)
and space-delimited fields (``[ ... ]``). :func:`scan_terms` reads the first; :func:`tokenize`
reads the other two, which share their condition syntax (``&&``, ``||``, comparisons, values).

Hand-written rather than built on a lexer library: the value tokens are context-free but loose
(``123.123.*``, ``*.html*``, ``-5``, ``/service/x`` are single unquoted values), and a
``%regex%`` may hold characters that are operators elsewhere (``[``, ``]``, ``|``, ``$``), so a
scanner that tries each form at the current offset is shorter than a grammar for a generator.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from incident_lib.errors import FilterPatternError


class T(enum.Enum):
    """Token types of the JSON and space-delimited forms."""

    LBRACE = "{"
    RBRACE = "}"
    LBRACKET = "["
    RBRACKET = "]"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    AND = "&&"
    OR = "||"
    EQ = "="
    NEQ = "!="
    LT = "<"
    LTE = "<="
    GT = ">"
    GTE = ">="
    ELLIPSIS = "..."
    SELECTOR = "property selector"
    STRING = "string"
    REGEX = "regex"
    WORD = "word"
    EOF = "end of pattern"


@dataclass(frozen=True)
class Token:
    """One token; ``start``/``end`` are offsets into the pattern. ``value`` is the unquoted
    text of a string, the body of a regex, the segments of a selector, or the text."""

    type: T
    text: str
    value: object
    start: int
    end: int


_OPERATORS = [
    ("...", T.ELLIPSIS), ("&&", T.AND), ("||", T.OR), ("!=", T.NEQ), ("<=", T.LTE),
    (">=", T.GTE), ("{", T.LBRACE), ("}", T.RBRACE), ("[", T.LBRACKET), ("]", T.RBRACKET),
    ("(", T.LPAREN), (")", T.RPAREN), (",", T.COMMA), ("=", T.EQ), ("<", T.LT), (">", T.GT),
]  # fmt: skip

# An unquoted value or name: anything up to white space or a character with a meaning.
_WORD = re.compile(r"""[^\s"(){}\[\],&|=!<>%$]+""")
# Property selector parts (AWS: "alphanumeric strings that support hyphen and underscore").
_KEY = re.compile(r"[A-Za-z0-9_-]+")


def error(text: str, message: str, offset: int, length: int = 1) -> FilterPatternError:
    """A :class:`FilterPatternError` pointing at ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    line_end = text.find("\n", offset)
    if line_end == -1:
        line_end = len(text)
    length = max(1, min(length, line_end - offset))
    return FilterPatternError(message, query=text, line=line, column=column, length=length)


# -- unstructured terms ------------------------------------------------------------------------
@dataclass(frozen=True)
class TermToken:
    """One term: ``prefix`` is ``""``, ``"?"`` or ``"-"``; ``text`` is the unquoted term."""

    prefix: str
    text: str
    quoted: bool
    start: int
    end: int


def scan_terms(text: str) -> list[TermToken]:
    """Split an unstructured pattern into terms.

    A term is a run of non-blank characters or a double-quoted phrase (``\\"`` and ``\\\\``
    escape a quote and a backslash), optionally preceded by ``?`` (an alternative) or ``-``
    (an exclusion); a blank may follow the prefix (AWS's own example reads ``"ERROR" -
    "Exiting"``).

    Raises
    ------
    FilterPatternError
        An unterminated phrase, a quote inside a word, a phrase run into the next word, a
        prefix with no term after it, or a ``%regex%`` that is not the whole pattern.
    """
    terms: list[TermToken] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        prefix = ""
        if text[i] in "?-":
            prefix = text[i]
            i += 1
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise error(text, f"expected a term after {prefix!r}", start)
        if text[i] == '"':
            end, value = scan_string(text, i, "phrase")
            if end < n and not text[end].isspace():
                raise error(text, "expected a space after the closing quote", end)
            terms.append(TermToken(prefix, value, True, start, end))
            i = end
            continue
        end = i
        while end < n and not text[end].isspace():
            if text[end] == '"':
                raise error(text, "a quote inside a term: put the whole term in double quotes", end)
            end += 1
        word = text[i:end]
        if word.startswith("%") and len(word) > 1:
            raise error(
                text,
                "a %regex% must be the whole filter pattern, or a value in a JSON or "
                "space-delimited pattern",
                i,
                end - i,
            )
        terms.append(TermToken(prefix, word, False, start, end))
        i = end
    return terms


def scan_string(text: str, start: int, what: str = "string") -> tuple[int, str]:
    """The double-quoted string at ``start``: (offset after the closing quote, its text)."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return i + 1, "".join(out)
        out.append(ch)
        i += 1
    raise error(text, f"unterminated {what}", start, len(text) - start)


# -- JSON and space-delimited forms ------------------------------------------------------------
def tokenize(text: str, start: int = 0) -> list[Token]:
    """Tokens of a JSON or space-delimited pattern, from ``start`` to the end of ``text``.

    Raises
    ------
    FilterPatternError
        On an unterminated string or regex, a malformed selector, or a character with no use
        here (``!`` alone, a single ``&`` or ``|``).
    """
    tokens: list[Token] = []
    i, n = start, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == '"':
            end, value = scan_string(text, i)
            tokens.append(Token(T.STRING, text[i:end], value, i, end))
            i = end
            continue
        if ch == "%":
            end = text.find("%", i + 1)
            if end == -1:
                raise error(text, "unterminated regex: a %regex% ends with '%'", i, n - i)
            tokens.append(Token(T.REGEX, text[i : end + 1], text[i + 1 : end], i, end + 1))
            i = end + 1
            continue
        if ch == "$":
            end, segments = _scan_selector(text, i)
            tokens.append(Token(T.SELECTOR, text[i:end], segments, i, end))
            i = end
            continue
        for op, kind in _OPERATORS:
            if text.startswith(op, i):
                tokens.append(Token(kind, op, op, i, i + len(op)))
                i += len(op)
                break
        else:
            m = _WORD.match(text, i)
            if not m:
                hint = {"!": "; '!=' means not equal", "&": "; use '&&'", "|": "; use '||'"}
                raise error(text, f"unexpected character {ch!r}{hint.get(ch, '')}", i)
            tokens.append(Token(T.WORD, m.group(0), m.group(0), i, m.end()))
            i = m.end()
    tokens.append(Token(T.EOF, "", None, n, n))
    return tokens


def _scan_selector(text: str, start: int) -> tuple[int, tuple[tuple, ...]]:
    """``$.a.b[0][*].*['x.y']`` -> segments (see :class:`~.nodes.Selector`)."""
    i = start + 1
    n = len(text)
    segments: list[tuple] = []
    while i < n:
        ch = text[i]
        if ch == ".":
            if text.startswith("[", i + 1):  # AWS writes $.['cluster.name']
                i += 1
                continue
            if text.startswith("*", i + 1):
                segments.append(("any_key",))
                i += 2
                continue
            m = _KEY.match(text, i + 1)
            if not m:
                raise error(
                    text,
                    "expected a property name after '.' (letters, digits, '-', '_'; "
                    "use ['name'] for other characters)",
                    i + 1,
                )
            segments.append(("key", m.group(0)))
            i = m.end()
            continue
        if ch == "[":
            close = text.find("]", i + 1)
            if close == -1:
                raise error(text, "expected ']'", i, n - i)
            inner = text[i + 1 : close].strip()
            if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
                segments.append(("key", inner[1:-1]))
            elif (inner == "*" or inner.isdigit()) and not segments:
                raise error(text, "an array index must follow a property ($.name[0])", i)
            elif inner == "*":
                segments.append(("any_index",))
            elif inner.isdigit():
                segments.append(("index", int(inner)))
            else:
                raise error(
                    text,
                    "expected an index, '*' or a quoted property name in brackets",
                    i + 1,
                    close - i - 1,
                )
            i = close + 1
            continue
        break
    if not segments:
        raise error(text, "expected a property after '$' ($.name)", start, i - start)
    return i, tuple(segments)
