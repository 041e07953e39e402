"""Benchmark the Logs Insights engine against hand-written DuckDB SQL and pandas.

    .venv/bin/python -m benchmarks.bench_insights --events 1000000

Generates N log events (plain text, JSON and Lambda REPORT lines, about 150 bytes each) into
a store under benchmarks/.data/ (reused when it exists), then times five questions three ways
in the same process: the engine (``incident_lib.insights.run_query``), the same question
hand-written in DuckDB SQL, and in pandas (reading the same Parquet file). Prints medians,
the ratios engine/duckdb and pandas/engine, and peak RSS after each phase.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from incident_lib.insights import run_query
from incident_lib.store import StoreWriter, open_store

DATA = Path(__file__).resolve().parent / ".data"
T0 = pd.Timestamp("2026-11-01T00:00:00Z")
BATCH = 250_000
log = logging.getLogger("benchmarks.bench_insights")

PATHS = np.array(
    [
        "/api/items",
        "/api/cart",
        "/api/checkout",
        "/api/users",
        "/api/search",
        "/api/orders",
        "/health",
        "/api/login",
        "/api/logout",
        "/api/profile",
        "/api/reviews",
        "/api/stock",
    ]
)
LEVELS = np.array(["INFO"] * 17 + ["WARN", "ERROR", "DEBUG"])


def generate(n: int, path: Path, seed: int = 7) -> Path:
    """Write ``n`` events over 24 h: 45% plain access lines, 40% JSON, 15% Lambda REPORT."""
    rng = np.random.default_rng(seed)
    span_us = 24 * 3600 * 1_000_000
    with StoreWriter(path, overwrite=True) as writer:
        for lo in range(0, n, BATCH):
            k = min(BATCH, n - lo)
            ts = T0 + pd.to_timedelta(
                np.sort(rng.integers(lo * span_us // n, (lo + k) * span_us // n, k)), "us"
            )
            kind = rng.random(k)
            path_ = PATHS[rng.integers(0, len(PATHS), k)]
            level = LEVELS[rng.integers(0, len(LEVELS), k)]
            status = np.where(rng.random(k) < 0.03, 500, 200)
            latency = np.round(rng.lognormal(3.5, 0.8, k), 1)
            user = rng.integers(0, 5000, k)
            msgs = []
            for i in range(k):
                if kind[i] < 0.45:
                    msgs.append(
                        f"{ts[i].isoformat()} {level[i]} [worker-{user[i] % 16}] GET "
                        f"{path_[i]} status={status[i]} took {latency[i]}ms "
                        f"user=u{user[i]} region=us-east-1"
                    )
                elif kind[i] < 0.85:
                    msgs.append(
                        json.dumps(
                            {
                                "level": level[i],
                                "latency": latency[i],
                                "path": path_[i],
                                "status": int(status[i]),
                                "user": f"u{user[i]}",
                                "msg": "request done",
                            },
                            separators=(",", ":"),
                        )
                    )
                else:
                    msgs.append(
                        f"REPORT RequestId: {user[i]:08x}-7d50-4d6d-a3f1-9b4f5322f47c\t"
                        f"Duration: {latency[i]} ms\tBilled Duration: "
                        f"{int(np.ceil(latency[i]))} ms\tMemory Size: 128 MB\t"
                        f"Max Memory Used: {60 + user[i] % 60} MB\t"
                    )
            writer.add_log_events(
                pd.DataFrame(
                    {
                        "log_group": np.where(kind < 0.85, "/app/web", "/aws/lambda/checkout"),
                        "log_stream": [f"stream-{u % 8}" for u in user],
                        "timestamp": ts,
                        "message": msgs,
                    }
                )
            )
    return path


# -- the five questions ----------------------------------------------------------------------
def _window(start: pd.Timestamp, end: pd.Timestamp) -> str:
    return (
        f"timestamp >= TIMESTAMPTZ '{start.isoformat()}' AND "
        f"timestamp <= TIMESTAMPTZ '{end.isoformat()}'"
    )


BIN5 = "make_timestamptz((epoch_us(timestamp) // 300000000) * 300000000)"

QUESTIONS: dict[str, dict[str, object]] = {
    "regex_filter_count_by_bin": {
        "insights": "filter @message like /ERROR|Exception/ | stats count(*) as n by bin(5m)",
        "duckdb": "SELECT {bin} AS b, count(*) AS n FROM logs WHERE {w} AND "
        "regexp_matches(message, 'ERROR|Exception') GROUP BY 1 ORDER BY 1",
    },
    "json_pct95_by_bin": {
        "insights": "stats pct(latency, 95) as p95 by bin(5m)",
        "duckdb": "SELECT {bin} AS b, quantile_disc(TRY_CAST(json_extract_string(message, "
        "'$.latency') AS DOUBLE), 0.95) AS p95 FROM logs WHERE {w} AND "
        "starts_with(message, '{{') GROUP BY 1 ORDER BY 1",
    },
    "parse_top10_by_count": {
        "insights": 'parse @message "GET * status=" as path | filter ispresent(path) '
        "| stats count(*) as n by path | sort n desc | limit 10",
        "duckdb": "SELECT regexp_extract(message, 'GET (.*?) status=', 1) AS path, count(*) AS n"
        " FROM logs WHERE {w} AND regexp_matches(message, 'GET (.*?) status=') "
        "GROUP BY 1 ORDER BY n DESC LIMIT 10",
    },
    "lambda_report_duration_by_bin": {
        "insights": 'filter @type = "REPORT" | stats avg(@duration) as a, max(@duration) as m '
        "by bin(5m)",
        "duckdb": "SELECT {bin} AS b, avg(d) AS a, max(d) AS m FROM (SELECT timestamp, "
        "CAST(regexp_extract(message, 'Duration: ([0-9.]+) ms', 1) AS DOUBLE) AS d "
        "FROM logs WHERE {w} AND starts_with(message, 'REPORT RequestId:')) "
        "GROUP BY 1 ORDER BY 1",
    },
    "filter_sort_limit_100": {
        "insights": "filter @message like /status=500/ | fields @timestamp, @message "
        "| sort @timestamp desc | limit 100",
        "duckdb": "SELECT timestamp, message, event_id FROM logs WHERE {w} AND "
        "contains(message, 'status=500') ORDER BY timestamp DESC LIMIT 100",
    },
}


def _pandas_frame(parquet: Path, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    return pd.read_parquet(
        parquet,
        columns=["timestamp", "message", "event_id"],
        filters=[("timestamp", ">=", start), ("timestamp", "<=", end)],
    )


def pandas_answers(parquet: Path, start, end) -> dict[str, Callable[[], object]]:
    """The same five questions in plain pandas (each reads the Parquet file itself)."""

    def regex_count():
        df = _pandas_frame(parquet, start, end)
        hit = df[df["message"].str.contains("ERROR|Exception", regex=True)]
        return hit.groupby(hit["timestamp"].dt.floor("5min")).size()

    def json_pct():
        df = _pandas_frame(parquet, start, end)
        js = df[df["message"].str.startswith("{")]
        lat = [json.loads(m).get("latency") for m in js["message"]]
        frame = pd.DataFrame(
            {
                "b": js["timestamp"].dt.floor("5min").to_numpy(),
                "lat": pd.to_numeric(pd.Series(lat), errors="coerce"),
            }
        )
        return frame.groupby("b")["lat"].quantile(0.95, interpolation="lower")

    def parse_top():
        df = _pandas_frame(parquet, start, end)
        path = df["message"].str.extract(r"GET (.*?) status=", expand=False).dropna()
        return path.value_counts().head(10)

    def lambda_report():
        df = _pandas_frame(parquet, start, end)
        rep = df[df["message"].str.startswith("REPORT RequestId:")]
        dur = rep["message"].str.extract(r"Duration: ([0-9.]+) ms", expand=False).astype(float)
        return dur.groupby(rep["timestamp"].dt.floor("5min")).agg(["mean", "max"])

    def filter_sort():
        df = _pandas_frame(parquet, start, end)
        hit = df[df["message"].str.contains("status=500", regex=False)]
        return hit.nlargest(100, "timestamp")

    return {
        "regex_filter_count_by_bin": regex_count,
        "json_pct95_by_bin": json_pct,
        "parse_top10_by_count": parse_top,
        "lambda_report_duration_by_bin": lambda_report,
        "filter_sort_limit_100": filter_sort,
    }


def median_time(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_insights", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="runs per engine/duckdb timing")
    parser.add_argument("--pandas-runs", type=int, default=3)
    parser.add_argument(
        "--skip-pandas", action="store_true", help="engine and DuckDB only (for very large N)"
    )
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    path = DATA / f"store-{args.events}"
    if args.regenerate or not (path / "store.json").exists():
        t = time.perf_counter()
        generate(args.events, path)
        log.info("generated %s events in %.1f s", f"{args.events:,}", time.perf_counter() - t)
    store = open_store(path)
    start, end = store.time_range
    parquet = store.table_path("logs")
    size = parquet.stat().st_size / 1e6
    print(
        f"events: {args.events:,}  parquet: {size:.0f} MB  rss after setup: {peak_rss_mb():.0f} MB"
    )

    con = store.connect()
    con.execute("SET threads = 2")
    results: dict[str, dict[str, float]] = {}
    for name, q in QUESTIONS.items():
        results[name] = {}
        results[name]["engine"], frame = median_time(
            lambda q=q: run_query(con, q["insights"], start=start, end=end), args.runs
        )
        results[name]["rows"] = len(frame)  # type: ignore[arg-type]
    rss_engine = peak_rss_mb()
    for name, q in QUESTIONS.items():
        sql = str(q["duckdb"]).format(w=_window(start, end), bin=BIN5)
        results[name]["duckdb"], table = median_time(
            lambda sql=sql: con.sql(sql).to_arrow_table(), args.runs
        )
        if table.num_rows != results[name]["rows"]:  # type: ignore[union-attr]
            log.warning(
                "%s: engine %d rows, duckdb %d", name, results[name]["rows"], table.num_rows
            )  # type: ignore[union-attr]
    rss_duckdb = peak_rss_mb()
    if not args.skip_pandas:
        for name, fn in pandas_answers(parquet, start, end).items():
            results[name]["pandas"], _ = median_time(fn, args.pandas_runs)
    rss_pandas = peak_rss_mb()

    print(
        f"{'question':32} {'engine s':>9} {'duckdb s':>9} {'pandas s':>9} "
        f"{'eng/duck':>9} {'pand/eng':>9}"
    )
    for name, r in results.items():
        pandas_s = r.get("pandas")
        print(
            f"{name:32} {r['engine']:9.3f} {r['duckdb']:9.3f} "
            f"{pandas_s if pandas_s is not None else float('nan'):9.3f} "
            f"{r['engine'] / r['duckdb']:9.2f} "
            f"{(pandas_s / r['engine']) if pandas_s else float('nan'):9.1f}"
        )
    print(
        f"peak RSS: after engine {rss_engine:.0f} MB, after duckdb {rss_duckdb:.0f} MB, "
        f"after pandas {rss_pandas:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
