"""Python source for generated cells, written the way ``ruff format`` writes it.

The generated notebooks must pass ``ruff check`` and ``ruff format --check`` (line length 100)
without ruff being needed to import a runbook (ruff is a test tool here, not a dependency of
the product), so the few shapes the generator writes are laid out by ruff's rules: a call or
literal on one line when it fits; otherwise one item per line with a trailing comma (which
ruff keeps: the "magic trailing comma"); strings in double quotes unless that needs more
escapes; a string too long for its line split into implicitly concatenated parts. The tests
run ruff over every notebook generated from the seed runbooks.

>>> print(render(Call("case.aws", [Lit("lambda"), Lit("get")], [("FunctionName", Raw("fn"))]), 0))
case.aws("lambda", "get", FunctionName=fn)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "LINE_LENGTH",
    "Call",
    "Dict",
    "List",
    "Lit",
    "Node",
    "Raw",
    "fstring",
    "literal",
    "render",
]

LINE_LENGTH = 100


class Node:
    """Something that renders as a Python expression."""

    def flat(self) -> str:
        raise NotImplementedError

    def lines(self, indent: int, prefix: int, suffix: int) -> list[str]:
        """Rendered so that the first line starts after ``prefix`` characters (at ``indent``)
        and the last line is followed by ``suffix`` characters. Lines after the first carry
        their own indentation; the first does not."""
        return [self.flat()]


class Raw(Node):
    """Code written as it is: a name, an f-string, an expression."""

    def __init__(self, code: str) -> None:
        self.code = code

    def flat(self) -> str:
        return self.code

    def __repr__(self) -> str:
        return f"Raw({self.code!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Raw) and other.code == self.code

    def __hash__(self) -> int:
        return hash(self.code)


class Lit(Node):
    """A Python literal (str, int, float, bool, None, lists and dicts of them)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def flat(self) -> str:
        return literal(self.value)

    def parts(self, indent: int, prefix: int, suffix: int) -> list[str] | None:
        """A string too long for its line, as implicitly concatenated literals (each fits
        at ``indent``), or ``None`` when it fits or cannot be cut."""
        text = self.flat()
        if not isinstance(self.value, str) or indent + prefix + len(text) + suffix <= LINE_LENGTH:
            return None
        parts = _split_string(self.value, LINE_LENGTH - indent - 1)
        return [literal(p) for p in parts] if len(parts) > 1 else None

    def lines(self, indent: int, prefix: int, suffix: int) -> list[str]:
        parts = self.parts(indent + 4, 0, 0)
        if parts is None or indent + prefix + len(self.flat()) + suffix <= LINE_LENGTH:
            return [self.flat()]
        pad = " " * (indent + 4)
        return ["(", *(pad + p for p in parts), " " * indent + ")"]


class _Items(Node):
    """A bracketed, comma-separated construct: a call's arguments, a dict, a list."""

    head = ""
    open = "("
    close = ")"
    hugs = False

    def parts(self) -> list[tuple[str, Node]]:
        raise NotImplementedError

    def flat(self) -> str:
        inner = ", ".join(key + node.flat() for key, node in self.parts())
        return f"{self.head}{self.open}{inner}{self.close}"

    def lines(self, indent: int, prefix: int, suffix: int) -> list[str]:
        flat = self.flat()
        if indent + prefix + len(flat) + suffix <= LINE_LENGTH:
            return [flat]
        pad = " " * (indent + 4)
        if self.hugs:
            # A call's arguments on one line of their own when they fit there (ruff's
            # right-hand split); collections always go one item per line.
            inner = ", ".join(key + node.flat() for key, node in self.parts())
            if indent + 4 + len(inner) <= LINE_LENGTH:
                return [f"{self.head}{self.open}", pad + inner, " " * indent + self.close]
        out = [f"{self.head}{self.open}"]
        for key, node in self.parts():
            pieces = node.parts(indent + 4, len(key), 1) if isinstance(node, Lit) else None
            if pieces:
                # A long string argument: implicitly concatenated, no parentheses (as ruff).
                out.append(pad + key + pieces[0])
                out.extend(pad + p for p in pieces[1:])
                out[-1] += ","
                continue
            sub = node.lines(indent + 4, len(key), 1)
            sub[0] = pad + key + sub[0]
            sub[-1] += ","
            out.extend(sub)
        out.append(" " * indent + self.close)
        return out


class Call(_Items):
    """``func(args, key=value)``."""

    hugs = True

    def __init__(
        self,
        func: str,
        args: Sequence[Node] = (),
        kwargs: Sequence[tuple[str, Node]] = (),
    ) -> None:
        self.head = func
        self.args = list(args)
        self.kwargs = list(kwargs)

    def parts(self) -> list[tuple[str, Node]]:
        return [("", a) for a in self.args] + [(f"{k}=", v) for k, v in self.kwargs]


class Dict(_Items):
    """``{key: value, ...}`` (keys are literals)."""

    open, close = "{", "}"

    def __init__(self, entries: Sequence[tuple[Any, Node]]) -> None:
        self.entries = list(entries)

    def parts(self) -> list[tuple[str, Node]]:
        return [(f"{literal(k)}: ", v) for k, v in self.entries]


class List(_Items):
    """``[a, b]``."""

    open, close = "[", "]"

    def __init__(self, items: Sequence[Node]) -> None:
        self.items = list(items)

    def parts(self) -> list[tuple[str, Node]]:
        return [("", item) for item in self.items]


def render(node: Node, indent: int, prefix: str = "") -> str:
    """``prefix`` + ``node`` at ``indent`` spaces, laid out as ruff would."""
    lines = node.lines(indent, len(prefix), 0)
    lines[0] = " " * indent + prefix + lines[0]
    return "\n".join(lines)


def literal(value: Any) -> str:
    """A Python literal as ruff writes it (double quotes unless single quotes need fewer
    escapes)."""
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no literal for {type(value).__name__}")


def _string(text: str) -> str:
    quote = _quote(text)
    return f"{quote}{_escape(text, quote)}{quote}"


def _quote(text: str) -> str:
    return "'" if text.count('"') > text.count("'") else '"'


def _escape(text: str, quote: str) -> str:
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == quote:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def fstring(parts: Sequence[str | Raw]) -> Raw:
    """An f-string of literal text and ``{expression}`` parts (``Raw``); plain text alone is a
    plain string literal."""
    if all(isinstance(p, str) for p in parts):
        return Raw(literal("".join(p for p in parts if isinstance(p, str))))
    quote = _quote("".join(p for p in parts if isinstance(p, str)))
    body = "".join(
        "{" + p.code + "}"
        if isinstance(p, Raw)
        else _escape(p, quote).replace("{", "{{").replace("}", "}}")
        for p in parts
    )
    return Raw(f"f{quote}{body}{quote}")


def _split_string(text: str, width: int) -> list[str]:
    """Parts of ``text`` at most ``width`` characters (as literals), cut after spaces."""
    width = max(width, 20)
    parts: list[str] = []
    current = ""
    for word in _words_keeping_spaces(text):
        if current and len(literal(current + word)) > width:
            parts.append(current)
            current = word
        else:
            current += word
    if current:
        parts.append(current)
    return parts


def _words_keeping_spaces(text: str) -> list[str]:
    out: list[str] = []
    cur = ""
    for ch in text:
        cur += ch
        if ch == " ":
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out
