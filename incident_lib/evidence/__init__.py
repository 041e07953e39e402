"""Evidence packs: what an investigation read, kept so it outlives CloudWatch.

- :mod:`.recorder`: ``RecordingSource``, the wrapper that keeps every answer (masked);
- :mod:`.pack`: assembles ``<incident>/pack/`` (a telemetry store plus every result);
- :mod:`.manifest`: ``pack/manifest.json`` (hashes, queries, cost) and ``verify``;
- :mod:`.packsource`: ``PackSource``, which answers a replay as the run was answered;
- :mod:`.fidelity`: the local engine against the recorded Logs Insights answers;
- :mod:`.timeline`, :mod:`.rca`: the incident timeline and the RCA draft;
- :mod:`.investigation`: the steps ``incident_lib.run.investigate`` calls.

See docs/evidence-packs.md.
"""

from __future__ import annotations

from incident_lib.evidence.manifest import MANIFEST, Verification, verify
from incident_lib.evidence.packsource import PACK_KIND, PackSource, is_pack
from incident_lib.evidence.recorder import RecordingSource

__all__ = [
    "MANIFEST",
    "PACK_KIND",
    "PackSource",
    "RecordingSource",
    "Verification",
    "is_pack",
    "verify",
]
