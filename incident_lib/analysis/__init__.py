"""Deterministic analysis (no LLM): pure functions over DataFrames that return findings.

- :func:`detect_onset`: when this incident's departure from the series' normal began (the
  first burst of a flapping alarm; a change point for slow ramps; the same time on previous
  days where known), with the method, the baseline and a confidence.
- :func:`rank_changes` / :func:`culprit_finding`: which CloudTrail change caused it, each
  checked against what the metric did after it; "no related change found" when none fits.
- :func:`signature` / :func:`signatures` / :class:`TemplateMiner` / :func:`compare_signatures` /
  :func:`signature_findings`: log templates, and errors new or surging against a baseline.
- :func:`impact`: failed requests, error rate, minutes in ALARM.
- :func:`sibling_scan`: which sibling resources are affected.
"""

from __future__ import annotations

from incident_lib.analysis.changes import culprit_finding, metric_after, rank_changes
from incident_lib.analysis.impact import alarm_minutes, alarm_periods, impact
from incident_lib.analysis.onset import Onset, detect_onset, same_time_previous_days
from incident_lib.analysis.siblings import sibling_scan
from incident_lib.analysis.signatures import (
    TemplateMiner,
    compare_signatures,
    mask,
    signature,
    signature_findings,
    signatures,
)

__all__ = [
    "Onset",
    "TemplateMiner",
    "alarm_minutes",
    "alarm_periods",
    "compare_signatures",
    "culprit_finding",
    "detect_onset",
    "impact",
    "mask",
    "metric_after",
    "rank_changes",
    "same_time_previous_days",
    "sibling_scan",
    "signature",
    "signature_findings",
    "signatures",
]
