"""Demo incident scenarios: seeded generators of realistic telemetry around one incident.

>>> from incident_lib.scenarios import build_store, SCENARIOS
>>> sorted(SCENARIOS)
['lambda_clean_deploy', 'lambda_downstream', 'lambda_errors', 'lambda_flapping', 'lambda_slow_ramp']
"""

from __future__ import annotations

from incident_lib.scenarios import catalog_ecs as _catalog_ecs  # noqa: F401 - registers
from incident_lib.scenarios import catalog_edge as _catalog_edge  # noqa: F401 - registers
from incident_lib.scenarios import catalog_hosts as _catalog_hosts  # noqa: F401 - registers
from incident_lib.scenarios import catalog_incidents as _catalog  # noqa: F401 - registers
from incident_lib.scenarios import catalog_pipes as _catalog_pipes  # noqa: F401 - registers
from incident_lib.scenarios import lambda_errors as _lambda_errors  # noqa: F401 - registers
from incident_lib.scenarios import lambda_incidents as _lambda_incidents  # noqa: F401 - registers
from incident_lib.scenarios.registry import (
    SCENARIOS,
    Scenario,
    build_store,
    get_scenario,
    register,
)

__all__ = ["SCENARIOS", "Scenario", "build_store", "get_scenario", "register"]
