"""AWS's restricted regex syntax (``%...%``) checked and translated to RE2 for DuckDB.

AWS documents which characters a filter-pattern regex may hold
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html,
"Supported regular expressions (regex) syntax"): letters and digits; the symbols
``: _ # = @ / ; , -``; the operators ``^ $ ? [ ] { } | \\ * + .``; escapes ``\\d \\D \\s \\S
\\w \\W \\xhh``. No parentheses, no multi-byte characters. A pattern using anything else is
rejected here as AWS rejects it, with the offending character marked.

Everything allowed has the same meaning in RE2 (DuckDB's regex engine) except the repetition
braces, which AWS lets one write as ``{m, n}`` or ``{,n}``: those become ``{m,n}`` and
``{0,n}``. The result is then compiled with Python's ``re`` as a syntax check: for this subset
(no groups, no look-around, no flags) the two engines accept the same texts.
"""

from __future__ import annotations

import re
import string

from incident_lib.errors import FilterPatternError
from incident_lib.filterpattern.tokens import error

_SYMBOLS = set(":_#=@/;,- ")  # the documented symbols, plus the space AWS's examples use
_OPERATORS = set("^$?[]{}|\\*+.")
_ALNUM = set(string.ascii_letters + string.digits)
_ALLOWED = _ALNUM | _SYMBOLS | _OPERATORS
_CLASS_ESCAPES = set("dDsSwW")
_QUANTIFIER = re.compile(r"\{\s*(\d*)\s*(?:(,)\s*(\d*)\s*)?\}")
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")


def translate(pattern: str, start: int, end: int) -> str:
    """RE2 text for the regex body ``pattern[start:end]`` (between the ``%`` signs).

    Raises
    ------
    FilterPatternError
        A character or escape AWS does not allow, an unterminated ``[``, a ``{`` that is not a
        repetition, an empty regex, or a regex RE2 would not compile.
    """
    body = pattern[start:end]
    if not body:
        raise error(pattern, "empty regex", max(0, start - 1), 2)
    out: list[str] = []
    i = start
    class_start: int | None = None
    class_body = 0
    while i < end:
        ch = pattern[i]
        if ord(ch) > 127:
            raise error(pattern, "multi-byte characters are not supported in a regex", i)
        if ch not in _ALLOWED:
            if ch in "()":
                raise error(
                    pattern,
                    "parentheses are not supported in a filter-pattern regex "
                    "(match them with \\x28 and \\x29)",
                    i,
                )
            raise error(
                pattern,
                f"{ch!r} is not supported in a filter-pattern regex "
                f"(match it with \\x{ord(ch):02X})",
                i,
            )
        if ch == "\\":
            if i + 1 >= end:
                raise error(pattern, "a regex cannot end with '\\'", i)
            nxt = pattern[i + 1]
            if nxt == "x":
                if not _HEX2.fullmatch(pattern, i + 2, min(i + 4, end)):
                    raise error(pattern, "\\x needs two hexadecimal digits", i, 2)
                out.append(pattern[i : i + 4])
                i += 4
                continue
            if nxt in _CLASS_ESCAPES or (nxt in _ALLOWED and nxt not in _ALNUM):
                out.append(pattern[i : i + 2])
                i += 2
                continue
            raise error(
                pattern,
                f"unsupported escape '\\{nxt}' (supported: \\d \\D \\s \\S \\w \\W \\xhh, "
                "and \\ before an operator)",
                i,
                2,
            )
        if class_start is not None:
            if ch == "]" and i > class_body:  # a ']' first in the class is the character
                class_start = None
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            class_start = i
            class_body = i + 1 + (1 if pattern.startswith("^", i + 1) else 0)
            out.append(ch)
            i += 1
            continue
        if ch == "{":
            m = _QUANTIFIER.match(pattern, i, end)
            if not m or not (m.group(1) or m.group(3)):
                raise error(
                    pattern,
                    "'{' starts a repetition {m,n}; to match '{' write \\{",
                    i,
                )
            low, comma, high = m.group(1), m.group(2), m.group(3)
            if comma:
                out.append(f"{{{low or 0},{high}}}")
            else:
                out.append(f"{{{low}}}")
            i = m.end()
            continue
        out.append(ch)
        i += 1
    if class_start is not None:
        raise error(pattern, "unterminated character class '['", class_start, end - class_start)
    re2 = "".join(out)
    try:
        re.compile(re2)
    except re.error as exc:
        raise error(pattern, f"invalid regex: {exc.msg}", start, end - start) from None
    return re2


def check_count(pattern: str, offsets: list[int], limit: int = 2) -> None:
    """AWS: "a limit of 2 regex for each filter pattern when creating a delimited or JSON
    filter pattern ... when filtering log events"."""
    if len(offsets) > limit:
        raise error(
            pattern,
            f"AWS allows at most {limit} regexes in a JSON or space-delimited pattern",
            offsets[limit],
        )


__all__ = ["FilterPatternError", "check_count", "translate"]
