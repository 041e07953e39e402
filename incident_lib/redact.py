"""Mask secrets in untrusted text before it is stored or shown.

Log lines are written by whoever sent a request; they leak credentials more often than anyone
likes. Every string a report shows from logs passes through :func:`mask_secrets` first. The
patterns are hand-written because no maintained library covers AWS credential shapes with a
small, dependency-free API (detect-secrets scans files, not strings in a hot path).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

MASK = "****"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # AWS access key ids (long-term AKIA, temporary ASIA, and the other documented prefixes).
    (
        re.compile(r"\b((?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{4})[A-Z0-9]{12}\b"),
        r"\1" + MASK,
    ),
    # key=value / key: value secrets: password, secret, token, api key, session token ...
    (
        re.compile(
            r"(?i)((?:\"|')?\b(?:aws_secret_access_key|aws_session_token|secret(?:_?key)?|passw(?:or)?d|"
            r"pwd|api[_-]?key|access[_-]?token|refresh[_-]?token|token|client[_-]?secret)\b(?:\"|')?"
            r"\s*[:=]\s*(?:\"|')?)([^\s\"'&,;}]{3,})"
        ),
        r"\1" + MASK,
    ),
    # Authorization headers.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + MASK),
    # JSON Web Tokens.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b"), MASK),
    # Private key blocks.
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
        "-----PRIVATE KEY " + MASK + "-----",
    ),
]


def mask_secrets(text: str) -> str:
    """Return ``text`` with credentials replaced by ``****`` (an access key keeps its first
    eight characters so two leaks of the same key can still be told apart).

    >>> mask_secrets("key AKIAIOSFODNN7EXAMPLE password=hunter2")
    'key AKIAIOSF**** password=****'
    """
    if not text:
        return text
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def mask_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`mask_secrets` applied to every string cell."""
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_string_dtype(series) or series.dtype == object:
            out[col] = series.map(lambda v: mask_secrets(v) if isinstance(v, str) else v)
    return out


#: JSON keys whose values are secrets whatever they look like.
_SECRET_KEY = re.compile(r"(?i)(passw(or)?d|secret|token|api[_-]?key|private[_-]?key|credential)")


def mask_json(value: Any) -> Any:
    """``value`` (parsed JSON: dicts, lists, scalars) with every string masked by
    :func:`mask_secrets` and the value of every secret-named key (``password``, ``*Token``,
    ``SecretAccessKey``, ``apiKey`` ...) replaced by ``****``."""
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, dict):
        return {k: MASK if _secret_value(k, v) else mask_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_json(v) for v in value]
    return value


def _secret_value(key: Any, value: Any) -> bool:
    return (
        bool(_SECRET_KEY.search(str(key)))
        and value not in (None, "")
        and not isinstance(value, dict | list | bool)
    )
