"""Lambda log lines in the exact shapes the Lambda runtime writes (facts §4.5).

Plain-text log format: platform lines (``INIT_START``, ``START``, ``END``, ``REPORT``) and
application lines ``<iso ts>\\t<requestId>\\t<LEVEL>\\t<text>``, where the text here is a JSON
object so Logs Insights discovers its fields.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from incident_lib.scenarios.ids import hex_id


def log_group_name(function_name: str) -> str:
    """``/aws/lambda/<function>``."""
    return f"/aws/lambda/{function_name}"


def log_stream_name(day: pd.Timestamp, version: str, rng: np.random.Generator) -> str:
    """A log stream of one execution environment: ``2026/11/18/[42]<32 hex>``.

    ``version`` is the function version the environment runs (``$LATEST`` or a number), as
    Lambda writes it.
    """
    return f"{day:%Y/%m/%d}/[{version}]{hex_id(rng, 32)}"


def iso_ms(ts: pd.Timestamp) -> str:
    """``2026-11-18T13:48:30.123Z``, the timestamp of an application line."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def init_start_line(runtime: str, runtime_arn_hash: str, region: str) -> str:
    """``INIT_START`` of a cold start."""
    return (
        f"INIT_START Runtime Version: {runtime}\tRuntime Version ARN: "
        f"arn:aws:lambda:{region}::runtime:{runtime_arn_hash}\n"
    )


def start_line(request_id: str, version: str) -> str:
    """``START RequestId: <id> Version: <version>``."""
    return f"START RequestId: {request_id} Version: {version}\n"


def end_line(request_id: str) -> str:
    """``END RequestId: <id>``."""
    return f"END RequestId: {request_id}\n"


def billed_duration(duration_ms: float) -> int:
    """Billed duration: the duration rounded up to the next millisecond (1 ms billing)."""
    return max(1, math.ceil(duration_ms))


def report_line(
    request_id: str,
    duration_ms: float,
    *,
    memory_mb: int,
    max_memory_mb: int,
    init_ms: float | None = None,
) -> str:
    """The ``REPORT`` line, tab-separated with a trailing tab, ``Init Duration`` on cold starts.

    >>> report_line("r1", 12.341, memory_mb=512, max_memory_mb=87)
    'REPORT RequestId: r1\\tDuration: 12.34 ms\\tBilled Duration: 13 ms\\tMemory Size: 512 MB\\tMax Memory Used: 87 MB\\t\\n'
    """  # noqa: E501 - the doctest shows one whole line
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_duration(duration_ms)} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_mb} MB",
    ]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    return "\t".join(parts) + "\t\n"


def app_line(ts: pd.Timestamp | str, request_id: str, level: str, payload: dict[str, Any]) -> str:
    """An application line: ``<iso ts>\\t<requestId>\\t<LEVEL>\\t{json}`` (``ts`` a Timestamp
    or an already formatted :func:`iso_ms` string)."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    stamp = ts if isinstance(ts, str) else iso_ms(ts)
    return f"{stamp}\t{request_id}\t{level}\t{body}\n"


def iso_ms_many(epoch_ms: np.ndarray) -> list[str]:
    """:func:`iso_ms` for an array of epoch milliseconds, vectorised."""
    text = np.datetime_as_string(epoch_ms.astype("datetime64[ms]"), unit="ms")
    return [f"{t}Z" for t in text.tolist()]


def error_payload(
    request_id: str,
    *,
    error_type: str,
    error_message: str,
    stack: list[tuple[str, int, str, str]],
    message: str = "unhandled exception",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A structured error record: ``level, message, requestId, errorType, errorMessage,
    stackTrace`` (stack frames ``(file, line, function, source)`` formatted the way Python's
    ``traceback.format_list`` does)."""
    frames = [f'  File "{f}", line {n}, in {fn}\n    {src}\n' for f, n, fn, src in stack]
    out: dict[str, Any] = {
        "level": "ERROR",
        "message": message,
        "requestId": request_id,
        "errorType": error_type,
        "errorMessage": error_message,
        "stackTrace": frames,
    }
    if extra:
        out.update(extra)
    return out
