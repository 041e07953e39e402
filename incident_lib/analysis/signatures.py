"""Error signatures: log lines reduced to templates, compared between a baseline and the
incident window to tell new errors from old ones.

Why regular expressions and not drain3 (installed): drain3 learns templates online, so the
template a line gets depends on which lines came before it and on a similarity threshold. A
baseline window and an incident window clustered separately (or in another order) can give the
same error two different templates, and the comparison needs keys that are stable and
order-independent. Masking ids, numbers and data values gives exactly that, and it reads the
structured ``errorType``/``errorMessage`` fields that drain3 knows nothing about.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd

from incident_lib.findings import Evidence, Finding
from incident_lib.timeutil import ensure_utc

# Lambda text format: "<iso ts>\t<requestId>\t<LEVEL>\t<text>"
_LAMBDA_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}T[\d:.]+Z\t(?P<rid>[^\t]*)\t(?P<level>[A-Z]+)\t")
_RUNTIME_ERROR = re.compile(r"^\[(?P<level>ERROR|WARNING|WARN|CRITICAL)\]\s+")
_MASKS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
        ),
        "<UUID>",
    ),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), "<KEY>"),
    (
        re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"),
        "<TIME>",
    ),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"), "<IP>"),
    (
        re.compile(
            r"\b(?:0x)?[0-9a-fA-F]*\d[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b"
            r"|\b(?:0x)?[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\d[0-9a-fA-F]*\b"
        ),
        "<HEX>",
    ),
    (re.compile(r"(?<![\w<])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w>])"), "<NUM>"),
]
# A quoted value is data (masked) unless it is a bare identifier such as a key name:
# "KeyError: 'currency'" keeps its key, "user 'bob@x.com' not found" does not keep the address.
_QUOTED = re.compile(r"'([^'\n]{0,200})'|\"([^\"\n]{0,200})\"")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z_.\-]{0,63}$")
_SPACES = re.compile(r"\s+")

STATUS_ORDER = {"new": 0, "surging": 1, "steady": 2, "gone": 3}


def _mask_quoted(match: re.Match[str]) -> str:
    inner = match.group(1) if match.group(1) is not None else match.group(2)
    quote = match.group(0)[0]
    return match.group(0) if _IDENTIFIER.match(inner) else f"{quote}<STR>{quote}"


def mask(text: str) -> str:
    """Replace the variable parts of ``text`` by placeholders: ``<UUID>``, ``<KEY>`` (access
    key ids), ``<TIME>``, ``<IP>``, ``<HEX>`` (tokens mixing hex letters and digits), ``<NUM>``,
    and quoted values that are not bare identifiers (``'<STR>'``); collapse whitespace."""
    out = _QUOTED.sub(_mask_quoted, text)
    for pattern, token in _MASKS:
        out = pattern.sub(token, out)
    return _SPACES.sub(" ", out).strip()


def _first_json(text: str) -> dict[str, Any] | None:
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def signature(message: str) -> str:
    """The template of one log line or error message.

    Structured lines (JSON, alone or after Lambda's ``ts\\trequestId\\tLEVEL\\t`` prefix) with
    ``errorType`` give ``"<errorType>: <masked errorMessage>"``; other JSON lines give their
    masked ``message`` (or ``msg``). Python runtime lines (``[ERROR] KeyError: 'x'\\nTraceback
    ...``) give their first line without the level. Anything else is masked as a whole (first
    line only).

    >>> signature('{"errorType": "KeyError", "errorMessage": "\\'currency\\'"}')
    "KeyError: 'currency'"
    >>> signature("TimeoutError: no reply after 3000 ms from 10.0.4.17")
    'TimeoutError: no reply after <NUM> ms from <IP>'
    """
    text = str(message)
    prefix = _LAMBDA_PREFIX.match(text)
    body = text[prefix.end() :] if prefix else text
    record = _first_json(body) if "{" in body else None
    if record is not None:
        etype = record.get("errorType") or record.get("error_type") or record.get("exception")
        emsg = record.get("errorMessage") or record.get("error_message")
        if etype:
            return mask(f"{etype}: {emsg}" if emsg else str(etype))
        for key in ("message", "msg", "Message"):
            if isinstance(record.get(key), str):
                return mask(record[key])
    first = body.strip().splitlines()[0] if body.strip() else ""
    first = _RUNTIME_ERROR.sub("", first.split("\r", 1)[0])
    return mask(first)


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
        ``signature`` column, when present, is used as it is (not computed again).
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
        else [signature(m) for m in frame["message"]]
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
