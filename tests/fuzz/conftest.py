"""Fixtures for the fuzz suite: a scratch folder, a small valid store, a stand-in kernel.

Speed: the default run draws a bounded number of examples per test (``FUZZ_EXAMPLES``, default
40) with a fixed seed, so it is fast and reproducible; ``-m slow`` runs the big variants with
fresh random examples (``FUZZ_SLOW_EXAMPLES``, default 500).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz.harness import prepare_only
from tests.fuzz.mutate import FIXTURES

FAST_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
SLOW_EXAMPLES = int(os.environ.get("FUZZ_SLOW_EXAMPLES", "500"))
_HEALTH = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]

#: Fixed seed, bounded examples: the default run.
FAST = settings(
    max_examples=FAST_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=_HEALTH,
    print_blob=True,
)
#: Fresh examples each run, many more: ``-m slow``.
SLOW = settings(
    max_examples=SLOW_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=_HEALTH,
    print_blob=True,
)

EVENTBRIDGE = FIXTURES / "alarms" / "eventbridge_lambda_errors.json"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The big fuzz runs only when asked for (``-m slow``): the default run stays fast."""
    if "slow" in (config.getoption("-m") or "") and "not slow" not in config.getoption("-m"):
        return
    skip = pytest.mark.skip(reason="big fuzz run: select it with -m slow")
    for item in items:
        if ("fuzz" in item.nodeid or "faults" in item.nodeid) and item.get_closest_marker("slow"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="session")
def small_store(tmp_path_factory) -> Path:
    """A valid store synthesised for the Lambda alarm fixture (every table has rows)."""
    from incident_lib.alarm import parse_alarm
    from incident_lib.scenarios.from_alarm import build_store_for_alarm
    from incident_lib.store import StoreWriter, open_store

    path = tmp_path_factory.mktemp("fuzz-store") / "store"
    store = build_store_for_alarm(parse_alarm(EVENTBRIDGE), path)
    # A few log events too (the synthetic store has metrics and changes only, maybe logs).
    with StoreWriter(path, base=open_store(path)) as writer:
        writer.add_log_events(
            [
                {
                    "timestamp": store.time_range[0],
                    "message": json.dumps({"level": "ERROR", "latency": 12}),
                    "log_stream": "s1",
                },
                {
                    "timestamp": store.time_range[1],
                    "message": "START RequestId: x",
                    "log_stream": "s1",
                },
            ],
            log_group="/aws/lambda/checkout-api",
        )
    return path


@pytest.fixture(scope="session")
def outside_parquet(tmp_path_factory, small_store) -> Path:
    """A valid Parquet file outside any store (targets of ``..``, absolute paths, symlinks)."""
    folder = tmp_path_factory.mktemp("outside")
    target = folder / "logs.parquet"
    shutil.copy(small_store / "logs.parquet", target)
    return target


@pytest.fixture
def fake_kernel(monkeypatch) -> None:
    """No kernel: papermill only parameterises and writes the notebook (see harness)."""
    import papermill as pm

    monkeypatch.setattr(pm, "execute_notebook", prepare_only(pm.execute_notebook))


@pytest.fixture
def copy_store(small_store, scratch) -> Iterator:
    made: list[Path] = []

    def copy(name: str) -> Path:
        target = scratch / "stores" / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(small_store, target, symlinks=True)
        made.append(target)
        return target

    yield copy
    for path in made:
        shutil.rmtree(path, ignore_errors=True)
