"""When did the anomaly start? A robust baseline and the first sustained departure from it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from incident_lib.findings import Evidence, Finding
from incident_lib.timeutil import ensure_utc

log = logging.getLogger(__name__)

#: Scale that makes the median absolute deviation estimate a normal standard deviation.
MAD_SCALE = 1.4826


@dataclass(frozen=True)
class Onset:
    """Start of a sustained departure from the baseline.

    ``time`` is the first point of the departure (walked back from the first run of strong
    points while points stay above the soft threshold), which can precede the first breach of
    an alarm threshold. ``first_breach`` is the first point above ``threshold``.
    """

    time: pd.Timestamp
    baseline: float
    spread: float
    threshold: float
    first_breach: pd.Timestamp
    peak: float
    peak_time: pd.Timestamp
    direction: Literal["up", "down"]
    method: str

    def to_finding(self, *, label: str = "series", ref: str = "") -> Finding:
        """This onset as a :class:`Finding` citing the series it was found in."""
        verb = "rose" if self.direction == "up" else "fell"
        title = (
            f"{label} {verb} from a baseline of {self.baseline:.3g} to {self.peak:.3g} "
            f"starting {self.time:%Y-%m-%d %H:%M} UTC"
        )
        lead = (self.first_breach - self.time).total_seconds() / 60
        detail = (
            f"Baseline median {self.baseline:.3g}, robust spread {self.spread:.3g}, departure "
            f"threshold {self.threshold:.3g}; first point past it at "
            f"{self.first_breach:%H:%M} UTC ({lead:.0f} min after the onset). Method: "
            f"{self.method}."
        )
        return Finding(
            kind="onset",
            title=title,
            detail=detail,
            severity="warning",
            time=self.time.to_pydatetime(),
            evidence=(Evidence(label=label, ref=ref or f"series:{label}"),),
            data={
                "onset": self.time.isoformat(),
                "first_breach": self.first_breach.isoformat(),
                "baseline": self.baseline,
                "spread": self.spread,
                "threshold": self.threshold,
                "peak": self.peak,
                "peak_time": self.peak_time.isoformat(),
                "direction": self.direction,
            },
        )


def detect_onset(
    series: pd.Series,
    *,
    baseline_end: pd.Timestamp,
    direction: Literal["up", "down"] = "up",
    search_start: pd.Timestamp | None = None,
    z: float = 4.0,
    soft_z: float = 1.5,
    sustain: int = 3,
    min_hits: int = 2,
    min_spread: float | None = None,
    min_baseline_points: int = 5,
) -> Onset | None:
    """Find the start of the first sustained departure of ``series`` from its baseline.

    Parameters
    ----------
    series
        Values indexed by tz-aware time, evenly spaced (one per minute, say). NaN is ignored.
    baseline_end
        The baseline is every point before this time: median as the centre, the median
        absolute deviation (scaled to a standard deviation) as the spread. Both resist the odd
        spike and a contaminated minority of the window.
    direction
        ``"up"`` for rises (errors, latency), ``"down"`` for drops (traffic, success rate).
    search_start
        Where to look for a departure; default ``baseline_end``. The walk-back below may still
        place the onset before it.
    z, soft_z
        A point is *strong* past ``baseline ± z·spread`` and *soft* past ``± soft_z·spread``.
    sustain, min_hits
        A departure is sustained when, from a strong point, at least ``min_hits`` of the
        ``sustain`` points starting there are strong. The onset is then walked back over the
        soft points just before it: that is where the change began.
    min_spread
        Floor for the spread. Default ``sqrt(max(|baseline|, 1))``: the Poisson noise of a
        count, so a flat or all-zero baseline (MAD 0) does not make every blip a departure.
    min_baseline_points
        Fewer baseline points than this: no verdict (``None``).

    Returns
    -------
    Onset or None
        ``None`` when the baseline is too short or nothing departs for long enough.
    """
    baseline_end = ensure_utc(baseline_end, name="baseline_end")
    start = (
        ensure_utc(search_start, name="search_start")
        if search_start is not None
        else (baseline_end)
    )
    values = series.dropna().astype(float).sort_index()
    if values.empty:
        return None
    if values.index.tz is None:
        raise ValueError("series must be indexed by tz-aware times")
    base = values[values.index < baseline_end]
    if len(base) < min_baseline_points:
        log.debug("onset: %d baseline points, need %d", len(base), min_baseline_points)
        return None
    center = float(np.median(base))
    mad = float(np.median(np.abs(base - center))) * MAD_SCALE
    floor = min_spread if min_spread is not None else float(np.sqrt(max(abs(center), 1.0)))
    spread = max(mad, floor)
    sign = 1.0 if direction == "up" else -1.0
    dev = (values - center) * sign
    strong = (dev > z * spread).to_numpy()
    soft = (dev > soft_z * spread).to_numpy()
    times = values.index
    first = int(np.searchsorted(times, start))
    for i in range(first, len(values)):
        if not strong[i] or strong[i : i + sustain].sum() < min_hits:
            continue
        j = i
        while j > 0 and soft[j - 1]:
            j -= 1
        after = values.iloc[j:]
        peak_pos = int(np.argmax(after.to_numpy() * sign))
        method = (
            f"median/MAD baseline before {baseline_end:%H:%M} UTC ({len(base)} points), "
            f"{min_hits} of {sustain} points past {z:g} spreads, walked back over points past "
            f"{soft_z:g} spreads"
        )
        return Onset(
            time=times[j],
            baseline=center,
            spread=spread,
            threshold=center + sign * z * spread,
            first_breach=times[i],
            peak=float(after.iloc[peak_pos]),
            peak_time=after.index[peak_pos],
            direction=direction,
            method=method,
        )
    return None
