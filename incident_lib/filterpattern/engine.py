"""Compile a filter pattern to a DuckDB predicate and apply it to events."""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from incident_lib.errors import FilterPatternError
from incident_lib.filterpattern import nodes
from incident_lib.filterpattern.generator import to_sql
from incident_lib.filterpattern.parser import parse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompiledPattern:
    """A parsed filter pattern and its DuckDB predicate.

    Attributes
    ----------
    text
        The pattern as written.
    tree
        The syntax tree (:mod:`incident_lib.filterpattern.nodes`).
    sql
        A boolean DuckDB expression over ``column``; never NULL.
    column
        The column holding the log message.
    """

    text: str
    tree: nodes.Pattern
    sql: str
    column: str = "message"

    @property
    def kind(self) -> str:
        """``all``, ``terms``, ``regex``, ``json`` or ``delimited``."""
        return self.tree.kind

    @property
    def matches_all(self) -> bool:
        return self.sql == "true"


def compile_pattern(text: str | None, *, column: str = "message") -> CompiledPattern:
    """Parse a CloudWatch Logs filter pattern and compile it to a DuckDB predicate.

    Syntax and semantics follow
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html;
    docs/filter-patterns.md lists what is supported and where the local engine differs.

    Parameters
    ----------
    text
        The pattern (``""`` or None: every event).
    column
        The column the predicate reads.

    Raises
    ------
    FilterPatternError
        The pattern is malformed or breaks an AWS limit; ``line``, ``column`` and ``context``
        mark where.

    Examples
    --------
    >>> print(compile_pattern("ERROR -DEBUG").sql)
    coalesce(contains("message", 'ERROR') AND NOT contains("message", 'DEBUG'), false)
    >>> compile_pattern('{ $.level = "ERROR" }').kind
    'json'
    """
    text = text or ""
    tree = parse(text)
    sql = to_sql(tree, column)
    log.debug("filter pattern %r as SQL: %s", text, sql)
    return CompiledPattern(text, tree, sql, column)


def filter_events(
    events: pd.DataFrame | duckdb.DuckDBPyRelation,
    pattern: str | CompiledPattern | None,
    *,
    column: str = "message",
) -> pd.DataFrame | duckdb.DuckDBPyRelation:
    """The events whose message matches ``pattern``.

    Parameters
    ----------
    events
        A DataFrame (rows kept in order, index and dtypes unchanged) or a DuckDB relation
        (a filtered relation is returned, nothing is run yet).
    pattern
        Pattern text or a :class:`CompiledPattern`.
    column
        The message column.

    Raises
    ------
    FilterPatternError
        Malformed pattern.
    KeyError
        ``column`` is not in ``events``.

    Examples
    --------
    >>> frame = pd.DataFrame({"message": ["ERROR boom", "INFO ok", '{"level": "ERROR"}']})
    >>> filter_events(frame, "ERROR")["message"].tolist()
    ['ERROR boom', '{"level": "ERROR"}']
    >>> filter_events(frame, "{ $.level = ERROR }").index.tolist()
    [2]
    """
    if isinstance(pattern, CompiledPattern):
        same = pattern.column == column
        compiled = pattern if same else compile_pattern(pattern.text, column=column)
    else:
        compiled = compile_pattern(pattern, column=column)
    if isinstance(events, duckdb.DuckDBPyRelation):
        if column not in events.columns:
            raise KeyError(column)
        return events if compiled.matches_all else events.filter(compiled.sql)
    if column not in events.columns:
        raise KeyError(column)
    if compiled.matches_all or events.empty:
        return events.copy()
    mask = evaluate(compiled, events[column])
    return events[mask]


def evaluate(compiled: CompiledPattern, messages: pd.Series) -> np.ndarray:
    """A boolean array: does each message match? Runs in DuckDB, on this thread's connection."""
    con = _connection()
    name = f"_events_{uuid.uuid4().hex}"
    frame = pd.DataFrame({compiled.column: messages.astype("string").reset_index(drop=True)})
    con.register(name, frame)
    try:
        table = con.sql(f"SELECT {compiled.sql} AS m FROM {name}").to_arrow_table()
    except duckdb.InvalidInputException as exc:  # pragma: no cover - the parser checks first
        raise FilterPatternError(f"pattern failed: {exc}", query=compiled.text) from exc
    finally:
        con.unregister(name)
    return table.column("m").to_numpy(zero_copy_only=False).astype(bool)


_local = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    # Opening a DuckDB connection costs about 0.1 s; keep one per thread (a connection is not
    # safe to share across threads).
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect()
    return con
