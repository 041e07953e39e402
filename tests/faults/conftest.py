"""Fixtures of the fault suite: the moto server (tests/aws), a seeded Lambda incident, and the
fault proxy in front of the server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.aws.conftest import moto, moto_clients, moto_endpoint  # noqa: F401 (fixtures)
from tests.faults.proxy import FaultProxy


@pytest.fixture(scope="session")
def fault_proxy(moto_endpoint: str) -> Iterator[FaultProxy]:  # noqa: F811
    with FaultProxy(moto_endpoint) as proxy:
        yield proxy
