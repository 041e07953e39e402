from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from incident_lib.analysis import detect_onset
from incident_lib.errors import BadInputError

IDX = pd.date_range("2026-11-18T10:00Z", periods=120, freq="min")
BASE_END = IDX[60]


def _series(values):
    return pd.Series(np.asarray(values, dtype=float), index=IDX[: len(values)])


def test_empty_series_has_no_onset():
    assert detect_onset(pd.Series(dtype=float), baseline_end=BASE_END) is None


def test_flat_series_has_no_onset():
    assert detect_onset(_series([3.0] * 120), baseline_end=BASE_END) is None


def test_too_short_baseline_gives_no_verdict():
    values = [0.0] * 3 + [50.0] * 10
    assert detect_onset(_series(values), baseline_end=IDX[3]) is None


def test_noisy_series_without_change_has_no_onset():
    rng = np.random.default_rng(1)
    assert detect_onset(_series(rng.poisson(20, 120)), baseline_end=BASE_END) is None


def test_step_is_found_at_its_start():
    rng = np.random.default_rng(2)
    values = rng.poisson(1, 120).astype(float)
    values[80:] += 25
    onset = detect_onset(_series(values), baseline_end=BASE_END)
    assert onset is not None and onset.time == IDX[80]
    assert onset.peak >= 25 and onset.direction == "up"


def test_ramp_onset_precedes_the_first_strong_point():
    values = [10.0] * 80 + [16, 19, 24, 30, 40, 50, 60] + [60.0] * 33
    onset = detect_onset(_series(values), baseline_end=BASE_END)
    assert onset is not None
    assert onset.time < onset.first_breach
    assert onset.time == IDX[80]


def test_single_spike_is_not_sustained():
    values = [0.0] * 120
    values[90] = 40
    assert detect_onset(_series(values), baseline_end=BASE_END) is None


def test_drop_is_found_with_direction_down():
    values = [100.0] * 90 + [20.0] * 30
    assert detect_onset(_series(values), baseline_end=BASE_END) is None
    onset = detect_onset(_series(values), baseline_end=BASE_END, direction="down")
    assert onset is not None and onset.time == IDX[90] and onset.peak == 20


def test_naive_baseline_end_is_rejected():
    with pytest.raises(BadInputError):
        detect_onset(_series([1.0] * 10), baseline_end=pd.Timestamp("2026-11-18T10:05"))


def test_finding_cites_the_series():
    values = [0.0] * 90 + [30.0] * 30
    finding = detect_onset(_series(values), baseline_end=BASE_END).to_finding(
        label="Errors", ref="metric:errors"
    )
    assert finding.kind == "onset" and finding.evidence[0].ref == "metric:errors"
    assert finding.time == IDX[90].to_pydatetime()


# -- flapping alarms, slow ramps, history, confidence ---------------------------------------

LONG = pd.date_range("2026-11-18T10:00Z", periods=180, freq="min")


def _long(values):
    return pd.Series(np.asarray(values, dtype=float), index=LONG[: len(values)])


def _bursts(spans, *, level=0.4, height=20.0, seed=5):
    rng = np.random.default_rng(seed)
    lam = np.full(180, level)
    for start, length in spans:
        lam[start : start + length] = height
    return _long(rng.poisson(lam))


def _history(rows):
    """An alarm_history frame from ``(minute, old, new)`` StateUpdate rows."""
    return pd.DataFrame(
        {
            "timestamp": [LONG[0] + pd.Timedelta(minutes=m, seconds=40) for m, _, _ in rows],
            "history_item_type": "StateUpdate",
            "old_state": [o for _, o, _ in rows],
            "new_state": [n for _, _, n in rows],
        }
    )


def test_flapping_alarm_onset_is_the_first_burst_not_the_latest():
    series = _bursts([(60, 6), (75, 5), (88, 7), (100, 6)])
    paged = LONG[102]  # the last OK -> ALARM, 40 min after the first burst
    onset = detect_onset(series, baseline_end=paged - pd.Timedelta(minutes=15))
    assert onset.time == LONG[60]
    assert onset.bursts == 4 and "first burst of this incident (4 bursts" in onset.method
    assert "(the first of 4 bursts)" in onset.to_finding().title
    assert detect_onset(series, alarm_time=paged).time == LONG[60]


def test_flapping_alarm_history_sets_the_incident_start():
    series = _bursts([(60, 6), (75, 5), (88, 7), (100, 6)])
    history = _history(
        [
            (62, "OK", "ALARM"),
            (67, "ALARM", "OK"),
            (77, "OK", "ALARM"),
            (81, "ALARM", "OK"),
            (90, "OK", "ALARM"),
            (96, "ALARM", "OK"),
            (102, "OK", "ALARM"),
        ]
    )
    onset = detect_onset(series, alarm_time=LONG[102], alarm_history=history)
    assert onset.time == LONG[60]
    assert "first ALARM of this incident at 11:02 UTC (4 ALARM periods)" in onset.method


def test_an_earlier_incident_beyond_the_gap_is_not_this_one():
    series = _bursts([(30, 6), (120, 10)])  # 84 min apart: two incidents
    onset = detect_onset(series, alarm_time=LONG[123])
    assert onset.time == LONG[120] and onset.bursts == 1
    joined = detect_onset(series, alarm_time=LONG[123], gap=pd.Timedelta(hours=2))
    assert joined.time == LONG[30]


def test_slow_ramp_is_found_where_it_starts_though_the_baseline_window_holds_it():
    """The measured failure: the old fixed baseline window held the ramp (31 min late)."""
    errors = []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        lam = np.full(180, 0.4)
        lam[100:] += 0.5 * np.arange(80)  # +0.5 errors/min every minute from 11:40
        series = _long(rng.poisson(lam))
        # "alarm time - 15 min" is 25 min into the ramp
        onset = detect_onset(series, baseline_end=LONG[125])
        errors.append((onset.time - LONG[100]).total_seconds() / 60)
        assert onset.shape == "ramp"
        assert onset.earliest <= onset.time <= onset.latest
    assert max(abs(e) for e in errors) <= 4, errors
    assert np.mean(np.abs(errors)) <= 2, errors
    assert sum(abs(e) <= 2 for e in errors) >= 7, errors


def test_ramp_finding_says_ramp_method_baseline_and_confidence():
    values = [10.0] * 80 + [10 + 2 * k for k in range(1, 41)]
    finding = detect_onset(_long(values), baseline_end=LONG[110]).to_finding(label="Errors")
    assert "(a ramp over" in finding.title
    assert "Method: change point" in finding.detail
    assert "Baseline: median of the 80 points from 10:00 to 11:19 UTC" in finding.detail
    assert f"Confidence: {finding.confidence}" in finding.detail
    assert finding.confidence in ("high", "medium", "low")
    # A ramp's time is its kink, the last point at baseline (the first above it is 11:20).
    assert finding.data["shape"] == "ramp" and finding.time == LONG[79].to_pydatetime()
    assert "kink" in finding.detail


def test_a_sharp_step_is_found_with_high_confidence():
    rng = np.random.default_rng(2)
    values = rng.poisson(1, 180).astype(float)
    values[100:] += 30
    onset = detect_onset(_long(values), alarm_time=LONG[103])
    assert onset.time == LONG[100] and onset.shape == "step"
    assert onset.confidence == "high", onset.confidence_reason
    assert onset.earliest == onset.latest == LONG[100]


def test_a_short_baseline_lowers_confidence():
    rng = np.random.default_rng(4)
    values = rng.poisson(1, 30).astype(float)
    values[8:] += 30
    onset = detect_onset(_long(values), alarm_time=LONG[10])
    assert onset.time == LONG[8]
    assert onset.confidence == "medium" and "short baseline (8 points)" in onset.confidence_reason


def _daily(index, rng, *, drop_from=None):
    """Requests per minute with a daily curve (peak 17:00 UTC); a drop to 40 % from
    ``drop_from``."""
    hours = index.hour + index.minute / 60
    rate = 200 + 800 * (1 + np.cos(2 * np.pi * (hours - 17) / 24)) / 2
    if drop_from is not None:
        rate = np.where(index >= drop_from, rate * 0.4, rate)
    return pd.Series(rng.poisson(rate).astype(float), index=index)


def test_history_gives_a_baseline_when_the_window_starts_mid_incident():
    rng = np.random.default_rng(9)
    now = pd.date_range("2026-11-18T13:00Z", periods=90, freq="min")
    past = pd.DatetimeIndex(
        np.concatenate(
            [
                pd.date_range(now[0] - pd.Timedelta(days=d), periods=90, freq="min")
                for d in (1, 2, 3)
            ]
        )
    )
    history = _daily(past, rng)
    series = _daily(now, rng, drop_from=now[1])  # the drop began before the window
    assert detect_onset(series, direction="down", counts=False) is None
    onset = detect_onset(series, direction="down", counts=False, history=history)
    assert onset is not None and onset.time <= now[2]
    assert "same time of day on 3 previous days" in onset.baseline_source
    assert onset.confidence == "low"


def test_history_keeps_a_daily_rise_from_looking_like_a_departure():
    rng = np.random.default_rng(11)
    now = pd.date_range("2026-11-18T06:00Z", periods=240, freq="min")  # the morning climb
    past = pd.DatetimeIndex(
        np.concatenate(
            [pd.date_range(now[0] - pd.Timedelta(days=d), periods=240, freq="min") for d in (1, 2)]
        )
    )
    series = _daily(now, rng)
    assert detect_onset(series, counts=False, baseline_end=now[60]) is not None
    assert (
        detect_onset(series, counts=False, baseline_end=now[60], history=_daily(past, rng)) is None
    )


def test_gauge_floor_is_five_percent_and_count_floor_is_poisson():
    from incident_lib.analysis.onset import spread_floor

    assert spread_floor(400.0, counts=True) == 20.0
    assert spread_floor(400.0, counts=False) == 20.0
    assert spread_floor(10000.0, counts=False) == 500.0
    assert spread_floor(0.0, counts=False) == 1.0
    cpu = _long([50.0] * 100 + [56.0] * 80)  # +6 points: less than 4 x 5 % of 50
    assert detect_onset(cpu, baseline_end=LONG[90], counts=False) is None
    high = _long([50.0] * 100 + [65.0] * 80)
    assert detect_onset(high, baseline_end=LONG[90], counts=False).time == LONG[100]


def test_direction_both_takes_the_earlier_departure():
    values = [50.0] * 100 + [10.0] * 20 + [90.0] * 60
    onset = detect_onset(_long(values), baseline_end=LONG[90], direction="both", counts=False)
    assert onset.direction == "down" and onset.time == LONG[100]
