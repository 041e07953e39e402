"""``aws <service> <operation> --args`` read as an API call, with botocore's service model.

The AWS CLI names each argument after a member of the operation's input shape
(``--db-instance-identifier`` is ``DBInstanceIdentifier``) and reads its value by the member's
type: a list takes several words or ``a,b``, a structure takes *shorthand* (``Name=x,Value=y``)
or JSON, an integer a number, a boolean a bare flag (``--no-x`` for false). :func:`api_params`
does the same from the model botocore ships, so the parameters a notebook passes to boto3 are
the ones the CLI would have sent.

The shorthand reader is written here: it is part of the AWS CLI (``awscli.shorthand``), which
is not a library on PyPI for version 2 and would bring its own pinned botocore with version 1.
The grammar followed is the CLI's documented one (``key=value``, ``key=a,b`` lists,
``key=[a,b]``, ``key={k=v}``, quoted values).

>>> call = parse_aws(["aws", "lambda", "get-function", "--function-name", "fn"])
>>> api_params(call).params
{'FunctionName': 'fn'}
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CLI_SERVICES",
    "GLOBAL_OPTIONS",
    "AwsCall",
    "Params",
    "ShorthandError",
    "api_params",
    "operation_model",
    "parse_aws",
    "parse_shorthand",
]

#: CLI service names that differ from botocore's.
CLI_SERVICES = {"s3api": "s3", "configservice": "config", "deploy": "codedeploy"}

#: Options of the CLI itself, not of the operation: name -> takes a value.
GLOBAL_OPTIONS: dict[str, bool] = {
    "query": True,
    "output": True,
    "region": True,
    "profile": True,
    "endpoint-url": True,
    "max-items": True,
    "page-size": True,
    "starting-token": True,
    "cli-read-timeout": True,
    "cli-connect-timeout": True,
    "cli-binary-format": True,
    "ca-bundle": True,
    "color": True,
    "cli-input-json": True,
    "cli-input-yaml": True,
    "generate-cli-skeleton": False,
    "no-paginate": False,
    "no-cli-pager": False,
    "no-verify-ssl": False,
    "no-sign-request": False,
    "debug": False,
    "no-cli-auto-prompt": False,
    "cli-auto-prompt": False,
}


class ShorthandError(ValueError):
    """A shorthand or JSON value that cannot be read."""


@dataclass
class AwsCall:
    """``aws`` words split into service, operation, the operation's arguments and the CLI's
    own options (``--query``, ``--output`` ...)."""

    service: str  # as written: s3api
    operation: str  # as written: list-object-versions
    args: dict[str, list[str]] = field(default_factory=dict)  # "function-name": [values]
    positional: list[str] = field(default_factory=list)
    options: dict[str, str | None] = field(default_factory=dict)  # "query": "Table.X"

    @property
    def api_service(self) -> str:
        """botocore's name for the service (``s3`` for ``s3api``)."""
        return CLI_SERVICES.get(self.service, self.service)

    def value(self, name: str) -> str | None:
        """The first value of ``--name``, if given."""
        values = self.args.get(name)
        return values[0] if values else None

    def values(self, name: str) -> list[str]:
        return list(self.args.get(name, []))


def parse_aws(words: list[str] | tuple[str, ...]) -> AwsCall | None:
    """Split ``aws`` command words; ``None`` when they name no operation."""
    rest = list(words[1:]) if words and words[0] == "aws" else list(words)
    options: dict[str, str | None] = {}
    # Global options may come before the service: aws --region eu-west-1 lambda ...
    while rest and rest[0].startswith("--"):
        name = rest.pop(0)[2:]
        value = None
        if "=" in name:
            name, value = name.split("=", 1)
        elif GLOBAL_OPTIONS.get(name, True) and rest:
            value = rest.pop(0)
        options[name] = value
    if len(rest) < 2 or rest[0].startswith("-") or rest[1].startswith("-"):
        return None
    call = AwsCall(service=rest[0], operation=rest[1], options=options)
    current: str | None = None
    for word in rest[2:]:
        if word.startswith("--") and len(word) > 2 and not _looks_like_value(word):
            name = word[2:]
            value = None
            if "=" in name and not name.startswith("="):
                name, value = name.split("=", 1)
            if name in GLOBAL_OPTIONS:
                call.options[name] = value
                current = f"\0{name}" if GLOBAL_OPTIONS[name] and value is None else None
                continue
            call.args.setdefault(name, [])
            if value is not None:
                call.args[name].append(value)
            current = name
            continue
        if current is None:
            call.positional.append(word)
        elif current.startswith("\0"):
            call.options[current[1:]] = word
            current = None
        else:
            call.args[current].append(word)
    return call


def _looks_like_value(word: str) -> bool:
    return bool(re.match(r"^--\d", word))


# -- the service model -------------------------------------------------------------------------
@functools.cache
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


@functools.cache
def operation_model(service: str, operation: str) -> Any | None:
    """botocore's model of ``service operation`` (CLI spelling), or ``None`` when botocore
    knows no such service or operation."""
    from botocore import xform_name
    from botocore.exceptions import UnknownServiceError

    try:
        model = _session().get_service_model(CLI_SERVICES.get(service, service))
    except UnknownServiceError:
        return None
    for name in model.operation_names:
        if xform_name(name, "-") == operation or name.lower() == operation.replace("-", ""):
            return model.operation_model(name)
    return None


@dataclass
class Params:
    """An operation's parameters as boto3 takes them, with what could not be read."""

    params: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, list[str]] = field(default_factory=dict)  # member -> the words as written
    problems: list[str] = field(default_factory=list)


def api_params(call: AwsCall) -> Params:
    """The operation's parameters from the CLI arguments, typed by the service model.

    Arguments the model does not have are problems (``--bogus``); a value that cannot be read
    for its type is a problem naming the argument.
    """
    from botocore import xform_name

    out = Params()
    op = operation_model(call.service, call.operation)
    if op is None:
        out.problems.append(f"botocore knows no operation {call.service} {call.operation}")
        return out
    members = op.input_shape.members if op.input_shape is not None else {}
    by_cli = {xform_name(name, "-"): name for name in members}
    for arg, values in call.args.items():
        negated = False
        name = by_cli.get(arg)
        if name is None and arg.startswith("no-") and arg[3:] in by_cli:
            name, negated = by_cli[arg[3:]], True
        if name is None:
            out.problems.append(f"{call.service} {call.operation} has no argument --{arg}")
            continue
        shape = members[name]
        out.raw[name] = values
        try:
            out.params[name] = _typed(shape, values, negated=negated)
        except (ShorthandError, ValueError) as exc:
            out.problems.append(f"--{arg}: {exc}")
    return out


def _typed(shape: Any, values: list[str], *, negated: bool = False) -> Any:
    kind = shape.type_name
    if kind == "boolean":
        if not values:
            return not negated
        return _coerce(shape, values[0])
    if not values:
        raise ValueError("no value given")
    if kind == "list":
        items: list[Any] = []
        for value in values:
            parsed = _read_value(value, shape)
            items.extend(parsed if isinstance(parsed, list) else [parsed])
        return [_coerce(shape.member, item) for item in items]
    if len(values) > 1:
        raise ValueError(f"takes one value, got {len(values)}")
    value = values[0]
    if kind in ("structure", "map"):
        return _coerce(shape, _read_value(value, shape))
    if kind == "blob":
        raise ValueError("binary values (fileb://) are not read by investigations")
    return _coerce(shape, value)


def _read_value(text: str, shape: Any) -> Any:
    """JSON when it looks like JSON, else shorthand (structures, maps, lists of them)."""
    if text.startswith(("file://", "fileb://", "http://", "https://")) and shape.type_name in (
        "structure",
        "map",
        "list",
    ):
        raise ShorthandError(f"reads its value from {text.split('://')[0]}://, not given here")
    stripped = text.strip()
    if stripped[:1] in "[{" or stripped in ("true", "false", "null"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            pass
    kind = shape.type_name
    member = shape.member if kind == "list" else None
    if kind == "list" and member.type_name not in ("structure", "map"):
        return [v for v in _split_top(stripped, ",")] if stripped else []
    return parse_shorthand(stripped)


def _coerce(shape: Any, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise ValueError(f"expected key=value pairs, got {value!r}")
        out = {}
        for key, item in value.items():
            member = _member(shape, key)
            if member is None:
                raise ValueError(f"{shape.name} has no member {key!r}")
            out[member[0]] = _coerce(member[1], item)
        return out
    if kind == "map":
        if not isinstance(value, dict):
            raise ValueError(f"expected key=value pairs, got {value!r}")
        return {str(k): _coerce(shape.value, v) for k, v in value.items()}
    if kind == "list":
        items = value if isinstance(value, list) else [value]
        return [_coerce(shape.member, item) for item in items]
    if kind in ("integer", "long"):
        return int(value)
    if kind in ("float", "double"):
        return float(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise ValueError(f"expected true or false, got {value!r}")
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value if isinstance(value, str) else str(value)


def _member(shape: Any, key: str) -> tuple[str, Any] | None:
    if key in shape.members:
        return key, shape.members[key]
    for name, member in shape.members.items():
        if name.lower() == key.lower():
            return name, member
    return None


# -- shorthand ---------------------------------------------------------------------------------
def parse_shorthand(text: str) -> Any:
    """Read AWS CLI shorthand: ``Name=x,Value=y`` -> ``{"Name": "x", "Value": "y"}``;
    ``Name=tag:Env,Values=a,b`` -> values ``["a", "b"]``; ``K={a=1}``, ``K=[a,b]``, quoted
    values. Text without ``=`` is a list of comma-separated values (or one value).

    >>> parse_shorthand("Name=FunctionName,Value=checkout")
    {'Name': 'FunctionName', 'Value': 'checkout'}
    >>> parse_shorthand('Name=tag:Environment,Values=prod,staging')
    {'Name': 'tag:Environment', 'Values': ['prod', 'staging']}
    """
    reader = _Shorthand(text)
    value = reader.top()
    return value


class _Shorthand:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def error(self, message: str) -> ShorthandError:
        return ShorthandError(f"{message} at character {self.i + 1} of {self.text!r}")

    def top(self) -> Any:
        if not re.match(r"\s*[\w.:@/-]+\s*=", self.text):
            items = _split_top(self.text, ",")
            return items if len(items) > 1 else self.text
        result = self.pairs(end="")
        if self.i < len(self.text):
            raise self.error("unexpected text")
        return result

    def pairs(self, end: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while self.i < len(self.text):
            if end and self.text[self.i] == end:
                return out
            key = self.key()
            out[key] = self.values(end)
            if self.i < len(self.text) and self.text[self.i] == ",":
                self.i += 1
        if end:
            raise self.error(f"missing {end!r}")
        return out

    def key(self) -> str:
        m = re.compile(r"\s*([^=,{}\[\]]+?)\s*=").match(self.text, self.i)
        if not m:
            raise self.error("expected key=value")
        self.i = m.end()
        return m.group(1)

    def values(self, end: str) -> Any:
        first = self.value(end)
        items = [first]
        # key=a,b,c: a list until the next key=
        while self.i < len(self.text) and self.text[self.i] == ",":
            rest = self.text[self.i + 1 :]
            if re.match(r"\s*[^=,{}\[\]\"']+?\s*=", rest) or not rest:
                break
            self.i += 1
            items.append(self.value(end))
        return items if len(items) > 1 else first

    def value(self, end: str) -> Any:
        if self.i >= len(self.text):
            return ""
        ch = self.text[self.i]
        if ch == "{":
            self.i += 1
            out = self.pairs(end="}")
            self.i += 1
            return out
        if ch == "[":
            self.i += 1
            items: list[Any] = []
            while self.i < len(self.text) and self.text[self.i] != "]":
                items.append(self.value("]"))
                if self.i < len(self.text) and self.text[self.i] == ",":
                    self.i += 1
            if self.i >= len(self.text):
                raise self.error("missing ']'")
            self.i += 1
            return items
        if ch in "\"'":
            close = self.text.find(ch, self.i + 1)
            if close < 0:
                raise self.error("unclosed quote")
            value = self.text[self.i + 1 : close]
            self.i = close + 1
            return value
        stops = ",}]" if end else ","
        start = self.i
        while self.i < len(self.text) and self.text[self.i] not in stops:
            if self.text[self.i] == "\\" and self.i + 1 < len(self.text):
                self.i += 1
            self.i += 1
        return self.text[start : self.i].replace("\\,", ",").strip()


def _split_top(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside brackets and quotes (``\\,`` escapes a comma)."""
    out, depth, quote, cur = [], 0, "", []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i + 1])
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = ""
            else:
                cur.append(ch)
        elif ch in "\"'":
            quote = ch
        elif ch in "[{(":
            depth += 1
            cur.append(ch)
        elif ch in "]})":
            depth -= 1
            cur.append(ch)
        elif ch == sep and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur).strip())
    return [x for x in out if x != ""] or ([""] if not text else [])
