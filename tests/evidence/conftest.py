"""Fixtures for the evidence-pack tests: one demo investigation with its pack, and helpers that
read a pack independently of incident_lib.evidence (so the tests do not check the code with
itself).

The moto fixtures of tests/aws are imported here for the AWS wire-path pack tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.aws.conftest import moto, moto_clients, moto_endpoint  # noqa: F401


@pytest.fixture(scope="session")
def demo_incident(tmp_path_factory: pytest.TempPathFactory):
    """The lambda_errors demo incident investigated once, with its pack, RCA and figures."""
    from incident_lib.alarm import parse_alarm
    from incident_lib.demo import alarm_event, demo_store
    from incident_lib.run import investigate

    base = demo_store(root=tmp_path_factory.mktemp("evidence-stores"))
    alarm = parse_alarm(alarm_event(base, "eventbridge"))
    store = plant_secrets(base, tmp_path_factory.mktemp("planted") / "store", alarm)
    run = investigate(alarm, source=store.path, out=tmp_path_factory.mktemp("evidence-reports"))
    return store, run


#: Secrets planted in the demo incident's window (the scenario's own leaked key is logged
#: after the window, so it would never reach a pack).
PLANTED = {
    "key": "AKIAJPLANTEDKEY12345",
    "password": "plantedPassw0rd",
    "token": "tok_planted_9f8e7d6c",
    "bearer": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.c2lnbmF0dXJlcGxhbnRlZA",
}


def plant_secrets(base, path: Path, alarm):
    """The demo store plus two error lines carrying secrets, three minutes before the alarm
    (inside the window, matched by the notebook's error query: "exception")."""
    import pandas as pd

    from incident_lib.store import StoreWriter

    at = pd.Timestamp(alarm.state_change_time) - pd.Timedelta(minutes=3)
    lines = [
        f"ERROR PaymentException: retry failed with key {PLANTED['key']} "
        f"password={PLANTED['password']}",
        f"ERROR UpstreamException 401: token={PLANTED['token']} Authorization: Bearer "
        f"{PLANTED['bearer']}",
    ]
    with StoreWriter(path, base=base) as w:
        w.add_log_events(
            [
                {
                    "timestamp": at + pd.Timedelta(seconds=i),
                    "message": text,
                    "log_stream": "2026/11/18/[$LATEST]planted",
                    "event_id": f"9{i:019d}",
                }
                for i, text in enumerate(lines)
            ],
            log_group="/aws/lambda/checkout-api",
        )
    from incident_lib.store import open_store

    return open_store(path)


def pack_strings(pack: Path) -> Iterator[tuple[str, str]]:
    """``(file, text)`` for every string a pack holds: each string cell of each Parquet file
    (decompressed) and the text of each JSON file."""
    for path in sorted(pack.rglob("*")):
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            for name in table.column_names:
                for value in table.column(name).to_pylist():
                    if isinstance(value, str):
                        yield path.name, value
        elif path.is_file():
            yield path.name, path.read_text(encoding="utf-8", errors="replace")


CITATION = re.compile(r"\[(`[^`]+`(?:, `[^`]+`)*)\]")
ID = re.compile(r"`([a-z]+):([^`]+)`")


def citations(text: str) -> list[tuple[str, str]]:
    """Every evidence id cited in an RCA draft, as ``(kind, value)``."""
    out = []
    for group in CITATION.findall(text):
        out.extend(ID.findall(group))
    return out


class PackFacts:
    """What a pack holds, read with pyarrow and json only."""

    def __init__(self, pack: Path) -> None:
        store = json.loads((pack / "store.json").read_text(encoding="utf-8"))
        self.calls = store["provenance"]["calls"]
        self.queries = {c["query"] for c in self.calls if c["query"] is not None}
        self.metrics: set[str] = set()
        self.logs: set[str] = set()
        for call in self.calls:
            result = call.get("result") or {}
            if result.get("type") != "frame":
                continue
            table = pq.read_table(pack / result["file"])
            if call["method"] == "metric_data":
                self.metrics.update(table.column("id").to_pylist())
            for col in ("@ptr", "event_id"):
                if col in table.column_names and call["method"] != "change_events":
                    self.logs.update(str(v) for v in table.column(col).to_pylist())
        self.logs.update(pq.read_table(pack / "logs.parquet").column("event_id").to_pylist())
        self.cloudtrail = set(
            pq.read_table(pack / "changes.parquet").column("event_id").to_pylist()
        )
        self.alarms = set(pq.read_table(pack / "alarms.parquet").column("alarm_name").to_pylist())

    def resolves(self, kind: str, value: str) -> bool:
        return {
            "query": lambda v: v.isdigit() and int(v) in self.queries,
            "metric": lambda v: v in self.metrics,
            "log": lambda v: v in self.logs,
            "cloudtrail": lambda v: v in self.cloudtrail,
            "alarm": lambda v: v in self.alarms,
        }.get(kind, lambda v: False)(value)
