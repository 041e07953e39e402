"""The local telemetry store: a folder of Parquet tables plus ``store.json``.

>>> from incident_lib.store import StoreWriter, open_store
>>> with StoreWriter("demo-store") as w:            # doctest: +SKIP
...     w.add_log_events(frame, log_group="/aws/lambda/checkout")
>>> store = open_store("demo-store")                  # doctest: +SKIP
>>> store.connect().sql("select count(*) from logs")  # doctest: +SKIP
"""

from __future__ import annotations

from incident_lib.store.reader import Store, StoreDescriptor, open_store
from incident_lib.store.schema import TABLES
from incident_lib.store.writer import StoreWriter, canonical_dimensions

__all__ = [
    "TABLES",
    "Store",
    "StoreDescriptor",
    "StoreWriter",
    "canonical_dimensions",
    "open_store",
]
