"""Shell code blocks of a runbook, read into commands.

A runbook's ``bash`` block is a script written for people: commands continued over lines with
``\\``, comments that say what the next command is for, ``$(date ...)`` and ``$((...))``
substitutions, pipes into ``jq`` or ``grep``, ``|| echo ...`` fallbacks, redirections, the odd
``for`` loop. :func:`read_block` splits a block into :class:`ShellCommand` items, each with its
words (quotes removed, substitutions kept as written), its text as written (to quote it beside
the step), the comment lines above it, and the pipes, fallbacks and redirections that follow.

Words are split by :mod:`shlex` (POSIX rules). The one thing shlex cannot do is find where a
command ends and what a ``$(...)`` holds (it splits inside the parentheses and knows no
operators), so a small scanner does that first: it walks the text once, keeping track of
quotes, ``$(``/``$((`` nesting, backquotes, comments, continuations and here-documents, and
hands shlex one pipeline stage at a time with each substitution replaced by a placeholder.
(``bashlex`` parses bash fully, but is unmaintained since 2023 and fails on the half-shell
that runbooks hold, such as PromQL pasted into a ``bash`` block; a failure here must cost one
step, not the whole import.)

>>> [c.words for c in read_block("aws lambda get-function \\\\\\n  --function-name fn | jq .")]
[('aws', 'lambda', 'get-function', '--function-name', 'fn')]
"""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import dataclass, field, replace

__all__ = ["Narration", "ShellCommand", "read_block"]

# Private-use characters: a substitution's placeholder can never clash with runbook text.
_OPEN, _CLOSE = "\ue000", "\ue001"
_PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
_REDIRECT = re.compile(r"^(\d*|&)(>>?|<<?)(&?\S*)$")
_NUMBERED = re.compile(r"^\s*(\d+[.)]|step \d+)", re.IGNORECASE)
#: Words that open or close a compound command: stripped, the command inside is kept.
_BLANK = re.compile(r"[ \t]*(\n|$)")
_KEYWORDS = {"then", "do", "else", "{", "}", "(", ")", "!"}
_END_KEYWORDS = {"done", "fi", "esac", "}"}


@dataclass(frozen=True)
class ShellCommand:
    """One command of a shell block.

    ``words`` are the first pipeline stage's words, quotes removed, with ``$(...)``,
    ``$((...))`` and backquote substitutions kept exactly as written; ``text`` is the whole
    command as written (continuation lines, pipes and fallbacks included).
    """

    words: tuple[str, ...]
    text: str
    line: int = 1
    comment: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    pipes: tuple[str, ...] = ()
    fallback: tuple[str, ...] = ()
    redirects: tuple[str, ...] = ()
    loop: str = ""
    error: str = ""

    @property
    def program(self) -> str:
        return self.words[0] if self.words else ""

    @property
    def title(self) -> str:
        """What the comment above the command says it is for (its last numbered line, else
        its first line), without the number."""
        lines = [c for c in self.comment if c.strip()]
        if not lines:
            return ""
        numbered = [c for c in lines if _NUMBERED.match(c)]
        text = numbered[-1] if numbered else lines[0]
        return _NUMBERED.sub("", text).strip(" :-=#*") or text.strip()


@dataclass(frozen=True)
class Narration:
    """Comment lines (or ``echo`` lines) that no command follows in the block."""

    lines: tuple[str, ...]
    line: int = 1


@dataclass
class _Segment:
    raw: list[str] = field(default_factory=list)  # as written
    scan: list[str] = field(default_factory=list)  # placeholders for substitutions
    subs: list[str] = field(default_factory=list)
    line: int = 1
    op: str = ""  # the operator that ended it: | || && ; & or newline ("\n")
    comment: str = ""  # a trailing comment on its line


def read_block(text: str, *, prompts: bool = False) -> list[ShellCommand | Narration]:
    """The commands of one shell block, in order, with the comment lines that belong to each.

    ``prompts``: the block is a console transcript: only lines starting with ``$ `` are
    commands (the rest is output).
    """
    if prompts:
        text = "\n".join(
            line.split("$ ", 1)[1] if line.lstrip().startswith("$ ") else ""
            for line in text.splitlines()
        )
    segments = _scan(text)
    items = _group(segments)
    return _unroll_loops(items)


# -- the scanner ---------------------------------------------------------------------------------
def _scan(text: str) -> list[_Segment | str]:
    """Split ``text`` into pipeline stages (``_Segment``) and comment lines (``str``, starting
    with ``#``) or blank lines (``""``), in order."""
    out: list[_Segment | str] = []
    seg = _Segment(line=1)
    i, n, line = 0, len(text), 1
    at_word_start = True
    heredocs: list[tuple[str, bool]] = []

    def finish(op: str) -> None:
        nonlocal seg
        if "".join(seg.raw).strip() or seg.comment:
            seg.op = op
            out.append(seg)
        seg = _Segment(line=line)

    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            if text[i + 1] == "\n":  # continuation
                seg.raw.append("\\\n")
                seg.scan.append(" ")
                i += 2
                line += 1
                continue
            seg.raw.append(text[i : i + 2])
            seg.scan.append(text[i : i + 2])
            i += 2
            at_word_start = False
            continue
        if ch == "'":
            j = text.find("'", i + 1)
            j = n - 1 if j < 0 else j
            chunk = text[i : j + 1]
            seg.raw.append(chunk)
            seg.scan.append(chunk)
            line += chunk.count("\n")
            i = j + 1
            at_word_start = False
            continue
        if ch == '"':
            j, scanned = _double_quoted(text, i, seg)
            chunk = text[i:j]
            seg.raw.append(chunk)
            seg.scan.append(scanned)
            line += chunk.count("\n")
            i = j
            at_word_start = False
            continue
        if (ch == "$" and text.startswith("$(", i)) or ch == "`":
            j = _substitution_end(text, i)
            chunk = text[i:j]
            seg.raw.append(chunk)
            seg.scan.append(f"{_OPEN}{len(seg.subs)}{_CLOSE}")
            seg.subs.append(chunk)
            line += chunk.count("\n")
            i = j
            at_word_start = False
            continue
        if ch == "#" and at_word_start:
            j = text.find("\n", i)
            j = n if j < 0 else j
            comment = text[i:j]
            if "".join(seg.raw).strip():
                seg.comment = comment
            elif not comment.startswith("#!"):  # a shebang says nothing to a reader
                out.append(comment)
            i = j
            continue
        if ch == "\n":
            finish("\n")
            line += 1
            i += 1
            at_word_start = True
            if heredocs:
                i, line = _skip_heredocs(text, i, line, heredocs, out)
                heredocs = []
            if _BLANK.match(text, i):
                out.append("")
            continue
        if ch in "|&;":
            two = text[i : i + 2]
            if two in ("||", "&&"):
                finish(two)
                i += 2
            elif ch == "|" and two != "|&":
                finish("|")
                i += 1
            elif ch == ";" and two != ";;":
                finish(";")
                i += 1
            elif ch == "&" and text[i + 1 : i + 2] != ">" and not _after_redirect(seg):
                finish("&")
                i += 1
            else:
                seg.raw.append(ch)
                seg.scan.append(ch)
                i += 1
                continue
            at_word_start = True
            continue
        if ch == "<" and text.startswith("<<", i) and not text.startswith("<<<", i):
            m = re.match(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2", text[i:])
            if m:
                heredocs.append((m.group(3), bool(m.group(1))))
                seg.raw.append(m.group(0))
                seg.scan.append(" " + m.group(0).replace("'", "").replace('"', "") + " ")
                i += len(m.group(0))
                continue
        seg.raw.append(ch)
        seg.scan.append(ch)
        at_word_start = ch in " \t("
        i += 1
    finish("\n")
    return out


def _after_redirect(seg: _Segment) -> bool:
    """``2>&1``, ``>&2``: the ``&`` belongs to a redirection."""
    tail = "".join(seg.scan)[-2:]
    return tail.endswith(">")


def _double_quoted(text: str, i: int, seg: _Segment) -> tuple[int, str]:
    """End of the double-quoted string at ``i`` and its text for shlex, with substitutions
    inside it replaced by placeholders."""
    out = ['"']
    j = i + 1
    n = len(text)
    while j < n:
        ch = text[j]
        if ch == "\\" and j + 1 < n:
            out.append(text[j : j + 2])
            j += 2
            continue
        if ch == '"':
            out.append('"')
            return j + 1, "".join(out)
        if (ch == "$" and text.startswith("$(", j)) or ch == "`":
            k = _substitution_end(text, j)
            out.append(f"{_OPEN}{len(seg.subs)}{_CLOSE}")
            seg.subs.append(text[j:k])
            j = k
            continue
        out.append(ch)
        j += 1
    return n, "".join(out)  # unterminated: shlex says so, and the command is not read


def _substitution_end(text: str, i: int) -> int:
    """Index just past the ``$(...)``, ``$((...))`` or backquoted text starting at ``i``."""
    n = len(text)
    if text[i] == "`":
        j = i + 1
        while j < n and text[j] != "`":
            j += 2 if text[j] == "\\" else 1
        return min(j + 1, n)
    depth = 0
    j = i + 1  # at "("
    while j < n:
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == "'":
            k = text.find("'", j + 1)
            j = n if k < 0 else k + 1
            continue
        if ch == '"':
            k = j + 1
            while k < n and text[k] != '"':
                if text[k] == "$" and text.startswith("$(", k):
                    k = _substitution_end(text, k)
                    continue
                k += 2 if text[k] == "\\" else 1
            j = k + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return n


def _skip_heredocs(
    text: str, i: int, line: int, heredocs: list[tuple[str, bool]], out: list[_Segment | str]
) -> tuple[int, int]:
    """Consume here-document bodies (they belong to the command before them)."""
    body: list[str] = []
    for delimiter, strip in heredocs:
        while i < len(text):
            j = text.find("\n", i)
            j = len(text) if j < 0 else j
            current = text[i:j]
            i = j + 1
            line += 1
            if (current.strip() if strip else current) == delimiter:
                break
            body.append(current)
    # The body is kept with the command it feeds (the last segment before it).
    for item in reversed(out):
        if isinstance(item, _Segment):
            item.raw.append("\n" + "\n".join(body) + "\n" + heredocs[-1][0])
            break
    return i, line


# -- grouping ------------------------------------------------------------------------------------
def _words(seg: _Segment) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """(words, redirections, error) of one pipeline stage."""
    scan = "".join(seg.scan).strip()
    try:
        lexer = shlex.shlex(scan, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        raw_words = list(lexer)
    except ValueError as exc:
        return (), (), f"cannot split the words: {exc}"

    def restore(word: str) -> str:
        return _PLACEHOLDER.sub(lambda m: seg.subs[int(m.group(1))], word)

    words: list[str] = []
    redirects: list[str] = []
    pending_target = False
    for word in raw_words:
        word = restore(word)
        if pending_target:
            redirects[-1] += f" {word}"
            pending_target = False
            continue
        m = _REDIRECT.match(word)
        if m and not (words and words[-1].startswith("--") and m.group(2) == "<"):
            redirects.append(word)
            pending_target = not m.group(3)
            continue
        words.append(word)
    return tuple(words), tuple(redirects), ""


def _group(segments: list[_Segment | str]) -> list[ShellCommand | Narration]:
    """Join pipeline stages into commands and attach comments to the commands they describe."""
    items: list[ShellCommand | Narration] = []
    pending: list[str] = []  # the comment paragraph being read
    earlier: list[str] = []  # paragraphs before it, since the last command
    pending_line = 1
    blank_after_command = True
    k = 0
    while k < len(segments):
        part = segments[k]
        if isinstance(part, str):
            if part == "":
                if pending and not blank_after_command and items:
                    _attach_after(items, pending)
                elif pending:
                    # A paragraph of comments: the next command is titled by the last one.
                    if earlier:
                        items.append(Narration(tuple(earlier), pending_line))
                    earlier = pending
                pending = []
                blank_after_command = True
                k += 1
                continue
            if not pending:
                pending_line = _line_of(segments, k)
            pending.append(part.lstrip("#").strip())
            k += 1
            continue
        # A command: its first stage, then stages joined by | and alternatives joined by ||.
        chain = [part]
        while chain[-1].op in ("|", "||") and k + 1 < len(segments):
            nxt = segments[k + 1]
            if not isinstance(nxt, _Segment):
                break
            chain.append(nxt)
            k += 1
        k += 1
        first = chain[0]
        words, redirects, error = _words(first)
        pipes: list[str] = []
        fallback: list[str] = []
        for prev, stage in itertools.pairwise(chain):
            (pipes if prev.op == "|" else fallback).append("".join(stage.raw).strip())
        text = _join_raw(chain)
        notes = tuple(s.comment.lstrip("#").strip() for s in chain if s.comment)
        words = _strip_keywords(words)
        if words and words[0] == "echo" and not redirects and not pipes:
            # Narration: ``echo "1. Checking critical Lambda functions..."`` titles what follows.
            said = " ".join(words[1:]).strip()
            if said:
                pending.append(said)
            continue
        if not words and not error:
            continue
        if not pending:
            pending, earlier = earlier, []
        if earlier:
            items.append(Narration(tuple(earlier), pending_line))
            earlier = []
        items.append(
            ShellCommand(
                words=words,
                text=text,
                line=first.line,
                comment=tuple(pending),
                notes=notes,
                pipes=tuple(pipes),
                fallback=tuple(fallback),
                redirects=redirects,
                error=error,
            )
        )
        pending = []
        blank_after_command = False
    if pending and items and not blank_after_command:
        _attach_after(items, pending)
        pending = []
    rest = [*earlier, *pending]
    if rest:
        items.append(Narration(tuple(rest), pending_line))
    return items


def _attach_after(items: list[ShellCommand | Narration], lines: list[str]) -> None:
    """Comment lines right under a command (``# Expected: 0 messages``) are notes on it."""
    last = items[-1]
    if isinstance(last, ShellCommand):
        items[-1] = replace(last, notes=(*last.notes, *lines))
    else:
        items.append(Narration(tuple(lines), last.line))


def _line_of(segments: list[_Segment | str], k: int) -> int:
    for part in segments[k:]:
        if isinstance(part, _Segment):
            return part.line
    return 1


def _join_raw(chain: list[_Segment]) -> str:
    text = ""
    for seg in chain:
        text += "".join(seg.raw).strip()
        if seg.op in ("|", "||", "&&"):
            text += f" {seg.op} "
    return _dedent_continuations(text.strip())


def _dedent_continuations(text: str) -> str:
    lines = text.split("\n")
    if len(lines) < 2:
        return text
    indents = [len(x) - len(x.lstrip()) for x in lines[1:] if x.strip()]
    cut = max(0, min(indents, default=0) - 2)
    return "\n".join([lines[0], *(x[cut:] for x in lines[1:])])


def _strip_keywords(words: tuple[str, ...]) -> tuple[str, ...]:
    out = list(words)
    while out and out[0] in _KEYWORDS:
        out.pop(0)
    return tuple(out)


# -- for loops -----------------------------------------------------------------------------------
def _unroll_loops(items: list[ShellCommand | Narration]) -> list[ShellCommand | Narration]:
    """``for x in a b c; do ... $x ...; done``: the body once per value, ``$x`` replaced (a
    runbook's loop over its functions is one step per function)."""
    out: list[ShellCommand | Narration] = []
    k = 0
    while k < len(items):
        item = items[k]
        if (
            isinstance(item, ShellCommand)
            and item.program == "for"
            and len(item.words) >= 3
            and item.words[2] == "in"
        ):
            var, values = item.words[1], item.words[3:]
            depth, j = 1, k + 1
            body: list[ShellCommand | Narration] = []
            while j < len(items):
                cur = items[j]
                if isinstance(cur, ShellCommand):
                    if cur.program in ("for", "while", "until"):
                        depth += 1
                    elif cur.program == "done" or cur.words == ("done",):
                        depth -= 1
                        if depth == 0:
                            break
                body.append(cur)
                j += 1
            loop = f"for {var} in {' '.join(values)}"
            if item.comment:
                out.append(Narration(item.comment, item.line))
            for value in values:
                for cur in body:
                    out.extend(_substitute(cur, var, value, loop))
            k = j + 1
            continue
        if isinstance(item, ShellCommand) and item.program in _END_KEYWORDS:
            k += 1
            continue
        out.append(item)
        k += 1
    return out


def _substitute(
    item: ShellCommand | Narration, var: str, value: str, loop: str
) -> list[ShellCommand | Narration]:
    pattern = re.compile(r"\$(\{" + re.escape(var) + r"\}|" + re.escape(var) + r"\b)")
    if isinstance(item, Narration):
        return [Narration(tuple(pattern.sub(value, x) for x in item.lines), item.line)]
    again = [
        x
        for x in read_block(pattern.sub(value, item.text))
        if isinstance(x, ShellCommand) or x.lines
    ]
    comment = tuple(pattern.sub(value, x) for x in item.comment)
    result: list[ShellCommand | Narration] = []
    for x in again:
        if isinstance(x, ShellCommand):
            x = replace(x, comment=comment or x.comment, loop=loop, line=item.line)
        result.append(x)
    return result
