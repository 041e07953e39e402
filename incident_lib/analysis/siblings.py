"""Blast radius: which of the sibling resources departed from their baseline with the onset."""

from __future__ import annotations

import pandas as pd

from incident_lib.analysis.onset import detect_onset
from incident_lib.findings import Evidence, Finding
from incident_lib.timeutil import ensure_utc


def sibling_scan(
    frame: pd.DataFrame,
    *,
    onset: pd.Timestamp,
    window: pd.Timedelta | None = None,
    baseline_gap: pd.Timedelta | None = None,
    direction: str = "up",
) -> Finding:
    """Which series of a metric-data frame depart from their baseline around ``onset``.

    Parameters
    ----------
    frame
        Long ``Source.metric_data`` frame: ``id, label, timestamp, value``, one series per
        ``id`` (one per sibling function, say), the same metric for each.
    onset
        The incident's onset. Each series gets its own baseline ending ``baseline_gap``
        (default 10 min) before it, and counts as affected when :func:`detect_onset` finds a
        sustained departure starting within ``window`` (default 30 min) of the onset.

    Returns
    -------
    Finding
        ``kind="sibling_scan"``; ``data`` lists ``affected`` and ``unaffected`` labels and each
        series' onset.
    """
    onset = ensure_utc(onset, name="onset")
    window = pd.Timedelta(minutes=30) if window is None else window
    gap = pd.Timedelta(minutes=10) if baseline_gap is None else baseline_gap
    affected: list[str] = []
    unaffected: list[str] = []
    onsets: dict[str, str | None] = {}
    evidence = []
    for key, grp in frame.groupby("id", sort=True):
        label = str(grp["label"].iloc[0]) if "label" in grp and len(grp) else str(key)
        series = grp.set_index(pd.to_datetime(grp["timestamp"], utc=True))["value"]
        found = detect_onset(
            series, baseline_end=onset - gap, search_start=onset - gap, direction=direction
        )  # type: ignore[arg-type]
        hit = found is not None and abs(found.time - onset) <= window
        (affected if hit else unaffected).append(label)
        onsets[label] = found.time.isoformat() if hit and found is not None else None
        evidence.append(Evidence(label=label, ref=f"metric:{key}"))
    total = len(affected) + len(unaffected)
    if not total:
        title = "No sibling series to compare"
    elif not affected:
        title = f"None of {total} series departed from its baseline around the onset"
    elif not unaffected:
        title = f"All {total} series departed around the onset: {', '.join(affected)}"
    else:
        title = (
            f"{len(affected)} of {total} affected: {', '.join(affected)}; "
            f"unaffected: {', '.join(unaffected)}"
        )
    return Finding(
        kind="sibling_scan",
        title=title,
        detail=(
            f"Each series against its own median/MAD baseline ending {gap} before the onset; "
            f"affected when a sustained departure starts within {window} of it."
        ),
        severity="warning" if len(affected) > 1 else "info",
        time=onset.to_pydatetime(),
        evidence=tuple(evidence),
        data={"affected": affected, "unaffected": unaffected, "onsets": onsets},
    )
