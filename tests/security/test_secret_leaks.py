"""Every kind of secret, planted where incidents carry them, reaches no file and no terminal.

The alarm (name, reason, description, dimension values, namespace, metric name, a metric-math
expression), log lines (plain, JSON, JSON inside JSON: signatures, tables, chart legends,
findings), alarm history summaries, CloudTrail fields and AWS error messages all carry
:data:`~tests.security.hostile.SECRETS`; each output is searched for the secret part of each
kind, raw, JSON-escaped and HTML-escaped.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.security.hostile import SECRETS, pipeline_runs, secret_leaks, secret_text

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]

OUTPUTS = ("report.html", "notebook.ipynb", "findings.json", "alarm.json", "terminal")


def test_no_secret_kind_reaches_any_output(tmp_path: Path) -> None:
    runs = pipeline_runs(secret_text(), tmp_path)
    for run in runs:
        assert set(run.files) == set(OUTPUTS[:-1]), (run.name, run.exit_code, run.stderr[-2000:])
        # The plants reached the outputs (masked): an access key id keeps its first 8 chars.
        assert "AKIAZ7Q3" in run.files["alarm.json"].read_text(encoding="utf-8")
        assert "AKIAZ7Q3" in run.files["report.html"].read_text(encoding="utf-8")
    table = secret_leaks(runs)
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "secret-leaks.json").write_text(
        json.dumps({"kinds_tried": len(SECRETS), "leaks": table}, indent=2), encoding="utf-8"
    )
    assert sorted(table) == sorted(OUTPUTS)
    leaked = {f: per_run for f, per_run in table.items() if any(per_run.values())}
    assert leaked == {}
