"""environment.yml and pyproject.toml list the same packages (the project plus its test extra)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
# Conda names that differ from the PyPI names (conda-forge names the plotly exporter
# python-kaleido).
CONDA_TO_PYPI: dict[str, str] = {"python-kaleido": "kaleido"}
NOT_PACKAGES = {"python", "pip"}


def normalise(name: str) -> str:
    """PEP 503 name: lowercase, runs of ``-_.`` as ``-``; extras and versions dropped."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    return {normalise(Requirement(spec).name) for spec in specs}


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def conda_names() -> set[str]:
    names = set()
    for dep in environment()["dependencies"]:
        if isinstance(dep, str):
            # Conda match spec: name, then an optional version (``>=1.2``, ``=3.11``, `` 1.2``).
            name = re.split(r"[\s=<>!~\[]", dep.strip(), maxsplit=1)[0]
            if name not in NOT_PACKAGES:
                names.add(normalise(CONDA_TO_PYPI.get(name, name)))
        elif isinstance(dep, dict):
            # Packages conda-forge lacks are installed by pip (not the ``-e .`` line).
            for line in dep.get("pip", []):
                if not line.startswith("-"):
                    names.add(normalise(Requirement(line).name))
    return names


def test_same_packages_in_both_files() -> None:
    py, conda = pyproject_names(), conda_names()
    assert py == conda, (
        f"only in pyproject.toml: {sorted(py - conda)}; only in environment.yml: "
        f"{sorted(conda - py)}"
    )


def test_environment_installs_the_project_with_its_test_extra() -> None:
    env = environment()
    assert env["name"] == "incident-notebooks"
    assert env["channels"] == ["conda-forge"]
    assert "python=3.11" in env["dependencies"]
    pip = [d for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert pip and any(re.fullmatch(r"-e \.(\[test\])", line) for line in pip[0]["pip"])


def test_normalise() -> None:
    assert normalise("PyYAML") == normalise("pyyaml") == "pyyaml"
    assert normalise("pytest_xdist") == "pytest-xdist"
    assert normalise(Requirement("moto[server]>=5.0").name) == "moto"
