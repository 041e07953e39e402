"""Syntax tree -> one DuckDB boolean expression over the message column.

* Terms: ``contains(message, 'x')`` per term (case-sensitive substring, as AWS matches them).
* Regex: ``regexp_matches`` with the RE2 translation (unanchored: a match anywhere).
* JSON: guarded by ``json_valid`` so a line that is not a JSON object never matches (and never
  raises); each leaf reads its selector with ``json_type`` / ``json_extract_string``; a
  wildcard selector (``[*]``, ``.*``) reads a list and tests whether any element passes.
* Space-delimited: one anchored RE2 regex splits the line into fields (quoted and bracketed
  text one field; the last field takes the rest of the line unless the pattern has ``...``)
  and captures only the fields that conditions read, with ``regexp_extract``; the captured
  struct is bound once with a lambda so the regex runs once per line.

Every leaf is wrapped in ``coalesce(..., false)``, so SQL NULLs (missing fields, non-numbers)
never leak into ``NOT`` or ``OR``: a test on something absent is false.
"""

from __future__ import annotations

from incident_lib.filterpattern import nodes as n

#: json_type() names of a "value node" (AWS: "Value nodes can be strings or numbers").
_VALUE_TYPES = "('VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE')"
_BLANKS = "' ' || chr(9) || chr(10) || chr(13)"
_SQL_OPS = {"=": "=", "!=": "<>", "<": "<", ">": ">", "<=": "<=", ">=": ">="}

# One field of a space-delimited line: "quoted", [bracketed], or a run of non-blanks that does
# not start with a quote or a bracket (so a line splits in exactly one way).
_TOKEN = r'(?:"[^"]*"|\[[^\]]*\]|[^\s"\[]\S*)'
_SEP = r"\s+"


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
            f"CASE WHEN starts_with(ltrim({self.col}, {_BLANKS}), '{{') AND json_valid({self.col}) "
            f"THEN {body} ELSE false END"
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
        regex, groups = delimited_regex(p)
        if not groups:
            return f"coalesce(regexp_matches({self.col}, {literal(regex)}), false)"
        every = [g for gs in groups.values() for g in gs]
        names = "[" + ", ".join(literal(g) for g in every) + "]"
        values = {name: self.field_value(*gs) for name, gs in groups.items()}
        matched = " OR ".join(f"_f.{identifier(g)} <> ''" for g in every)

        def leaf(node: n.Expr) -> str:
            assert isinstance(node, n.Compare) and isinstance(node.target, n.FieldRef)
            return f"coalesce({self.compare(node, values[node.target.name])}, false)"

        conditions = [self.expr(f.condition, leaf) for f in p.fields if f.condition is not None]
        body = " AND ".join([f"({matched})", *conditions])
        extract = f"regexp_extract({self.col}, {literal(regex)}, {names})"
        return f"coalesce(list_transform([{extract}], lambda _f: {body})[1], false)"

    @staticmethod
    def field_value(group: str, rest: str | None = None) -> str:
        """A captured field without its quotes or brackets; ``rest`` is the group holding the
        raw rest of the line when the last field took more than one field's text."""
        g = f"_f.{identifier(group)}"
        value = (
            f"CASE WHEN starts_with({g}, '\"') OR starts_with({g}, '[') THEN {g}[2:-2] ELSE {g} END"
        )
        if rest is None:
            return f"({value})"
        r = f"_f.{identifier(rest)}"
        return f"(CASE WHEN {g} <> '' THEN {value} ELSE {r} END)"

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


def delimited_regex(p: n.DelimitedPattern) -> tuple[str, dict[str, list[str]]]:
    """The anchored regex that splits a line for ``p``, and the capture groups of each field a
    condition reads (field name -> its group, plus a second group holding the raw rest of the
    line for a last field).

    Without ``...`` the line must have at least as many fields as the pattern and the last
    field takes the rest of the line (AWS: "include a blank w2 indicator after" ``w1``);
    with ``...`` the ellipsis stands for any number of fields, and the fields after it are
    the line's last ones.
    """
    used = {
        node.name
        for f in p.fields
        if f.condition is not None
        for node in f.condition.walk()
        if isinstance(node, n.FieldRef)
    }
    groups: dict[str, list[str]] = {}
    count = 0
    ellipsis_at = next((i for i, f in enumerate(p.fields) if f.ellipsis), None)
    before = p.fields if ellipsis_at is None else p.fields[:ellipsis_at]
    after = () if ellipsis_at is None else p.fields[ellipsis_at + 1 :]

    def token(field: n.DelimitedField, last: bool = False) -> str:
        nonlocal count
        if field.name not in used:
            return r"\S[\s\S]*?" if last else _TOKEN
        groups[field.name] = [f"g{count}"] + ([f"g{count + 1}"] if last else [])
        count += len(groups[field.name])
        if last:  # one field (preferred: RE2 takes the first alternative that fits) or the rest
            return rf"(?:({_TOKEN})|(\S[\s\S]*?))"
        return f"({_TOKEN})"

    if ellipsis_at is None:
        parts = [token(f, last=i == len(before) - 1) for i, f in enumerate(before)]
        return r"^\s*" + _SEP.join(parts) + r"\s*$", groups
    head = [token(f) for f in before]
    tail = [token(f) for f in after]
    if head and tail:
        body = _SEP.join(head) + rf"(?:{_SEP}{_TOKEN})*" + _SEP + _SEP.join(tail)
    elif tail:
        body = rf"(?:{_TOKEN}{_SEP})*" + _SEP.join(tail)
    elif head:
        return r"^\s*" + _SEP.join(head) + r"(?:\s[\s\S]*)?$", groups
    else:  # [...] alone: any line
        return r"[\s\S]*", groups
    return r"^\s*" + body + r"\s*$", groups


def to_sql(pattern: n.Pattern, column: str = "message") -> str:
    """The DuckDB predicate (true/false, never NULL) for ``pattern`` over ``column``."""
    return Generator(pattern, column).generate()
