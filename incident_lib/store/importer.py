"""Import log events into a telemetry store (``incident store import-logs``).

Two input shapes are read:

* JSON lines, one FilterLogEvents event per line: ``timestamp`` (epoch ms), ``message``,
  ``logStreamName`` (or ``logStream``), optional ``ingestionTime`` (epoch ms) and ``eventId``;
  other keys are ignored;
* the JSON document ``aws logs filter-log-events`` prints: ``{"events": [...]}``, possibly with
  ``searchedLogStreams`` and ``nextToken``.

Every bad line (or event) is reported, with its number, in one :class:`BadInputError`, and
nothing is written: the store is only touched once the whole input has been read.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from incident_lib import limits
from incident_lib.errors import BadInputError, InputLimitError
from incident_lib.store.reader import Store, open_store
from incident_lib.store.writer import StoreWriter

__all__ = ["MAX_REPORTED_ERRORS", "import_logs", "read_log_events"]

log = logging.getLogger(__name__)

#: At most this many bad lines are listed in the error; the rest are counted.
MAX_REPORTED_ERRORS = 20

_COLUMNS = ["timestamp", "ingestion_time", "log_stream", "message", "event_id"]


def read_log_events(source: str | Path | TextIO) -> pd.DataFrame:
    """Read log events from a file, ``"-"`` (stdin) or an open text stream.

    Parameters
    ----------
    source
        Path of a JSON-lines file or of ``aws logs filter-log-events`` output, ``"-"`` for
        standard input, or a text stream.

    Returns
    -------
    pandas.DataFrame
        ``timestamp, ingestion_time`` (tz-aware UTC; a missing ingestion time is the event
        time), ``log_stream, message, event_id`` (missing when the input has none), in input
        order.

    Raises
    ------
    BadInputError
        Listing every bad line as ``line N: reason`` (``event N`` for the ``{"events": [...]}``
        shape), up to :data:`MAX_REPORTED_ERRORS`, or when the file cannot be read.

    >>> read_log_events(io.StringIO('{"timestamp": 1767225600000, "message": "hi", '
    ...                             '"logStreamName": "s"}\\n'))["message"].tolist()
    ['hi']
    """
    name, text = _read_text(source)
    records: list[dict[str, Any]] = []
    errors: list[str] = []
    document = _whole_document(text)
    if document is not None:
        events = document["events"]
        if not isinstance(events, list):
            raise BadInputError(f"{name}: 'events' must be a list")
        numbered: Iterable[tuple[str, Any]] = (
            (f"event {i}", ev) for i, ev in enumerate(events, start=1)
        )
    else:
        numbered = _json_lines(text, errors)
    for where, raw in numbered:
        record, problem = _event(raw)
        if problem:
            errors.append(f"{where}: {problem}")
        else:
            records.append(record)
    if errors:
        shown = errors[:MAX_REPORTED_ERRORS]
        more = len(errors) - len(shown)
        tail = f"\n  ... and {more} more" if more else ""
        raise BadInputError(
            f"{name}: {len(errors)} bad log event(s), nothing imported:\n  "
            + "\n  ".join(shown)
            + tail
        )
    frame = pd.DataFrame.from_records(records, columns=_COLUMNS)
    for col in ("timestamp", "ingestion_time"):
        frame[col] = pd.to_datetime(frame[col].astype("int64"), unit="ms", utc=True).astype(
            "datetime64[us, UTC]"
        )
    log.debug("read %d log events from %s", len(frame), name)
    return frame


def import_logs(store_path: str | Path, log_group: str, source: str | Path | TextIO) -> Store:
    """Add the events of ``source`` to the store at ``store_path`` under ``log_group``.

    A missing store is created; an existing one is rewritten with its tables plus the new
    events, atomically (:class:`StoreWriter` with ``base``). Nothing is written when the input
    has a bad line.

    Returns
    -------
    Store
        The store as it is on disk afterwards.

    >>> import_logs("store", "/aws/lambda/checkout", "events.jsonl")   # doctest: +SKIP
    """
    if not log_group:
        raise BadInputError("a log group name is required")
    events = read_log_events(source)
    missing = events["event_id"].isna()
    if missing.all():
        events = events.drop(columns="event_id")  # the writer numbers them
    elif missing.any():
        # Mixed input: give the events without an id a stable one derived from their content
        # and position, so re-reading the same file gives the same ids.
        events.loc[missing, "event_id"] = [
            hashlib.sha256(
                f"{log_group}\0{row.log_stream}\0{row.timestamp.value}\0{i}\0{row.message}".encode()
            ).hexdigest()[:32]
            for i, row in events[missing].iterrows()
        ]
    path = Path(store_path)
    base = open_store(path) if path.exists() else None
    with StoreWriter(path, base=base) as writer:
        count = writer.add_log_events(events, log_group=log_group)
    log.info("imported %d events into %s (%s)", count, path, log_group)
    return open_store(path)


# -- internals ---------------------------------------------------------------------------------


def _read_text(source: str | Path | TextIO) -> tuple[str, str]:
    if isinstance(source, io.TextIOBase) or hasattr(source, "read"):
        name, reader = getattr(source, "name", "<stream>"), source.read  # type: ignore[union-attr]
    elif str(source) == "-":
        name, reader = "<stdin>", sys.stdin.read
    else:
        path = Path(source)
        name, reader = str(path), lambda: path.read_text(encoding="utf-8")
    try:
        return name, reader()
    except UnicodeDecodeError as exc:
        raise BadInputError(
            f"cannot read {name}: not UTF-8 text (byte {exc.start}); binary input?"
        ) from None
    except OSError as exc:
        raise BadInputError(f"cannot read {name}: {exc.strerror or exc}") from None


def _whole_document(text: str) -> dict[str, Any] | None:
    """The ``{"events": [...]}`` document, or None when the text is JSON lines."""
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        return None
    try:
        doc = limits.load_json(stripped, what="input")
    except json.JSONDecodeError:
        return None  # JSON lines (several objects) or a broken line: read line by line
    except InputLimitError as exc:
        if "\n" in stripped.strip():
            return None  # several lines: each is checked on its own, with its number
        raise BadInputError(f"{exc}; nothing imported") from None
    return doc if isinstance(doc, dict) and "events" in doc else None


def _json_lines(text: str, errors: list[str]) -> Iterable[tuple[str, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(line) > limits.MAX_LOG_LINE_CHARS:
            errors.append(
                f"line {number}: {len(line):,} characters, longer than the "
                f"{limits.MAX_LOG_LINE_CHARS:,} a log event line may have"
            )
            continue
        try:
            yield f"line {number}", limits.load_json(line, what="event")
        except json.JSONDecodeError as exc:
            errors.append(f"line {number}: not JSON ({exc.msg} at column {exc.colno})")
        except InputLimitError as exc:
            errors.append(f"line {number}: {exc}")


_EARLIEST_MS = limits.EARLIEST.value // 1_000_000
_LATEST_MS = limits.LATEST.value // 1_000_000


def _clip(value: Any, size: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= size else text[: size - 3] + "..."


def _epoch_ms(value: Any) -> int | None:
    # bool is an int in Python; an event time is never true/false.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _event(raw: Any) -> tuple[dict[str, Any], str | None]:
    if not isinstance(raw, dict):
        return {}, f"expected a JSON object, found {type(raw).__name__}"
    problems = []
    ts = _epoch_ms(raw.get("timestamp"))
    if "timestamp" not in raw:
        problems.append("no 'timestamp'")
    elif ts is None:
        problems.append(f"'timestamp' must be epoch milliseconds, found {_clip(raw['timestamp'])}")
    elif not _EARLIEST_MS <= ts < _LATEST_MS:
        problems.append(f"'timestamp' {ts} is out of range (years 1970 to 2199)")
    message = raw.get("message")
    if not isinstance(message, str):
        problems.append("no 'message'" if "message" not in raw else "'message' must be a string")
    elif len(message) > limits.MAX_LOG_MESSAGE_CHARS:
        problems.append(
            f"'message' of {len(message):,} characters; CloudWatch Logs events are at most "
            f"{limits.MAX_LOG_MESSAGE_CHARS:,}"
        )
    stream = raw.get("logStreamName", raw.get("logStream"))
    if not isinstance(stream, str) or not stream:
        problems.append("no 'logStreamName' (or 'logStream')")
    ingestion = raw.get("ingestionTime")
    ingestion_ms = ts if ingestion is None else _epoch_ms(ingestion)
    if ingestion is not None and (
        ingestion_ms is None or not _EARLIEST_MS <= ingestion_ms < _LATEST_MS
    ):
        problems.append(f"'ingestionTime' must be epoch milliseconds, found {_clip(ingestion)}")
    event_id = raw.get("eventId")
    if event_id is not None and not isinstance(event_id, str):
        problems.append("'eventId' must be a string")
    if problems:
        return {}, "; ".join(problems)
    return {
        "timestamp": ts,
        "ingestion_time": ingestion_ms,
        "log_stream": stream,
        "message": message,
        "event_id": event_id,
    }, None
