"""Incident investigation notebooks: CloudWatch alarms in, evidence-backed reports out."""

from __future__ import annotations

__version__ = "0.1.0"
