"""The ``pattern`` and ``diff`` commands' templates: the project's error signatures, shown with
numbered dynamic tokens as CloudWatch shows them.

AWS clusters with a model of its own that is not published; this engine uses
:func:`incident_lib.analysis.signatures.signature` (the same templates the findings use), so a
pattern here is "the same message with its variable parts masked". Each masked part that the
signature marks as ``<KIND>`` is numbered by its position, like AWS's ``<string-number>``
tokens (``<NUM>`` -> ``<NUM-1>``); an untyped ``<*>`` becomes ``<Token-N>``, as AWS writes a
token whose type it cannot infer (AWS CWL_QuerySyntax-Pattern).

>>> number_tokens("took <NUM> ms from <IP> and <*>")
'took <NUM-1> ms from <IP-2> and <Token-3>'
"""

from __future__ import annotations

import re
from functools import lru_cache

import duckdb

UDF_NAME = "__cwli_pattern"

# The placeholders a signature writes: upper-case kinds (<NUM>, <IP>, <UUID>) or <*>.
_PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*|\*)>")


def number_tokens(template: str) -> str:
    """Number the dynamic tokens of ``template`` in order of appearance."""
    if "<" not in template:
        return template
    # split() with one group gives [text, kind, text, kind, ..., text].
    parts = _PLACEHOLDER.split(template)
    out = [parts[0]]
    for n, i in enumerate(range(1, len(parts), 2), start=1):
        kind = "Token" if parts[i] == "*" else parts[i]
        out.append(f"<{kind}-{n}>{parts[i + 1]}")
    return "".join(out)


@lru_cache(maxsize=65_536)
def pattern_of(text: str) -> str:
    """The pattern of one value: its signature with numbered tokens."""
    # Imported on first use: a query without pattern or diff need not load incident_lib.analysis.
    from incident_lib.analysis.signatures import signature

    return number_tokens(signature(text))


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Register :func:`pattern_of` on ``con`` as ``__cwli_pattern(VARCHAR) -> VARCHAR``."""
    have = con.execute(
        "SELECT function_name FROM duckdb_functions() WHERE function_name = ?", [UDF_NAME]
    ).fetchall()
    if have:
        return
    # Default null handling: a NULL text gives NULL without calling Python.
    con.create_function(UDF_NAME, pattern_of, ["VARCHAR"], "VARCHAR")
