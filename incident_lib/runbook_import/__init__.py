"""Draft runbook notebooks from a markdown runbook's AWS CLI commands.

``incident runbook import RUNBOOK.md --out DIR`` reads the runbook (:mod:`.markdown`), splits
its shell blocks into commands (:mod:`.shell`), turns each command into a step
(:mod:`.convert`: read-only AWS calls into verbs of the case, the rest quoted as mitigation or
manual steps) and writes one notebook per alert section (:mod:`.build`), plus a catalogue
file that maps the runbook's alarm names to them.

>>> result = import_runbook(Path("runbook.md"), Path("drafts"))  # doctest: +SKIP
>>> [n.path.name for n in result.notebooks]  # doctest: +SKIP
['high-error-rate.ipynb', 'function-throttling.ipynb']
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from incident_lib.errors import BadInputError
from incident_lib.runbook_import.build import (
    NotebookPlan,
    SectionSummary,
    notebook,
    plan_runbook,
)
from incident_lib.runbook_import.convert import CONVERTED, MANUAL, MITIGATION
from incident_lib.runbook_import.markdown import read_markdown

__all__ = ["ImportResult", "WrittenNotebook", "import_runbook", "plan", "read_runbook"]

log = logging.getLogger(__name__)

CATALOG = "catalog.toml"
#: Bytes read to tell a binary file from text.
_SNIFF = 8192


@dataclass
class WrittenNotebook:
    """One notebook written: where, for which section, and what its commands became."""

    path: Path
    plan: NotebookPlan

    @property
    def counts(self) -> dict[str, int]:
        return self.plan.counts()

    @property
    def alert_type(self) -> str:
        return "imported_" + self.plan.slug.replace("-", "_")


@dataclass
class ImportResult:
    """What an import wrote, and the sections it skipped (commands, nothing to run)."""

    runbook: Path
    notebooks: list[WrittenNotebook] = field(default_factory=list)
    skipped: list[SectionSummary] = field(default_factory=list)
    catalog: Path | None = None

    def totals(self) -> dict[str, int]:
        out = {CONVERTED: 0, MITIGATION: 0, MANUAL: 0}
        for nb in self.notebooks:
            for kind, n in nb.counts.items():
                out[kind] += n
        return out


def read_runbook(path: Path) -> str:
    """The runbook's text; a missing, unreadable or binary file is :class:`BadInputError`."""
    path = Path(path)
    if not path.exists():
        raise BadInputError(f"runbook {path} does not exist")
    if not path.is_file():
        raise BadInputError(f"runbook {path} is not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"cannot read runbook {path}: {exc.strerror}") from None
    if b"\0" in data[:_SNIFF]:
        raise BadInputError(f"runbook {path} is a binary file, not markdown")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        log.warning("%s is not UTF-8: read as Windows-1252", path)
        return data.decode("cp1252", errors="replace")


def plan(text: str, name: str) -> tuple[list[NotebookPlan], list[SectionSummary]]:
    """The notebooks a runbook's text makes (nothing written)."""
    return plan_runbook(read_markdown(text), name)


def import_runbook(path: Path, out: Path, *, catalog: bool = True) -> ImportResult:
    """Write one notebook per alert section of the runbook at ``path`` into ``out``.

    Parameters
    ----------
    path
        A markdown runbook.
    out
        The folder to write into (made if missing; an existing file is bad input).
    catalog
        Also write ``out/catalog.toml``: an alert type per notebook and an override for
        each alarm name the runbook gives (``**Alert**: `name```).

    Raises
    ------
    BadInputError
        The runbook is missing, binary, or holds no AWS CLI command a notebook can run;
        ``out`` is a file. Nothing is written then.
    """
    text = read_runbook(path)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BadInputError(f"--out {out} is a file, not a folder")
    plans, skipped = plan(text, Path(path).name)
    if not plans:
        found = sum(sum(s.counts.values()) for s in skipped)
        if not found:
            raise BadInputError(f"runbook {path} holds no shell commands to import")
        raise BadInputError(
            f"runbook {path} holds {found} commands but no alert section with an AWS CLI "
            "call a notebook can run: nothing to import"
        )
    notebooks = [(p, notebook(p)) for p in plans]
    out.mkdir(parents=True, exist_ok=True)
    result = ImportResult(runbook=Path(path), skipped=skipped)
    for p, nb in notebooks:
        target = out / f"{p.slug}.ipynb"
        nbformat.write(nb, target)
        result.notebooks.append(WrittenNotebook(target, p))
        log.info("wrote %s", target)
    if catalog:
        result.catalog = out / CATALOG
        result.catalog.write_text(catalog_toml(result), encoding="utf-8")
    return result


def catalog_toml(result: ImportResult) -> str:
    """A catalogue file for the notebooks written (paths relative to the file)."""
    lines = [
        f"# Written by `incident runbook import {result.runbook.name}`: an alert type for each",
        "# notebook beside this file, and the alarm names the runbook gives for it. Use it with",
        "# --config (or $INCIDENT_CATALOG), or copy what you need into your catalogue file.",
        "# The notebooks bind their resources to the alarm's dimensions themselves, so the",
        '# "generic" parameter builder is enough.',
    ]
    for nb in result.notebooks:
        lines += [
            "",
            "[[alert_type]]",
            f"name = {_toml(nb.alert_type)}",
            f"title = {_toml(nb.plan.title)}",
            f"notebook = {_toml(nb.path.name)}",
            'parameters = "generic"',
        ]
    for nb in result.notebooks:
        for alarm in nb.plan.alerts:
            lines += [
                "",
                "[[override]]",
                f"alarm_name = {_toml(alarm)}",
                f"alert_type = {_toml(nb.alert_type)}",
            ]
    return "\n".join(lines) + "\n"


def _toml(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)
