"""``LocalSource.filter_log_events``: a store's events through the filter-pattern engine."""

from __future__ import annotations

import pandas as pd
import pytest

from incident_lib.errors import BadInputError, FilterPatternError
from incident_lib.sources.frames import LOG_EVENT_COLUMNS
from incident_lib.sources.local import LocalSource
from tests.filterpattern.conftest import EVENTS, build_store

START = pd.Timestamp("2024-01-01T00:00:00Z")
END = pd.Timestamp("2024-01-01T00:05:00Z")
GROUP = ["/app/api"]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return LocalSource(build_store(tmp_path_factory.mktemp("fle") / "store", EVENTS))


def messages(frame: pd.DataFrame) -> list[str]:
    return frame["message"].tolist()


@pytest.mark.parametrize(
    ("pattern", "want"),
    [
        ("ERROR", ["ERROR boom in handler", '{"level": "ERROR", "latency": 1200}']),
        ('?"timed out" ?boom', ["ERROR boom in handler", "Task timed out after 3.00 seconds"]),
        ("{ $.latency > 100 }", ['{"level": "ERROR", "latency": 1200}']),
        ("[..., status = 5*, bytes > 1000]", ['10.0.0.1 - - [x] "GET /a HTTP/1.1" 500 2048']),
        ("%^START%", ["START RequestId: r1 Version: $LATEST"]),
    ],
)
def test_pattern_selects_events(source, pattern, want):
    frame = source.filter_log_events(GROUP, START, END, filter_pattern=pattern)
    assert messages(frame) == want
    assert frame.attrs["truncated"] is False


def test_same_frame_shape_as_log_events(source):
    every = source.filter_log_events(GROUP, START, END)
    raw = source.log_events(GROUP, START, END)
    assert list(every.columns) == LOG_EVENT_COLUMNS
    pd.testing.assert_frame_equal(every, raw)
    assert str(every["timestamp"].dtype) == "datetime64[us, UTC]"
    assert every.loc[5, "ingestion_time"] == pd.Timestamp("2024-01-01T00:00:09Z")


def test_oldest_first_ties_by_event_id(source):
    frame = source.filter_log_events(GROUP, START, END, filter_pattern="-START")
    assert frame["timestamp"].is_monotonic_increasing
    same_second = frame[frame["timestamp"] == pd.Timestamp("2024-01-01T00:00:03Z")]
    assert same_second["event_id"].tolist() == ["e000", "e003"]


def test_window_is_inclusive_and_groups_are_honoured(source):
    at = pd.Timestamp("2024-01-01T00:00:01Z")
    assert messages(source.filter_log_events(GROUP, at, at, filter_pattern="ERROR")) == [
        "ERROR boom in handler"
    ]
    both = source.filter_log_events(["/app/api", "/app/other"], START, END, filter_pattern="ERROR")
    assert set(both["log_group"]) == {"/app/api", "/app/other"}
    assert source.filter_log_events(["/nope"], START, END).empty


def test_stream_prefix(source):
    frame = source.filter_log_events(GROUP, START, END, log_stream_prefix="b/")
    assert set(frame["log_stream"]) == {"b/1"}
    assert len(frame) == 2


def test_limit_truncates_and_says_so(source):
    frame = source.filter_log_events(GROUP, START, END, limit=2)
    assert len(frame) == 2
    assert frame.attrs["truncated"] is True
    assert messages(frame)[0].startswith("START")
    exact = source.filter_log_events(GROUP, START, END, filter_pattern="ERROR", limit=2)
    assert exact.attrs["truncated"] is False


def test_bad_input(source):
    with pytest.raises(FilterPatternError) as info:
        source.filter_log_events(GROUP, START, END, filter_pattern="{ $.a = }")
    assert info.value.column == 9
    with pytest.raises(BadInputError):
        source.filter_log_events(GROUP, START, END, limit=0)
    with pytest.raises(BadInputError):
        source.filter_log_events(GROUP, pd.Timestamp("2024-01-01"), END)
