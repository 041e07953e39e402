"""The demo incident: a scenario store built on first use, and its alarm event."""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path
from typing import Any

from incident_lib.errors import StoreError
from incident_lib.paths import stores_dir
from incident_lib.store import Store, open_store

log = logging.getLogger(__name__)

DEFAULT_SCENARIO = "lambda_errors"
DEFAULT_SEED = 7


def demo_store(
    scenario: str = DEFAULT_SCENARIO,
    *,
    seed: int = DEFAULT_SEED,
    root: Path | None = None,
    rebuild: bool = False,
) -> Store:
    """The scenario's store under ``reports/_stores/<scenario>-<seed>``, built if missing."""
    from incident_lib.scenarios import build_store, get_scenario

    get_scenario(scenario)  # unknown names fail here, listing the valid ones
    path = (root or stores_dir()) / f"{scenario}-{seed}"
    path.parent.mkdir(parents=True, exist_ok=True)
    # Several processes (test workers, notebooks opened at once) may ask at the same time:
    # one builds, the others wait and open what it built.
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not rebuild:
            try:
                store = open_store(path)
                if (store.descriptor.scenario or {}).get("name") == scenario:
                    return store
            except StoreError:
                pass
        log.info("building demo store %s", path)
        return build_store(scenario, path, seed=seed, overwrite=True)


def alarm_event(store: Store, shape: str = "eventbridge") -> dict[str, Any]:
    """The alarm event a scenario recorded (``eventbridge`` or ``sns``; a Prometheus scenario
    has only its Alertmanager notification, ``alertmanager``, given for any shape)."""
    events = (store.descriptor.scenario or {}).get("alarm_events") or {}
    if shape not in events and "alertmanager" in events:
        return events["alertmanager"]
    if shape not in events:
        raise StoreError(
            f"the store has no {shape!r} alarm event (has: {', '.join(events)})",
            path=str(store.path),
        )
    return events[shape]
