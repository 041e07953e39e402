"""GetMetricData over a telemetry store's ``metrics`` table, with CloudWatch's semantics.

Bucketing and aggregation run in one DuckDB statement for all metric queries of a call (it
scales with the store, not with Python loops); metric math then runs in pandas on the bucketed
series (:mod:`incident_lib.metrics.evaluate`).

Semantics (facts §2.3-2.4):

* ``StartTime`` is rounded down to the whole minute, or, for a period of 1, 5, 10, 20 or 30
  seconds, to that division of the minute. Buckets start at the rounded start and step by the
  period, so with a period-aligned start (what the notebooks use) they are aligned to the period
  from the epoch. CloudWatch's coarser rounding for starts more than 15 or 63 days in the past is
  not applied: it depends on the wall clock, and a store (an evidence pack) is read long after
  it was recorded, so it would make answers change with the day they are asked.
* Start inclusive, end exclusive; a bucket with no sample yields no datapoint.
* Namespace, metric name and *all* dimensions match exactly (the canonical JSON string of
  :func:`incident_lib.store.canonical_dimensions`); a unit, when given, must equal the stored
  unit (CloudWatch does not convert units).
* A row is a raw sample (``value``) or a statistic set (``sample_count, sum, minimum,
  maximum``); rows with neither are ignored.
* Percentiles are **nearest-rank**: with N samples in the bucket, the value of rank
  ``max(1, ceil(p/100 * N))`` in ascending order. They need raw values: a statistic set counts
  only when it holds one distinct value (``minimum == maximum`` and ``sum == minimum *
  sample_count``, which covers ``sample_count == 1``), counted ``sample_count`` times. A bucket
  with any other statistic set, or with a negative value, has no percentile datapoint, as in
  CloudWatch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import duckdb
import pandas as pd

from incident_lib.errors import MetricQueryError
from incident_lib.metrics.evaluate import Series, evaluate_expressions
from incident_lib.metrics.periods import bucket_origin
from incident_lib.metrics.stats import parse_stat
from incident_lib.sources.base import MetricQuery
from incident_lib.sources.frames import METRIC_COLUMNS, empty_metric_frame
from incident_lib.store.writer import canonical_dimensions
from incident_lib.timeutil import ensure_utc

__all__ = ["get_metric_data"]

log = logging.getLogger(__name__)

_US = 1_000_000

# One statement for every metric query. ``q`` holds one row per query; samples are joined to
# their query, placed in a bucket, then aggregated. Percentiles use a cumulative weight per
# bucket (nearest rank), so statistic sets of one distinct value need no expansion.
_SQL = """
WITH q AS (SELECT * FROM {queries}),
samples AS (
    SELECT
        q.qid,
        q.origin_us + ((epoch_us(m.timestamp) - q.origin_us) // q.period_us) * q.period_us
            AS bucket_us,
        CASE WHEN m.value IS NOT NULL THEN 1.0 ELSE m.sample_count END AS n,
        CASE WHEN m.value IS NOT NULL THEN m.value ELSE m.sum END AS s,
        CASE WHEN m.value IS NOT NULL THEN m.value ELSE m.minimum END AS lo,
        CASE WHEN m.value IS NOT NULL THEN m.value ELSE m.maximum END AS hi,
        m.value IS NOT NULL OR (
            m.minimum = m.maximum
            AND abs(m.sum - m.minimum * m.sample_count)
                <= 1e-9 * greatest(1.0, abs(m.sum))
        ) AS exact
    FROM {relation} AS m
    JOIN q
      ON m.namespace = q.namespace
     AND m.metric_name = q.metric_name
     AND m.dimensions = q.dimensions
     AND (q.unit IS NULL OR m.unit = q.unit)
    WHERE epoch_us(m.timestamp) >= q.origin_us
      AND epoch_us(m.timestamp) < q.end_us
      AND (m.value IS NOT NULL OR m.sample_count IS NOT NULL)
),
agg AS (
    SELECT qid, bucket_us, sum(n) AS cnt, sum(s) AS total, min(lo) AS mn, max(hi) AS mx,
           bool_and(exact) AS all_exact
    FROM samples
    GROUP BY qid, bucket_us
),
ranked AS (
    SELECT s.qid, s.bucket_us, s.lo AS v,
           sum(s.n) OVER (PARTITION BY s.qid, s.bucket_us ORDER BY s.lo
                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum,
           sum(s.n) OVER (PARTITION BY s.qid, s.bucket_us) AS tot,
           q.pct
    FROM samples AS s JOIN q USING (qid)
    WHERE q.kind = 'percentile'
),
pct AS (
    SELECT qid, bucket_us, min(v) AS pv
    FROM ranked
    WHERE cum >= greatest(1.0, ceil(pct / 100.0 * tot - 1e-9))
    GROUP BY qid, bucket_us
)
SELECT agg.qid, agg.bucket_us,
    CASE q.kind
        WHEN 'Sum' THEN agg.total
        WHEN 'SampleCount' THEN agg.cnt
        WHEN 'Minimum' THEN agg.mn
        WHEN 'Maximum' THEN agg.mx
        WHEN 'Average' THEN agg.total / nullif(agg.cnt, 0)
        WHEN 'percentile' THEN
            CASE WHEN agg.all_exact AND agg.mn >= 0 THEN pct.pv END
    END AS value
FROM agg
JOIN q USING (qid)
LEFT JOIN pct USING (qid, bucket_us)
ORDER BY agg.qid, agg.bucket_us
"""


def get_metric_data(
    con: duckdb.DuckDBPyConnection,
    queries: Sequence[MetricQuery],
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    relation: str = "metrics",
) -> pd.DataFrame:
    """Answer a GetMetricData request from the ``metrics`` relation of a store.

    Parameters
    ----------
    con
        A DuckDB connection on which ``relation`` exists (``Store.connect()`` makes the view).
    queries
        Metric queries and expressions, as in one GetMetricData call; expressions may refer to
        any query's id (including ``return_data=False`` ones) and to other expressions.
    start, end
        tz-aware; start inclusive (rounded down, see :func:`bucket_origin`), end exclusive.
    relation
        Table or view with the store's ``metrics`` schema.

    Returns
    -------
    pandas.DataFrame
        Long frame ``id, label, timestamp, value`` (timestamps tz-aware UTC), only queries with
        ``return_data``, sorted by id then time. An expression that yields an array of series
        (``METRICS()``) gives several series under its id, each with its member's label.

    Raises
    ------
    MetricQueryError
        Duplicate ids, an unknown or unsupported statistic or function, an unknown id, a cycle
        between expressions, bad expression syntax (the message starts with the query id).

    Examples
    --------
    >>> con = open_store("store").connect()                             # doctest: +SKIP
    >>> q = [MetricQuery("errors", "AWS/Lambda", "Errors", {"FunctionName": "f"}, "Sum", 60),
    ...      MetricQuery("inv", "AWS/Lambda", "Invocations", {"FunctionName": "f"}, "Sum", 60,
    ...                  return_data=False),
    ...      MetricQuery("rate", expression="100 * errors / inv", label="Error %")]
    >>> get_metric_data(con, q, start, end)                              # doctest: +SKIP
    """
    start = ensure_utc(start, name="start")
    end = ensure_utc(end, name="end")
    if start >= end:
        raise MetricQueryError(f"start {start.isoformat()} must be before end {end.isoformat()}")
    seen: set[str] = set()
    for query in queries:
        if query.id in seen:
            raise MetricQueryError("duplicate id in one request", query_id=query.id)
        seen.add(query.id)
    stat_queries = [q for q in queries if q.expression is None]
    series = _fetch(con, stat_queries, start, end, relation)
    results = evaluate_expressions(queries, series, start, end)
    frames = []
    for query in queries:
        if not query.return_data:
            continue
        for member in results[query.id]:
            if member.values.empty:
                continue
            frames.append(
                pd.DataFrame(
                    {
                        "id": query.id,
                        "label": member.label,
                        "timestamp": member.values.index,
                        "value": member.values.to_numpy(dtype="float64"),
                    }
                )
            )
    if not frames:
        return empty_metric_frame()
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(["id", "timestamp"], kind="mergesort", ignore_index=True)
    out["id"] = out["id"].astype("str")
    out["label"] = out["label"].astype("str")
    out["timestamp"] = (
        pd.DatetimeIndex(out["timestamp"]).tz_convert("UTC").astype("datetime64[us, UTC]")
    )
    out["value"] = out["value"].astype("float64")
    return out[METRIC_COLUMNS]


def _fetch(
    con: duckdb.DuckDBPyConnection,
    queries: Sequence[MetricQuery],
    start: pd.Timestamp,
    end: pd.Timestamp,
    relation: str,
) -> dict[str, Series]:
    """Bucket and aggregate every metric-stat query in one SQL statement."""
    if not queries:
        return {}
    end_us = _epoch_us(end)
    rows = []
    for query in queries:
        spec = parse_stat(query.stat or "", query_id=query.id)
        rows.append(
            {
                "qid": query.id,
                "namespace": query.namespace,
                "metric_name": query.metric_name,
                "dimensions": canonical_dimensions(query.dimensions),
                "unit": query.unit,
                "period_us": query.period * _US,
                "origin_us": _epoch_us(bucket_origin(start, query.period)),
                "end_us": end_us,
                "kind": spec.kind,
                "pct": spec.percentile,
            }
        )
    frame = pd.DataFrame(rows).astype(
        {
            "qid": "str",
            "namespace": "str",
            "metric_name": "str",
            "dimensions": "str",
            "unit": "object",
            "period_us": "int64",
            "origin_us": "int64",
            "end_us": "int64",
            "kind": "str",
            "pct": "float64",
        }
    )
    name = "_incident_metric_queries"
    con.register(name, frame)
    try:
        sql = _SQL.format(queries=name, relation=_quote_ident(relation))
        result = con.execute(sql).fetch_df()
    finally:
        con.unregister(name)
    log.debug("metric queries %d -> %d datapoints", len(queries), len(result))
    out: dict[str, Series] = {}
    for query in queries:
        part = result[(result["qid"] == query.id) & result["value"].notna()]
        index = pd.DatetimeIndex(pd.to_datetime(part["bucket_us"].to_numpy(), unit="us", utc=True))
        values = pd.Series(part["value"].to_numpy(dtype="float64"), index=index, name=query.id)
        out[query.id] = Series(values, period=query.period, label=query.default_label, id=query.id)
    return out


def _epoch_us(ts: pd.Timestamp) -> int:
    return int((ts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1))


def _quote_ident(name: str) -> str:
    # A relation may be schema-qualified (``main.metrics``); quote each part.
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))
