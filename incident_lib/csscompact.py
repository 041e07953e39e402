"""The report's stylesheets, cut to what its page uses.

JupyterLab's stylesheet (nbconvert's ``lab`` template) is 240 KB, written for the whole Lab
application: 86 KB of it are icon images in ``--jp-icon-*`` custom properties, most of the rest
styles Lab widgets a static report never has (toolbars, dialogs, file browsers). A report is a
file, written once, with no script that adds elements styled by these rules (plotly.js styles its
own), so the rules and custom properties the page cannot use are dropped:

- a rule is kept when one of its selectors names no Lab class (``jp-``, ``lm-``, ``p-``,
  ``CodeMirror``, ``cm-``) that is missing from the page's ``class`` attributes;
- a custom property is kept when a kept declaration, or the page itself, reads it through
  ``var()`` (followed to a fixed point: properties read other properties);
- comments and spare whitespace go.

Parsed with ``tinycss2`` (a CSS tokenizer kept by the Kozea project, already installed with
nbconvert's sanitiser), never with regular expressions on CSS text. The figures and the page's
layout are checked in Chromium by ``tests/browser``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import tinycss2

__all__ = ["compact_css", "page_classes"]

_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
_VAR = re.compile(r"var\(\s*(--[\w-]+)")
_LAB_PREFIXES = ("jp-", "lm-", "p-", "CodeMirror", "cm-")
_CLASS_ATTR = re.compile(r'\bclass="([^"]*)"')


def page_classes(html: str) -> set[str]:
    """Every class named in a ``class="..."`` attribute of ``html``."""
    found: set[str] = set()
    for match in _CLASS_ATTR.finditer(html):
        found.update(match.group(1).split())
    return found


def compact_css(sheets: list[str], classes: set[str], *, also_reads: str = "") -> list[str]:
    """Each of ``sheets`` (one page's, in order) without the rules no element of the page
    can match, the custom properties nothing reads, comments and spare whitespace (see the
    module doc). A property defined in one sheet and read in another stays. ``also_reads``:
    other text of the page whose ``var()`` uses keep properties alive (inline styles).
    """
    parsed = [_rules(tinycss2.parse_stylesheet(css), classes) for css in sheets]
    used = set(_VAR.findall(also_reads))
    while True:  # custom properties read by the kept declarations, to a fixed point
        before = len(used)
        for rules in parsed:
            for name, value in _declarations(rules):
                if not name.startswith("--") or name in used:
                    used.update(_VAR.findall(value))
        if len(used) == before:
            break
    return [_write(rules, used) for rules in parsed]


def _rules(nodes: Iterable, classes: set[str]) -> list:
    """``(selectors, declarations)`` for kept rules, ``(at-prelude, [rules])`` for blocks
    (@media, @supports), the serialised text for other at-rules (@font-face, @keyframes)."""
    kept: list = []
    for node in nodes:
        if node.type == "qualified-rule":
            selectors = [s.strip() for s in _text(node.prelude).split(",")]
            selectors = [s for s in selectors if s and _may_match(s, classes)]
            if selectors:
                kept.append((selectors, _parse_declarations(node.content)))
        elif node.type == "at-rule":
            keyword = node.lower_at_keyword
            if keyword in ("media", "supports") and node.content is not None:
                inner = _rules(tinycss2.parse_rule_list(node.content), classes)
                if inner:
                    kept.append((f"@{keyword} {_text(node.prelude).strip()}", inner))
            else:
                kept.append(tinycss2.serialize([node]).strip())
    return kept


def _may_match(selector: str, classes: set[str]) -> bool:
    return all(c in classes for c in _CLASS.findall(selector) if c.startswith(_LAB_PREFIXES))


def _parse_declarations(content: list) -> list[tuple[str, str]]:
    out = []
    for decl in tinycss2.parse_declaration_list(content, skip_comments=True, skip_whitespace=True):
        if decl.type != "declaration":
            continue
        value = _text(decl.value).strip()
        if decl.important:
            value += "!important"
        out.append((decl.name if decl.name.startswith("--") else decl.lower_name, value))
    return out


def _text(tokens: list) -> str:
    """Tokens as CSS text, comments dropped and each run of whitespace one space."""
    parts: list[str] = []
    for token in tokens:
        if token.type == "comment":
            continue
        if token.type == "whitespace":
            if parts and parts[-1] != " ":
                parts.append(" ")
            continue
        parts.append(tinycss2.serialize([token]))
    return "".join(parts)


def _declarations(rules: list) -> Iterable[tuple[str, str]]:
    for rule in rules:
        if isinstance(rule, str):
            yield "", rule  # an at-rule's text: its var() uses count
        elif isinstance(rule[0], str):
            yield from _declarations(rule[1])
        else:
            yield from rule[1]


def _write(rules: list, used: set[str]) -> str:
    out: list[str] = []
    for rule in rules:
        if isinstance(rule, str):
            out.append(rule)
        elif isinstance(rule[0], str):
            inner = _write(rule[1], used)
            if inner:
                out.append(f"{rule[0]}{{{inner}}}")
        else:
            body = ";".join(
                f"{name}:{value}"
                for name, value in rule[1]
                if not name.startswith("--") or name in used
            )
            if body:
                out.append(f"{','.join(rule[0])}{{{body}}}")
    return "\n".join(out)
