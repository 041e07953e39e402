"""Where the product's own folders are: notebooks, templates, reports, demo stores.

The notebooks and templates ship inside the package (``incident_lib/notebooks`` and
``incident_lib/templates``; in a source checkout they are links to the top-level
``notebooks/`` and ``templates/``). Reports go to ``reports/`` of the checkout, or of the
current folder when the package is installed. Each location can be moved with an environment
variable (``INCIDENT_NOTEBOOKS``, ``INCIDENT_TEMPLATES``, ``INCIDENT_REPORTS``).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent


def _checkout() -> bool:
    """Whether the package runs from its source checkout (not an installed copy)."""
    return (ROOT / "pyproject.toml").is_file() and (ROOT / "notebooks").is_dir()


def _located(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    return Path(value).expanduser().resolve() if value else default


def notebooks_dir() -> Path:
    """The notebooks folder: ``$INCIDENT_NOTEBOOKS``, else ``notebooks/`` beside the package."""
    return _located("INCIDENT_NOTEBOOKS", (ROOT if _checkout() else PACKAGE) / "notebooks")


def templates_dir() -> Path:
    """The nbconvert templates folder: ``$INCIDENT_TEMPLATES``, else ``templates/``."""
    return _located("INCIDENT_TEMPLATES", (ROOT if _checkout() else PACKAGE) / "templates")


def reports_dir() -> Path:
    """``$INCIDENT_REPORTS``, else ``reports/`` of the checkout (or of the current folder)."""
    return Path(
        os.environ.get("INCIDENT_REPORTS", (ROOT if _checkout() else Path.cwd()) / "reports")
    )


def stores_dir() -> Path:
    """Demo scenario stores live here, beside the reports (both ignored by git)."""
    return reports_dir() / "_stores"
