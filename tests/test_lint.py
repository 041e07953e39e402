"""ruff is part of the test command: lint and formatting are checked like behaviour."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "args", [["check", "."], ["format", "--check", "."]], ids=["check", "format"]
)
def test_ruff(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_notebook_string_holds_a_control_character() -> None:
    """A query written as a plain string loses its regex escapes (``"\\bERROR\\b"`` holds two
    backspaces): the notebooks write queries with escapes as raw strings."""
    import ast

    import nbformat

    bad = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(cell.source)):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and any(ord(ch) < 32 and ch not in "\n\t" for ch in node.value)
                ):
                    bad.append(f"{path.name} cell {i}")
    assert not bad, bad
