"""Where the product's own folders are: notebooks, templates, reports, demo stores.

The repository root is the parent of the ``incident_lib`` package. Each location can be moved
with an environment variable (``INCIDENT_NOTEBOOKS``, ``INCIDENT_TEMPLATES``,
``INCIDENT_REPORTS``).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _located(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    return Path(value).expanduser().resolve() if value else default


def notebooks_dir() -> Path:
    """The notebooks folder: ``$INCIDENT_NOTEBOOKS``, else ``notebooks/`` beside the package."""
    return _located("INCIDENT_NOTEBOOKS", ROOT / "notebooks")


def templates_dir() -> Path:
    """The nbconvert templates folder: ``$INCIDENT_TEMPLATES``, else ``templates/``."""
    return _located("INCIDENT_TEMPLATES", ROOT / "templates")


def reports_dir() -> Path:
    return Path(os.environ.get("INCIDENT_REPORTS", ROOT / "reports"))


def stores_dir() -> Path:
    """Demo scenario stores live here, beside the reports (both ignored by git)."""
    return reports_dir() / "_stores"
