"""Sections of a runbook -> notebook plans -> notebooks.

An *alert section* is a heading whose section (its parts folded in, see
:mod:`~incident_lib.runbook_import.markdown`) holds at least one AWS CLI command the notebook
can run. Its plan keeps the runbook's order: prose as markdown cells, each command as a step
(a markdown cell quoting the command, then the code cell that runs it, inside ``with
case.section(...)``), mitigation and manual steps as markdown only. The notebook starts with
a ``parameters`` cell (the standard parameters and the runbook's resources) and a setup cell,
and ends with the changes (when the runbook did not look them up itself) and the findings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nbformat

from incident_lib.runbook_import.convert import (
    CONVERTED,
    MANUAL,
    MITIGATION,
    Context,
    Step,
    convert,
)
from incident_lib.runbook_import.markdown import Block, Runbook, Section, slug
from incident_lib.runbook_import.pycode import LINE_LENGTH, Call, List, Lit, Raw, literal, render
from incident_lib.runbook_import.shell import Narration, ShellCommand, read_block

__all__ = ["NotebookPlan", "Prose", "SectionSummary", "notebook", "plan_runbook"]

#: Standard parameters every notebook declares (papermill replaces them), with their comment.
STANDARD_PARAMETERS: list[tuple[str, str, str]] = [
    ("alarm_json", '""', "the normalised alarm: `incident alarm FILE` prints it"),
    ("source", '"aws"', '"aws" or the path of a telemetry store (an evidence pack, the demo)'),
    ("start", '""', "ISO-8601 with offset; by default 60 min before the state change"),
    ("end", '""', "... to 15 min after"),
    ("profile", "None", 'AWS profile (source "aws")'),
    ("role_arn", "None", 'role to assume (source "aws")'),
    ("endpoint_url", "None", "an AWS-compatible endpoint"),
    ("log_groups", "[]", "the alarm's log groups (the catalogue maps them)"),
    ("alarm_name", '""', ""),
    ("alert_type", '""', ""),
    ("region", '""', ""),
    ("account_id", '""', ""),
    ("resource_names", "[]", "the alarm's dimension values (generic alert types)"),
    ("function_name", '""', "the alarm's function (Lambda alert types)"),
]
_TITLE_LINE = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+)?(?:\*\*|__)?(.+?)(?:\*\*|__)?\s*:?\s*$")


@dataclass
class Prose:
    """Markdown the runbook wrote, kept in place."""

    text: str


@dataclass
class NotebookPlan:
    """What one alert section becomes."""

    slug: str
    title: str
    path: list[str]
    alerts: list[str]
    items: list[Step | Prose]
    ctx: Context
    runbook: str

    @property
    def steps(self) -> list[Step]:
        return [i for i in self.items if isinstance(i, Step)]

    def counts(self) -> dict[str, int]:
        """Commands converted, left as mitigation, left manual (``cd`` not counted)."""
        out = {CONVERTED: 0, MITIGATION: 0, MANUAL: 0}
        for step in self.steps:
            for kind in step.kinds:
                if kind:
                    out[kind] += 1
        return out


@dataclass
class SectionSummary:
    """A section with commands that did not make a notebook, and why."""

    title: str
    path: list[str]
    reason: str
    plan: NotebookPlan

    @property
    def counts(self) -> dict[str, int]:
        return self.plan.counts()


def plan_runbook(runbook: Runbook, name: str) -> tuple[list[NotebookPlan], list[SectionSummary]]:
    """A plan for every alert section, and the sections with commands but nothing to run.
    Slugs are unique: a heading met twice is qualified by its parent's."""
    plans: list[NotebookPlan] = []
    skipped: list[SectionSummary] = []
    for section in runbook.walk():
        if not any(b.is_shell for b in section.blocks):
            continue
        plan = _plan_section(section, name)
        counts = plan.counts()
        if not sum(counts.values()):
            continue
        if counts[CONVERTED]:
            plans.append(plan)
        else:
            why = "no AWS call a notebook can run"
            skipped.append(SectionSummary(section.title, section.path, why, plan))
    seen: dict[str, int] = {}
    for plan in plans:
        seen[plan.slug] = seen.get(plan.slug, 0) + 1
    for plan in plans:
        if seen[plan.slug] > 1 and len(plan.path) > 1:
            plan.slug = slug(f"{plan.path[-2]} {plan.path[-1]}")
    taken: set[str] = set()
    for plan in plans:
        base, n = plan.slug, 2
        while plan.slug in taken:
            plan.slug, n = f"{base}-{n}", n + 1
        taken.add(plan.slug)
    return plans, skipped


def _plan_section(section: Section, name: str) -> NotebookPlan:
    ctx = Context(alerts=section.alerts)
    items: list[Step | Prose] = []
    for block in section.blocks:
        if block.kind == "prose":
            items.append(Prose(block.text))
        elif not block.is_shell:
            items.append(Prose(_fenced(block.text, block.info)))
        else:
            _plan_block(block, items, ctx)
    _unique_titles(items)
    return NotebookPlan(
        slug=slug(section.title),
        title=section.title,
        path=section.path,
        alerts=section.alerts,
        items=items,
        ctx=ctx,
        runbook=name,
    )


def _plan_block(block: Block, items: list[Step | Prose], ctx: Context) -> None:
    group_title = _take_title(items)
    previous: Step | None = None
    cds: list[ShellCommand] = []
    carried = ""  # the title of a ``cd`` line: it names the command after it
    for entry in read_block(block.text, prompts=block.is_console):
        if isinstance(entry, Narration):
            items.append(Prose("\n".join(f"> {line}" for line in entry.lines)))
            previous = None
            continue
        if entry.program == "cd":
            cds.append(entry)
            carried = entry.title or carried
            continue
        own, carried = entry.title or carried, ""
        if own:
            group_title = own
        title = own or (
            f"{group_title}: {_describe(entry)}" if group_title and previous else group_title
        )
        title = title or _describe(entry)
        step = convert(entry, ctx, _short(title))
        if step.kind != CONVERTED:
            step.commands = [*cds, *step.commands]
            step.kinds = [""] * len(cds) + step.kinds
            cds = []
        if (
            step.kind != CONVERTED
            and previous is not None
            and previous.kind == step.kind
            and not own
        ):
            # Commands of one comment group that stay quoted are one step (``cd terraform``,
            # ``terraform workspace select``, ``terraform show``).
            previous.commands.extend(step.commands)
            previous.kinds.extend(step.kinds)
            if step.reason and step.reason not in previous.reason:
                previous.reason = f"{previous.reason}; {step.reason}"
            continue
        items.append(step)
        previous = step
    if cds and previous is not None and previous.kind != CONVERTED:
        previous.commands.extend(cds)
        previous.kinds.extend([""] * len(cds))


def _take_title(items: list[Step | Prose]) -> str:
    """The prose line just above a code block, when it names the step (``1. **Check ECS
    Service Status**``); it leaves the prose (the step's heading says it)."""
    if not items or not isinstance(items[-1], Prose):
        return ""
    lines = items[-1].text.rstrip().splitlines()
    if not lines:
        return ""
    last = lines[-1].strip()
    if not last or len(last) > 80 or last.startswith(("#", "|", ">")):
        return ""
    m = _TITLE_LINE.match(last)
    title = m.group(1).strip(" *_:") if m else ""
    title = re.sub(r"^\s*(\d+[.)]|step \d+:?)\s*", "", title, flags=re.IGNORECASE).strip(" *_:")
    if not title or title.lower().rstrip(":") in _GENERIC_TITLES:
        return ""
    rest = "\n".join(lines[:-1]).rstrip()
    if rest:
        items[-1].text = rest
    else:
        items.pop()
    return title


_GENERIC_TITLES = {
    "diagnosis",
    "investigation steps",
    "investigation",
    "resolution",
    "solutions",
    "steps",
    "commands",
    "verification",
    "mitigation",
    "local",
    "cloud environment",
    "local environment",
}


def _describe(cmd: ShellCommand) -> str:
    words = [w for w in cmd.words if not w.startswith("-")]
    if words and words[0] == "aws" and len(words) >= 3:
        return f"{words[1]} {words[2]}"
    return " ".join(words[:2]) or cmd.text.split("\n")[0][:40]


def _short(title: str, limit: int = 70) -> str:
    title = re.sub(r"\s+", " ", title).strip().rstrip(".").strip()
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def _unique_titles(items: list[Step | Prose]) -> None:
    seen: dict[str, int] = {}
    for step in (i for i in items if isinstance(i, Step)):
        key = step.title.lower()
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            step.title = f"{step.title} ({seen[key]})"


# -- the notebook --------------------------------------------------------------------------------
def notebook(plan: NotebookPlan) -> nbformat.NotebookNode:
    """The notebook of ``plan``: no outputs, deterministic cell ids, valid nbformat 4.5."""
    cells: list[nbformat.NotebookNode] = []

    def md(text: str) -> None:
        cells.append(nbformat.v4.new_markdown_cell(text.strip(), id=f"md-{len(cells) + 1}"))

    def code(text: str, tags: list[str] | None = None) -> None:
        cell = nbformat.v4.new_code_cell(text.rstrip("\n"), id=f"code-{len(cells) + 1}")
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)

    has_changes = any(s.verb == "changes" for s in plan.steps)
    md(_title_cell(plan))
    # Imports first, so the notebook exported as a script is lint-clean (E402); papermill
    # injects its parameters after the parameters cell wherever that is.
    code(_imports_cell(plan), ["imports"])
    code(_parameters_cell(plan), ["parameters"])
    code(_setup_cell(plan), ["setup"])
    n = 0
    prose: list[str] = []
    for item in [*plan.items, None]:
        if isinstance(item, Prose):
            if not re.fullmatch(r"\s*([-*_]\s*){3,}", item.text):  # a rule says nothing here
                prose.append(item.text)
            continue
        if prose:  # the runbook's text between two steps: one cell
            md("\n\n".join(prose))
            prose = []
        if item is None:
            break
        n += 1
        md(_step_markdown(n, item))
        if item.kind == CONVERTED:
            code(_section(item.title, item.code))
    if not has_changes:
        n += 1
        md(
            f"## {n}. What changed\n\nNot in the runbook: added so the findings can name the "
            "likely culprit. CloudTrail changes to the runbook's resources (and the alarm's) "
            "in the window, nearest the onset first, with why each one is or is not a likely "
            "cause."
        )
        code(
            _section("What changed", ["    case.show(steps.ranked_changes(case, case.changes()))"])
        )
    n += 1
    onset = "The onset where the first metric step found it, the" if plan.ctx.onset else "The"
    md(
        f"## {n}. Findings\n\n{onset} change most likely to have caused the alarm and why, "
        "and how long the alarm has been in ALARM: each citing the evidence it rests on."
    )
    found = []
    if plan.ctx.onset:
        found.append("        steps.onset_finding(case),")
    found += ["        steps.change_finding(case),", "        steps.time_in_alarm_finding(case),"]
    code(
        _section(
            "Findings",
            [
                "    found = [",
                *found,
                "    ]",
                "    case.record(*found, summary=steps.summary(case, found))",
            ],
        )
    )
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python", "file_extension": ".py"}
    nb.metadata["incident_runbook"] = {
        "runbook": plan.runbook,
        "section": plan.path,
        "alarm_names": plan.alerts,
        "commands": plan.counts(),
    }
    nbformat.validate(nb)
    return nb


def _title_cell(plan: NotebookPlan) -> str:
    where = " › ".join(plan.path)
    counts = plan.counts()
    lines = [
        f"# {plan.title}",
        "",
        f"Imported from the runbook `{plan.runbook}` (*{where}*) by `incident runbook import`: "
        "review it like any notebook. Each step quotes the runbook's command, then runs it "
        "through a verb of the case inside its own section (a step that fails says why and "
        "the next one runs). Commands that change things are **never run**: they are kept as "
        "*mitigation* steps, quoted. What could not be converted is a *manual* step.",
        "",
    ]
    if plan.alerts:
        names = ", ".join(f"`{a}`" for a in plan.alerts)
        lines += [
            f"**Alert**: {names}: a catalogue file maps "
            f"{'it' if len(plan.alerts) == 1 else 'them'} to this notebook (the import "
            "writes one beside it, `catalog.toml`, unless told not to).",
            "",
        ]
    lines += [
        "| commands | converted | mitigation (not run) | manual |",
        "|---|---|---|---|",
        f"| {sum(counts.values())} | {counts[CONVERTED]} | {counts[MITIGATION]} | "
        f"{counts[MANUAL]} |",
    ]
    return "\n".join(lines)


def _parameters_cell(plan: NotebookPlan) -> str:
    lines = ["# Parameters: papermill replaces this cell (incident investigate --notebook)."]
    params = list(plan.ctx.params.params.values())
    own = {p.name for p in params}
    for name, value, comment in STANDARD_PARAMETERS:
        if name not in own:
            lines.append(_assignment(name, value, comment))
    if params:
        lines.append("# The runbook's resources. Where the alarm's dimensions name one, the")
        lines.append("# alarm's value is used instead (see the setup cell).")
    for p in params:
        comment = f"the alarm's {p.dimension} when it has one" if p.dimension else p.origin
        lines.append(_assignment(p.name, None, comment, value=p.default))
    return "\n".join(lines)


def _assignment(name: str, code: str | None, comment: str, *, value: object = None) -> str:
    rendered = render(Lit(value), 0, f"{name} = ") if code is None else f"{name} = {code}"
    if comment and "\n" not in rendered:
        with_comment = f"{rendered}  # {comment}"
        if len(with_comment) <= LINE_LENGTH:
            return with_comment
    return rendered


def _imports_cell(plan: NotebookPlan) -> str:
    uses = plan.ctx.uses
    third = []
    if "jmespath" in uses:
        third.append("import jmespath")
    if "pd" in uses:
        third.append("import pandas as pd")
    names = [*sorted(n for n in ("expression", "metric") if n in uses), "setup"]
    ours = [
        "from incident_lib import steps",
        f"from incident_lib.notebook import {', '.join(names)}",
    ]
    if "timeseries" in uses:
        ours.append("from incident_lib.plotting import timeseries")
    return "\n".join([*third, *([""] if third else []), *ours])


def _setup_cell(plan: NotebookPlan) -> str:
    lines = [
        render(
            Call(
                "setup",
                [],
                [
                    (name, Raw(name))
                    for name in (
                        "alarm_json",
                        "source",
                        "start",
                        "end",
                        "profile",
                        "role_arn",
                        "endpoint_url",
                        "log_groups",
                    )
                ],
            ),
            0,
            "case = ",
        )
    ]
    params = list(plan.ctx.params.params.values())
    bound = [p for p in params if p.dimension]
    if bound:
        lines.append("# The alarm's own resource where its dimensions name it, else the runbook's.")
        lines.append("dims = case.alarm.metric.dimensions if case.alarm.metric else {}")
        for p in bound:
            lines.append(f"{p.name} = dims.get({literal(p.dimension)}, {p.name})")
    if params:
        names_node = List(
            [Raw(p.name) for p in params if isinstance(p.default, str)] + [Raw("*resource_names")]
        )
        lines.append("# CloudTrail changes to these resources are looked up (case.changes).")
        lines.append(render(names_node, 0, 'case.params["resource_names"] = '))
    return "\n".join(lines)


def _section(title: str, body: list[str]) -> str:
    head = render(Call("case.section", [Lit(title)]), 0, "with ")
    return "\n".join([f"{head}:", *body])


def _step_markdown(n: int, step: Step) -> str:
    commands = "\n".join(c.text for c in step.commands)
    fence = _fence(commands)
    quoted = f"{fence}bash\n{commands}\n{fence}"
    if step.kind == CONVERTED:
        lines = [f"## {n}. {step.title}", "", quoted]
        extra = _command_notes(step.commands)
        notes = [*step.notes, *extra]
        if notes:
            lines += [""] + [f"- {note}" for note in notes]
        return "\n".join(lines)
    if step.kind == MITIGATION:
        return "\n".join(
            [
                f"## {n}. Mitigation (not run): {step.title}",
                "",
                f"This changes things ({step.reason}): the notebook never runs it. Run it by "
                "hand when the investigation says so.",
                "",
                quoted,
            ]
        )
    return "\n".join(
        [
            f"## {n}. By hand: {step.title}",
            "",
            f"Not converted: {step.reason}. Run it yourself if it helps.",
            "",
            quoted,
        ]
    )


def _command_notes(commands: list[ShellCommand]) -> list[str]:
    notes: list[str] = []
    for cmd in commands:
        for pipe in cmd.pipes:
            notes.append(f"the runbook pipes the output through `{pipe}`; the table shows it all")
        for alt in cmd.fallback:
            notes.append(f"on failure the runbook runs `{alt}`; here the section says why")
        for redirect in cmd.redirects:
            if not re.match(r"^\d?>&?\d?\s*/dev/null$|^2>&1$", redirect):
                notes.append(f"the runbook saves the output (`{redirect}`)")
        notes.extend(f"the runbook notes: {note}" for note in cmd.notes)
        if cmd.loop:
            notes.append(f"one step per value of the runbook's loop `{cmd.loop}`")
    return notes


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _fenced(text: str, info: str) -> str:
    fence = _fence(text)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"
