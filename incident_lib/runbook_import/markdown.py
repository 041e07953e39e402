"""A markdown runbook read into sections: headings, their prose and their code blocks.

markdown-it-py (CommonMark) finds the headings and the code blocks, fenced or indented, also
inside list items; the prose between them is kept as the runbook wrote it (sliced from the
source by the line ranges the parser reports), so a notebook quotes it unchanged.

Headings such as *Symptoms*, *Diagnosis Steps*, *Resolution* or *Verification* are parts of
the section above them, not sections of their own (``## Service Down`` / ``### Diagnosis
Steps`` / ``### Resolution Steps`` is one alert): they are folded into their parent, their
heading kept as a bold line.

>>> doc = read_markdown("# A\\n## Lambda errors\\n**Alert**: `x`\\n```bash\\naws s3 ls\\n```")
>>> [(s.title, s.alerts, len(s.code)) for s in doc.walk()]
[('A', [], 0), ('Lambda errors', ['x'], 1)]
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

__all__ = ["Block", "Runbook", "Section", "read_markdown", "slug"]

#: Headings that name a part of an alert's procedure rather than an alert.
PART_WORDS = (
    "symptom",
    "diagnos",
    "investigat",
    "triage",
    "resolution",
    "resolve",
    "mitigat",
    "solution",
    "verif",
    "validation",
    "immediate action",
    "next step",
    "action",
    "steps",
    "fix",
    "remediat",
    "recovery step",
    "root cause",
    "common cause",
    "common resolution",
    "when to",
    "escalat",
    "prerequisite",
    "rollback procedure",
)
#: A part heading has at most this many words (``Investigation and Resolution``).
PART_MAX_WORDS = 3

# ``**Alert**: `name```, ``Alarm: `a`, `b```, ``Prometheus alert: `ServiceDown```.
_ALERT = re.compile(
    r"(?i)\b(?:alert|alarm)(?:\s+name)?\**\s*:\s*\**\s*((?:`[^`\n]+`(?:\s*(?:,|and|or)\s*)?)+)"
)
_TICKED = re.compile(r"`([^`\n]+)`")
_SHELL_INFO = {"bash", "sh", "shell", "zsh", "console", "shell-session", "terminal", "ksh"}


@dataclass
class Block:
    """A run of prose, or one code block, of a section (in source order)."""

    kind: str  # "prose" | "code"
    text: str
    line: int  # 1-based line of the source where it starts
    info: str = ""  # a code block's language

    @property
    def is_shell(self) -> bool:
        """A code block a shell would run: tagged ``bash``/``sh``/``console`` ..., or untagged
        with a line that starts with ``aws``."""
        if self.kind != "code":
            return False
        lang = self.info.split()[0].lower() if self.info.strip() else ""
        if lang in _SHELL_INFO:
            return True
        if lang:
            return False
        return any(re.match(r"\s*(\$\s+)?aws\s", x) for x in self.text.splitlines())

    @property
    def is_console(self) -> bool:
        """A transcript: prompts (``$ aws ...``) and output."""
        lang = self.info.split()[0].lower() if self.info.strip() else ""
        lines = [x for x in self.text.splitlines() if x.strip()]
        return lang in ("console", "shell-session", "terminal") or (
            bool(lines) and all(x.lstrip().startswith("$ ") for x in lines[:1])
        )


@dataclass
class Section:
    """A heading and what it holds until the next heading of the same or a higher level."""

    title: str
    level: int
    line: int
    blocks: list[Block] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)
    parent: Section | None = field(default=None, repr=False)

    @property
    def code(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == "code"]

    @property
    def alerts(self) -> list[str]:
        """Alarm names the section gives (``**Alert**: `name```), in order."""
        names: list[str] = []
        for block in self.blocks:
            if block.kind != "prose":
                continue
            for match in _ALERT.finditer(block.text):
                names.extend(_TICKED.findall(match.group(1)))
        return list(dict.fromkeys(n.strip() for n in names if n.strip()))

    @property
    def path(self) -> list[str]:
        """Titles from the top heading down to this one."""
        out: list[str] = []
        node: Section | None = self
        while node is not None and node.level > 0:
            out.insert(0, node.title)
            node = node.parent
        return out

    def walk(self) -> Iterator[Section]:
        for child in self.children:
            yield child
            yield from child.walk()


@dataclass
class Runbook:
    """The document: a root section (level 0, the text before the first heading) and its
    headings."""

    root: Section
    source: str

    def walk(self) -> Iterator[Section]:
        return self.root.walk()


def read_markdown(text: str) -> Runbook:
    """Read ``text`` (markdown) into its sections, part headings folded into their parents."""
    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(text)
    lines = text.splitlines()
    root = Section(title="", level=0, line=1)
    stack = [root]
    cursor = 0  # next source line (0-based) not yet given to a block

    def prose_until(end: int) -> None:
        nonlocal cursor
        if end > cursor:
            chunk = "\n".join(lines[cursor:end]).strip("\n")
            if chunk.strip():
                stack[-1].blocks.append(Block("prose", chunk, cursor + 1))
        cursor = max(cursor, end)

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "heading_open" and tok.map:
            prose_until(tok.map[0])
            level = int(tok.tag[1])
            title = clean_title(tokens[i + 1].content if i + 1 < len(tokens) else "")
            while stack[-1].level >= level:
                stack.pop()
            section = Section(title=title, level=level, line=tok.map[0] + 1, parent=stack[-1])
            stack[-1].children.append(section)
            stack.append(section)
            cursor = tok.map[1]
            i += 3
            continue
        if tok.type in ("fence", "code_block") and tok.map:
            prose_until(tok.map[0])
            info = tok.info.strip() if tok.type == "fence" else ""
            stack[-1].blocks.append(Block("code", tok.content, tok.map[0] + 1, info))
            cursor = tok.map[1]
        i += 1
    prose_until(len(lines))
    _fold_parts(root)
    return Runbook(root=root, source=text)


def clean_title(text: str) -> str:
    """A heading's text without markup, leading emoji or mis-encoded symbols."""
    text = re.sub(r"[*_`]+", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    # Leading symbols (emoji, or emoji mis-encoded as Latin-1 letters like "ðŸŸ¡"): drop
    # everything before the first ASCII letter or digit.
    m = re.search(r"[A-Za-z0-9]", text)
    return text[m.start() :].strip() if m else text.strip()


def is_part(title: str) -> bool:
    """``Diagnosis Steps``, ``Symptoms``, ``Resolution Actions``: a part of an alert's
    procedure, not an alert of its own."""
    words = re.sub(r"\([^)]*\)", "", title).lower()
    words = re.sub(r"^\s*\d+[.)]\s*", "", words).strip(" :")
    if len(words.split()) > PART_MAX_WORDS:
        return False
    return words.startswith(PART_WORDS)


def _fold_parts(section: Section) -> None:
    """Fold part headings into their parent, recursively, keeping source order."""
    for child in list(section.children):
        _fold_parts(child)
    if section.level == 0:
        return
    folded: list[Section] = []
    for child in section.children:
        if is_part(child.title):
            section.blocks.append(Block("prose", f"**{child.title}**", child.line))
            section.blocks.extend(child.blocks)
            for grandchild in child.children:
                grandchild.parent = section
                folded.append(grandchild)
        else:
            folded.append(child)
    section.children = folded
    section.blocks.sort(key=lambda b: b.line)


def slug(text: str) -> str:
    """``High Error Rate (5XX Errors)`` -> ``high-error-rate-5xx-errors`` (ASCII only)."""
    text = text.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "section"
