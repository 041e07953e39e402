"""Syntax tree -> one DuckDB boolean expression over the message column.

* Terms: ``contains(message, 'x')`` per term (case-sensitive substring, as AWS matches them).
* Regex: ``regexp_matches`` with the RE2 translation (unanchored: a match anywhere).
* JSON: guarded by ``json_valid`` so a line that is not a JSON object never matches (and never
  raises); each leaf reads its selector with ``json_type`` / ``json_extract_string``; a
  wildcard selector (``[*]``, ``.*``) reads a list and tests whether any element passes.
* Space-delimited: one RE2 regex splits the line into fields (quoted and bracketed text one
  field; the last field takes the rest of the line unless the pattern has ``...``) and
  captures only the fields that conditions read, with ``regexp_extract``; the captured struct
  is bound once with a lambda so the regex runs once per line.

Lambdas are written ``lambda x: ...`` (DuckDB 1.3 and later; 2.0 refuses the old ``x -> ...``).
Every leaf is wrapped in ``coalesce(..., false)``, so SQL NULLs (missing fields, non-numbers)
never leak into ``NOT`` or ``OR``: a test on something absent is false.
"""

from __future__ import annotations

from incident_lib.filterpattern import nodes as n

#: json_type() names of a "value node" (AWS: "Value nodes can be strings or numbers").
_VALUE_TYPES = "('VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE')"
_BLANK_CHARS = "' ', chr(9), chr(10), chr(13)"
_BLANKS = "' ' || chr(9) || chr(10) || chr(13)"
_SQL_OPS = {"=": "=", "!=": "<>", "<": "<", ">": ">", "<=": "<=", ">=": ">="}

# One field of a space-delimited line: "quoted", [bracketed], or a run of non-blanks that does
# not start with a quote or a bracket (so a line splits in exactly one way).
_TOKEN = r'(?:"[^"]*"|\[[^\]]*\]|[^\s"\[]\S*)'
_SEP = r"\s+"


def _unwrap(value: str) -> str:
    """SQL: a field's text without the double quotes or brackets around it."""
    return (
        f"(CASE WHEN starts_with({value}, '\"') OR starts_with({value}, '[') "
        f"THEN {value}[2:-2] ELSE {value} END)"
    )


def literal(text: str) -> str:
    """A SQL string literal (DuckDB keeps backslashes as they are)."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


class Generator:
    """Build the predicate for one pattern. Use :func:`to_sql`."""

    def __init__(self, pattern: n.Pattern, column: str = "message") -> None:
        self.pattern = pattern
        self.col = identifier(column)

    def generate(self) -> str:
        p = self.pattern
        if isinstance(p, n.MatchAll):
            return "true"
        if isinstance(p, n.TermPattern):
            return self.terms(p)
        if isinstance(p, n.RegexPattern):
            return f"coalesce(regexp_matches({self.col}, {literal(p.regex.re2)}), false)"
        if isinstance(p, n.JsonPattern):
            return self.json(p)
        if isinstance(p, n.DelimitedPattern):
            return self.delimited(p)
        raise TypeError(f"not a pattern: {p!r}")  # pragma: no cover

    # -- terms -----------------------------------------------------------------------------
    def has(self, term: n.Term) -> str:
        if term.blank:  # AWS: '" "' matches every event
            return "true"
        return f"contains({self.col}, {literal(term.text)})"

    def terms(self, p: n.TermPattern) -> str:
        if p.required or p.excluded:
            parts = [self.has(t) for t in p.required]
            parts += [f"NOT {self.has(t)}" for t in p.excluded]
        else:
            alternatives = [self.has(t) for t in p.optional]
            parts = ["true" if "true" in alternatives else "(" + " OR ".join(alternatives) + ")"]
        parts = [part for part in parts if part != "true"]
        if not parts:
            return "true"
        return f"coalesce({' AND '.join(parts)}, false)"

    # -- JSON ------------------------------------------------------------------------------
    def json(self, p: n.JsonPattern) -> str:
        body = self.expr(p.condition, self.json_leaf)
        # CASE evaluates the body only for rows passing the guard, so json_* never sees text
        # that is not JSON (they raise on it).
        return (
            f"CASE WHEN starts_with(ltrim({self.col}, {_BLANKS}), '{{') THEN "
            f"CASE WHEN json_valid({self.col}) THEN {body} ELSE false END ELSE false END"
        )

    def json_leaf(self, node: n.Expr) -> str:
        target = getattr(node, "target", None)
        assert isinstance(target, n.Selector)
        path = literal(json_path(target))
        if target.wildcard:
            items = f"json_extract({self.col}, {path})"
            if isinstance(node, n.NotExists):
                return f"coalesce(len({items}) = 0, true)"
            test = self.value_test(node, "json_type(_v)", "(_v->>'$')")
            kept = f"list_filter({items}, lambda _v: coalesce({test}, false))"
            return f"coalesce(len({kept}) > 0, false)"
        if isinstance(node, n.NotExists):
            return f"(json_type({self.col}, {path}) IS NULL)"
        kind = f"json_type({self.col}, {path})"
        text = f"json_extract_string({self.col}, {path})"
        return f"coalesce({self.value_test(node, kind, text)}, false)"

    def value_test(self, node: n.Expr, kind: str, text: str) -> str:
        """SQL for a JSON leaf given its value's json type name and its text."""
        if isinstance(node, n.Is):
            if node.literal == "null":
                return f"({kind} = 'NULL')"
            return f"({kind} = 'BOOLEAN' AND {text} = {literal(node.literal)})"
        assert isinstance(node, n.Compare)
        return f"({kind} IN {_VALUE_TYPES} AND {self.compare(node, text)})"

    # -- space-delimited -------------------------------------------------------------------
    def delimited(self, p: n.DelimitedPattern) -> str:
        regex, groups, rest = delimited_regex(p)
        if not groups:
            return f"coalesce(regexp_matches({self.col}, {literal(regex)}), false)"
        names = "[" + ", ".join(literal(g) for g in groups.values()) + "]"
        values = {
            name: self.rest_value(group) if group == rest else self.field_value(group)
            for name, group in groups.items()
        }
        # Every captured field is at least one character, so "matched" = a group is not ''.
        matched = f"_f.{identifier(next(iter(groups.values())))} <> ''"

        def leaf(node: n.Expr) -> str:
            assert isinstance(node, n.Compare) and isinstance(node.target, n.FieldRef)
            return f"coalesce({self.compare(node, values[node.target.name])}, false)"

        conditions = [self.expr(f.condition, leaf) for f in p.fields if f.condition is not None]
        body = " AND ".join([matched, *conditions])
        extract = f"regexp_extract({self.col}, {literal(regex)}, {names})"
        # The lambda binds the extracted struct once, so the regex runs once per line.
        test = f"coalesce(list_transform([{extract}], lambda _f: {body})[1], false)"
        # Text a matching line must contain (a field's text is part of the line): a cheap
        # substring test first spares the regex most lines of a selective pattern.
        needed = [
            r for f in p.fields if f.condition is not None for r in [self.needs(f.condition)] if r
        ]
        if not needed:
            return test
        return f"CASE WHEN coalesce({' AND '.join(needed)}, false) THEN {test} ELSE false END"

    def needs(self, node: n.Expr) -> str | None:
        """SQL for text the line must contain if ``node`` holds, or None if nothing is
        certain: ``name = text`` (wildcards aside) needs the text; AND needs what any operand
        needs; OR needs one of its operands' texts only if each operand needs one."""
        if isinstance(node, n.Compare):
            value = node.value
            if node.op == "=" and isinstance(value, n.Text) and value.text:
                return f"contains({self.col}, {literal(value.text)})"
            return None
        parts = [self.needs(x) for x in node.operands] if isinstance(node, n.And | n.Or) else []
        if isinstance(node, n.And) and any(parts):
            return "(" + " AND ".join(x for x in parts if x) + ")"
        if isinstance(node, n.Or) and parts and all(parts):
            return "(" + " OR ".join(x for x in parts if x) + ")"
        return None

    @staticmethod
    def field_value(group: str) -> str:
        """A captured field without its quotes or brackets."""
        return _unwrap(f"_f.{identifier(group)}")

    @staticmethod
    def rest_value(group: str) -> str:
        """The last field: the rest of the line, trimmed; without its quotes or brackets when
        it is a single quoted or bracketed field (its first closing mark is its last
        character). A plain rest with no trailing blank, the usual case, is taken as it is."""
        raw = f"_f.{identifier(group)}"
        g = f"rtrim({raw}, {_BLANKS})"
        single = (
            f"((starts_with({g}, '\"') AND strpos({g}[2:], '\"') = length({g}) - 1) OR "
            f"(starts_with({g}, '[') AND strpos({g}[2:], ']') = length({g}) - 1))"
        )
        plain = f"{raw}[1] NOT IN ('\"', '[') AND {raw}[-1] NOT IN ({_BLANK_CHARS})"
        return f"(CASE WHEN {plain} THEN {raw} WHEN {single} THEN {g}[2:-2] ELSE {g} END)"

    # -- shared ----------------------------------------------------------------------------
    def expr(self, node: n.Expr, leaf) -> str:
        if isinstance(node, n.And):
            return "(" + " AND ".join(self.expr(x, leaf) for x in node.operands) + ")"
        if isinstance(node, n.Or):
            return "(" + " OR ".join(self.expr(x, leaf) for x in node.operands) + ")"
        return leaf(node)

    def compare(self, node: n.Compare, text: str) -> str:
        """``text`` (a SQL string expression) against the node's value; NULL when the value
        cannot be compared (a number test on text that is not a number)."""
        value, op = node.value, node.op
        if isinstance(value, n.Number):
            return f"(TRY_CAST({text} AS DOUBLE) {_SQL_OPS[op]} {value.value!r})"
        if isinstance(value, n.AnyValue):
            test = f"({text} IS NOT NULL)"
        elif isinstance(value, n.Regex):
            test = f"regexp_matches({text}, {literal(value.re2)})"
        else:
            assert isinstance(value, n.Text)
            test = text_test(text, value)
        if op == "!=":
            return f"({text} IS NOT NULL AND NOT {test})"
        return test


def text_test(text: str, value: n.Text) -> str:
    """Exact match, or a wildcard at the start and/or end of the value."""
    lit = literal(value.text)
    if value.leading_star and value.trailing_star:
        return f"contains({text}, {lit})"
    if value.leading_star:
        return f"ends_with({text}, {lit})"
    if value.trailing_star:
        return f"starts_with({text}, {lit})"
    return f"({text} = {lit})"


def json_path(selector: n.Selector) -> str:
    """DuckDB JSON path for a selector: keys always quoted (``$."a"."b"[0]``)."""
    out = ["$"]
    for seg in selector.segments:
        if seg[0] == "key":
            key = str(seg[1]).replace("\\", "\\\\").replace('"', '\\"')
            out.append(f'."{key}"')
        elif seg[0] == "index":
            out.append(f"[{seg[1]}]")
        elif seg[0] == "any_index":
            out.append("[*]")
        else:
            out.append(".*")
    return "".join(out)


def delimited_regex(p: n.DelimitedPattern) -> tuple[str, dict[str, str], str | None]:
    r"""The regex that splits a line for ``p``; the capture group of each field a condition
    reads (field name -> group name); and the group, if any, holding the rest of the line.

    Without ``...`` the line must have at least as many fields as the pattern and the last
    field takes the rest of the line (AWS: "include a blank w2 indicator after" ``w1``);
    with ``...`` the ellipsis stands for any number of fields, the fields before it are the
    line's first ones and the fields after it its last ones.

    The shapes are chosen for RE2's speed as much as for meaning: fields joined by ``\s+``
    split a line in exactly one way (each field's first character says which kind it is), so
    RE2 can extract the groups in one pass; a rest-of-line field is ``(\S[\s\S]*)`` with no
    ``$`` (its trailing blanks are trimmed in SQL). Fields after ``...`` are found by an
    unanchored search for the line's end: the earliest start that fits is the true one (a
    start inside a quoted field earlier in the line would leave too many fields).
    """
    used = {
        node.name
        for f in p.fields
        if f.condition is not None
        for node in f.condition.walk()
        if isinstance(node, n.FieldRef)
    }
    groups: dict[str, str] = {}
    rest: str | None = None
    ellipsis_at = next((i for i, f in enumerate(p.fields) if f.ellipsis), None)
    before = p.fields if ellipsis_at is None else p.fields[:ellipsis_at]
    after = () if ellipsis_at is None else p.fields[ellipsis_at + 1 :]

    def token(field: n.DelimitedField, last: bool = False) -> str:
        nonlocal rest
        if field.name not in used:
            return r"\S" if last else _TOKEN
        group = groups[field.name] = f"g{len(groups)}"
        if last:
            rest = group
            return r"(\S[\s\S]*)"
        return f"({_TOKEN})"

    if ellipsis_at is None:
        parts = [token(f, last=i == len(before) - 1) for i, f in enumerate(before)]
        return r"^\s*" + _SEP.join(parts), groups, rest
    head = [token(f) for f in before]
    tail = [token(f) for f in after]
    if head and tail:
        regex = r"^\s*" + _SEP.join(head) + r"\s(?:[\s\S]*?\s)?" + _SEP.join(tail) + r"\s*$"
    elif tail:
        regex = r"(?:^\s*|\s)" + _SEP.join(tail) + r"\s*$"
    elif head:
        regex = r"^\s*" + _SEP.join(head) + r"(?:\s|$)"
    else:  # [...] alone: any line
        regex = r"[\s\S]*"
    return regex, groups, rest


def to_sql(pattern: n.Pattern, column: str = "message") -> str:
    """The DuckDB predicate (true/false, never NULL) for ``pattern`` over ``column``."""
    return Generator(pattern, column).generate()
