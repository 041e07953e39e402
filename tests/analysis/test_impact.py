from __future__ import annotations

import json

import pandas as pd

from incident_lib.analysis import alarm_minutes, impact

IDX = pd.date_range("2026-11-18T13:00Z", periods=60, freq="min")


def _history(rows):
    return pd.DataFrame(
        [
            {
                "timestamp": pd.Timestamp(t),
                "alarm_name": "a",
                "history_item_type": kind,
                "summary": "",
                "old_state": old,
                "new_state": new,
                "data": json.dumps({}),
            }
            for t, kind, old, new in rows
        ]
    )


def test_alarm_minutes_closed_open_and_clipped():
    hist = _history(
        [
            ("2026-11-18T13:10Z", "StateUpdate", "OK", "ALARM"),
            ("2026-11-18T13:10:01Z", "Action", None, None),
            ("2026-11-18T13:25Z", "StateUpdate", "ALARM", "OK"),
            ("2026-11-18T13:50Z", "StateUpdate", "OK", "ALARM"),
        ]
    )
    start, end = pd.Timestamp("2026-11-18T13:05Z"), pd.Timestamp("2026-11-18T13:55Z")
    assert alarm_minutes(hist, start=start, end=end) == 15 + 5
    assert alarm_minutes(hist, start=pd.Timestamp("2026-11-18T13:20Z"), end=end) == 5 + 5
    assert alarm_minutes(None, start=start, end=end) == 0


def test_impact_counts_failures_and_rate():
    errors = pd.Series(0.0, index=IDX)
    errors.iloc[30:40] = 10
    invocations = pd.Series(100.0, index=IDX)
    f = impact(errors, invocations, start=IDX[30], baseline_end=IDX[20])
    assert f.kind == "impact" and f.data["failed"] == 100
    assert f.data["total"] == 3000 and abs(f.data["error_rate"] - 100 / 3000) < 1e-12
    assert f.data["excess_failures"] == 100
    assert f.severity == "critical"
    assert "100 failed requests" in f.title


def test_impact_without_invocations_or_failures():
    f = impact(pd.Series(0.0, index=IDX), None, start=IDX[10])
    assert f.data["error_rate"] is None and f.data["failed"] == 0 and f.severity == "info"
