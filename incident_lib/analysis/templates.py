"""Log template mining: variables masked by kind, then templates that differ only in variable
positions merged.

Both steps are deterministic and independent of the order of the lines.

1. **Masking** (:func:`tokenize`). A line is cut at :data:`MAX_LINE_CHARS` characters and split
   on whitespace; each token keeps its surrounding punctuation (``(``, ``[``, quotes, a trailing
   ``:`` or ``,``) and its core is replaced by a placeholder of its kind: ``<NUM>``, ``<HEX>``,
   ``<UUID>``, ``<IP>`` (v4 with port or prefix, v6, MAC), ``<TIME>`` (clock times, ISO
   timestamps, dates, ``Sun Jul 10 03:55:15 2005``), ``<PATH>``, ``<URL>``, ``<HOST>``,
   ``<EMAIL>``, ``<FILE>`` (a name with a common file extension), ``<KEY>`` (AWS access key
   ids), ``<USER>`` (the word after ``user``), ``<NAME>`` (the word after a noun such as
   ``table``, ``queue``, ``container``, ``role``), ``<STR>`` (a quoted word that is not a plain
   identifier, or a quoted phrase of five or more tokens with a variable in it: a user agent)
   and ``<ID>`` (any other token with a digit: ``blk_-3587508140051953248``, ``node-123``).
   ``key=value`` keeps the key and masks a non-empty value. Adjacent variables become one, so a
   list of numbers of any length or a date of five tokens is one variable.
2. **Grouping** (:class:`TemplateMiner`). Lines are grouped by their masked tokens with the kind
   of every placeholder ignored (``from <IP>`` and ``from <HOST>`` are one template). Then,
   among templates with the same number of tokens, a position where at least ``min_distinct``
   different words occur with everything else equal is a variable too (a name without a digit),
   and so is a position where some lines have a word and others a variable (``from <IP>``,
   ``from localhost``), provided it is not the first token and at least two other words stay
   fixed. Words are
   otherwise kept: on loghub's corrected templates, lines that differ in one word (``VM
   Started``/``VM Stopped``, ``cupsd startup succeeded``/``hcid startup succeeded``) are
   different events far more often than the same one.

Speed: fitting only needs the grouping key of each token, so the hot loop is one cached
dictionary look-up per token; a token seen for the first time is classified once (a bare token
with a digit needs no kind at all), the context rules run once per distinct key, and the kinds
shown in a template's text come from a few sample lines per template.

Why hand-written and not drain3 (installed for the benchmark): drain3 learns online, so a line's
template depends on the lines before it and on a similarity threshold; the comparison of a
baseline with an incident window needs keys that do not depend on order. Its masking is also a
list of regular expressions run over the whole line.

Every regular expression here is matched against one token of a line already cut to the bound,
and none has nested or overlapping repetition, so the work per line is linear in its length.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

MAX_LINE_CHARS = 2048
"""Lines are analysed up to this many characters (the rest is ignored, a token cut there is a
variable): a bound on the work per line whatever the input."""

WILDCARD = "<*>"

_LEAD = "([{<\"'`"
_TRAIL = ")]}>\"'`,;:.!?"
_QUOTES = "\"'`"


def _words(text: str) -> list[str]:
    return text.split()


_DIGIT = re.compile(r"\d").search
# One alternation per kind, tried in this order (an IPv4 address also reads as a number, a number
# as hex). No alternative has nested or overlapping repetition, so a failed match costs at most
# one pass per alternative.
_KIND = re.compile(
    r"(?P<ip>(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?:/\d{1,2})?)"
    r"|(?P<num>[-+]?(?:\d+(?:[.,]\d+)*|\.\d+)(?:[eE][-+]?\d+)?(?:%|[A-Za-z]{1,3})?)"
    r"|(?P<time>\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\d{4}-\d{1,2}-\d{1,2}(?:[T_]\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,4}[-/]\d{1,2}[-/]\d{1,4})"
    r"|(?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"|(?P<hex>(?:0[xX])?[0-9a-fA-F]+)"
    r"|(?P<key>(?:AKIA|ASIA)[A-Z0-9]{16})"
).fullmatch
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z_.\-]{0,63}").fullmatch
_KEY_NAME = re.compile(r"[A-Za-z_@$][\w.\-]{0,63}").fullmatch
_WINDOWS_PATH = re.compile(r"[A-Za-z]:\\").match
_HEX_COLON = frozenset("0123456789abcdefABCDEF:.")
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")
_TLDS = frozenset(
    _words(
        "com net org io edu gov mil int info biz co uk de fr jp cn hk us eu ca au in local "
        "internal lan corp home arpa amazonaws aws"
    )
)
_FILE_EXTENSIONS = frozenset(
    _words(
        "exe dll so dylib jar war class py pyc js ts java go rs rb php c h cc cpp hpp cs log txt "
        "out err csv tsv json xml yaml yml toml ini cfg conf properties sh bash bat ps1 dat db "
        "sqlite tmp pid sock lock gz tgz bz2 xz zip tar rar 7z iso img html htm css png jpg jpeg "
        "gif svg pdf doc docx xls xlsx plist app pkg dmg deb rpm msi whl egg parquet avro"
    )
)
_MONTHS = frozenset(
    _words(
        "Jan Feb Mar Apr May Jun Jul Aug Sep Sept Oct Nov Dec January February March April June "
        "July August September October November December"
    )
)
_WEEKDAYS = frozenset(
    _words("Mon Tue Wed Thu Fri Sat Sun Monday Tuesday Wednesday Thursday Friday Saturday Sunday")
)
_USER_WORDS = frozenset({"user", "User", "USER", "username", "Username", "login", "Login"})
# Nouns after which a single word names a thing rather than belongs to the sentence: "table
# orders", "container web", "role 'grace'". A general list (the kinds of things logs name), not
# one per system; words that are as often verbs ("process", "index", "stream") are left out.
_NAME_NOUNS = _words(
    "table queue topic bucket container pod role job host service function lambda database "
    "schema key group account project tenant cluster instance volume namespace deployment task "
    "worker shard channel vhost repository repo branch module plugin package daemon domain "
    "region zone"
)
_NAME_WORDS = frozenset(
    v
    for w in ["user", "username", "login", *_NAME_NOUNS]
    for base in (w, w.capitalize(), w.upper())
    for v in (base, base + ":")
)
# A word after "user" (or a noun below) that reads as part of the sentence, not as a name.
_NOT_A_NAME = frozenset(
    _words(
        "not is was has had does did already from with by for to in on of at the a an and or "
        "are were be been being no none all any this that"
    )
)
_NOT_A_USER = _NOT_A_NAME | {"session", "name", "id", "account", "unknown"}
_CONTEXT_WORDS = _NAME_WORDS | _MONTHS | _WEEKDAYS
# A double-quoted phrase of this many tokens or more, with a variable in it, is one variable.
_QUOTED_SPAN = 5

NUM, HEX, UUID, IP, TIME, PATH, URL, HOST, EMAIL, FILE, KEY, USER, NAME, STR, ID = (
    "<NUM>",
    "<HEX>",
    "<UUID>",
    "<IP>",
    "<TIME>",
    "<PATH>",
    "<URL>",
    "<HOST>",
    "<EMAIL>",
    "<FILE>",
    "<KEY>",
    "<USER>",
    "<NAME>",
    "<STR>",
    "<ID>",
)
_KIND_NAMES = {"ip": IP, "num": NUM, "time": TIME, "uuid": UUID, "hex": HEX, "key": KEY}
PLACEHOLDERS = frozenset(
    {NUM, HEX, UUID, IP, TIME, PATH, URL, HOST, EMAIL, FILE, KEY, USER, NAME, STR, ID}
)

# (text, key, bare): the token as shown, the token as grouped (placeholders all WILDCARD), and
# whether the token is a placeholder with nothing around it.
_Token = tuple[str, str, bool]
_KEYS: dict[str, str] = {}
_TEXTS: dict[str, str] = {}
_CACHE_MAX = 200_000
# Templates longer than this are not searched for word variables: the search costs the square of
# the length per template, and long lines that differ in one word alone are rare.
_MERGE_MAX_TOKENS = 48


def _kind_with_digit(core: str) -> str:
    """The kind of a token core that has a digit in it (one regular expression call for the
    common kinds: this runs for almost every variable token)."""
    found = _KIND(core)
    if found is not None:
        return _KIND_NAMES[found.lastgroup or ""]
    if "://" in core:
        return URL
    if core.count(":") >= 2 and _HEX_COLON.issuperset(core):
        return IP
    if "/" in core or "\\" in core:
        return PATH
    if "@" in core and "." in core.partition("@")[2]:
        return EMAIL
    return ID


def _kind_without_digit(core: str, quoted: bool) -> str | None:
    """The kind of a token core without digits, or None for a word kept as it is."""
    if "://" in core:
        return URL
    if core.count("/") >= 2 or core.startswith(("~/", "./", "../")):
        return PATH
    if _WINDOWS_PATH(core) or core.count("\\") >= 2:
        return PATH
    if "@" in core:
        domain = core.partition("@")[2]
        if "." in domain and domain.count(".") < len(domain):
            return EMAIL
    if "." in core and core[0] != "." and core[-1] != ".":
        labels = core.split(".")
        last = labels[-1]
        if (
            _HOST_CHARS.issuperset(core)
            and all(labels)
            and last.isalpha()
            and (len(labels) >= 3 or last in _TLDS)
        ):
            return HOST
        if last.lower() in _FILE_EXTENSIONS and all(labels[:-1]):
            return FILE
    if quoted and not _IDENTIFIER(core):
        return STR
    return None


def _classify(tok: str) -> _Token:
    """Mask one whitespace-separated token (pure: the result depends on the token alone)."""
    if tok.isalpha():  # a plain word: the common case
        return (tok, tok, False)
    if tok.isdigit():
        return (NUM, WILDCARD, True)
    if tok[0] not in _LEAD and tok[-1] not in _TRAIL and "=" not in tok:  # nothing around it
        if _DIGIT(tok):
            return (_kind_with_digit(tok), WILDCARD, True)
        bare = _kind_without_digit(tok, False)
        return (tok, tok, False) if bare is None else (bare, WILDCARD, True)
    start = len(tok) - len(tok.lstrip(_LEAD))
    end = len(tok.rstrip(_TRAIL))
    if end <= start:
        return (tok, tok, False)
    core = tok[start:end]
    lead, trail = tok[:start], tok[end:]
    eq = core.find("=")
    if eq > 0 and "://" not in core and _KEY_NAME(core[:eq]):
        value = core[eq + 1 :].strip("\"'")
        if not value:
            return (tok, tok, False)
        kind = (
            _kind_with_digit(value) if _DIGIT(value) else _kind_without_digit(value, False)
        ) or STR
        prefix = f"{lead}{core[:eq]}="
        return (f"{prefix}{kind}{trail}", f"{prefix}{WILDCARD}{trail}", False)
    if _DIGIT(core):
        kind = _kind_with_digit(core)
    else:
        quoted = bool(lead) and lead[-1] in _QUOTES and trail[:1] == lead[-1]
        found = _kind_without_digit(core, quoted)
        if found is None:
            return (tok, tok, False)
        kind = found
    if not lead and not trail:
        return (kind, WILDCARD, True)
    return (f"{lead}{kind}{trail}", f"{lead}{WILDCARD}{trail}", False)


def _key_with_digit(tok: str) -> str:
    """The grouping key of a token with a digit: what :func:`_classify` gives, without working
    out the kind (the hot path of fitting: almost every such token is seen once)."""
    if tok.isdigit() or (tok[0] not in _LEAD and tok[-1] not in _TRAIL and "=" not in tok):
        return WILDCARD
    start = len(tok) - len(tok.lstrip(_LEAD))
    end = len(tok.rstrip(_TRAIL))
    if end <= start:
        return tok
    core = tok[start:end]
    eq = core.find("=")
    if eq > 0 and "://" not in core and _KEY_NAME(core[:eq]):
        if not core[eq + 1 :].strip("\"'"):
            return tok
        return f"{tok[:start]}{core[:eq]}={WILDCARD}{tok[end:]}"
    return f"{tok[:start]}{WILDCARD}{tok[end:]}"


def clear_cache() -> None:
    """Forget the classified tokens (the benchmark starts each run cold)."""
    _KEYS.clear()
    _TEXTS.clear()


def _remember(cache: dict[str, str], tok: str, value: str) -> None:
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[tok] = value


def _raw_tokens(line: str, max_chars: int) -> list[str]:
    """The tokens of the first ``max_chars`` characters; a token cut there is a variable."""
    if len(line) <= max_chars:
        return line.split()
    raw = line[:max_chars].split()
    if raw and not line[max_chars].isspace() and not line[max_chars - 1].isspace():
        raw[-1] = WILDCARD
    return raw


def _key_miss(tok: str) -> str:
    if tok[-1] in "0123456789" and tok[0] not in _LEAD and "=" not in tok:
        return WILDCARD  # a number, an address, an id: the most common miss, no regex needed
    if _DIGIT(tok):
        if tok[0] not in _LEAD and tok[-1] not in _TRAIL and "=" not in tok:
            # A bare variable, the common case: not cached, it is rarely seen twice.
            return WILDCARD
        key = _key_with_digit(tok)
    else:
        key = _classify(tok)[1]
    if len(_KEYS) >= _CACHE_MAX:
        _KEYS.clear()
    _KEYS[tok] = key
    return key


def _token_keys(raw: list[str]) -> tuple[str, ...]:
    # The hot path of fitting: one dictionary look-up per token; a token seen for the first time
    # is classified once (most are variables with a digit, whose key needs no kind).
    get = _KEYS.get
    return tuple([get(t) or _key_miss(t) for t in raw])


def _token_texts(raw: list[str]) -> tuple[str, ...]:
    texts = tuple(map(_TEXTS.get, raw))
    if None in texts:
        for t in raw:
            if t not in _TEXTS:
                _remember(_TEXTS, t, _classify(t)[0])
        texts = tuple(map(_TEXTS.__getitem__, raw))
    return texts


def _apply_context(
    texts: list[str] | None, keys: list[str], hits: set[str] | frozenset[str]
) -> None:
    """Mask what a word's neighbours reveal: the name after ``user`` or a noun such as
    ``table``; month and weekday names that are part of a date (followed by a variable).
    ``hits``: the context words in ``keys`` (found in C; only their positions are visited)."""
    n = len(keys)
    where = []
    for word in hits:
        i = keys.index(word)
        while True:
            where.append(i)
            try:
                i = keys.index(word, i + 1)
            except ValueError:
                break
    for i in sorted(where):
        tok = keys[i]
        if i + 1 >= n:
            continue
        nxt = keys[i + 1]
        if tok in _NAME_WORDS:
            if WILDCARD in nxt:
                continue
            start = len(nxt) - len(nxt.lstrip(_LEAD))
            end = len(nxt.rstrip(_TRAIL))
            name = nxt[start:end]
            is_user = tok.rstrip(":").lower() in ("user", "username", "login")
            stop = _NOT_A_USER if is_user else _NOT_A_NAME
            if name and name.lower() not in stop and name[0].isalnum():
                keys[i + 1] = nxt[:start] + WILDCARD + nxt[end:]
                if texts is not None:
                    texts[i + 1] = nxt[:start] + (USER if is_user else NAME) + nxt[end:]
        elif nxt[:3] == WILDCARD or (tok in _WEEKDAYS and nxt in _MONTHS):  # a date
            keys[i] = WILDCARD
            if texts is not None:
                texts[i] = TIME


def raw_key(line: str, max_chars: int = MAX_LINE_CHARS) -> tuple[str, ...]:
    """Each token of a line masked on its own (before :func:`finish_key`)."""
    raw = line.split() if len(line) <= max_chars else _raw_tokens(line, max_chars)
    get = _KEYS.get
    return tuple([get(t) or _key_miss(t) for t in raw])


def line_key(line: str, max_chars: int = MAX_LINE_CHARS) -> tuple[str, ...]:
    """The grouping key of one line: the second half of :func:`tokenize`, for less work."""
    return finish_key(raw_key(line, max_chars))


def finish_key(keys: tuple[str, ...]) -> tuple[str, ...]:
    """What the tokens around a token tell, on a key from :func:`raw_key` (see :func:`_finish`).
    A function of the key alone, so fitting runs it once per distinct key, not once per line."""
    return _finish(keys, None)[1]


def _finish(
    keys: tuple[str, ...], texts: tuple[str, ...] | None
) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """The name after ``user`` or ``table``, month and weekday names in a date, a long quoted
    phrase with variables in it (a user agent) as one variable, and adjacent variables as one
    (a date of five tokens, a list of numbers of any length). Each step runs only where a test
    in C found something for it. Words are their own key, so the keys alone tell all this."""
    context = _CONTEXT_WORDS.intersection(keys)
    joined = "\x00".join(keys)
    quoted = len(keys) >= _QUOTED_SPAN and '"' in joined
    if not context and not quoted and "<*>\x00<*>" not in joined:
        return texts, keys
    k = list(keys)
    t = list(texts) if texts is not None else None
    if context:
        _apply_context(t, k, context)
    if quoted and any(x[:1] == '"' and '"' not in x[1:] for x in k):
        _mask_quoted_spans(t, k)
    if context or quoted:
        joined = "\x00".join(k)
    if "<*>\x00<*>" in joined:
        _merge_runs(t, k, joined)
    return (tuple(t) if t is not None else None), tuple(k)


def _mask_quoted_spans(texts: list[str] | None, keys: list[str]) -> None:
    """A double-quoted phrase of at least ``_QUOTED_SPAN`` tokens with a variable in it becomes
    one variable (``"<STR>"``): a user agent, a free-text value. Shorter phrases stay tokens:
    ``"GET <PATH> <PATH>"`` and ``"POST ..."`` are different requests."""
    raw = list(keys)
    i, n = 0, len(raw)
    while i < n:
        tok = raw[i]
        if tok[:1] != '"' or '"' in tok[1:]:
            i += 1
            continue
        j = i + 1
        while j < n and '"' not in raw[j]:
            j += 1
        if j >= n:
            return
        close = raw[j]
        end = close.rfind('"')
        if j - i + 1 >= _QUOTED_SPAN and any(WILDCARD in x for x in keys[i : j + 1]):
            trail = close[end + 1 :]
            keys[i : j + 1] = ['"' + WILDCARD + '"' + trail] + [""] * (j - i)
            if texts is not None:
                texts[i : j + 1] = ['"' + STR + '"' + trail] + [""] * (j - i)
        i = j + 1
    if "" in keys:
        keep = [x != "" for x in keys]
        keys[:] = [x for x, ok in zip(keys, keep, strict=True) if ok]
        if texts is not None:
            texts[:] = [x for x, ok in zip(texts, keep, strict=True) if ok]


def _merge_runs(texts: list[str] | None, keys: list[str], joined: str) -> None:
    """Adjacent variables become one: ``3 4 5)`` is ``<*>)``, ``Jul 10 03:55:15 2005`` is
    ``<TIME>``. A variable may keep opening punctuation on the first token of the run and
    closing punctuation on the last (``(<*>`` ... ``<*>)``). ``joined`` is ``keys`` joined by
    NUL: the pairs are found there (in C) rather than by a loop over every token."""
    pairs = []
    pos = joined.find("<*>\x00<*>")
    while pos >= 0:
        left = joined.count("\x00", 0, pos)
        a, b = keys[left], keys[left + 1]
        if not a[:-3].strip(_LEAD) and not b[3:].strip(_TRAIL):
            pairs.append(left)
        pos = joined.find("<*>\x00<*>", pos + 4)
    # Right to left, so that earlier indices stay valid; a chain a b c merges into one.
    for left in reversed(pairs):
        keys[left : left + 2] = [keys[left][:-3] + keys[left + 1]]
        if texts is not None:
            texts[left : left + 2] = [_run_text(texts[left], texts[left + 1])]


def _kind_of(text: str) -> str:
    start = text.find("<")
    end = text.find(">", start)
    return text[start : end + 1] if start >= 0 and end > start else WILDCARD


def _run_text(left: str, right: str) -> str:
    """The shown text of two adjacent variables as one: the left's opening punctuation, one
    kind (``<TIME>`` if either is a time, ``<*>`` if they differ), the right's closing one."""
    k1, k2 = _kind_of(left), _kind_of(right)
    kind = k1 if k1 == k2 else (TIME if TIME in (k1, k2) else WILDCARD)
    return f"{left[: left.find('<')]}{kind}{right[right.find('>') + 1 :]}"


def tokenize(line: str, max_chars: int = MAX_LINE_CHARS) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Mask one line: its tokens as shown (placeholders by kind) and as grouped (every
    placeholder ``<*>``).

    Parameters
    ----------
    line
        One log line (or message). Only its first ``max_chars`` characters are read; a token
        cut there counts as a variable.
    max_chars
        The bound on the characters analysed.

    Returns
    -------
    tuple
        ``(texts, keys)``, two tuples of the same length.

    >>> tokenize("Received block blk_-1608 of size 91178 from /10.250.10.6")[0]
    ('Received', 'block', '<ID>', 'of', 'size', '<NUM>', 'from', '<PATH>')
    """
    raw = _raw_tokens(line, max_chars)
    if not raw:
        return (), ()
    shown, keys = _finish(_token_keys(raw), _token_texts(raw))
    return shown or (), keys


def mask(text: str, max_chars: int = MAX_LINE_CHARS) -> str:
    """``text`` with its variables replaced by placeholders of their kind, whitespace collapsed.

    >>> mask("connection from 222.33.90.199 (222.33.90.199) at Sun Jul 10 03:55:15 2005")
    'connection from <IP> (<IP>) at <TIME>'
    """
    return " ".join(tokenize(text, max_chars)[0])


class TemplateMiner:
    """Groups log lines into templates (see the module docstring for the method).

    The batch path, :meth:`fit` or :meth:`fit_transform`, sees all the lines first and gives the
    same templates whatever their order. :meth:`match` then finds the template of another line
    without changing anything, and :meth:`add` also creates a template for a line that fits
    none.

    Parameters
    ----------
    min_distinct
        How many different words must occur at one position, with the rest of the template
        equal, before that position is taken for a variable.
    max_chars
        The bound on the characters of a line analysed.

    Examples
    --------
    >>> miner = TemplateMiner()
    >>> miner.fit_transform(["session opened for user root", "session opened for user news"])
    ['session opened for user <USER>', 'session opened for user <USER>']
    >>> miner.match("session opened for user cyrus")
    'session opened for user <USER>'
    >>> miner.match("session closed for user cyrus") is None
    True
    """

    def __init__(self, *, min_distinct: int = 6, max_chars: int = MAX_LINE_CHARS) -> None:
        self.min_distinct = min_distinct
        self.max_chars = max_chars
        self._canon: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._text: dict[tuple[str, ...], str] = {}
        self._counts: Counter[tuple[str, ...]] = Counter()
        self._shapes: dict[int, set[frozenset[int]]] = defaultdict(set)

    @property
    def templates(self) -> dict[str, int]:
        """Each template's text and how many lines it has had (fit plus add)."""
        return {self._text[k]: c for k, c in self._counts.most_common()}

    def fit(self, lines: Iterable[str]) -> TemplateMiner:
        """Learn the templates of ``lines`` (replacing any learnt before)."""
        self.fit_transform(lines)
        return self

    def fit_transform(self, lines: Iterable[str]) -> list[str]:
        """Learn the templates of ``lines`` and return each line's template text."""
        max_chars = self.max_chars
        per_line: list[tuple[str, ...]] = []
        # The shown text of a template comes from the smallest line of each of its raw keys, so
        # it does not depend on the order of the lines; where kinds differ it shows <*>.
        low: dict[tuple[str, ...], str] = {}
        get, miss = _KEYS.get, _key_miss
        for line in lines:
            # raw_key(), inlined: this loop is where fitting spends its time.
            raw = line.split() if len(line) <= max_chars else _raw_tokens(line, max_chars)
            keys = tuple([get(t) or miss(t) for t in raw])
            per_line.append(keys)
            if line < low.setdefault(keys, line):
                low[keys] = line
        raw_counts = Counter(per_line)
        finished = {k: finish_key(k) for k in raw_counts}
        samples: dict[tuple[str, ...], list[str]] = defaultdict(list)
        counts: Counter[tuple[str, ...]] = Counter()
        for k, c in raw_counts.items():
            samples[finished[k]].append(low[k])
            counts[finished[k]] += c
        canon = self._merge(counts)
        members: dict[tuple[str, ...], list[tuple[str, ...]]] = defaultdict(list)
        for key, final in canon.items():
            members[final].append(key)
        self._canon = canon
        self._counts = Counter()
        for key, c in counts.items():
            self._counts[canon[key]] += c
        self._text = {}
        for final, keys in members.items():
            # a few samples per key are enough to tell whether the kinds agree
            shown = {tokenize(x, max_chars)[0] for k in keys for x in sorted(samples[k])[:8]}
            self._text[final] = _template_text(final, shown)
        self._shapes = defaultdict(set)
        for final in members:
            wild = frozenset(i for i, t in enumerate(final) if t == WILDCARD)
            self._shapes[len(final)].add(wild)
        out = {k: self._text[canon[f]] for k, f in finished.items()}
        return list(map(out.__getitem__, per_line))

    def _find(self, keys: tuple[str, ...]) -> tuple[str, ...] | None:
        final = self._canon.get(keys)
        if final is not None:
            return final
        for wild in self._shapes.get(len(keys), ()):
            probe = tuple(WILDCARD if i in wild else t for i, t in enumerate(keys))
            final = self._canon.get(probe)
            if final is not None:
                return final
        return None

    def match(self, line: str) -> str | None:
        """The template of ``line`` among those learnt, or None if it fits none."""
        final = self._find(line_key(line, self.max_chars))
        return None if final is None else self._text[final]

    def add(self, line: str) -> str:
        """The template of ``line``, learning a new one when it fits none (streaming use)."""
        texts, keys = tokenize(line, self.max_chars)
        final = self._find(keys)
        if final is None:
            final = keys
            self._canon[keys] = keys
            self._text[keys] = " ".join(texts)
            self._shapes[len(keys)].add(frozenset(i for i, t in enumerate(keys) if t == WILDCARD))
        self._counts[final] += 1
        return self._text[final]

    def _merge(self, counts: Counter[tuple[str, ...]]) -> dict[tuple[str, ...], tuple[str, ...]]:
        """Map each key to its merged key: positions with many different words become
        variables (see the class docstring)."""
        canon = {k: k for k in counts}
        by_len: dict[int, set[tuple[str, ...]]] = defaultdict(set)
        for k in counts:
            by_len[len(k)].add(k)
        for n, keys in by_len.items():
            if n < 3 or n > _MERGE_MAX_TOKENS or len(keys) < 2:
                continue
            current = set(keys)
            for _ in range(3):
                renamed = self._merge_pass(current, n)
                if not renamed:
                    break
                for k in keys:
                    final = canon[k]
                    while final in renamed:
                        final = renamed[final]
                    canon[k] = final
                current = {canon[k] for k in keys}
        return canon

    def _merge_pass(
        self, keys: set[tuple[str, ...]], n: int
    ) -> dict[tuple[str, ...], tuple[str, ...]]:
        renamed: dict[tuple[str, ...], tuple[str, ...]] = {}
        for p in range(1, n):
            groups: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
            for k in keys:
                if k in renamed:
                    continue
                groups[k[:p] + k[p + 1 :]].add(k)
            for rest, members in groups.items():
                if len(members) < 2:
                    continue
                # many words at p, or a word where other lines have a variable ("from <IP>" and
                # "from localhost"): a variable
                variable = any(k[p] == WILDCARD for k in members)
                if len(members) < self.min_distinct and not variable:
                    continue
                if sum(1 for t in rest if WILDCARD not in t) < 2:
                    continue
                merged = (*rest[:p], WILDCARD, *rest[p:])
                for k in members:
                    if k != merged:
                        renamed[k] = merged
        return renamed


def _template_text(final: tuple[str, ...], shown: set[tuple[str, ...]]) -> str:
    """The text of a template from the shown tokens of sample lines: where they agree, their
    text (``<IP>``), else the grouped token (``<*>``)."""
    if len(shown) == 1:
        return " ".join(next(iter(shown)))
    if all(len(v) == len(final) for v in shown):
        return " ".join(
            col[0] if len(set(col)) == 1 else key for key, *col in zip(final, *shown, strict=True)
        )
    return " ".join(final)
