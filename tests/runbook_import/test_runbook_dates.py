"""``$(date ...)`` in the spellings runbooks use, read as an offset from the window's end."""

from __future__ import annotations

import pandas as pd
import pytest

from incident_lib.runbook_import.dates import read_duration, read_time, strftime_of

H = pd.Timedelta(hours=1)


@pytest.mark.parametrize(
    ("word", "offset", "unit"),
    [
        # GNU date, epoch seconds with 000 pasted on for milliseconds
        ("$(date -d '1 hour ago' +%s)000", -H, "ms"),
        ("$(date -d '30 minutes ago' +%s)000", -H / 2, "ms"),
        ("$(date -d '1 hour ago' +%s)", -H, "s"),
        # GNU -u -d with an ISO format
        ("$(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%S)", -H, "iso"),
        ("$(date -u +%Y-%m-%dT%H:%M:%S)", pd.Timedelta(0), "iso"),
        ("$(date --date='7 days ago' -u +%FT%TZ)", -7 * 24 * H, "iso"),
        ("$(date -d '-2 hours' -Iseconds)", -2 * H, "iso"),
        ("$(date -d 'now - 90 minutes' +%s)", -1.5 * H, "s"),
        ("$(date -d yesterday +%s)", -24 * H, "s"),
        # date-only --iso-8601
        ("$(date -d '1 hour ago' --iso-8601)", -H, "date"),
        ("$(date --iso-8601)", pd.Timedelta(0), "date"),
        ("$(date +%Y-%m-%d)", pd.Timedelta(0), "date"),
        # BSD -v
        ("$(date -u -v-1H +%Y-%m-%dT%H:%M:%SZ)", -H, "iso"),
        ("$(date -v-7d +%s)000", -7 * 24 * H, "ms"),
        ("$(date -v-30M -v-1H +%s)", -1.5 * H, "s"),
        # plain $(date), backquotes, milliseconds
        ("$(date)", pd.Timedelta(0), "text"),
        ("`date -u +%s`", pd.Timedelta(0), "s"),
        ("$(date +%s%3N)", pd.Timedelta(0), "ms"),
        # shell arithmetic on epochs
        ("$(($(date +%s) - 3600))", -H, "s"),
        ("$(( ($(date +%s) - 3600) * 1000 ))", -H, "ms"),
        ("$(($(date +%s) * 1000 - 900000))", -H / 4, "ms"),
    ],
)
def test_a_date_spelling_is_an_offset_from_now(word, offset, unit):
    ref = read_time(word)
    assert ref is not None
    assert (ref.offset, ref.unit) == (offset, unit)


def test_milliseconds_subtracted_from_seconds_are_read_as_meant_and_said():
    ref = read_time("$(($(date +%s) - 3600000))")
    assert ref is not None and ref.offset == -H
    assert "milliseconds were meant" in ref.note


@pytest.mark.parametrize(
    "word",
    ["plain", "$(curl -s x)", "$(date -d 'banana' +%s)", "$(date -r file +%s)", "$PREVIOUS"],
)
def test_what_is_not_a_time_of_now_is_none(word):
    assert read_time(word) is None


def test_durations_and_formats():
    assert read_duration("1h") == H
    assert read_duration("30m") == H / 2
    assert read_duration("2d") == 48 * H
    assert read_duration("soon") is None
    assert strftime_of("$(date +%Y)") == "%Y"
    assert strftime_of("$(date -d '1 day ago' +%Y)") is None
