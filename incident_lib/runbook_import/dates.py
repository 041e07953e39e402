"""``$(date ...)`` in its many spellings, read as a time relative to *now*.

Runbooks compute times with the shell: GNU ``date -d '1 hour ago' +%s`` (with ``000`` pasted
after it for milliseconds), ``date -u -d '30 minutes ago' +%Y-%m-%dT%H:%M:%S``, ``--iso-8601``
(a date only), BSD ``date -v-1H``, arithmetic such as ``$(($(date +%s) - 3600))``, or plain
``$(date)``. In a notebook *now* is the end of the investigation window, so each becomes an
offset from it: :func:`read_time` returns a :class:`TimeRef` (``offset`` zero is the window's
end; ``-1 h`` one hour before it).

>>> read_time("$(date -d '1 hour ago' +%s)000")
TimeRef(offset=Timedelta('-1 days +23:00:00'), unit='ms', note='')
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass

import pandas as pd

__all__ = ["TimeRef", "format_offset", "read_duration", "read_time", "strftime_of"]

_UNITS = {
    "s": "seconds",
    "sec": "seconds",
    "second": "seconds",
    "m": "minutes",
    "min": "minutes",
    "minute": "minutes",
    "h": "hours",
    "hr": "hours",
    "hour": "hours",
    "d": "days",
    "day": "days",
    "w": "weeks",
    "week": "weeks",
    "fortnight": "fortnights",
    "month": "months",
    "year": "years",
}
_BSD_UNITS = {"S": "seconds", "M": "minutes", "H": "hours", "d": "days", "w": "weeks"}
_BSD_UNITS_LONG = {"m": "months", "y": "years"}
_RELATIVE = re.compile(
    r"([+-]?\s*\d+)\s*(seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|fortnights?"
    r"|months?|years?)\b"
)
_SUBST = re.compile(r"^\$\((?!\()(.*)\)$", re.S)
_ARITH = re.compile(r"^\$\(\((.*)\)\)$", re.S)
_BACKTICK = re.compile(r"^`(.*)`$", re.S)
_DATE_SUB = re.compile(r"\$\((g?date\b[^()]*)\)|`(g?date\b[^`]*)`")


@dataclass(frozen=True)
class TimeRef:
    """A time as an offset from *now* (the window's end), and how the runbook wrote it:
    ``unit`` ``s`` (epoch seconds), ``ms`` (epoch milliseconds), ``iso`` (a timestamp), ``date``
    (a date only, midnight) or ``text`` (``$(date)``'s default format)."""

    offset: pd.Timedelta
    unit: str
    note: str = ""


def read_time(word: str) -> TimeRef | None:
    """The :class:`TimeRef` a word computes (``$(date ...)``, ``$(date ...)000``,
    ``$((...))`` over ``$(date +%s)``), or ``None`` when the word is not such a time."""
    word = word.strip()
    tail = ""
    m = re.match(r"^(.*\))(000)$", word, re.S)
    if m and (word.startswith("$(") or word.startswith("`")):
        word, tail = m.group(1), m.group(2)
    arith = _ARITH.match(word)
    if arith:
        return _arithmetic(arith.group(1))
    sub = _SUBST.match(word) or _BACKTICK.match(word)
    if not sub:
        return None
    ref = _date(sub.group(1).strip())
    if ref is None:
        return None
    if tail:
        if ref.unit != "s":
            return None
        return TimeRef(ref.offset, "ms", ref.note)
    return ref


def _date(command: str) -> TimeRef | None:
    """``date [options] [+FORMAT]`` as a :class:`TimeRef`."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words or words[0] not in ("date", "gdate"):
        return None
    offset = pd.Timedelta(0)
    unit = "text"
    note = ""
    k = 1
    while k < len(words):
        w = words[k]
        value: str | None = None
        if w in ("-d", "--date") and k + 1 < len(words):
            value = words[k + 1]
            k += 1
        elif w.startswith("--date="):
            value = w.split("=", 1)[1]
        elif w.startswith("-d") and len(w) > 2:
            value = w[2:]
        elif w.startswith("-v"):
            bsd = re.fullmatch(r"-v([+-]?)(\d+)([ymwdHMS])", w)
            if not bsd:
                return None
            sign = -1 if bsd.group(1) == "-" else 1
            amount = int(bsd.group(2)) * sign
            if bsd.group(3) in _BSD_UNITS:
                offset += pd.Timedelta(**{_BSD_UNITS[bsd.group(3)]: amount})
            else:
                offset += _calendar(amount, _BSD_UNITS_LONG[bsd.group(3)])
        elif w in ("--iso-8601", "-I") or w in ("--iso-8601=date", "-Idate"):
            unit = "date"
        elif w.startswith(("--iso-8601=", "-I", "--rfc-3339")):
            unit = "iso"
        elif w in ("-R", "--rfc-email", "--rfc-2822"):
            unit = "text"
        elif w.startswith("+"):
            unit = _format_unit(w[1:])
        elif w in ("-u", "--utc", "--universal", "-j"):
            pass
        elif w.startswith("-f") or w == "-r":
            return None  # reads a given time, not now
        else:
            return None
        if value is not None:
            rel = _relative(value)
            if rel is None:
                return None
            offset += rel
        k += 1
    return TimeRef(offset, unit, note)


def _format_unit(fmt: str) -> str:
    if fmt in ("%s", "%s%N"):
        return "s"
    if fmt in ("%s%3N", "%s000"):
        return "ms"
    if "%H" in fmt or "%T" in fmt or "%R" in fmt:
        return "iso"
    if "%d" in fmt or "%F" in fmt or "%D" in fmt:
        return "date"
    return "text"


def _relative(text: str) -> pd.Timedelta | None:
    """GNU ``date -d`` relative items: ``1 hour ago``, ``-30 minutes``, ``yesterday``,
    ``now - 2 hours``, ``7 days ago``."""
    t = text.strip().lower()
    t = re.sub(r"\b(utc|gmt|z)\b", "", t).strip()
    if t in ("", "now", "today"):
        return pd.Timedelta(0)
    total = pd.Timedelta(0)
    rest = t
    for word, days in (("yesterday", -1), ("tomorrow", 1)):
        if word in rest:
            total += pd.Timedelta(days=days)
            rest = rest.replace(word, "")
    found = False
    for number, unit in _RELATIVE.findall(rest):
        found = True
        amount = int(number.replace(" ", ""))
        name = _UNITS[unit.rstrip("s")] if unit.rstrip("s") in _UNITS else _UNITS[unit]
        total += _calendar(amount, name)
    rest = _RELATIVE.sub("", rest)
    rest = re.sub(r"\b(now|today)\b", "", rest)
    ago = "ago" in rest
    rest = rest.replace("ago", "").replace("-", "").replace("+", "").strip()
    if rest or not (found or total):
        return None
    return -total if ago else total


def _calendar(amount: int, unit: str) -> pd.Timedelta:
    if unit == "months":
        return pd.Timedelta(days=30 * amount)
    if unit == "years":
        return pd.Timedelta(days=365 * amount)
    if unit == "fortnights":
        return pd.Timedelta(weeks=2 * amount)
    return pd.Timedelta(**{unit: amount})


class _Linear:
    """``a * now_seconds + b`` under + - * // (enough for shell arithmetic on epochs)."""

    def __init__(self, a: float, b: float) -> None:
        self.a, self.b = a, b


def _arithmetic(expr: str) -> TimeRef | None:
    """``$(( $(date +%s) - 3600 ))``, ``$(( ($(date +%s) - 3600) * 1000 ))``."""
    names: dict[str, _Linear] = {}

    def place(m: re.Match[str]) -> str:
        ref = _date((m.group(1) or m.group(2)).strip())
        if ref is None or ref.unit not in ("s", "ms"):
            raise ValueError("not an epoch")
        scale = 1000.0 if ref.unit == "ms" else 1.0
        name = f"t{len(names)}"
        names[name] = _Linear(scale, ref.offset.total_seconds() * scale)
        return name

    try:
        text = _DATE_SUB.sub(place, expr)
        tree = ast.parse(text.strip(), mode="eval")
        value = _eval(tree.body, names)
    except (ValueError, SyntaxError, KeyError, ZeroDivisionError):
        return None
    if not isinstance(value, _Linear) or value.a not in (1.0, 1000.0):
        return None
    if value.a == 1.0:
        seconds = value.b
        note = ""
        # $(($(date +%s) - 3600000)): milliseconds subtracted from seconds. 3,600,000 s is
        # 41 days; the author meant an hour. Read it as meant, and say so.
        if abs(seconds) > 30 * 86400 and seconds % 1000 == 0:
            note = (
                f"the runbook subtracts {abs(seconds):.0f} from epoch seconds; read as "
                f"{abs(seconds) / 1000:.0f} s (milliseconds were meant)"
            )
            seconds /= 1000
        return TimeRef(pd.Timedelta(seconds=seconds), "s", note)
    return TimeRef(pd.Timedelta(milliseconds=value.b), "ms")


def _eval(node: ast.AST, names: dict[str, _Linear]) -> _Linear | float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = _eval(node.operand, names)
        return _Linear(-v.a, -v.b) if isinstance(v, _Linear) else -v
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, names), _eval(node.right, names)
        if isinstance(node.op, ast.Add | ast.Sub):
            sign = 1 if isinstance(node.op, ast.Add) else -1
            la, lb = (left.a, left.b) if isinstance(left, _Linear) else (0.0, left)
            ra, rb = (right.a, right.b) if isinstance(right, _Linear) else (0.0, right)
            a, b = la + sign * ra, lb + sign * rb
            return _Linear(a, b) if a else b
        if isinstance(node.op, ast.Mult):
            if isinstance(left, _Linear) and not isinstance(right, _Linear):
                return _Linear(left.a * right, left.b * right)
            if isinstance(right, _Linear) and not isinstance(left, _Linear):
                return _Linear(right.a * left, right.b * left)
            if not isinstance(left, _Linear) and not isinstance(right, _Linear):
                return left * right
        if isinstance(node.op, ast.Div | ast.FloorDiv) and not isinstance(right, _Linear):
            if isinstance(left, _Linear):
                return _Linear(left.a / right, left.b / right)
            return left / right
    raise ValueError("unsupported arithmetic")


def read_duration(text: str) -> pd.Timedelta | None:
    """``aws logs tail --since``: ``1h``, ``30m``, ``2d``, ``1w``, ``90s``."""
    m = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text or "")
    if not m:
        return None
    return pd.Timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def strftime_of(word: str) -> str | None:
    """The ``strftime`` format of ``$(date +FORMAT)`` (no offset): ``%Y-%m-%d``."""
    m = _SUBST.match(word.strip()) or _BACKTICK.match(word.strip())
    if not m:
        return None
    try:
        words = shlex.split(m.group(1))
    except ValueError:
        return None
    if not words or words[0] not in ("date", "gdate"):
        return None
    fmt = [w[1:] for w in words[1:] if w.startswith("+")]
    others = [w for w in words[1:] if not w.startswith("+") and w not in ("-u", "--utc")]
    if len(fmt) != 1 or others:
        return None
    return fmt[0]


def format_offset(offset: pd.Timedelta) -> str:
    """``pd.Timedelta(hours=2)`` for a positive length of time, in its largest whole unit."""
    seconds = int(abs(offset).total_seconds())
    for unit, size in (("weeks", 604800), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds and seconds % size == 0:
            return f"pd.Timedelta({unit}={seconds // size})"
    return f"pd.Timedelta(seconds={seconds})"


def describe(offset: pd.Timedelta) -> str:
    """``2 hours``, ``30 minutes``, ``7 days``."""
    seconds = int(abs(offset).total_seconds())
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"
