"""Per-invocation simulation of a Lambda function, and the CloudWatch metrics derived from it.

One row per invocation (``start, duration_ms, outcome, ...``) is the single source from which
both the logs and the metrics are written, so they agree by construction: the Errors metric of
a minute is the number of failed invocations that started in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from incident_lib.scenarios.lambda_logs import log_stream_name
from incident_lib.scenarios.traffic import arrival_times, traffic_counts
from incident_lib.store import canonical_dimensions

OK = "ok"
_IDLE_TIMEOUT = pd.Timedelta(minutes=10)


def simulate_invocations(
    index: pd.DatetimeIndex,
    rng: np.random.Generator,
    *,
    low: float,
    high: float,
    duration_median_ms: float,
    duration_sigma: float = 0.35,
    peak_hour: float = 17.0,
) -> pd.DataFrame:
    """Invocations over the minutes of ``index``: ``start`` (tz-aware UTC), ``duration_ms``
    (log-normal around ``duration_median_ms``) and ``outcome`` (all ``"ok"``; scenarios turn
    some into failures)."""
    counts = traffic_counts(index, rng, low=low, high=high, peak_hour=peak_hour)
    starts = arrival_times(index, counts, rng)
    durations = rng.lognormal(np.log(duration_median_ms), duration_sigma, size=len(starts))
    return pd.DataFrame(
        {
            "start": starts,
            "duration_ms": np.round(durations, 2),
            "outcome": np.full(len(starts), OK, dtype=object),
        }
    )


@dataclass
class _Environment:
    stream: str
    version: str
    expires: int  # epoch ms, like the other times here
    busy_until: int
    last_used: int
    invocations: int = 0
    base_memory: int = 80


def assign_environments(
    frame: pd.DataFrame,
    rng: np.random.Generator,
    *,
    versions: pd.Series,
    idle_timeout: pd.Timedelta = _IDLE_TIMEOUT,
    lifetime_minutes: tuple[int, int] = (45, 120),
    init_ms: tuple[float, float] = (380.0, 0.15),
    memory_mb: int = 512,
) -> pd.DataFrame:
    """Give each invocation an execution environment (log stream), the way Lambda reuses warm
    ones: a free environment of the same version is reused; none free means a cold start
    (``init_ms`` set). Environments are reclaimed after ``idle_timeout`` and retire after a
    lifetime drawn from ``lifetime_minutes``.

    ``versions`` (aligned with ``frame``) is the function version that served each call.
    Adds ``version, log_stream, init_ms, max_memory_mb, memory_mb``.

    Hand-written: no library simulates Lambda's environment reuse, and a plain loop over a few
    thousand invocations is fast enough (integer milliseconds, not Timestamps, for speed).
    """
    envs: list[_Environment] = []
    streams, inits, memory = [], [], []
    idle = int(idle_timeout.total_seconds() * 1000)
    starts = frame["start"].astype("datetime64[ms, UTC]").astype("int64").to_numpy()
    ends = starts + np.ceil(frame["duration_ms"].to_numpy(float)).astype("int64")
    for start, end, version in zip(starts.tolist(), ends.tolist(), list(versions), strict=True):
        envs = [e for e in envs if e.expires > start and start - e.last_used < idle]
        free = [e for e in envs if e.version == version and e.busy_until <= start]
        if free:
            env = free[int(rng.integers(0, len(free)))]
            inits.append(np.nan)
        else:
            life = int(rng.integers(*lifetime_minutes)) * 60_000
            day = pd.Timestamp(start, unit="ms", tz="UTC")
            env = _Environment(
                stream=log_stream_name(day, version, rng),
                version=version,
                expires=start + life,
                busy_until=end,
                last_used=start,
                base_memory=int(rng.integers(78, 86)),
            )
            envs.append(env)
            inits.append(round(float(rng.lognormal(np.log(init_ms[0]), init_ms[1])), 2))
        env.busy_until = max(env.busy_until, end)
        env.last_used = start
        env.invocations += 1
        streams.append(env.stream)
        memory.append(env.base_memory + min(14, env.invocations // 40))
    out = frame.copy()
    out["version"] = list(versions)
    out["log_stream"] = streams
    out["init_ms"] = inits
    out["max_memory_mb"] = memory
    out["memory_mb"] = memory_mb
    return out


def concurrency_per_minute(frame: pd.DataFrame) -> pd.Series:
    """Maximum number of invocations running at once in each minute (ConcurrentExecutions)."""
    starts = frame["start"].astype("datetime64[us, UTC]")
    ends = starts + pd.to_timedelta(frame["duration_ms"], unit="ms")
    events = pd.concat(
        [
            pd.DataFrame({"t": starts, "d": 1}),
            pd.DataFrame({"t": ends, "d": -1}),
        ]
    ).sort_values(["t", "d"], kind="stable")
    events["running"] = events["d"].cumsum()
    return events.groupby(events["t"].dt.floor("min"))["running"].max()


def _stat_set(
    namespace: str, name: str, dims: str, unit: str, grouped: pd.DataFrame, value: str, count: str
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "namespace": namespace,
            "metric_name": name,
            "dimensions": dims,
            "timestamp": grouped.index,
            "unit": unit,
            "sample_count": grouped[count].astype(float).to_numpy(),
            "sum": grouped[value].astype(float).to_numpy(),
            "minimum": grouped[f"{value}_min"].astype(float).to_numpy(),
            "maximum": grouped[f"{value}_max"].astype(float).to_numpy(),
        }
    )


def lambda_metrics(frame: pd.DataFrame, function: str) -> pd.DataFrame:
    """AWS/Lambda metrics of ``function`` from its invocations: Invocations, Errors, Throttles
    (statistic sets per minute), Duration (one raw sample per invocation) and
    ConcurrentExecutions (Maximum per minute)."""
    dims = canonical_dimensions({"FunctionName": function})
    minute = frame["start"].dt.floor("min")
    failed = (frame["outcome"] != OK).astype(int)
    g = pd.DataFrame({"n": 1, "err": failed, "one": 1, "zero": 0}, index=frame.index).groupby(
        minute.rename("minute")
    )
    per = pd.DataFrame(
        {
            "n": g["n"].sum(),
            "err": g["err"].sum(),
            "err_min": g["err"].min(),
            "err_max": g["err"].max(),
            "one": g["one"].sum(),
            "one_min": 1,
            "one_max": 1,
            "zero": 0,
            "zero_min": 0,
            "zero_max": 0,
        }
    )
    conc = concurrency_per_minute(frame).reindex(per.index).fillna(1)
    concurrency = pd.DataFrame(
        {
            "namespace": "AWS/Lambda",
            "metric_name": "ConcurrentExecutions",
            "dimensions": dims,
            "timestamp": per.index,
            "unit": "Count",
            "sample_count": 1.0,
            "sum": conc.to_numpy(float),
            "minimum": conc.to_numpy(float),
            "maximum": conc.to_numpy(float),
        }
    )
    duration = pd.DataFrame(
        {
            "namespace": "AWS/Lambda",
            "metric_name": "Duration",
            "dimensions": dims,
            "timestamp": frame["start"].to_numpy(),
            "unit": "Milliseconds",
            "value": frame["duration_ms"].to_numpy(float),
        }
    )
    return pd.concat(
        [
            _stat_set("AWS/Lambda", "Invocations", dims, "Count", per, "one", "n"),
            _stat_set("AWS/Lambda", "Errors", dims, "Count", per, "err", "n"),
            _stat_set("AWS/Lambda", "Throttles", dims, "Count", per, "zero", "n"),
            concurrency,
            duration,
        ],
        ignore_index=True,
    )


def apigateway_metrics(
    frame: pd.DataFrame, api: str, stage: str, rng: np.random.Generator
) -> pd.DataFrame:
    """AWS/ApiGateway metrics of a Lambda-proxy stage: Count and 5XXError (statistic sets per
    minute; a failed invocation is a 502) and Latency (raw samples: the function's duration,
    its init time on cold starts, and the gateway's own overhead)."""
    dims = canonical_dimensions({"ApiName": api, "Stage": stage})
    minute = frame["start"].dt.floor("min")
    failed = (frame["outcome"] != OK).astype(int)
    g = pd.DataFrame({"n": 1, "err": failed}, index=frame.index).groupby(minute.rename("minute"))
    per = pd.DataFrame(
        {
            "n": g["n"].sum(),
            "err": g["err"].sum(),
            "err_min": g["err"].min(),
            "err_max": g["err"].max(),
            "one_min": 1,
            "one_max": 1,
        }
    )
    per["one"] = per["n"]
    overhead = rng.lognormal(np.log(11.0), 0.3, size=len(frame))
    init = frame["init_ms"].fillna(0.0).to_numpy(float) if "init_ms" in frame else 0.0
    latency = np.round(frame["duration_ms"].to_numpy(float) + init + overhead)
    return pd.concat(
        [
            _stat_set("AWS/ApiGateway", "Count", dims, "Count", per, "one", "n"),
            _stat_set("AWS/ApiGateway", "5XXError", dims, "Count", per, "err", "n"),
            pd.DataFrame(
                {
                    "namespace": "AWS/ApiGateway",
                    "metric_name": "Latency",
                    "dimensions": dims,
                    "timestamp": frame["start"].to_numpy(),
                    "unit": "Milliseconds",
                    "value": latency,
                }
            ),
        ],
        ignore_index=True,
    )


def versions_by_alias(
    starts: pd.Series, moves: list[tuple[pd.Timestamp, str]], initial: str
) -> pd.Series:
    """The version an alias pointed at for each invocation start, given the alias moves
    ``(time, version)`` in time order."""
    out = pd.Series(initial, index=starts.index, dtype=object)
    for when, version in moves:
        out[starts >= when] = version
    return out
