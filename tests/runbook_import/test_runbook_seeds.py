"""The five seed runbooks import: every read-only AWS command in each is converted (counted
here independently, with a line reader of its own), every command that changes things is a
mitigation step, and the notebooks are valid, lint-clean and mapped by the catalogue file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from incident_lib.catalog import load_catalog
from incident_lib.runbook_import import ImportResult, import_runbook
from incident_lib.runbook_import.convert import CONVERTED, MITIGATION, Step

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "tests" / "fixtures" / "runbooks"
SEEDS = sorted(RUNBOOKS.glob("*.txt"))

# -- an independent reading of the runbooks: fenced blocks, lines starting with `aws` ------------
_FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.M | re.S)
_READ = re.compile(r"^(describe|get|list|lookup|search|filter-log-events|tail|ls)\b")
#: Reads an investigation does not make (secrets, customer data), or that start work.
_NOT_RUN = {
    ("dynamodb", "scan"),
    ("dynamodb", "get-item"),
    ("dynamodb", "query"),
    ("ssm", "get-parameter"),
    ("secretsmanager", "get-secret-value"),
}
_CHANGE = re.compile(
    r"^(update|put|delete|purge|create|modify|set|reboot|restart|stop|start|invoke|deregister|"
    r"register|disable|enable|send|rollback|restore|copy|terminate|run)\b"
)
_PLACEHOLDER = re.compile(r"\[[A-Z_]+\]|YOUR_[A-Z_]+|<[\w-]+>")
_VARIABLE = re.compile(r"\$\{?([A-Za-z_]\w*)")


def aws_lines(text: str) -> list[tuple[str, str, str, int]]:
    """``(service, operation, line, times)`` for each ``aws`` command line of the fenced
    blocks; ``times`` is the number of values of the loop whose variable it uses."""
    out = []
    for block in _FENCE.findall(text):
        joined = re.sub(r"\\\n\s*", " ", block)
        loops = {v: vals.split() for v, vals in re.findall(r"for (\w+) in ([^;\n]+);", joined)}
        for raw in joined.splitlines():
            line = raw.strip()
            m = re.match(r"aws (\S+) (\S+)", line)
            if not m:
                continue
            used = [v for v in _VARIABLE.findall(line) if v in loops]
            out.append((m.group(1), m.group(2), line, len(loops[used[0]]) if used else 1))
    return out


def expected_reads(text: str) -> list[tuple[str, int]]:
    reads = []
    for service, op, line, times in aws_lines(text):
        if service == "logs" and op == "start-query":
            reads.append((line, times))
            continue
        if not _READ.match(op) or (service, op) in _NOT_RUN or _PLACEHOLDER.search(line):
            continue
        if any(v for v in _VARIABLE.findall(line)) and times == 1:
            continue  # a shell variable nothing sets
        reads.append((line, times))
    return reads


def expected_changes(text: str) -> list[str]:
    return [
        line
        for service, op, line, _ in aws_lines(text)
        if _CHANGE.match(op)
        and (service, op) not in {("logs", "start-query"), ("athena", "start-query-execution")}
    ]


def _normal(text: str) -> str:
    return " ".join(re.sub(r"\\\n", " ", text).split())


def _pattern(line: str) -> re.Pattern[str]:
    """The line as a pattern: loop variables match any word."""
    parts = _VARIABLE.split(_normal(line))
    # split() with a group alternates text and variable names
    regex = "".join(re.escape(p) if i % 2 == 0 else r"\S+" for i, p in enumerate(parts))
    return re.compile(regex)


# -- the import, once per runbook ------------------------------------------------------------------
@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> dict[str, ImportResult]:
    out = tmp_path_factory.mktemp("imported")
    return {seed.name: import_runbook(seed, out / seed.stem) for seed in SEEDS}


def all_steps(result: ImportResult) -> list[Step]:
    steps = [s for nb in result.notebooks for s in nb.plan.steps]
    return steps + [s for skipped in result.skipped for s in skipped.plan.steps]


def test_the_five_seed_runbooks_are_here():
    assert len(SEEDS) == 5
    assert (RUNBOOKS / "SOURCES.md").is_file()


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem[:3])
def test_every_read_only_aws_command_is_converted(seed, imported):
    result = imported[seed.name]
    reads = expected_reads(seed.read_text(encoding="utf-8"))
    assert reads, "each seed runbook has read-only AWS commands"
    converted = [
        _normal(c.text)
        for nb in result.notebooks
        for s in nb.plan.steps
        if s.kind == CONVERTED
        for c in s.commands
    ]
    # Each command read here is one converted command (a loop's, one per value), and no
    # converted command is left over.
    for line, times in reads:
        found = [c for c in converted if _pattern(line).fullmatch(c)][:times]
        assert len(found) == times, f"{line!r} converted {len(found)} times, expected {times}"
        for c in found:
            converted.remove(c)
    assert converted == []
    assert result.totals()[CONVERTED] == sum(t for _, t in reads)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem[:3])
def test_every_aws_command_that_changes_things_is_a_mitigation_step(seed, imported):
    result = imported[seed.name]
    changes = expected_changes(seed.read_text(encoding="utf-8"))
    mitigation = [
        _normal(c.text) for s in all_steps(result) if s.kind == MITIGATION for c in s.commands
    ]
    assert changes
    for line in changes:
        found = next((m for m in mitigation if _pattern(line).fullmatch(m)), None)
        assert found is not None, line
        mitigation.remove(found)
    # and nothing that changes things is in a code cell
    for nb in result.notebooks:
        for cell in nbformat.read(nb.path, as_version=4).cells:
            if cell.cell_type == "code":
                assert not re.search(
                    r"case\.aws\(\s*\"\w+\",\s*\"(update|put|delete|create)", cell.source
                )


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem[:3])
def test_the_notebooks_are_parameterised_runbooks(seed, imported):
    for written in imported[seed.name].notebooks:
        nb = nbformat.read(written.path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code)
        assert [c.metadata.get("tags") for c in code[:3]] == [
            ["imports"],
            ["parameters"],
            ["setup"],
        ]
        assert code[0].source.startswith(("import ", "from "))
        for name in ("alarm_json", "source", "start", "end", "log_groups", "function_name"):
            assert re.search(rf"^{name} = ", code[1].source, re.M), name
        assert code[2].source.startswith("case = setup(")
        # each converted step: a markdown cell quoting the command, then its section
        steps = [s for s in written.plan.steps if s.kind == CONVERTED]
        sections = [c for c in code[3:] if c.source.startswith("with case.section(")]
        assert len(sections) == len(steps) + (1 if written.plan.ctx.changes else 2)
        for cell in sections[: len(steps)]:
            before = nb.cells[nb.cells.index(cell) - 1]
            assert before.cell_type == "markdown" and "```bash" in before.source
        assert sections[-1].source.startswith('with case.section("Findings")')
        assert "steps.change_finding(case)" in sections[-1].source
        assert "steps.time_in_alarm_finding(case)" in sections[-1].source


def test_ruff_passes_on_the_generated_notebooks_and_their_exported_scripts(imported, tmp_path):
    paths = [str(nb.path) for r in imported.values() for nb in r.notebooks]
    assert len(paths) > 30
    # Exported: the code cells as one script, in the percent format (``# %%`` per cell).
    for k, path in enumerate(list(paths)):
        cells = nbformat.read(path, as_version=4).cells
        script = "\n\n".join("# %%\n" + c.source for c in cells if c.cell_type == "code")
        target = tmp_path / f"notebook_{k}.py"
        target.write_text(script + "\n", encoding="utf-8")
        paths.append(str(target))
    for args in (["check"], ["format", "--check"]):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "ruff",
                *args,
                "--no-cache",
                "--config",
                str(ROOT / "pyproject.toml"),
                *paths,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_catalogue_file_maps_the_runbook_s_alarm_names(imported):
    result = imported["000_2715c34462859fad.txt"]
    assert result.catalog is not None
    catalog = load_catalog(result.catalog)
    overrides = {o.alarm_name: o.alert_type for o in catalog.overrides}
    written = {nb.alert_type: nb for nb in result.notebooks}
    alerts = [a for nb in result.notebooks for a in nb.plan.alerts]
    assert len(alerts) == 9
    for alarm in alerts:
        at = overrides[alarm]
        assert catalog.notebook_path(at) == written[at].path.resolve()
    high = next(nb for nb in result.notebooks if nb.path.name == "high-error-rate-5xx-errors.ipynb")
    assert high.plan.alerts == ["stock-analysis-api-error-rate-production"]


def test_a_heading_met_twice_is_qualified_by_its_parent(imported):
    names = {nb.path.name for nb in imported["000_2715c34462859fad.txt"].notebooks}
    assert {
        "api-gateway-alerts-request-throttling.ipynb",
        "dynamodb-alerts-request-throttling.ipynb",
    } <= names
