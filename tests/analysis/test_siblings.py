from __future__ import annotations

import numpy as np
import pandas as pd

from incident_lib.analysis import sibling_scan

IDX = pd.date_range("2026-11-18T12:00Z", periods=120, freq="min")
ONSET = IDX[90]


def _frame(series):
    return pd.concat(
        [
            pd.DataFrame({"id": key, "label": key, "timestamp": IDX, "value": values})
            for key, values in series.items()
        ],
        ignore_index=True,
    )


def test_only_the_departing_series_is_affected():
    rng = np.random.default_rng(4)
    bad = rng.poisson(0.5, 120).astype(float)
    bad[90:] += 20
    frame = _frame(
        {
            "checkout": bad,
            "cart": rng.poisson(0.5, 120).astype(float),
            "payments": rng.poisson(0.2, 120).astype(float),
        }
    )
    f = sibling_scan(frame, onset=ONSET)
    assert f.data["affected"] == ["checkout"]
    assert f.data["unaffected"] == ["cart", "payments"]
    assert {e.ref for e in f.evidence} == {"metric:checkout", "metric:cart", "metric:payments"}


def test_a_departure_long_before_the_onset_does_not_count():
    early = np.zeros(120)
    early[20:] = 30  # an older, unrelated shift: inside the baseline
    f = sibling_scan(_frame({"x": early}), onset=ONSET)
    assert f.data["affected"] == []


def test_empty_frame():
    empty = pd.DataFrame(columns=["id", "label", "timestamp", "value"])
    assert sibling_scan(empty, onset=ONSET).title == "No sibling series to compare"
