"""Read-only AWS calls a runbook step makes (``describe-*``, ``get-*``, ``list-*``).

A notebook asks ``case.aws("lambda", "get-function-configuration", FunctionName=fn)``: on AWS
the call goes through boto3 (the source's counted client); on a telemetry store it is answered
from the ``aws_calls`` table, where a recording (an evidence pack, a demo scenario) kept it.
Either way the answer is plain JSON (times as ISO strings, ``ResponseMetadata`` dropped) and
secrets are masked before it is shown or stored.

Only reads are allowed: an operation must start with one of :data:`READ_PREFIXES`, and a few
reads that return secrets or data rather than state are refused (:data:`REFUSED`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import pandas as pd

from incident_lib.errors import BadInputError

__all__ = [
    "READ_PREFIXES",
    "REFUSED",
    "RecordedCall",
    "api_operation",
    "plain_response",
    "response_table",
]

#: An operation whose name starts with one of these only reads.
READ_PREFIXES = ("Describe", "Get", "List", "Lookup", "BatchGet", "Search", "Query", "Scan")

#: Reads that return secrets or customer data rather than the state of a resource.
REFUSED: dict[tuple[str, str], str] = {
    ("secretsmanager", "GetSecretValue"): "returns a secret",
    ("secretsmanager", "BatchGetSecretValue"): "returns secrets",
    ("ssm", "GetParameter"): "may return a decrypted secret",
    ("ssm", "GetParameters"): "may return decrypted secrets",
    ("ssm", "GetParametersByPath"): "may return decrypted secrets",
    ("s3", "GetObject"): "returns customer data",
    ("dynamodb", "Query"): "returns customer data",
    ("dynamodb", "Scan"): "returns customer data",
    ("dynamodb", "BatchGetItem"): "returns customer data",
    ("dynamodb", "GetItem"): "returns customer data",
    ("sts", "GetSessionToken"): "returns credentials",
    ("sts", "GetFederationToken"): "returns credentials",
    ("ecr", "GetAuthorizationToken"): "returns credentials",
    ("kms", "GetParametersForImport"): "returns key material",
    ("rds", "DescribeDBLogFiles"): "lists database logs (use DownloadDBLogFilePortion by hand)",
}

#: Items read from a paginated list operation at most (the rest is cut and said so).
MAX_ITEMS = 1000

_KEBAB = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")


@functools.cache
def _operations(service: str) -> dict[str, str]:
    """``{lower-case name without separators: API name}`` for every operation of ``service``."""
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    try:
        model = botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:
        raise BadInputError(
            f"unknown AWS service {service!r} (use boto3's name: lambda, ecs ...)"
        ) from None
    return {name.lower(): name for name in model.operation_names}


def api_operation(service: str, operation: str) -> str:
    """The API name (``GetFunctionConfiguration``) of ``operation`` written as the CLI writes it
    (``get-function-configuration``), as boto3 does (``get_function_configuration``) or as the
    API does; a mutating or refused operation is a :class:`BadInputError`.

    >>> api_operation("lambda", "get-function-configuration")
    'GetFunctionConfiguration'
    """
    if not isinstance(operation, str) or not operation:
        raise BadInputError("an AWS call needs an operation name")
    key = operation.replace("-", "").replace("_", "").lower()
    ops = _operations(service)
    name = ops.get(key)
    if name is None:
        close = [n for k, n in ops.items() if key[:6] and k.startswith(key[:6])][:5]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise BadInputError(f"{service} has no operation {operation!r}{hint}")
    if not name.startswith(READ_PREFIXES):
        raise BadInputError(
            f"{service} {name} changes state: a runbook step only reads "
            f"({', '.join(p + '*' for p in READ_PREFIXES)})"
        )
    why = REFUSED.get((service, name))
    if why:
        raise BadInputError(f"{service} {name} is not run by investigations: it {why}")
    return name


def plain_response(response: Mapping[str, Any]) -> dict[str, Any]:
    """A boto3 response as plain JSON types: ``ResponseMetadata`` dropped, times as ISO-8601
    strings, bytes and streams replaced by a note of their size."""
    return json.loads(
        json.dumps({k: v for k, v in response.items() if k != "ResponseMetadata"}, default=_default)
    )


def _default(value: Any) -> Any:
    if isinstance(value, datetime | pd.Timestamp):
        ts = pd.Timestamp(value)
        return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if hasattr(value, "read"):
        return "<stream>"
    return str(value)


def response_table(response: Mapping[str, Any], *, max_rows: int = 200) -> pd.DataFrame:
    """A response flattened to ``field, value`` rows (``Environment.Variables.LOG_LEVEL``,
    ``Services[0].desiredCount``), for showing resource state as a table."""
    rows: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if len(rows) >= max_rows:
            return
        if isinstance(value, Mapping) and value:
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list) and value and not all(_scalar(v) for v in value):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v)
        else:
            text = (
                ", ".join(str(v) for v in value)
                if isinstance(value, list)
                else ("" if value is None else str(value))
            )
            rows.append((prefix, text))

    walk("", dict(response))
    return pd.DataFrame(rows, columns=["field", "value"])


def _scalar(value: Any) -> bool:
    return not isinstance(value, Mapping | list)


class RecordedCall(dict):
    """The answer of one read-only call: a plain ``dict`` of the response, plus where it came
    from (``service``, ``operation``, ``parameters``) for the evidence record."""

    def __init__(
        self,
        response: Mapping[str, Any],
        *,
        service: str,
        operation: str,
        parameters: Mapping[str, Any],
        truncated: bool = False,
    ) -> None:
        super().__init__(response)
        self.service = service
        self.operation = operation
        self.parameters = dict(parameters)
        self.truncated = truncated

    def table(self) -> pd.DataFrame:
        """The response as ``field, value`` rows (see :func:`response_table`)."""
        return response_table(self)
