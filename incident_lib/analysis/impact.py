"""How bad was it? Failed invocations, error rate and time in ALARM since the onset."""

from __future__ import annotations

import pandas as pd

from incident_lib.findings import Evidence, Finding
from incident_lib.timeutil import ensure_utc


def alarm_periods(
    alarm_history: pd.DataFrame | None, *, start: pd.Timestamp, end: pd.Timestamp
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The ``(from, to)`` intervals the alarm spent in ALARM within ``[start, end]``, from
    StateUpdate items of a ``Source.alarm_history`` frame (``timestamp, history_item_type,
    new_state``). A state entered before ``start`` counts from ``start``; one still open runs to
    ``end``."""
    if alarm_history is None or alarm_history.empty:
        return []
    hist = alarm_history[alarm_history["history_item_type"] == "StateUpdate"]
    hist = hist.assign(t=pd.to_datetime(hist["timestamp"], utc=True)).sort_values("t")
    periods: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    opened: pd.Timestamp | None = None
    for t, new in zip(hist["t"], hist["new_state"], strict=True):
        if new == "ALARM" and opened is None:
            opened = t
        elif new != "ALARM" and opened is not None:
            periods.append((opened, t))
            opened = None
    if opened is not None:
        periods.append((opened, end))
    return [(max(a, start), min(b, end)) for a, b in periods if b > start and a < end]


def alarm_minutes(
    alarm_history: pd.DataFrame | None, *, start: pd.Timestamp, end: pd.Timestamp
) -> float:
    """Minutes the alarm spent in ALARM within ``[start, end]`` (see :func:`alarm_periods`)."""
    periods = alarm_periods(alarm_history, start=start, end=end)
    return sum((b - a for a, b in periods), pd.Timedelta(0)).total_seconds() / 60


def impact(
    errors: pd.Series,
    invocations: pd.Series | None,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp | None = None,
    alarm_history: pd.DataFrame | None = None,
    baseline_end: pd.Timestamp | None = None,
    label: str = "requests",
) -> Finding:
    """The impact since ``start`` (the onset) as a finding.

    Parameters
    ----------
    errors, invocations
        Per-period sums (failed, total) indexed by tz-aware period start; ``invocations`` may
        be ``None`` when the total is unknown (no error rate then).
    start, end
        The impact window; ``end`` defaults to the last period.
    alarm_history
        ``Source.alarm_history`` frame, for the minutes spent in ALARM.
    baseline_end
        With it, errors before it give a baseline rate per period, and ``excess_failures`` is
        what the window failed beyond that usual rate.
    """
    start = ensure_utc(start, name="start")
    errors = errors.sort_index()
    end = (
        ensure_utc(end, name="end")
        if end is not None
        else (errors.index.max() if len(errors) else start)
    )
    window = errors[(errors.index >= start) & (errors.index <= end)]
    failed = float(window.sum())
    total = None
    if invocations is not None:
        total = float(invocations[(invocations.index >= start) & (invocations.index <= end)].sum())
    rate = failed / total if total else None
    excess = None
    if baseline_end is not None:
        base = errors[errors.index < ensure_utc(baseline_end, name="baseline_end")]
        if len(base):
            excess = max(failed - float(base.mean()) * len(window), 0.0)
    minutes = (end - start).total_seconds() / 60
    in_alarm = alarm_minutes(alarm_history, start=start, end=end)
    peak_time = window.idxmax() if len(window) else None
    parts = [f"{failed:.0f} failed {label}"]
    if rate is not None:
        parts.append(f"{rate:.1%} of {total:.0f}")
    title = f"{', '.join(parts)} in {minutes:.0f} min since {start:%H:%M} UTC"
    detail = f"Alarm in ALARM for {in_alarm:.0f} min of the window."
    if excess is not None:
        detail += f" {excess:.0f} failures beyond the baseline rate."
    if peak_time is not None:
        detail += f" Peak {window.max():.0f} per period at {peak_time:%H:%M} UTC."
    evidence = [Evidence(label="errors per period", ref="metric:errors")]
    if invocations is not None:
        evidence.append(Evidence(label="invocations per period", ref="metric:invocations"))
    if alarm_history is not None:
        evidence.append(Evidence(label="alarm history", ref="alarm_history"))
    severity = (
        "critical"
        if failed and (rate is None or rate >= 0.01)
        else ("warning" if failed else "info")
    )
    return Finding(
        kind="impact",
        title=title,
        detail=detail,
        severity=severity,
        time=start.to_pydatetime(),
        evidence=tuple(evidence),
        data={
            "failed": failed,
            "total": total,
            "error_rate": rate,
            "excess_failures": excess,
            "minutes": minutes,
            "minutes_in_alarm": in_alarm,
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
    )
