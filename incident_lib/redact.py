"""Mask secrets in untrusted text before it is stored or shown.

Log lines, alarm descriptions, AWS error messages and CloudTrail fields are written by whoever
sent a request; they leak credentials more often than anyone likes. Everything the product
writes or prints from an incident passes through :func:`mask_secrets` (text),
:func:`mask_json` (parsed JSON, the alarm, findings) or :func:`mask_notebook` (an executed
notebook: outputs, injected parameters, papermill metadata) first.

:data:`SECRET_KINDS` is the one list of what is recognised, each kind with its pattern; the
tests plant one example of every kind through every output. The patterns are hand-written:
detect-secrets and similar scanners look at files and report findings, they do not rewrite
strings in a hot path, and their patterns are not written for linear time.

Every pattern runs in time linear in the length of the text (no nested or overlapping
unbounded repetition; possessive quantifiers where a run could otherwise be retried), so a
1 MB log line is masked in well under a second (``benchmarks/bench_redact.py``).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = [
    "MASK",
    "SECRET_KINDS",
    "SecretKind",
    "is_secret_key",
    "mask_frame",
    "mask_json",
    "mask_notebook",
    "mask_secrets",
]

MASK = "****"

#: The longest value a key=value rule masks past its opening quote (a value is never scanned
#: further, so a line of unterminated quotes stays linear).
_MAX_VALUE = 4096


# -- key = value ---------------------------------------------------------------------------
# A key whose name ends with one of these words holds a secret, in any syntax: key=value,
# key: value, "key": "value", \"key\":\"value\" (JSON inside a JSON string), &quot;key&quot;:
# ... (HTML-escaped), key="value". The key is matched by the regex itself, so ordinary
# key=value pairs cost no Python call.
def _spellings(*parts: str) -> list[str]:
    """Every spelling of a key word made of ``parts`` (``api_key``, ``api-key``, ``apikey`` ...)."""
    out = [parts[0]]
    for part in parts[1:]:
        out = [f"{head}{sep}{part}" for head in out for sep in ("", "_", "-", ".")]
    return out


_KEY_SUFFIXES = tuple(
    sorted(
        {
            "password",
            "passwd",
            "passphrase",
            "pwd",
            "secret",
            "token",
            "cookie",
            "credential",
            "credentials",
            "authorization",
            "signature",
            *(
                w
                for parts in (
                    ("secret", "key"),
                    ("access", "key"),
                    ("private", "key"),
                    ("account", "key"),
                    ("shared", "access", "key"),
                    ("api", "key"),
                    ("connection", "string"),
                    ("session", "id"),
                )
                for w in _spellings(*parts)
            ),
        }
    )
)
#: Keys that hold a secret only when they are the whole name (``pass`` but not ``bypass``).
_KEY_EXACT = frozenset({"pass", "pw", "auth", "sig", "dsn", *_spellings("db", "pass")})


# A name (up to 64 characters) that ends with a secret word: the name is taken whole
# (possessive), then fixed-width look-behinds test its end, grouped by the last two letters
# so an ordinary name costs a few two-letter tests. No backtracking, no Python call for
# ordinary names.
def _ends_with_any(words: set[str]) -> str:
    groups: dict[str, list[str]] = {}
    for word in sorted(words):
        groups.setdefault(word[-2:], []).append(word)
    return (
        "(?:"
        + "|".join(
            f"(?<={re.escape(tail)})(?:" + "|".join(f"(?<={re.escape(w)})" for w in group) + ")"
            for tail, group in sorted(groups.items())
        )
        + ")"
    )


_KEY = r"[\w.\-]{1,64}+" + _ends_with_any({*_KEY_SUFFIXES, *_KEY_EXACT})
_SECRET_KEY = re.compile(rf"(?i){_KEY}")

# Values that say "nothing here" are kept, so a report still tells an unset secret apart.
_EMPTY_VALUES = frozenset({"null", "none", "true", "false", "undefined", "", MASK})
# Keys whose unquoted value runs to the end of the line (a header), not to the next space.
_LINE_VALUE_KEYS = ("cookie", "authorization")

_QUOTE = r"""(?:\\{0,7}+(?:["']|&quot;|&\#0*3[49];|&\#[xX]0*2[27];))"""
_KEY_VALUE = re.compile(
    rf"(?i)(?<![\w.\-])(?P<key>{_KEY})(?![\w.\-])"
    rf"(?P<kq>{_QUOTE})?[ \t]*+(?P<sep>[:=])[ \t]*+(?P<vq>{_QUOTE})?"
)
_UNQUOTED_VALUE = re.compile(r"""[^\s"'&,;}\]<>\\]{1,4096}+""")
_LINE_VALUE = re.compile(r"""[^\n\r"'<>\\]{1,4096}+""")


def is_secret_key(name: str) -> bool:
    """Whether a field called ``name`` holds a secret (``db_password``, ``SecretAccessKey``,
    ``x-api-key``, ``sessionToken``, ``Set-Cookie`` ...).

    >>> is_secret_key("aws_session_token"), is_secret_key("max_tokens")
    (True, False)
    """
    name = name.strip()
    return _SECRET_KEY.fullmatch(name) is not None and _not_just_a_suffix(name)


def _not_just_a_suffix(key: str) -> bool:
    """A key that only ends with an exact-only word (``bypass``) is not a secret key."""
    low = key.lower()
    return low in _KEY_EXACT or low.endswith(_KEY_SUFFIXES)


def _mask_key_values(text: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _KEY_VALUE.finditer(text):
        if m.start() < pos or not _not_just_a_suffix(m.group("key")):
            continue
        start = m.end()
        quote = m.group("vq")
        if quote:
            close = text.find(quote, start, start + _MAX_VALUE)
            end = close if close >= 0 else _value_end(text, start, m.group("key"))
        else:
            if start < len(text) and text[start] in "{[":
                continue  # an object or list: its own keys are masked one by one
            end = _value_end(text, start, m.group("key"))
        value = text[start:end]
        if value.strip().lower() in _EMPTY_VALUES:
            continue
        out.append(text[pos:start])
        out.append(MASK)
        pos = end
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _value_end(text: str, start: int, key: str) -> int:
    pattern = _LINE_VALUE if key.lower().endswith(_LINE_VALUE_KEYS) else _UNQUOTED_VALUE
    m = pattern.match(text, start)
    return m.end() if m else start


# -- the kinds -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SecretKind:
    """One kind of secret: a name, an example (for the tests), and how it is masked."""

    name: str
    example: str
    pattern: re.Pattern[str] | None
    replacement: str | Callable[[re.Match[str]], str] = MASK
    #: The pattern runs only on a text holding one of these (``str.__contains__`` is about a
    #: hundred times faster than a regex scan); lower-case needles are looked for in the
    #: lower-cased text. Empty: always run.
    needles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Worked out once, not on every call (the check runs for every kind on every line): the
        # needles split by case, without those that hold another needle (where "pass" is
        # found, "password" adds nothing; any needle found is all the check asks).
        lower = [n for n in self.needles if n.islower()]
        exact = [n for n in self.needles if not n.islower()]
        lower = [n for n in lower if not any(o != n and o in n for o in lower)]
        exact = [
            n
            for n in exact
            if not any(o != n and o in n for o in exact) and not any(o in n.lower() for o in lower)
        ]
        object.__setattr__(self, "_lower", tuple(lower))
        object.__setattr__(self, "_exact", tuple(exact))

    def applies(self, text: str, lowered: str) -> bool:
        if not self.needles:
            return True
        for n in self._lower:  # type: ignore[attr-defined]
            if n in lowered:
                return True
        return any(n in text for n in self._exact)  # type: ignore[attr-defined]

    def apply(self, text: str) -> str:
        if self.pattern is None:
            return _mask_key_values(text)
        return self.pattern.sub(self.replacement, text)


_B64 = "A-Za-z0-9+/"
_AKID_PREFIXES = (
    "AKIA",
    "ASIA",
    "AGPA",
    "AIDA",
    "AROA",
    "ANPA",
    "ANVA",
    "AIPA",
    "ABIA",
    "ACCA",
    "APKA",
)
_AKID = f"(?:{'|'.join(_AKID_PREFIXES)})"
_AKID_NEAR = re.compile(rf"\b{_AKID}[A-Z0-9]{{16}}\b|(?i:secret|aws_|credential)")


def _bare_aws_secret(m: re.Match[str]) -> str:
    """A standalone 40-character base64 word is an AWS secret key when it mixes cases and
    digits or ``/`` and an access key id or a word like "secret" is within 200 characters."""
    token = m.group(0)
    if not (
        any(c.isupper() for c in token)
        and any(c.islower() for c in token)
        and any(c.isdigit() or c in "/+" for c in token)
    ):
        return token
    text = m.string
    window = text[max(0, m.start() - 200) : m.start()] + " " + text[m.end() : m.end() + 200]
    return MASK if _AKID_NEAR.search(window) else token


def _c(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


#: Every kind of secret recognised, in the order they are applied. Each ``example`` is masked
#: by its own kind (tests/test_redact.py checks all of them, and plants them through the
#: pipeline in tests/security/).
SECRET_KINDS: tuple[SecretKind, ...] = (
    SecretKind(
        "pem_private_key",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq1\n-----END RSA PRIVATE KEY-----",
        # BEGIN line, base64 body (also with literal \n escapes, as in JSON), END line if any:
        # a truncated block (no END) is masked to the end of its body.
        _c(
            r"-----BEGIN (?P<kind>[A-Z0-9 ]{0,40}?)PRIVATE KEY(?: BLOCK)?-----"
            r"[A-Za-z0-9+/=\s:,\-\\]*+"
            r"(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?"
        ),
        lambda m: f"-----BEGIN {m.group('kind')}PRIVATE KEY----- {MASK}",
        needles=("-----BEGIN",),
    ),
    SecretKind(
        "pem_truncated_body",
        "key MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKjMzEfYyjiWA4R4",
        _c(rf"(?<![{_B64}])MII[{_B64}]{{60,}}+={{0,2}}"),
        needles=("MII",),
    ),
    SecretKind(
        "jwt",
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlMTIz end",
        _c(r"\beyJ[A-Za-z0-9_\-]{5,}+\.eyJ[A-Za-z0-9_\-]{5,}+\.[A-Za-z0-9_\-]*+"),
        needles=("eyJ",),
    ),
    SecretKind(
        "aws_secret_key_bare",
        "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        _c(rf"(?<![{_B64}=])[{_B64}]{{40}}(?![{_B64}=])"),
        _bare_aws_secret,
        needles=(*_AKID_PREFIXES, "secret", "aws_", "credential"),
    ),
    SecretKind(
        "aws_access_key_id",
        "key AKIAIOSFODNN7EXAMPLE in header",
        _c(rf"\b({_AKID}[A-Z0-9]{{4}})[A-Z0-9]{{12}}\b"),
        r"\1" + MASK,
        needles=_AKID_PREFIXES,
    ),
    SecretKind(
        "aws_session_token_bare",
        "FwoGZXIvYXdzEBYaDHqa0AP1/8GUvJ2tqSKCAa1xvU7qTFZkXq1sNWR6m7Hf",
        _c(rf"\b(?:FwoGZXIvYXdz|IQoJb3JpZ2lu)[{_B64}=]{{20,}}+"),
        needles=("FwoGZXIvYXdz", "IQoJb3JpZ2lu"),
    ),
    SecretKind(
        "azure_storage_key_bare",
        "storage key AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss"
        "LS4vMDEyMzQ1Njc4OTo7PD0+Pw== end",
        _c(rf"(?<![{_B64}=])[{_B64}]{{86}}==(?![{_B64}=])"),
        needles=("==",),
    ),
    SecretKind(
        "github_token",
        "token ghp_16C7e42F292c6912E7710c838347Ae178B4a used",
        _c(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,255}+"),
        needles=("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    SecretKind(
        "github_fine_grained_pat",
        "github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVW",
        _c(r"\bgithub_pat_[A-Za-z0-9_]{22,255}+"),
        needles=("github_pat_",),
    ),
    SecretKind(
        "gitlab_token",
        "glpat-xY3zA9bC8dE7fG6hI5jK",
        _c(r"\bglpat-[A-Za-z0-9_\-]{20,}+"),
        needles=("glpat-",),
    ),
    SecretKind(
        "slack_token",
        "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        _c(r"\bxox[abposre]-[A-Za-z0-9\-]{10,}+|\bxapp-\d-[A-Za-z0-9\-]{10,}+"),
        needles=("xox", "xapp-"),
    ),
    SecretKind(
        "slack_webhook",
        "posting to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        _c(r"(https://hooks\.slack\.com/(?:services|workflows|triggers)/)[A-Za-z0-9/_\-]{8,}+"),
        r"\1" + MASK,
        needles=("hooks.slack.com",),
    ),
    SecretKind(
        "discord_webhook",
        "https://discord.com/api/webhooks/123456789012345678/abcDEF-ghiJKL_mnoPQR",
        _c(r"(https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/)[A-Za-z0-9/_\-]{8,}+"),
        r"\1" + MASK,
        needles=("discord",),
    ),
    SecretKind(
        "stripe_key",
        "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc and rk_live_51H8abcdEFGH",
        _c(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}+|\bwhsec_[A-Za-z0-9]{16,}+"),
        needles=("sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"),
    ),
    SecretKind(
        "google_api_key",
        "maps key AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI end",
        _c(r"\bAIza[0-9A-Za-z_\-]{35}"),
        needles=("AIza",),
    ),
    SecretKind(
        "npm_token",
        "//registry.npmjs.org/:_authToken=npm_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R",
        _c(r"\bnpm_[A-Za-z0-9]{36}"),
        needles=("npm_",),
    ),
    SecretKind(
        "pypi_token",
        "pypi-AgEIcHlwaS5vcmcCJGE4ZjY5ZGQ2LTQ5YjYtNDBiNi1hYmQ2LTRkOGZhNTkyMjEzMwACKlszLCJ",
        _c(r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{20,}+"),
        needles=("pypi-",),
    ),
    SecretKind(
        "openai_key",
        "OPENAI sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd and sk-AbCdEfGhIjKlMnOpQrSt1234",
        _c(r"\bsk-(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_\-]{20,}+"),
        needles=("sk-",),
    ),
    SecretKind(
        "huggingface_token",
        "hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh",
        _c(r"\bhf_[A-Za-z0-9]{30,}+"),
        needles=("hf_",),
    ),
    SecretKind(
        "sendgrid_key",
        "SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ",
        _c(r"\bSG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64}"),
        needles=("SG.",),
    ),
    SecretKind(
        "bearer_token",
        "Authorization: Bearer abcdef0123456789abcdef",
        _c(r"(?i)\b(bearer)\s++[A-Za-z0-9._~+/=\-]{8,}+"),
        r"\1 " + MASK,
        needles=("bearer",),
    ),
    SecretKind(
        "basic_auth",
        "curl -H 'Authorization: Basic dXNlcjpodW50ZXIy'",
        _c(r"(?i)\b(basic)\s++[A-Za-z0-9+/=]{8,}+"),
        r"\1 " + MASK,
        needles=("basic",),
    ),
    SecretKind(
        "url_credentials",
        "GET https://deploy:s3cr3tP4ss@git.example.com/repo.git",
        # scheme://user:password@ (any scheme: https, ftp, postgres, mysql, mongodb+srv, redis,
        # amqp ...; the user may be empty, redis://:password@host).
        _c(r"(?i)\b([a-z][a-z0-9+.\-]{1,30}+://[^\s:/@\"'<>]{0,256}+:)[^\s@/\"'<>]{1,256}+@"),
        r"\1" + MASK + "@",
        needles=("://",),
    ),
    SecretKind(
        "query_string_secret",
        "GET /login?user=bob&password=hunter2&next=/home",
        _c(
            r"(?i)([?&;](?:password|passwd|pwd|pass|token|access_token|id_token|refresh_token"
            r"|api_key|apikey|api-key|key|secret|client_secret|sig|signature|x-amz-signature"
            r"|x-amz-security-token|x-amz-credential|auth|code)=)[^&\s#\"'<>]{1,4096}+"
        ),
        r"\1" + MASK,
        needles=("=",),
    ),
    SecretKind(
        "key_value_secret",
        'login failed {"db_password": "hunter2!", "user": "bob"}',
        None,  # _mask_key_values: password=, "SecretAccessKey": "...", Cookie: ..., ...
        needles=tuple(sorted({*_KEY_SUFFIXES, *_KEY_EXACT})),
    ),
)


def mask_secrets(text: str) -> str:
    """Return ``text`` with credentials replaced by ``****`` (an access key id keeps its first
    eight characters so two leaks of the same key can still be told apart).

    >>> mask_secrets("key AKIAIOSFODNN7EXAMPLE password=hunter2")
    'key AKIAIOSF**** password=****'
    """
    if not text or not isinstance(text, str):
        return text
    lowered = text.lower()
    for kind in SECRET_KINDS:
        if kind.applies(text, lowered):
            masked = kind.apply(text)
            if masked is not text and masked != text:
                text, lowered = masked, masked.lower()
    return text


def mask_json(value: Any) -> Any:
    """A copy of a JSON-like value with every string masked, and the whole value of every
    secret-named key (``{"password": "x"}`` -> ``{"password": "****"}``) replaced.

    Keys are masked as text too (a series label or a dimension value can be a key).
    Non-string scalars are kept, except under a secret key.
    """
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            name = mask_secrets(key) if isinstance(key, str) else key
            if isinstance(key, str) and is_secret_key(key) and _maskable(item):
                out[name] = MASK
            else:
                out[name] = mask_json(item)
        return type(value)(out) if not isinstance(value, dict) else out
    if isinstance(value, list | tuple):
        return type(value)(mask_json(item) for item in value)
    return value


def _maskable(item: Any) -> bool:
    if item is None or isinstance(item, bool | Mapping | list | tuple):
        return False
    if isinstance(item, float) and item != item:  # NaN: a missing value in a frame
        return False
    return str(item).strip().lower() not in _EMPTY_VALUES


def mask_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`mask_secrets` applied to every string cell, and every
    value of a column whose name is a secret key (``password``, ``token`` ...) masked whole."""
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if is_secret_key(str(col)):
            out[col] = series.map(lambda v: MASK if _maskable(v) else v)
        elif pd.api.types.is_string_dtype(series) or series.dtype == object:
            out[col] = series.map(lambda v: mask_secrets(v) if isinstance(v, str) else v)
    return out


#: Cells whose source is data (papermill writes the parameters into them).
_PARAMETER_TAGS = frozenset({"parameters", "injected-parameters"})


def mask_notebook(nb: Any) -> Any:
    """Mask an executed notebook in place and return it: every output (stream text, every
    mimetype of display data, errors), the source of the parameters cells (``alarm_json``),
    and the notebook metadata papermill and the run add (parameters, the incident).

    Code and markdown cells written by the runbook's author are left as they are.
    """
    for cell in nb.get("cells", []) or []:
        tags = set((cell.get("metadata") or {}).get("tags") or [])
        if tags & _PARAMETER_TAGS and isinstance(cell.get("source"), str):
            cell["source"] = mask_secrets(cell["source"])
        for output in cell.get("outputs", []) or []:
            _mask_output(output)
    metadata = nb.get("metadata")
    if metadata is not None:
        for key in ("papermill", "incident"):
            if key in metadata:
                metadata[key] = _like(metadata[key], mask_json(_plain(metadata[key])))
    return nb


def _mask_output(output: Any) -> None:
    if "text" in output:
        output["text"] = _mask_text_field(output["text"])
    for field in ("ename", "evalue"):
        if isinstance(output.get(field), str):
            output[field] = mask_secrets(output[field])
    if isinstance(output.get("traceback"), list):
        output["traceback"] = [mask_secrets(line) for line in output["traceback"]]
    data = output.get("data")
    if data:
        for mimetype in list(data):
            value = data[mimetype]
            if isinstance(value, str | list) and not _is_json_mimetype(mimetype):
                data[mimetype] = _mask_text_field(value)
            else:
                data[mimetype] = _like(value, mask_json(_plain(value)))


def _is_json_mimetype(mimetype: str) -> bool:
    return mimetype.endswith("json")


def _mask_text_field(value: Any) -> Any:
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, list):  # nbformat allows multi-line strings as lists of lines
        return mask_secrets("".join(str(v) for v in value))
    return value


def _plain(value: Any) -> Any:
    """nbformat nodes as plain dicts and lists (copied)."""
    return copy.deepcopy(_to_builtin(value))


def _to_builtin(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _to_builtin(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_builtin(v) for v in value]
    return value


def _like(original: Any, value: Any) -> Any:
    """``value`` as an nbformat node again when ``original`` was one."""
    try:
        from nbformat import from_dict
    except ImportError:  # pragma: no cover - nbformat is a dependency
        return value
    return from_dict(value) if isinstance(original, Mapping) else value


class MaskingFormatter(logging.Formatter):
    """A log formatter that masks secrets in the whole formatted record (message, arguments,
    exception text): log and error messages quote AWS errors, alarm text and log lines."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(super().format(record))
