"""The scenario registry and :func:`build_store`, the one way to write a demo store.

A scenario is a seeded generator of telemetry around one incident. It writes into a
:class:`~incident_lib.store.StoreWriter` and returns its descriptor entry (alarm events and
ground truth), which :func:`build_store` keeps in ``store.json``.

>>> from incident_lib.scenarios import build_store
>>> store = build_store("lambda_errors", "demo-store")      # doctest: +SKIP
>>> store.ground_truth["culprit_event_id"]                  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from incident_lib.errors import UnknownNameError
from incident_lib.store import Store, StoreWriter

log = logging.getLogger(__name__)

#: ``generate(writer, rng)`` writes the telemetry and returns the scenario's descriptor entry
#: without ``name``/``seed`` (``alert_type``, ``alarm_events``, ``ground_truth`` ...).
Generator = Callable[[StoreWriter, np.random.Generator], Mapping[str, Any]]


@dataclass(frozen=True)
class Scenario:
    """A named, seeded incident generator."""

    name: str
    alert_type: str
    description: str
    generate: Generator
    account_id: str = "123456789012"
    region: str = "us-east-1"


SCENARIOS: dict[str, Scenario] = {}


def register(scenario: Scenario) -> Scenario:
    """Add ``scenario`` to the registry (a later registration under the same name wins)."""
    if scenario.name in SCENARIOS:
        log.debug("scenario %s registered again; replacing it", scenario.name)
    SCENARIOS[scenario.name] = scenario
    return scenario


def get_scenario(name: str) -> Scenario:
    """The scenario called ``name``; :class:`UnknownNameError` lists the valid names."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UnknownNameError("scenario", name, list(SCENARIOS)) from None


def build_store(name: str, path: str | Path, *, seed: int = 7, overwrite: bool = True) -> Store:
    """Generate scenario ``name`` into a telemetry store at ``path`` and open it.

    Parameters
    ----------
    name
        A registered scenario (``lambda_errors`` ...).
    path
        Folder to write; it is replaced atomically when ``overwrite`` is true.
    seed
        Seed of the numpy random generator. The same seed gives identical tables; only the
        descriptor's ``created`` differs between two builds.
    overwrite
        Replace an existing store at ``path``; otherwise an existing folder is an error.

    Returns
    -------
    Store
        The validated store, its descriptor holding ``scenario`` (name, seed, alert type,
        alarm events, ground truth).
    """
    scenario = get_scenario(name)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    writer = StoreWriter(
        path, account_id=scenario.account_id, region=scenario.region, overwrite=overwrite
    )
    try:
        entry = dict(scenario.generate(writer, rng))
        writer.set_scenario(
            {
                "name": scenario.name,
                "seed": seed,
                "alert_type": scenario.alert_type,
                "description": scenario.description,
                **entry,
            }
        )
    except BaseException:
        writer.abort()
        raise
    store = writer.close()
    log.info(
        "built scenario %s (seed %d) at %s in %.2f s",
        name,
        seed,
        path,
        time.perf_counter() - started,
    )
    return store
