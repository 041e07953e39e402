"""``incident runbook import RUNBOOK.md --out DIR``: what it prints and writes, and bad input
(exit 2, one line, nothing written)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from incident_lib.cli import main

RUNBOOK = """# Checkout runbook

## Checkout errors

**Alert**: `checkout-api-errors`

```bash
# Errors against traffic
aws cloudwatch get-metric-statistics --namespace AWS/Lambda --metric-name Errors,Invocations \\
  --dimensions Name=FunctionName,Value=checkout-api --period 60 --statistics Sum \\
  --start-time $(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%S) \\
  --end-time $(date -u +%Y-%m-%dT%H:%M:%S)

# Roll back
aws lambda update-alias --function-name checkout-api --name live --function-version 41
curl -s https://status.example.com
```

## Contacts

Call someone.
"""


def test_it_writes_a_notebook_per_alert_section_and_prints_what_became_of_each_command(
    tmp_path, capsys
):
    runbook = tmp_path / "runbook.md"
    runbook.write_text(RUNBOOK)
    out = tmp_path / "drafts"
    assert main(["runbook", "import", str(runbook), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    notebook = out / "checkout-errors.ipynb"
    assert printed[0] == str(notebook)
    assert printed[1] == "  1 converted, 1 mitigation, 1 manual  alerts: checkout-api-errors"
    assert printed[2] == (
        "  manual: Roll back: curl https://status.example.com: an HTTP request (curl), "
        "not an AWS call"
    )
    assert str(out / "catalog.toml") in printed
    assert printed[-1] == (
        "1 notebook from runbook.md: 1 command converted, 1 mitigation (not run), 1 manual"
    )
    assert sorted(p.name for p in out.iterdir()) == ["catalog.toml", "checkout-errors.ipynb"]
    nb = nbformat.read(notebook, as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert "Mitigation (not run): Roll back" in text
    assert "aws lambda update-alias --function-name checkout-api" in text
    assert nb.metadata["incident_runbook"]["alarm_names"] == ["checkout-api-errors"]


def test_it_can_leave_the_catalogue_out(tmp_path, capsys):
    runbook = tmp_path / "runbook.md"
    runbook.write_text(RUNBOOK)
    assert (
        main(["runbook", "import", str(runbook), "--out", str(tmp_path / "o"), "--no-catalog"]) == 0
    )
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["checkout-errors.ipynb"]


def _bad(tmp_path: Path, capsys, args: list[str]) -> str:
    code = main(["runbook", "import", *args])
    err = capsys.readouterr()
    assert code == 2
    assert err.out == ""
    lines = err.err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"# Runbook\n\nNo commands here, only words.\n", "holds no shell commands"),
        (b"# R\n\n```bash\nkubectl get pods\ncurl https://x\n```\n", "no alert section"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (b"", "holds no shell commands"),
    ],
    ids=["no-commands", "nothing-to-run", "binary", "empty"],
)
def test_a_runbook_with_nothing_to_import_is_bad_input_and_nothing_is_written(
    tmp_path, capsys, content, message
):
    runbook = tmp_path / "runbook.md"
    runbook.write_bytes(content)
    out = tmp_path / "out"
    line = _bad(tmp_path, capsys, [str(runbook), "--out", str(out)])
    assert message in line
    assert not out.exists()


def test_a_missing_runbook_is_bad_input(tmp_path, capsys):
    out = tmp_path / "out"
    line = _bad(tmp_path, capsys, [str(tmp_path / "nope.md"), "--out", str(out)])
    assert "does not exist" in line
    assert not out.exists()


def test_out_an_existing_file_is_bad_input(tmp_path, capsys):
    runbook = tmp_path / "runbook.md"
    runbook.write_text(RUNBOOK)
    out = tmp_path / "taken"
    out.write_text("a file")
    line = _bad(tmp_path, capsys, [str(runbook), "--out", str(out)])
    assert "is a file" in line
    assert out.read_text() == "a file"
