"""The Prometheus samples the scenario kit derives from request rows (``recipes_ecs.py``) are
series a real Prometheus reads as the offline engine does: the catalogue scenarios' own alert
expressions and the notebooks' breakdowns agree on both."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from incident_lib.scenarios import build_store
from incident_lib.sources.prometheus import PrometheusSource
from incident_lib.sources.promql_local import LocalPrometheus
from tests.prometheus.conftest import running_prometheus

pytestmark = pytest.mark.prometheus

SCENARIO = "prom_error_rate_bad_image"
QUERIES = {
    "alert": (
        'sum by (service) (rate(http_requests_total{service="ai-processor",status=~"5.."}[5m])) '
        '/ sum by (service) (rate(http_requests_total{service="ai-processor"}[5m]))'
    ),
    "by_type": 'sum by (type) (rate(http_errors_total{service="ai-processor"}[5m]))',
    "by_handler": (
        'sum by (handler) (rate(http_requests_total{service="ai-processor",status=~"5.."}[5m]))'
    ),
    "p95_by_handler": (
        "histogram_quantile(0.95, sum by (le, handler) "
        '(rate(http_request_duration_seconds_bucket{service="ai-processor"}[5m])))'
    ),
    "memory": "max by (task) (container_memory_usage_bytes)",
}


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenario-prometheus")
    store = build_store(SCENARIO, root / "store")
    frame = store.connect().execute("SELECT * FROM prometheus_samples").df()
    frame["labels"] = [json.loads(t) for t in frame["labels"]]
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    with running_prometheus(frame, root) as url:
        yield PrometheusSource(url, timeout=30), LocalPrometheus(store.connect(), name="store")


@pytest.mark.parametrize("qid", list(QUERIES))
def test_scenario_series_read_alike(engines, qid: str) -> None:
    live, local = engines
    # Steps at second 7: no scrape (every 30 s, on :00 and :30) on a range boundary, where
    # Prometheus 2 and 3 differ.
    t0, t1 = pd.Timestamp("2026-11-23T11:30:07Z"), pd.Timestamp("2026-11-23T12:55:07Z")
    got_live = live.query_range({qid: QUERIES[qid]}, t0, t1, step=60)
    got_local = local.query_range({qid: QUERIES[qid]}, t0, t1, step=60)
    assert not got_live.empty, "Prometheus found nothing: a test that cannot fail"
    keys = ["id", "label", "timestamp"]
    merged = got_live.merge(got_local, on=keys, how="outer", suffixes=("_live", "_local"))
    missing = merged[merged["value_live"].isna() | merged["value_local"].isna()]
    assert missing.empty, f"rows in only one engine:\n{missing.head(10)}"
    np.testing.assert_allclose(
        merged["value_local"], merged["value_live"], rtol=1e-9, atol=1e-9, err_msg=qid
    )
