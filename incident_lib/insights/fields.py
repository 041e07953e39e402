"""System fields and discovered fields (AWS CWL_AnalyzeLogData-discoverable-fields) as DuckDB SQL.

System fields map to columns of the store's ``logs`` table. Discovered fields are derived
from ``@message`` only when a query references them:

* Lambda ``START``/``END``/``REPORT`` lines give ``@type``, ``@requestId`` (application lines in
  Lambda's text format give ``@requestId`` too), ``@duration``,
  ``@billedDuration``, ``@memorySize``, ``@maxMemoryUsed`` and ``@initDuration`` (memory in
  bytes, MB x 1,000,000, as CloudWatch reports it);
* any other name is looked up in the message's JSON: the whole message when it is a JSON
  object, or the first JSON fragment of a Lambda application line
  (``<ts>\\t<request id>\\tLEVEL\\t{...}``); dotted names are paths and numeric segments are
  array indexes (``a.items.0.id``).
"""

from __future__ import annotations

# A store's ``log_group`` is a name, or the group's ARN
# (``arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]``) when it was recorded from another account
# or Region: then the account, Region and name come from the ARN.
_IS_ARN = "starts_with(log_group, 'arn:')"
GROUP_NAME = f"CASE WHEN {_IS_ARN} THEN split_part(log_group, ':', 7) ELSE log_group END"
GROUP_ACCOUNT = f"CASE WHEN {_IS_ARN} THEN split_part(log_group, ':', 5) ELSE {{account}} END"
GROUP_REGION = f"CASE WHEN {_IS_ARN} THEN split_part(log_group, ':', 4) ELSE {{region}} END"

# Field name -> (SQL over the store's columns, kind). ``{account}`` and ``{region}`` are the
# store's account id and Region as SQL literals.
SYSTEM_FIELDS: dict[str, tuple[str, str]] = {
    "@timestamp": ("timestamp", "ts"),
    "@message": ("message", "str"),
    "@logStream": ("log_stream", "str"),
    "@log": (f"({GROUP_ACCOUNT}) || ':' || ({GROUP_NAME})", "str"),
    "@ingestionTime": ("ingestion_time", "ts"),
    "@ptr": ("event_id", "str"),
    "@aws.account": (GROUP_ACCOUNT, "str"),
    "@aws.region": (GROUP_REGION, "str"),
}

_REPORT = "^REPORT RequestId: \\S+"


def _report_number(label: str, unit: str, scale: str = "") -> str:
    # Guarded by a prefix test so the regex only runs on REPORT lines. "Duration" first
    # matches the real duration: it precedes "Billed Duration" on every REPORT line.
    pattern = f"{label}: ([0-9.]+) {unit}"
    return (
        "CASE WHEN starts_with(\"@message\", 'REPORT ') THEN TRY_CAST(NULLIF(regexp_extract("
        f"\"@message\", '{pattern}', 1), '') AS DOUBLE){scale} END"
    )


# Lambda platform-line fields: name -> (SQL over the "@message" column, kind).
LAMBDA_FIELDS: dict[str, tuple[str, str]] = {
    "@type": (
        "CASE WHEN starts_with(\"@message\", 'REPORT RequestId:') THEN 'REPORT'"
        " WHEN starts_with(\"@message\", 'START RequestId:') THEN 'START'"
        " WHEN starts_with(\"@message\", 'END RequestId:') THEN 'END' END",
        "str",
    ),
    # Platform lines name it after "RequestId:"; application lines in Lambda's text format
    # (``<ISO time>\t<request id>\t<LEVEL>\t...``) carry it as their second field.
    "@requestId": (
        'COALESCE(NULLIF(regexp_extract("@message", \'^(?:START|END|REPORT) RequestId: '
        "(\\S+)', 1), ''), NULLIF(regexp_extract(\"@message\", '^\\d{4}-\\d\\d-\\d\\dT[^\\t]*"
        "\\t([^\\t]+)\\t(?:TRACE|DEBUG|INFO|WARN|ERROR|FATAL)\\t', 1), ''))",
        "str",
    ),
    "@duration": (_report_number("Duration", "ms"), "num"),
    "@billedDuration": (_report_number("Billed Duration", "ms"), "num"),
    "@memorySize": (_report_number("Memory Size", "MB", " * 1000000.0"), "num"),
    "@maxMemoryUsed": (_report_number("Max Memory Used", "MB", " * 1000000.0"), "num"),
    "@initDuration": (_report_number("Init Duration", "ms"), "num"),
}

# The JSON document of a message: the message itself when it starts with "{" (no ltrim: it
# copies every message and doubled the JSON benchmark's time), else the first
# JSON fragment after the three tab-separated fields of a Lambda application line.
JSON_DOCUMENT = (
    'CASE WHEN starts_with("@message", \'{\') THEN "@message"'
    ' WHEN contains("@message", chr(9) || \'{\') THEN NULLIF(regexp_extract("@message",'
    " '(?s)^[^\\t]*\\t[^\\t]*\\t[^\\t]*\\t(\\{.*)$', 1), '') END"
)


def json_pointer(name: str) -> str:
    """JSON pointer for a discovered field name: ``a.items.0.id`` -> ``/a/items/0/id``.

    A JSON pointer (not a ``$.a[0]`` path) lets ``0`` be an array index or an object key,
    whichever the document has.
    """
    parts = name.split(".")
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)
