"""Error signatures: log lines reduced to templates, compared between a baseline and the
incident window to tell new errors from old ones.

:func:`signature` is the template of one line on its own: structured error lines (Lambda's
``errorType``/``errorMessage``, Powertools' ``exception_name``/``message``) keyed by the error
type and the masked message, anything else masked by kind (:mod:`incident_lib.analysis.templates`).
:func:`signatures` does the same for many lines at once and also merges templates that differ
only in a variable word; :func:`compare_signatures` uses it on the union of both windows, so a
line gets the same signature whichever window it is in and whatever the order of the lines.

Why not drain3 (installed for the benchmark only): it learns templates online, so a line's
template depends on the lines that came before it and on a similarity threshold, where the
comparison needs keys that are stable and order-independent; it knows nothing of the
``errorType``/``errorMessage`` fields either. ``benchmarks/bench_signatures.py`` measures both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from incident_lib.analysis.templates import MAX_LINE_CHARS, TemplateMiner, mask
from incident_lib.findings import Evidence, Finding
from incident_lib.timeutil import ensure_utc

__all__ = [
    "MAX_LINE_CHARS",
    "TemplateMiner",
    "compare_signatures",
    "error_text",
    "mask",
    "signature",
    "signature_findings",
    "signatures",
]

# Lambda's text formats: Node.js and others "<iso ts>\t<requestId>\t<LEVEL>\t<text>", Python
# "[<LEVEL>]\t<iso ts>\t<requestId>\t<text>". Each part is a bounded character class: linear.
_LAMBDA_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}T[\d:.]{1,20}Z\t[^\t]{0,64}\t[A-Z]{1,10}\t")
_PYTHON_PREFIX = re.compile(r"\[[A-Z]{1,10}\]\t\d{4}-\d{2}-\d{2}T[\d:.]{1,20}Z\t[^\t]{0,64}\t")
_RUNTIME_LEVEL = re.compile(r"\[(?:ERROR|WARNING|WARN|CRITICAL|FATAL|INFO|DEBUG)\]\s{1,8}")
#: A Python traceback logged as one event: its first line says nothing of the error.
_TRACEBACK = "Traceback (most recent call last)"
#: The exception line of a traceback (``KeyError: 'x'``, ``pkg.mod.ValidationError: ...``).
_EXCEPTION_LINE = re.compile(
    r"[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Timeout|Fault)\b(?::|$)"
)
# JSON is parsed (linear, in C) only in lines up to this size; longer ones are read as text.
MAX_JSON_CHARS = 1 << 20
_TYPE_KEYS = ("errorType", "error_type", "exception_name", "exceptionName", "exception_type")
_MESSAGE_KEYS = ("errorMessage", "error_message")
_TEXT_KEYS = ("message", "msg", "Message")

STATUS_ORDER = {"new": 0, "surging": 1, "unknown": 2, "steady": 3, "gone": 4}


def _first_json(text: str) -> dict[str, Any] | None:
    start = text.find("{")
    if start < 0 or len(text) > MAX_JSON_CHARS:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
        return None
    return value if isinstance(value, dict) else None


def _last_line(text: str) -> str:
    """The last non-empty line of a traceback: ``KeyError: 'currency'``."""
    for line in reversed(text[-MAX_LINE_CHARS:].splitlines()):
        if line.strip():
            return line.strip()
    return ""


def _from_record(record: dict[str, Any]) -> str | None:
    """The error text of a structured record, or None when it has none."""
    inner = record.get("message")
    if isinstance(inner, dict):  # Lambda's JSON log format: the error object is the message
        record = {**record, **inner}
    etype = next((record[k] for k in _TYPE_KEYS if isinstance(record.get(k), str)), None)
    emsg = next((record[k] for k in _MESSAGE_KEYS if isinstance(record.get(k), str)), None)
    text = next((record[k] for k in _TEXT_KEYS if isinstance(record.get(k), str)), None)
    exception = record.get("exception")
    if isinstance(exception, str) and exception.strip():
        last = _last_line(exception)  # Powertools: the formatted traceback
        if etype is None and ":" in last:
            etype, _, rest = last.partition(":")
            emsg = emsg or rest.strip()
        elif etype is None:
            etype = last
    if etype:
        detail = emsg if emsg else text
        return f"{etype}: {detail}" if detail else str(etype)
    return text


def error_text(message: str) -> str:
    """The part of a log line that identifies its error, before masking.

    Lambda's text prefixes (``ts\\trequestId\\tLEVEL\\t`` and Python's
    ``[LEVEL]\\tts\\trequestId\\t``) are dropped. A JSON record (alone or after a prefix) gives
    ``"<error type>: <error message>"`` from Lambda's ``errorType``/``errorMessage`` (also
    inside a JSON-format ``message`` object), or Powertools' ``exception_name`` and ``message``
    (the type from the traceback's last line when only ``exception`` is there); a record with no
    error gives its ``message`` (or ``msg``). Anything else gives its first line, without a
    runtime ``[ERROR]`` level. A stack trace never enters the text.
    """
    text = message if isinstance(message, str) else str(message)
    first_char = text[:1]
    if (
        not (first_char.isdigit() or first_char in "[ \t")
        and "{" not in text
        and "\n" not in text
        and "\r" not in text
    ):
        return text  # a plain one-line message: the common case
    prefix = None
    if text[:1].isdigit():
        prefix = _LAMBDA_PREFIX.match(text, 0, 256)
    elif text[:1] == "[":
        prefix = _PYTHON_PREFIX.match(text, 0, 256)
    start = prefix.end() if prefix else 0
    brace = text.find("{", start, start + MAX_LINE_CHARS)
    if brace >= 0:
        record = _first_json(text[start:] if start else text)
        if record is not None:
            found = _from_record(record)
            if found is not None:
                return found
    start = (
        len(text) - len(text[start:].lstrip(" \t\r\n"))
        if start
        else len(text) - len(text.lstrip(" \t\r\n"))
    )
    end = len(text)
    for stop in ("\n", "\r"):
        at = text.find(stop, start, start + MAX_LINE_CHARS * 2)
        if 0 <= at < end:
            end = at
    first = text[start : min(end, start + MAX_LINE_CHARS * 2)]
    level = _RUNTIME_LEVEL.match(first) if first[:1] == "[" else None
    first = first[level.end() :] if level else first
    if first.startswith(_TRACEBACK):
        return _exception_line(text[end:]) or first
    return first


def _exception_line(frames: str) -> str | None:
    """The raised exception's line of a Python traceback's text after its first line: the
    last unindented line that names an exception (in a chain, the last one raised)."""
    found = None
    for line in frames[-MAX_LINE_CHARS * 8 :].splitlines():
        if line[:1] not in ("", " ", "\t") and _EXCEPTION_LINE.match(line):
            found = line.strip()
    return found


def signature(message: str) -> str:
    """The template of one log line or error message, on its own (see :func:`error_text` for
    what is read and :func:`mask` for what is masked).

    >>> signature('{"errorType": "KeyError", "errorMessage": "\\'currency\\'"}')
    "KeyError: 'currency'"
    >>> signature("TimeoutError: no reply after 3000 ms from 10.0.4.17")
    'TimeoutError: no reply after <NUM> ms from <IP>'
    """
    return mask(error_text(message))


def signatures(messages: Iterable[str], *, miner: TemplateMiner | None = None) -> list[str]:
    """The template of each of ``messages``, learnt from all of them together: like
    :func:`signature`, and templates that differ only in a variable word are merged. The result
    does not depend on the order of the messages.

    >>> names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    >>> signatures([f"copy of {name} to archive failed" for name in names])[0]
    'copy of <*> to archive failed'
    """
    miner = miner if miner is not None else TemplateMiner()
    special = _SPECIAL_FIRST
    # A plain one-line message is its own error text: tested in C, without a call per line.
    texts = [
        m
        if type(m) is str
        and m[:1] not in special
        and "{" not in m
        and "\n" not in m
        and "\r" not in m
        else error_text(m)
        for m in messages
    ]
    return miner.fit_transform(texts)


_SPECIAL_FIRST = frozenset("0123456789[ \t") | {""}


def compare_signatures(
    events: pd.DataFrame,
    *,
    incident_start: pd.Timestamp,
    baseline_end: pd.Timestamp,
    baseline_start: pd.Timestamp | None = None,
    incident_end: pd.Timestamp | None = None,
    message_column: str = "message",
    time_column: str = "timestamp",
    surge_ratio: float = 3.0,
    min_count: int = 3,
) -> pd.DataFrame:
    """Count each signature in a baseline and an incident window and classify it.

    Parameters
    ----------
    events
        One row per log line: ``timestamp`` (tz-aware) and ``message`` (column names are
        parameters); an ``event_id`` column, when present, is kept for the example line; a
        ``signature`` column, when present, is used as it is (not computed again). Without one,
        the signatures are learnt by :func:`signatures` from the lines of both windows
        together, so a line gets the same signature in either window.
    incident_start, incident_end
        The incident window (end default: the last event, inclusive).
    baseline_start, baseline_end
        The baseline window, ``[start, end)`` (start default: the first event).
    surge_ratio, min_count
        ``surging``: incident rate at least ``surge_ratio`` times the baseline rate, at least
        ``min_count`` incident lines, and more than the baseline rate allows by Poisson noise
        (3 standard deviations).

    Returns
    -------
    DataFrame
        One row per signature: ``signature, status (new|surging|steady|gone), baseline_count,
        baseline_rate, incident_count, incident_rate`` (rates per minute), ``first_seen,
        last_seen`` (in either window), ``example`` (first raw line in the incident window, else
        in the baseline) and ``example_id``; ordered new, surging, steady, gone, then by
        incident count.
    """
    columns = [
        "signature",
        "status",
        "baseline_count",
        "baseline_rate",
        "incident_count",
        "incident_rate",
        "first_seen",
        "last_seen",
        "example",
        "example_id",
    ]
    incident_start = ensure_utc(incident_start, name="incident_start")
    baseline_end = ensure_utc(baseline_end, name="baseline_end")
    if events.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    times = pd.to_datetime(events[time_column], utc=True)
    b_start = ensure_utc(baseline_start) if baseline_start is not None else times.min()
    i_end = ensure_utc(incident_end) if incident_end is not None else times.max()
    in_base = ((times >= b_start) & (times < baseline_end)).to_numpy()
    in_inc = ((times >= incident_start) & (times <= i_end)).to_numpy()
    keep = in_base | in_inc
    frame = pd.DataFrame(
        {
            "t": times.to_numpy()[keep],
            "message": events[message_column].to_numpy()[keep],
            "event_id": (
                events["event_id"].to_numpy()[keep]
                if "event_id" in events
                else pd.RangeIndex(len(events)).to_numpy()[keep]
            ),
            "window": ["incident" if i else "baseline" for i in in_inc[keep]],
        }
    )
    frame["signature"] = (
        events["signature"].to_numpy()[keep]
        if "signature" in events
        else signatures(frame["message"].astype(str))
    )
    base_minutes = max((baseline_end - b_start).total_seconds() / 60, 1e-9)
    inc_minutes = max((i_end - incident_start).total_seconds() / 60, 1.0)
    rows = []
    for sig, grp in frame.groupby("signature", sort=False):
        b = int((grp["window"] == "baseline").sum())
        i = int((grp["window"] == "incident").sum())
        b_rate, i_rate = b / base_minutes, i / inc_minutes
        expected = b_rate * inc_minutes
        if b == 0 and i > 0:
            status = "new"
        elif i == 0:
            status = "gone"
        elif i >= min_count and i_rate >= surge_ratio * b_rate and i > expected + 3 * expected**0.5:
            status = "surging"
        else:
            status = "steady"
        inc = grp[grp["window"] == "incident"]
        ex = inc.iloc[0] if not inc.empty else grp.iloc[0]
        rows.append(
            {
                "signature": sig,
                "status": status,
                "baseline_count": b,
                "baseline_rate": round(b_rate, 4),
                "incident_count": i,
                "incident_rate": round(i_rate, 4),
                "first_seen": grp["t"].min(),
                "last_seen": grp["t"].max(),
                "example": ex["message"],
                "example_id": ex["event_id"],
            }
        )
    table = pd.DataFrame(rows, columns=columns)
    table["_order"] = table["status"].map(STATUS_ORDER)
    table = table.sort_values(
        ["_order", "incident_count", "signature"], ascending=[True, False, True], kind="stable"
    )
    return table.drop(columns="_order").reset_index(drop=True)


def signature_findings(table: pd.DataFrame, *, min_count: int = 3) -> list[Finding]:
    """One finding per ``new`` or ``surging`` signature seen at least ``min_count`` times in the
    incident window, each citing its example log line and the comparison."""
    out: list[Finding] = []
    for _, row in table.iterrows():
        if row["status"] not in ("new", "surging") or row["incident_count"] < min_count:
            continue
        first = pd.Timestamp(row["first_seen"]).tz_convert("UTC")
        if row["status"] == "new":
            title = (
                f"New error: {row['signature']} ({row['incident_count']} times since "
                f"{first:%H:%M} UTC, never in the baseline)"
            )
            severity = "critical"
        else:
            title = (
                f"Surging error: {row['signature']} ({row['incident_rate']:.2f}/min against "
                f"{row['baseline_rate']:.2f}/min in the baseline)"
            )
            severity = "warning"
        out.append(
            Finding(
                kind="new_signature" if row["status"] == "new" else "surging_signature",
                title=title,
                detail=f"Example: {row['example']}",
                severity=severity,
                time=first.to_pydatetime(),
                evidence=(
                    Evidence(label="example log line", ref=f"log:{row['example_id']}"),
                    Evidence(label="signature comparison", ref="analysis:signatures"),
                ),
                data={
                    k: (v.isoformat() if isinstance(v, pd.Timestamp) else v)
                    for k, v in row.items()
                    if k != "example"
                },
            )
        )
    return out
