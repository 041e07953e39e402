"""A notebook that hangs cannot hang the alarm run: past the per-cell limit, or the overall
limit, the run stops the kernel, reports the section it hung in as failed, and still writes the
report, the findings and the evidence (``incident_lib.execution``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest

from incident_lib.alarm import parse_alarm
from incident_lib.demo import alarm_event
from incident_lib.execution import hung_cell, patch_nbclient
from incident_lib.run import investigate, run_timeouts

pytestmark = pytest.mark.notebooks


def _hanging_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('alarm_json = ""\nsource = ""\nstart = ""\nend = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(
            "from incident_lib.notebook import setup\n"
            "case = setup(alarm_json=alarm_json, source=source, start=start, end=end)"
        ),
        nbformat.v4.new_code_cell(
            'with case.section("Quick look"):\n    case.show("the alarm fired")'
        ),
        nbformat.v4.new_code_cell(
            'with case.section("Slow step"):\n    import time\n    time.sleep(600)'
        ),
        nbformat.v4.new_code_cell('with case.section("After"):\n    case.show("never reached")'),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def hanging(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _hanging_notebook(tmp_path_factory.mktemp("nb") / "hang.ipynb")


@pytest.mark.parametrize(
    ("cell_timeout", "run_timeout", "says"),
    # The per-cell limit leaves the setup cell (imports) room on a loaded 2-core machine.
    [(20.0, 150.0, "a cell ran past its limit of 20s"), (90.0, 30.0, "overall limit of 30s")],
)
def test_a_hung_cell_is_a_failed_section_not_a_stuck_run(
    lambda_errors_store, hanging: Path, tmp_path: Path, cell_timeout, run_timeout, says
) -> None:
    from incident_lib.evidence.investigation import EvidenceOptions

    alarm = parse_alarm(alarm_event(lambda_errors_store))
    t = time.monotonic()
    result = investigate(
        alarm,
        source=lambda_errors_store.path,
        out=tmp_path,
        notebook=hanging,
        evidence=EvidenceOptions(figures=False),
        cell_timeout=cell_timeout,
        run_timeout=run_timeout,
    )
    took = time.monotonic() - t
    assert took < 90, took  # the notebook asked for 600 s
    sections = {s.name: s for s in result.findings.sections}
    assert sections["Quick look"].status == "ok"
    assert sections["Slow step"].status == "failed"
    assert says in sections["Slow step"].error and "(cell 4)" in sections["Slow step"].error
    assert "After" not in sections
    assert result.exit_code == 3
    assert result.report.is_file()
    saved = json.loads((result.directory / "findings.json").read_text())
    assert any(s["name"] == "Slow step" and s["status"] == "failed" for s in saved["sections"])


def test_limits_default_from_the_deadline() -> None:
    assert run_timeouts(90.0) == (150.0, 390.0)
    assert run_timeouts(90.0, 10.0, 20.0) == (10.0, 20.0)


def test_hung_cell_names_the_section_of_the_last_started_cell(tmp_path: Path) -> None:
    nb = nbformat.read(_hanging_notebook(tmp_path / "nb.ipynb"), as_version=4)
    for i, cell in enumerate(nb.cells):
        cell.metadata["papermill"] = {"start_time": "2026-01-01T00:00:00Z" if i <= 3 else None}
    nbformat.write(nb, tmp_path / "out.ipynb")
    assert hung_cell(tmp_path / "out.ipynb") == (3, "Slow step")
    assert hung_cell(tmp_path / "missing.ipynb") == (None, "")


def test_the_sliced_polling_is_applied_once() -> None:
    from nbclient import NotebookClient

    patch_nbclient()
    first = NotebookClient.async_start_new_kernel_client
    patch_nbclient()
    assert NotebookClient.async_start_new_kernel_client is first
    assert NotebookClient._incident_sliced_poll is True
