"""The shape of get_metric_data's answer, and that it reads a real store's view."""

from __future__ import annotations

import pandas as pd

from incident_lib.metrics import bucket_grid, bucket_origin, get_metric_data
from incident_lib.sources.frames import METRIC_COLUMNS
from incident_lib.store import StoreWriter, open_store


def test_frame_dtypes_and_order(make_con, at_time, query) -> None:
    con = make_con([{"t": "00:01:01", "value": 3.0}, {"t": "00:00:01", "value": 1.0}])
    frame = get_metric_data(
        con,
        [
            query({"id": "z", "stat": "Sum", "period": 60}),
            query({"id": "b", "stat": "Maximum", "period": 60}),
            query({"id": "hidden", "stat": "Sum", "period": 60, "return_data": False}),
        ],
        at_time("00:00:00"),
        at_time("00:05:00"),
    )
    assert list(frame.columns) == METRIC_COLUMNS
    assert str(frame["timestamp"].dtype) == "datetime64[us, UTC]"
    assert frame["value"].dtype == "float64"
    assert list(frame["id"]) == ["b", "b", "z", "z"]
    assert frame["timestamp"].is_monotonic_increasing is False  # ids first, then time
    assert list(frame.loc[frame["id"] == "z", "value"]) == [1.0, 3.0]


def test_no_data_gives_empty_frame_of_the_same_shape(make_con, at_time, query) -> None:
    con = make_con([])
    frame = get_metric_data(
        con,
        [query({"id": "a", "stat": "p99", "period": 60})],
        at_time("00:00:00"),
        at_time("01:00:00"),
    )
    assert frame.empty
    assert list(frame.columns) == METRIC_COLUMNS
    assert str(frame["timestamp"].dtype) == "datetime64[us, UTC]"


def test_reads_a_store_written_by_store_writer(tmp_path, at_time, query) -> None:
    rows = pd.DataFrame(
        {
            "namespace": "AWS/Lambda",
            "metric_name": "Errors",
            "dimensions": [{"FunctionName": "checkout"}] * 3,
            "timestamp": [at_time("00:00:05"), at_time("00:00:35"), at_time("00:01:05")],
            "value": [1.0, 2.0, 5.0],
        }
    )
    with StoreWriter(tmp_path / "s") as writer:
        writer.add_metrics(rows)
    con = open_store(tmp_path / "s").connect()
    frame = get_metric_data(
        con,
        [
            query(
                {
                    "id": "e",
                    "namespace": "AWS/Lambda",
                    "metric_name": "Errors",
                    "dimensions": {"FunctionName": "checkout"},
                    "stat": "Sum",
                    "period": 60,
                }
            )
        ],
        at_time("00:00:00"),
        at_time("00:02:00"),
    )
    assert list(frame["value"]) == [3.0, 5.0]
    assert list(frame["label"]) == ["Errors", "Errors"]


def test_bucket_origin_and_grid(at_time) -> None:
    assert bucket_origin(at_time("12:32:34"), 300) == at_time("12:32:00")
    assert bucket_origin(at_time("01:05:23"), 10) == at_time("01:05:20")
    assert bucket_origin(at_time("15:07:17"), 5) == at_time("15:07:15")
    grid = bucket_grid(at_time("00:00:30"), at_time("00:03:00"), 60)
    assert list(grid) == [at_time("00:00:00"), at_time("00:01:00"), at_time("00:02:00")]
