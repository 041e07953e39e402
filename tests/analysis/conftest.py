"""The demo store, built once per test session (about two seconds)."""

from __future__ import annotations

import pytest

from incident_lib.scenarios import build_store
from incident_lib.store import Store


@pytest.fixture(scope="session")
def lambda_errors_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return build_store("lambda_errors", tmp_path_factory.mktemp("scenario") / "lambda_errors")
