"""Local GetMetricData: CloudWatch statistics, periods and metric math over a store.

>>> from incident_lib.metrics import get_metric_data
>>> get_metric_data(store.connect(), queries, start, end)   # doctest: +SKIP
"""

from __future__ import annotations

from incident_lib.metrics.expression import parse_expression
from incident_lib.metrics.periods import bucket_grid, bucket_origin
from incident_lib.metrics.query import get_metric_data
from incident_lib.metrics.stats import parse_stat

__all__ = ["bucket_grid", "bucket_origin", "get_metric_data", "parse_expression", "parse_stat"]
