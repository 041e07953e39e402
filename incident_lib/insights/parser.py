"""Parser: tokens -> :class:`~incident_lib.insights.nodes.Query`.

Like sqlglot's PRQL dialect (``TRANSFORM_PARSERS``), every pipe stage is parsed by a function
looked up in :data:`COMMAND_PARSERS` by its (case-insensitive) keyword. Expressions use
precedence climbing: ``or`` < ``and`` < ``not`` < comparisons / ``like`` / ``in`` < ``+ -`` <
``* / %`` < ``^`` < unary minus < primary.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from incident_lib.errors import QueryError, UnsupportedQueryError
from incident_lib.insights import nodes as n
from incident_lib.insights.functions import UNSUPPORTED_FUNCTIONS, lookup
from incident_lib.insights.tokens import T, Token, error, tokenize

# Documented Logs Insights commands this engine does not implement (AWS CWL_QuerySyntax).
UNSUPPORTED_COMMANDS = {
    name.lower()
    for name in (
        "anomaly", "unmask", "filterIndex", "lookup", "join", "addtotals", "relevantfields",
        "expand", "autoregress", "logcompare", "filldown", "cidrlookup", "outlier", "accum",
        "appendcols", "sessionize", "countFrequent", "json",
    )
}  # fmt: skip

# SOURCE logGroups(...) keys: AWS's documented ones, and ``names`` seen in public queries.
_SOURCE_KEYS = {
    "nameprefix": "namePrefix",
    "names": "names",
    "accountidentifiers": "accountIdentifiers",
    "accountidentifier": "accountIdentifiers",
    "class": "class",
    "loggroupclass": "class",
}
MAX_NAME_PREFIXES = 5  # "You can include as many as five prefixes in the list."
_DIFF_PERIODS = {"previousday": "previousDay", "previousweek": "previousWeek",
                 "previousmonth": "previousMonth"}  # fmt: skip

MAX_LIMIT = 100_000
_COMPARISONS = {T.EQ: "=", T.NEQ: "!=", T.LT: "<", T.LTE: "<=", T.GT: ">", T.GTE: ">="}


class Parser:
    """Parse one query. Use :func:`parse`."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.i = 0

    # -- token helpers -----------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def is_word(self, *words: str, tok: Token | None = None) -> bool:
        tok = tok or self.tok
        return tok.type is T.IDENT and not tok.quoted and tok.text.lower() in words

    def expect(self, kind: T, what: str | None = None) -> Token:
        if self.tok.type is not kind:
            raise self.fail(f"expected {what or kind.value}, found {self.describe(self.tok)}")
        return self.advance()

    def expect_word(self, word: str) -> Token:
        if not self.is_word(word):
            raise self.fail(f"expected {word!r}, found {self.describe(self.tok)}")
        return self.advance()

    def describe(self, tok: Token) -> str:
        return "end of query" if tok.type is T.EOF else repr(tok.text)

    def fail(self, message: str, tok: Token | None = None, *, cls=QueryError) -> QueryError:
        tok = tok or self.tok
        return error(self.query, message, tok.start, max(1, tok.end - tok.start), cls=cls)

    def at_stage_end(self) -> bool:
        return self.tok.type in (T.PIPE, T.EOF)

    # -- query -------------------------------------------------------------------------------
    def parse_query(self) -> n.Query:
        commands: list[n.Command] = []
        if self.tok.type is T.EOF:
            raise self.fail("empty query")
        while True:
            if self.tok.type is T.PIPE:
                raise self.fail("empty command between pipes")
            commands.append(self.parse_command())
            if self.tok.type is T.EOF:
                break
            if self.tok.type is not T.PIPE:
                raise self.fail(f"expected '|' or end of query, found {self.describe(self.tok)}")
            self.advance()
            if self.tok.type is T.EOF:
                raise self.fail("query ends with '|'")
        return n.Query(tuple(commands), text=self.query, start=0, end=len(self.query))

    def parse_command(self) -> n.Command:
        tok = self.tok
        if tok.type is not T.IDENT or tok.quoted:
            raise self.fail(f"expected a command, found {self.describe(tok)}")
        word = tok.text.lower()
        parser = COMMAND_PARSERS.get(word)
        if parser is None:
            if word in UNSUPPORTED_COMMANDS:
                raise self.fail(
                    f"command {tok.text!r} is not supported by the local Logs Insights engine",
                    cls=UnsupportedQueryError,
                )
            # No command keyword: AWS reads a bare expression as an implicit filter? It does
            # not; report the word so the user sees the typo.
            raise self.fail(
                f"unknown command {tok.text!r}; commands: {', '.join(sorted(COMMAND_PARSERS))}"
            )
        self.advance()
        command = parser(self, tok)
        return command

    # -- commands ----------------------------------------------------------------------------
    def parse_fields(self, kw: Token) -> n.Fields:
        return n.Fields(self.projections(), start=kw.start, end=self.tokens[self.i - 1].end)

    def parse_display(self, kw: Token) -> n.Display:
        return n.Display(self.projections(), start=kw.start, end=self.tokens[self.i - 1].end)

    def parse_source(self, kw: Token) -> n.Source:
        if self.tokens.index(kw) != 0:
            raise self.fail("SOURCE must be the first command of the query", kw)
        head = self.tok
        if not self.is_word("loggroups"):
            if self.is_word("loggrouptags", "datasource"):
                raise self.fail(
                    f"SOURCE {head.text}(...) is not supported by the local Logs Insights "
                    "engine (the store keeps no tags or data sources); use logGroups(...)",
                    cls=UnsupportedQueryError,
                )
            raise self.fail(f"expected logGroups(...) after SOURCE, found {self.describe(head)}")
        self.advance()
        self.expect(T.LPAREN, "'('")
        values: dict[str, tuple[str, ...]] = {}
        while self.tok.type is not T.RPAREN:
            key = self.expect(T.IDENT, "namePrefix, names, accountIdentifiers or class")
            canonical = _SOURCE_KEYS.get(key.text.lower())
            if canonical is None:
                raise self.fail(
                    f"unknown SOURCE logGroups key {key.text!r}; keys: namePrefix, names, "
                    "accountIdentifiers, class",
                    key,
                )
            if canonical in values:
                raise self.fail(f"{key.text} is given twice", key)
            self.expect(T.COLON, "':'")
            values[canonical] = self.string_list(key.text)
            if self.tok.type is T.COMMA:
                self.advance()
            elif self.tok.type is not T.RPAREN:
                raise self.fail(f"expected ',' or ')', found {self.describe(self.tok)}")
        self.advance()
        if self.is_word("start", "end"):
            raise self.fail(
                "SOURCE ... START=/END= is not supported by the local Logs Insights engine: "
                "give the window with --start/--end",
                cls=UnsupportedQueryError,
            )
        self.end_of_stage()
        prefixes = values.get("namePrefix", ())
        if len(prefixes) > MAX_NAME_PREFIXES:
            raise error(
                self.query,
                f"SOURCE takes at most {MAX_NAME_PREFIXES} name prefixes, got {len(prefixes)}",
                kw.start,
                self.tokens[self.i - 1].end - kw.start,
            )
        for cls_name in values.get("class", ()):
            if cls_name.upper() != "STANDARD":
                raise error(
                    self.query,
                    f"log group class {cls_name!r} is not supported by the local Logs Insights "
                    "engine: a store keeps no log class, its groups count as STANDARD",
                    kw.start,
                    self.tokens[self.i - 1].end - kw.start,
                    cls=UnsupportedQueryError,
                )
        return n.Source(
            name_prefixes=prefixes,
            names=values.get("names", ()),
            accounts=values.get("accountIdentifiers", ()),
            start=kw.start,
            end=self.tokens[self.i - 1].end,
        )

    def string_list(self, key: str) -> tuple[str, ...]:
        """``['a', "b"]`` or a single ``"a"``: the strings of a SOURCE key."""
        if self.tok.type is T.STRING:
            return (str(self.advance().value),)
        self.expect(T.LBRACKET, f"a [list] of strings after {key}:")
        out: list[str] = []
        while self.tok.type is not T.RBRACKET:
            out.append(str(self.expect(T.STRING, "a quoted string").value))
            if self.tok.type is T.COMMA:
                self.advance()
            elif self.tok.type is not T.RBRACKET:
                raise self.fail(f"expected ',' or ']', found {self.describe(self.tok)}")
        self.advance()
        return tuple(out)

    def parse_pattern(self, kw: Token) -> n.Pattern:
        source: n.Expr = n.Field("@message", start=kw.start, end=kw.end)
        if not self.at_stage_end():
            source = self.expression()
        self.end_of_stage()
        return n.Pattern(source, start=kw.start, end=self.tokens[self.i - 1].end)

    def parse_diff(self, kw: Token) -> n.Diff:
        period = "previous"
        if not self.at_stage_end():
            tok = self.expect(T.IDENT, "previousDay, previousWeek or previousMonth")
            period = _DIFF_PERIODS.get(tok.text.lower(), "")
            if not period or tok.quoted:
                raise self.fail(
                    f"diff compares with previousDay, previousWeek or previousMonth (or, with "
                    f"nothing, the period just before), not {tok.text!r}",
                    tok,
                )
        self.end_of_stage()
        return n.Diff(period, start=kw.start, end=self.tokens[self.i - 1].end)

    def parse_unnest(self, kw: Token) -> n.Unnest:
        if self.at_stage_end():
            raise self.fail("unnest needs a field: unnest FIELD into NAME")
        operand = self.additive()
        self.expect_word("into")
        name = self.expect(T.IDENT, "a name after 'into'")
        self.end_of_stage()
        return n.Unnest(operand, _name(name), start=kw.start, end=name.end)

    def parse_fillmissing(self, kw: Token) -> n.FillMissing:
        fills: list[tuple[n.Literal, n.Field]] = []
        if self.is_word("with"):
            self.advance()
            while True:
                value = self.unary()
                if not isinstance(value, n.Literal):
                    raise error(
                        self.query,
                        "fillmissing fills with a constant: a number or a quoted string",
                        value.start,
                        value.end - value.start,
                    )
                self.expect_word("for")
                tok = self.expect(T.IDENT, "a field name")
                fills.append((value, n.Field(_name(tok), start=tok.start, end=tok.end)))
                if self.tok.type is not T.COMMA:
                    break
                self.advance()
        self.end_of_stage()
        return n.FillMissing(tuple(fills), start=kw.start, end=self.tokens[self.i - 1].end)

    def parse_filter(self, kw: Token) -> n.Filter:
        if self.at_stage_end():
            raise self.fail(f"{kw.text} needs a condition")
        cond = self.expression()
        self.end_of_stage()
        return n.Filter(cond, start=kw.start, end=cond.end)

    def parse_parse(self, kw: Token) -> n.Parse:
        source: n.Expr = n.Field("@message", start=kw.start, end=kw.end)
        if self.tok.type is T.IDENT and not self.is_word("logfmt", "csv"):
            source = self.primary()
        if self.is_word("logfmt", "csv"):
            raise self.fail(
                f"parse mode {self.tok.text!r} is not supported by the local Logs Insights engine",
                cls=UnsupportedQueryError,
            )
        pat = self.tok
        if pat.type not in (T.STRING, T.REGEX):
            raise self.fail(f'parse needs a "glob" or /regex/ pattern, found {self.describe(pat)}')
        self.advance()
        names: list[Token] = []
        if self.is_word("as"):
            self.advance()
            names.append(self.expect(T.IDENT, "a field name"))
            while self.tok.type is T.COMMA:
                self.advance()
                names.append(self.expect(T.IDENT, "a field name"))
        if self.is_word("multi"):
            raise self.fail("parse ... multi is not supported", cls=UnsupportedQueryError)
        self.end_of_stage()
        if pat.type is T.STRING:
            regex, count = glob_to_regex(str(pat.value))
            if count == 0:
                raise self.fail("a parse glob needs at least one '*'", pat)
            if len(names) != count:
                raise self.fail(
                    f"the glob has {count} '*' but {len(names)} names follow 'as'",
                    names[-1] if names else pat,
                )
            groups = tuple((_name(t), i + 1) for i, t in enumerate(names))
            mode = "glob"
        else:
            regex, named = regex_groups(str(pat.value))
            if names:
                total = _count_groups(regex)
                if len(names) > total:
                    raise self.fail(
                        f"the regex has {total} groups but {len(names)} names", names[-1]
                    )
                groups = tuple((_name(t), i + 1) for i, t in enumerate(names))
            elif named:
                groups = tuple(named)
            else:
                raise self.fail("a parse regex needs named groups (?<name>...) or 'as' names", pat)
            mode = "regex"
        return n.Parse(source, regex, groups, mode, start=kw.start, end=self.tokens[self.i - 1].end)

    def parse_stats(self, kw: Token) -> n.Stats:
        aggs = self.projections(stop_words=("by",))
        groups: tuple[n.Projection, ...] = ()
        if self.is_word("by"):
            self.advance()
            groups = self.projections()
        self.end_of_stage()
        return n.Stats(aggs, groups, start=kw.start, end=self.tokens[self.i - 1].end)

    def parse_sort(self, kw: Token) -> n.Sort:
        if self.is_word("by") and self.peek().type not in (T.PIPE, T.EOF, T.COMMA):
            self.advance()  # ``sort by x desc`` appears in public queries
        keys: list[n.SortKey] = []
        while True:
            if self.at_stage_end():
                raise self.fail("sort needs a field")
            expr = self.expression()
            descending = True  # descending unless asc is given, as moto does
            if self.is_word("asc", "desc"):
                descending = self.advance().text.lower() == "desc"
            keys.append(n.SortKey(expr, descending, start=expr.start, end=expr.end))
            if self.tok.type is not T.COMMA:
                break
            self.advance()
        self.end_of_stage()
        return n.Sort(tuple(keys), start=kw.start, end=self.tokens[self.i - 1].end)

    def parse_limit(self, kw: Token) -> n.Limit:
        if self.is_word("any"):
            raise self.fail("limit any is not supported", cls=UnsupportedQueryError)
        tok = self.expect(T.NUMBER, "a number of rows")
        if not isinstance(tok.value, int) or not 1 <= tok.value <= MAX_LIMIT:
            raise self.fail(f"limit must be an integer from 1 to {MAX_LIMIT:,}", tok)
        self.end_of_stage()
        return n.Limit(tok.value, start=kw.start, end=tok.end)

    def parse_dedup(self, kw: Token) -> n.Dedup:
        names = self.field_list()
        return n.Dedup(tuple(names), start=kw.start, end=self.tokens[self.i - 1].end)

    # -- command parts -----------------------------------------------------------------------
    def end_of_stage(self) -> None:
        if not self.at_stage_end():
            raise self.fail(f"unexpected {self.describe(self.tok)}")

    def field_list(self) -> list[n.Field]:
        out: list[n.Field] = []
        while True:
            tok = self.expect(T.IDENT, "a field name")
            out.append(n.Field(_name(tok), start=tok.start, end=tok.end))
            if self.tok.type is not T.COMMA:
                break
            self.advance()
        self.end_of_stage()
        return out

    def projections(self, stop_words: tuple[str, ...] = ()) -> tuple[n.Projection, ...]:
        out: list[n.Projection] = []
        while True:
            if self.at_stage_end() or (stop_words and self.is_word(*stop_words)):
                raise self.fail(f"expected an expression, found {self.describe(self.tok)}")
            expr = self.expression()
            name, aliased, end = self.query[expr.start : expr.end], False, expr.end
            if isinstance(expr, n.Field):
                name = expr.name
            if self.is_word("as"):
                self.advance()
                alias = self.expect(T.IDENT, "a name after 'as'")
                name, aliased, end = _name(alias), True, alias.end
            out.append(n.Projection(expr, name, aliased, start=expr.start, end=end))
            if self.tok.type is not T.COMMA:
                break
            self.advance()
        if not stop_words or not self.is_word(*stop_words):
            self.end_of_stage()
        return tuple(out)

    # -- expressions -------------------------------------------------------------------------
    def expression(self) -> n.Expr:
        return self.or_expr()

    def or_expr(self) -> n.Expr:
        left = self.and_expr()
        while self.is_word("or"):
            self.advance()
            right = self.and_expr()
            left = n.Binary("or", left, right, start=left.start, end=right.end)
        return left

    def and_expr(self) -> n.Expr:
        left = self.not_expr()
        while self.is_word("and"):
            self.advance()
            right = self.not_expr()
            left = n.Binary("and", left, right, start=left.start, end=right.end)
        return left

    def not_expr(self) -> n.Expr:
        if self.is_word("not"):
            tok = self.advance()
            operand = self.not_expr()
            return n.Unary("not", operand, start=tok.start, end=operand.end)
        return self.comparison()

    def comparison(self) -> n.Expr:
        left = self.additive()
        tok = self.tok
        if tok.type in _COMPARISONS:
            self.advance()
            right = self.additive()
            return n.Binary(_COMPARISONS[tok.type], left, right, start=left.start, end=right.end)
        negated = False
        if self.is_word("not") and self.is_word("like", "in", tok=self.peek()):
            self.advance()
            negated = True
        if self.is_word("like") or self.tok.type is T.MATCH:
            regex_only = self.tok.type is T.MATCH
            self.advance()
            pat = self.tok
            if pat.type is T.REGEX:
                pattern: n.Expr = n.Regex(str(pat.value), start=pat.start, end=pat.end)
            elif pat.type is T.STRING:
                pattern = (
                    n.Regex(str(pat.value), start=pat.start, end=pat.end)
                    if regex_only
                    else n.Literal(str(pat.value), start=pat.start, end=pat.end)
                )
            else:
                raise self.fail(f'expected a "string" or /regex/, found {self.describe(pat)}')
            self.advance()
            return n.Like(left, pattern, negated, start=left.start, end=pat.end)
        if self.is_word("in"):
            self.advance()
            if self.tok.type is not T.LBRACKET:
                raise self.fail(f"expected '[' after in, found {self.describe(self.tok)}")
            items = self.primary()
            assert isinstance(items, n.ListExpr)
            return n.In(left, items, negated, start=left.start, end=items.end)
        if negated:
            raise self.fail("expected like or in after not")
        return left

    def additive(self) -> n.Expr:
        left = self.multiplicative()
        while self.tok.type in (T.PLUS, T.MINUS):
            op = self.advance().text
            right = self.multiplicative()
            left = n.Binary(op, left, right, start=left.start, end=right.end)
        return left

    def multiplicative(self) -> n.Expr:
        left = self.power()
        while self.tok.type in (T.STAR, T.SLASH, T.PERCENT):
            op = self.advance().text
            right = self.power()
            left = n.Binary(op, left, right, start=left.start, end=right.end)
        return left

    def power(self) -> n.Expr:
        left = self.unary()
        if self.tok.type is T.CARET:
            self.advance()
            right = self.power()  # right associative
            left = n.Binary("^", left, right, start=left.start, end=right.end)
        return left

    def unary(self) -> n.Expr:
        if self.tok.type is T.MINUS:
            tok = self.advance()
            operand = self.unary()
            if isinstance(operand, n.Literal) and isinstance(operand.value, int | float):
                return n.Literal(-operand.value, start=tok.start, end=operand.end)
            return n.Unary("-", operand, start=tok.start, end=operand.end)
        return self.primary()

    def primary(self) -> n.Expr:
        tok = self.tok
        if tok.type is T.LPAREN:
            self.advance()
            inner = self.expression()
            close = self.expect(T.RPAREN, "')'")
            # Keep the parenthesised span so column names keep the user's text.
            return _respan(inner, tok.start, close.end)
        if tok.type is T.NUMBER:
            self.advance()
            return n.Literal(tok.value, start=tok.start, end=tok.end)  # type: ignore[arg-type]
        if tok.type is T.STRING:
            self.advance()
            return n.Literal(str(tok.value), start=tok.start, end=tok.end)
        if tok.type is T.REGEX:
            self.advance()
            return n.Regex(str(tok.value), start=tok.start, end=tok.end)
        if tok.type is T.DURATION:
            self.advance()
            amount, unit = tok.value  # type: ignore[misc]
            return n.Duration(amount, unit, start=tok.start, end=tok.end)
        if tok.type is T.LBRACKET:
            self.advance()
            items: list[n.Expr] = []
            while self.tok.type is not T.RBRACKET:
                items.append(self.expression())
                if self.tok.type is T.COMMA:
                    self.advance()
                elif self.tok.type is not T.RBRACKET:
                    raise self.fail(f"expected ',' or ']', found {self.describe(self.tok)}")
            close = self.advance()
            return n.ListExpr(tuple(items), start=tok.start, end=close.end)
        if tok.type is T.STAR:
            self.advance()
            return n.Star(start=tok.start, end=tok.end)
        if tok.type is T.IDENT:
            self.advance()
            if self.tok.type is T.LPAREN and not tok.quoted:
                return self.postfix(self.call(tok))
            return self.postfix(n.Field(_name(tok), start=tok.start, end=tok.end))
        raise self.fail(f"expected an expression, found {self.describe(tok)}")

    def postfix(self, expr: n.Expr) -> n.Expr:
        """``[index]`` and ``.name`` right after a field or call: jsonParse maps and lists."""
        while True:
            prev_end = self.tokens[self.i - 1].end
            if self.tok.type is T.LBRACKET and self.tok.start == prev_end:
                self.advance()
                index = self.expect(T.NUMBER, "a list index")
                if not isinstance(index.value, int):
                    raise self.fail("a list index is a whole number", index)
                close = self.expect(T.RBRACKET, "']'")
                expr = n.Access(expr, index.value, start=expr.start, end=close.end)
            elif self.tok.type is T.DOT:
                self.advance()
                member = self.expect(T.IDENT, "a member name")
                for part in str(member.value).split(".") if not member.quoted else [member.value]:
                    expr = n.Access(expr, str(part), start=expr.start, end=member.end)
            else:
                return expr

    def call(self, name_tok: Token) -> n.Func:
        name = name_tok.text.lower()
        fn = lookup(name)
        if fn is None:
            if name in UNSUPPORTED_FUNCTIONS:
                raise self.fail(
                    f"function {name_tok.text!r} is not supported by the local "
                    "Logs Insights engine",
                    name_tok,
                    cls=UnsupportedQueryError,
                )
            raise self.fail(f"unknown function {name_tok.text!r}", name_tok)
        self.expect(T.LPAREN)
        args: list[n.Expr] = []
        while self.tok.type is not T.RPAREN:
            args.append(self.expression())
            if self.tok.type is T.COMMA:
                self.advance()
            elif self.tok.type is not T.RPAREN:
                raise self.fail(f"expected ',' or ')', found {self.describe(self.tok)}")
        close = self.advance()
        if len(args) < fn.min_args or (fn.max_args is not None and len(args) > fn.max_args):
            want = (
                str(fn.min_args)
                if fn.min_args == fn.max_args
                else f"{fn.min_args} or more"
                if fn.max_args is None
                else f"{fn.min_args} to {fn.max_args}"
            )
            raise error(
                self.query,
                f"{fn.name}() takes {want} arguments, got {len(args)}",
                name_tok.start,
                close.end - name_tok.start,
            )
        return n.Func(name, tuple(args), start=name_tok.start, end=close.end)


COMMAND_PARSERS: dict[str, Callable[[Parser, Token], n.Command]] = {
    "fields": Parser.parse_fields,
    "display": Parser.parse_display,
    "filter": Parser.parse_filter,
    # "a grammar alias for the filter command" (AWS CWL_QuerySyntax-Where)
    "where": Parser.parse_filter,
    "parse": Parser.parse_parse,
    "stats": Parser.parse_stats,
    "sort": Parser.parse_sort,
    "limit": Parser.parse_limit,
    "dedup": Parser.parse_dedup,
    "source": Parser.parse_source,
    "pattern": Parser.parse_pattern,
    "diff": Parser.parse_diff,
    "unnest": Parser.parse_unnest,
    "fillmissing": Parser.parse_fillmissing,
}


def parse(query: str) -> n.Query:
    """Parse a Logs Insights query into a :class:`~incident_lib.insights.nodes.Query`.

    Raises
    ------
    QueryError
        The query is malformed; the error carries ``line``, ``column`` and ``context``.
    UnsupportedQueryError
        The query uses a command or function this engine does not implement.

    Examples
    --------
    >>> q = parse("filter @type = 'REPORT' | stats avg(@duration) by bin(5m)")
    >>> [c.keyword for c in q.commands]
    ['filter', 'stats']
    """
    return Parser(query).parse_query()


# -- helpers ---------------------------------------------------------------------------------
def _name(tok: Token) -> str:
    return str(tok.value)


def _respan(expr: n.Expr, start: int, end: int) -> n.Expr:
    import dataclasses

    return dataclasses.replace(expr, start=start, end=end)


_RE2_SPECIAL = set("\\.^$|?*+()[]{}")


def glob_to_regex(glob: str) -> tuple[str, int]:
    """Translate a ``parse`` glob to RE2: literal text escaped, each ``*`` a lazy group, the
    ``*`` ending the pattern greedy (it takes the rest), unanchored (as the examples of AWS
    CWL_QuerySyntax-Parse need)."""
    parts = glob.split("*")
    escaped = ["".join("\\" + c if c in _RE2_SPECIAL else c for c in p) for p in parts]
    count = len(parts) - 1
    out = escaped[0]
    for i, part in enumerate(escaped[1:], start=1):
        # Lazy groups; a trailing ``*`` takes the rest of the text.
        out += ("(.*)" if i == count and not part else "(.*?)") + part
    return "(?s)" + out, count


_GROUP = re.compile(r"\\.|\[(?:\\.|[^\]])*\]|\((\?P?<(?P<name>[A-Za-z_]\w*)>|\?)?")


def regex_groups(pattern: str) -> tuple[str, list[tuple[str, int]]]:
    """RE2 form of a Logs Insights regex (``(?<name>`` -> ``(?P<name>``) and its named groups
    with their capture-group numbers."""
    named: list[tuple[str, int]] = []
    number = 0
    for m in _GROUP.finditer(pattern):
        text = m.group(0)
        if not text.startswith("("):
            continue
        if m.group(1) is None or m.group("name"):
            number += 1
            if m.group("name"):
                named.append((m.group("name"), number))
    return re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", pattern), named


def _count_groups(pattern: str) -> int:
    return sum(
        1
        for m in _GROUP.finditer(pattern)
        if m.group(0).startswith("(") and (m.group(1) is None or m.group("name"))
    )
