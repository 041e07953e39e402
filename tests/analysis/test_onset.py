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
