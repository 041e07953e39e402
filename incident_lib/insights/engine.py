"""Run a Logs Insights query on DuckDB and return a typed frame."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import duckdb
import pandas as pd
import pyarrow as pa

from incident_lib.errors import QueryError
from incident_lib.insights import nodes, patterns
from incident_lib.insights.functions import register_udfs
from incident_lib.insights.generator import Generator
from incident_lib.insights.parser import parse
from incident_lib.sources.frames import type_insights
from incident_lib.timeutil import ensure_utc

log = logging.getLogger(__name__)


def to_sql(
    query: str | nodes.Query,
    *,
    relation: str = "logs",
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    log_groups: Sequence[str] | None = None,
    account_id: str = "123456789012",
    region: str | None = None,
    limit: int | None = None,
) -> str:
    """The DuckDB SQL for a Logs Insights query: one CTE per pipe stage.

    Parameters
    ----------
    query
        Query text or an already parsed :class:`~incident_lib.insights.nodes.Query`.
    relation
        Table or view with the telemetry store's ``logs`` columns.
    start, end
        Inclusive window on ``timestamp`` (tz-aware); None leaves that side open.
    log_groups
        Log groups to read; None reads all of them.
    account_id
        Account shown in ``@log`` (``account-id:log-group-name``) and ``@aws.account``.
    region
        Region shown in ``@aws.region``.
    limit
        StartQuery's ``limit``: caps the rows like a final ``limit`` command.

    Examples
    --------
    >>> sql = to_sql("stats count(*) by bin(5m)")
    >>> sql.startswith("WITH _src AS")
    True
    """
    parsed = parse(query) if isinstance(query, str) else query
    gen = Generator(
        parsed,
        relation=relation,
        start=start,
        end=end,
        log_groups=log_groups,
        account_id=account_id,
        region=region,
        limit=limit,
    )
    return gen.generate()


def run_query(
    con: duckdb.DuckDBPyConnection,
    query: str,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    log_groups: Sequence[str] | None = None,
    account_id: str = "123456789012",
    region: str | None = None,
    relation: str = "logs",
    limit: int | None = None,
) -> pd.DataFrame:
    """Evaluate a Logs Insights query over ``relation`` in DuckDB (the local StartQuery).

    The whole query runs in DuckDB; only its result becomes a DataFrame, typed by
    :func:`incident_lib.sources.frames.type_insights` (numbers numeric, ``@timestamp``,
    ``@ingestionTime`` and ``bin()`` columns tz-aware UTC). Event rows carry ``@ptr``.

    Parameters
    ----------
    con
        A DuckDB connection where ``relation`` exists (``Store.connect()`` gives ``logs``).
    query
        Logs Insights QL text, see
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html
    start, end
        The window, inclusive at both ends as in StartQuery; tz-aware.
    log_groups
        Log group names or ARNs (as ``logGroupIdentifiers``); None = every group in the
        relation (or those a ``SOURCE`` command selects).
    account_id
        Account id used in ``@log`` and ``@aws.account`` (a group stored by its ARN gives
        its own).
    region
        Region used in ``@aws.region`` (the store's; a group stored by its ARN gives its own).
    relation
        Table or view name with the store's logs schema.
    limit
        StartQuery's ``limit`` (rows), applied like a final ``limit`` command.

    Raises
    ------
    QueryError
        Malformed query, with line, column and the marked text in ``context``.
    UnsupportedQueryError
        A command or function this engine does not implement.

    Examples
    --------
    >>> con = store.connect()                                        # doctest: +SKIP
    >>> run_query(con, 'filter @type = "REPORT" | stats avg(@duration) by bin(5m)',
    ...           start=start, end=end)                               # doctest: +SKIP
    """
    start = ensure_utc(start, name="start")
    end = ensure_utc(end, name="end")
    if limit is not None and limit < 1:
        raise QueryError(f"limit must be positive, got {limit}")
    parsed = parse(query)
    gen = Generator(
        parsed,
        relation=relation,
        start=start,
        end=end,
        log_groups=log_groups,
        account_id=account_id,
        region=region,
        limit=limit,
    )
    sql = gen.generate()
    if gen.uses_udfs:
        register_udfs(con)
    if gen.uses_patterns:
        patterns.register(con)
    log.debug("Logs Insights query %r as SQL:\n%s", query, sql)
    try:
        table = con.sql(sql).to_arrow_table()
    except duckdb.InvalidInputException as exc:
        # Bad regexes and similar user-caused input errors surface from DuckDB at run time.
        raise QueryError(f"query failed: {exc}", query=query) from exc
    frame = table.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
    return type_insights(frame)
