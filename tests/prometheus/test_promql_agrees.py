"""The offline PromQL engine agrees with a real Prometheus on every query it supports, and the
HTTP source reports Prometheus' own errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from incident_lib.errors import QueryTimeoutError, SourceError
from incident_lib.sources.prometheus import PrometheusSource, PromQLError
from incident_lib.sources.promql_local import LocalPrometheus, OfflinePromQLError

pytestmark = pytest.mark.prometheus

QUERIES = {
    "selector": 'node_load1{job="node"}',
    "not_equal": 'node_load1{instance!="a"}',
    "regex": 'http_errors_total{type=~"time.*|db_pool", instance!~"b"}',
    "rate": 'rate(http_errors_total{job="checkout"}[5m])',
    "irate": "irate(http_errors_total[2m])",
    "increase": 'increase(http_errors_total{instance="b"}[10m])',
    "sum_by": 'sum by (type) (rate(http_errors_total{status!~"4.."}[5m]))',
    "sum_without": "sum without (instance) (rate(http_errors_total[5m]))",
    "avg": "avg(node_load1)",
    "max_by": "max by (job) (node_load1)",
    "min": "min(node_load1)",
    "count_by": "count by (type) (http_errors_total)",
    "histogram_quantile": (
        "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"
    ),
    "histogram_by_instance": (
        "histogram_quantile(0.5, sum by (le, instance) "
        "(rate(http_request_duration_seconds_bucket[5m])))"
    ),
    "ratio": (
        'sum by (instance) (rate(http_errors_total{type="timeout"}[5m])) / '
        "sum by (instance) (rate(http_errors_total[5m]))"
    ),
    "scalar_arith": "node_load1 * 100 - 5",
    "scalar_left": "2 ^ node_load1",
    "alert_filter": "sum by (type) (rate(http_errors_total[5m])) > 1.5",
    "bool": "node_load1 > bool 1.5",
    "on": (
        "sum by (instance) (rate(http_errors_total[5m])) / on (instance) "
        'sum by (instance) (rate(http_request_duration_seconds_bucket{le="+Inf"}[5m]))'
    ),
    "negation": "-node_load1",
    "offset": "rate(http_errors_total[5m] offset 10m)",
}


@pytest.fixture(scope="module")
def engines(prometheus_env):
    url, store, _frame, end = prometheus_env
    live = PrometheusSource(url, timeout=30)
    local = LocalPrometheus(store.connect(), name="test store")
    return live, local, end - pd.Timedelta(minutes=45), end


@pytest.mark.parametrize("qid", list(QUERIES))
def test_offline_agrees_with_prometheus(engines, qid: str) -> None:
    live, local, t0, t1 = engines
    got_live = live.query_range({qid: QUERIES[qid]}, t0, t1, step=60)
    got_local = local.query_range({qid: QUERIES[qid]}, t0, t1, step=60)
    assert not got_live.empty, "the query found nothing in Prometheus: a test that cannot fail"
    assert list(got_live.columns) == ["id", "label", "timestamp", "value"]
    assert str(got_live["timestamp"].dt.tz) == "UTC"
    keys = ["id", "label", "timestamp"]
    merged = got_live.merge(got_local, on=keys, how="outer", suffixes=("_live", "_local"))
    missing = merged[merged["value_live"].isna() | merged["value_local"].isna()]
    assert missing.empty, f"rows in only one engine:\n{missing.head(10)}"
    np.testing.assert_allclose(
        merged["value_local"], merged["value_live"], rtol=1e-9, atol=1e-9, err_msg=qid
    )


def test_instant_query_series_and_labels(engines) -> None:
    live, _local, _t0, t1 = engines
    frame = live.query("sum(node_load1)", t1 - pd.Timedelta(minutes=1))
    assert len(frame) == 1 and frame["label"].iloc[0] == "q"
    series = live.series(['node_load1{instance="a"}'], t1 - pd.Timedelta(hours=1), t1)
    assert series == [{"__name__": "node_load1", "instance": "a", "job": "node"}]
    assert {"instance", "job", "le", "type"} <= set(live.labels(t1 - pd.Timedelta(hours=1), t1))


def test_bad_promql_carries_prometheus_message(engines) -> None:
    live, local, t0, t1 = engines
    with pytest.raises(PromQLError, match=r"refused the query: .*parse error"):
        live.query_range({"x": "sum by (type (rate(x[5m]))"}, t0, t1)
    with pytest.raises(PromQLError, match="bad PromQL"):
        local.query_range({"x": "sum by (type (rate(x[5m]))"}, t0, t1)


def test_unsupported_function_names_itself(engines) -> None:
    _live, local, t0, t1 = engines
    with pytest.raises(OfflinePromQLError, match=r"live Prometheus.*predict_linear\(\)"):
        local.query_range({"x": "predict_linear(node_load1[10m], 600)"}, t0, t1)
    with pytest.raises(OfflinePromQLError, match="topk"):
        local.query_range({"x": "topk(1, node_load1)"}, t0, t1)


def test_unreachable_and_timeout() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    t1 = pd.Timestamp("2026-01-01T01:00:00Z")
    with pytest.raises(SourceError, match="unreachable"):
        PrometheusSource(f"http://127.0.0.1:{port}", timeout=2).query_range(
            {"x": "up"}, t1 - pd.Timedelta(hours=1), t1
        )
    with socket.socket() as server:  # accepts, never answers
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        with pytest.raises(QueryTimeoutError, match=r"did not answer within 0\.5 s"):
            PrometheusSource(url, timeout=0.5).query_range(
                {"x": "up"}, t1 - pd.Timedelta(hours=1), t1
            )
