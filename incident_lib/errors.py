"""One exception tree for the whole product.

Every error a user can cause or meet derives from :class:`IncidentError`, carries structured
fields (not only a message), and maps to an exit status in the command line:
``BadInputError`` and its children exit with 2.
"""

from __future__ import annotations


class IncidentError(Exception):
    """Base of every error this product raises on purpose."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadInputError(IncidentError):
    """Input a user gave us is wrong: a file, an argument, a payload. Exit status 2."""

    exit_code = 2


class InputLimitError(BadInputError):
    """Input past one of the product's limits (size, nesting, digits, line length, window).

    ``limit`` names the limit (``"json depth"``, ``"payload size"`` ...); the message says the
    value found and the bound.
    """

    def __init__(self, message: str, *, limit: str | None = None) -> None:
        super().__init__(message)
        self.limit = limit


class AlarmParseError(BadInputError):
    """An alarm payload could not be read. ``field`` names the offending field (dotted path)."""

    def __init__(self, message: str, *, field: str | None = None, source: str | None = None):
        where = f" (field {field!r})" if field else ""
        origin = f"{source}: " if source else ""
        super().__init__(f"{origin}{message}{where}")
        self.field = field
        self.source = source


class UnknownNameError(BadInputError):
    """A name looked up in a registry does not exist; the message lists the valid names."""

    def __init__(self, kind: str, name: str, valid: list[str] | tuple[str, ...]) -> None:
        choices = ", ".join(sorted(valid)) or "(none)"
        super().__init__(f"unknown {kind} {name!r}; valid: {choices}")
        self.kind = kind
        self.name = name
        self.valid = tuple(valid)


class StoreError(BadInputError):
    """A telemetry store is missing, malformed, or has a table of the wrong shape.

    ``path`` is the file at fault, ``field`` the descriptor field (``tables.logs.file``),
    ``column`` the table column.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        column: str | None = None,
        field: str | None = None,
    ) -> None:
        parts = [message]
        if path:
            parts.append(f"file: {path}")
        if field:
            parts.append(f"field: {field}")
        if column:
            parts.append(f"column: {column}")
        super().__init__("; ".join(parts))
        self.path = path
        self.column = column
        self.field = field


class QueryError(BadInputError):
    """A Logs Insights query cannot be parsed or run.

    ``line`` and ``column`` are 1-based; ``context`` is the query line with a caret under the
    offending text, ready to print.
    """

    def __init__(
        self,
        message: str,
        *,
        query: str | None = None,
        line: int | None = None,
        column: int | None = None,
        length: int = 1,
    ) -> None:
        self.reason = message
        self.query = query
        self.line = line
        self.column = column
        self.context = _highlight(query, line, column, length) if query and line else ""
        where = f" at line {line}, column {column}" if line else ""
        text = f"{message}{where}"
        if self.context:
            text = f"{text}\n{self.context}"
        super().__init__(text)


class UnsupportedQueryError(QueryError):
    """The query is valid Logs Insights, but the local engine does not implement a part of it."""


class FilterPatternError(QueryError):
    """A CloudWatch Logs filter pattern (FilterLogEvents, metric and subscription filters) is
    malformed or breaks an AWS limit. ``query`` holds the pattern; ``line``, ``column`` and
    ``context`` mark the offending text as for :class:`QueryError`."""


class MetricQueryError(BadInputError):
    """A metric query or metric-math expression cannot be evaluated."""

    def __init__(self, message: str, *, query_id: str | None = None) -> None:
        super().__init__(f"{query_id}: {message}" if query_id else message)
        self.query_id = query_id


class SourceError(IncidentError):
    """A telemetry source (AWS or a local store) failed to answer.

    ``operation`` is the API operation (``GetMetricData``), ``code`` the AWS error code when
    there is one (``AccessDeniedException``).
    """

    def __init__(self, message: str, *, operation: str | None = None, code: str | None = None):
        prefix = f"{operation}: " if operation else ""
        super().__init__(f"{prefix}{message}")
        self.operation = operation
        self.code = code


class AccessDeniedError(SourceError):
    """The credentials in use may not call this operation."""


class ThrottledError(SourceError):
    """AWS kept throttling after the client's retries were spent."""


class QueryTimeoutError(SourceError):
    """A Logs Insights query did not finish within the overall timeout."""


class DeadlineExceeded(SourceError):
    """The investigation's overall deadline passed: the call was not made (or not retried).

    The report is written with what the sections had gathered by then.
    """


class EvidenceMismatchError(IncidentError):
    """An incident folder no longer matches its evidence manifest. Exit status 4.

    ``problems`` lists ``changed: <file>``, ``missing: <file>`` and ``unlisted: <file>``."""

    exit_code = 4

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class NoDataError(IncidentError):
    """A section asked for data and there was none in the window."""


def _highlight(query: str, line: int, column: int, length: int) -> str:
    lines = query.splitlines() or [""]
    if not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1]
    caret = " " * (column - 1) + "^" * max(1, length)
    return f"  {text}\n  {caret}"
