"""Telemetry sources: one interface, answered by AWS or by a local store.

Use :func:`open_source` with a notebook's ``source`` parameter (``"aws"`` or a store path).
"""

from __future__ import annotations

from pathlib import Path

from incident_lib.sources.base import InsightsQuery, MetricQuery, Source

__all__ = ["InsightsQuery", "MetricQuery", "Source", "open_source"]


def open_source(
    spec: str | Path,
    *,
    region: str | None = None,
    account_id: str | None = None,
    profile: str | None = None,
    role_arn: str | None = None,
    endpoint_url: str | None = None,
) -> Source:
    """``"aws"`` -> :class:`AwsSource` for ``region``; anything else is a store path ->
    :class:`LocalSource` (an evidence pack's ``pack/`` -> its ``PackSource``). Imports lazily
    so a local run never needs boto3 credentials."""
    if str(spec) == "aws":
        from incident_lib.sources.aws import AwsSource

        if not region:
            from incident_lib.errors import BadInputError

            raise BadInputError("source 'aws' needs a region (from the alarm ARN or --region)")
        return AwsSource(
            region=region,
            account_id=account_id,
            profile=profile,
            role_arn=role_arn,
            endpoint_url=endpoint_url,
        )
    from incident_lib.sources.local import LocalSource
    from incident_lib.store import open_store

    store = open_store(spec)
    if (store.descriptor.provenance or {}).get("kind") == "incident-evidence-pack":
        # An evidence pack answers the calls it recorded as they were answered (a replay).
        from incident_lib.evidence.packsource import PackSource

        return PackSource(store)
    return LocalSource(store)
