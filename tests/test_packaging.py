"""``pip install .`` (not editable) gives a working ``incident``: the notebooks and templates
ship inside the package, and the demo runs from any folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]


def _uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).is_file():
        pytest.skip("uv is not installed (./dev installs it into .tools/)")
    return found


def test_an_installed_wheel_runs_the_demo_from_another_folder(tmp_path: Path) -> None:
    uv = _uv()
    env = {**os.environ, "UV_NO_PROGRESS": "1"}
    env.pop("VIRTUAL_ENV", None)
    subprocess.run(
        [uv, "build", "--wheel", "-o", str(tmp_path / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
        env=env,
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env)
    # The same pins as the project's own environment.
    pins = subprocess.run(
        [uv, "export", "--frozen", "--no-hashes", "--no-emit-project", "--project", str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    (tmp_path / "pins.txt").write_text(pins)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(venv / "bin" / "python"),
            "-c",
            str(tmp_path / "pins.txt"),
            str(wheel),
        ],
        check=True,
        env=env,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    clean = {k: v for k, v in env.items() if not k.startswith("INCIDENT_")}
    done = subprocess.run(
        [str(venv / "bin" / "incident"), "demo", "--quiet"],
        cwd=work,
        capture_output=True,
        text=True,
        env=clean,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = Path(done.stdout.strip().splitlines()[-1])
    assert report.is_file() and report.is_relative_to(work / "reports")
    assert "plotly-graph-div" in report.read_text()
