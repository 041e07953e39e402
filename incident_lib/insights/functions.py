"""The function table: Logs Insights function name -> arity, kind and DuckDB SQL template.

A template names its arguments by position with a coercion: ``{0:n}`` the first argument as a
number, ``{0:s}`` as a string, ``{0:b}`` as a boolean, ``{0:t}`` as a timestamp, ``{0}`` as
it is, ``{*:n}`` all arguments as numbers separated by commas. ``{1:re}`` is a regex or string
literal as an SQL string. A few functions whose SQL depends on their argument types or on the
relation (``bin``, ``min``, ``earliest`` ...) are built by the generator: their template is
``None``.

Semantics follow the AWS documentation of Logs Insights functions (see docs/logs-insights.md).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import duckdb

# Result kinds: "num", "str", "bool", "ts", "any" (a string that may look numeric), "json" (a
# jsonParse map, list or scalar), or "arg0" (the first argument's kind), "common" (one kind
# shared by all arguments).


@dataclass(frozen=True)
class Function:
    """One Logs Insights function."""

    name: str  # as AWS spells it, for messages
    min_args: int
    max_args: int | None  # None: any number
    result: str
    template: str | dict[int, str] | None = None  # by argument count when a dict
    aggregate: bool = False
    udf: bool = False  # needs the Python UDFs registered on the connection


FUNCTIONS: dict[str, Function] = {}


def register(fn: Function) -> Function:
    """Add ``fn`` to :data:`FUNCTIONS` under its lower-cased name."""
    FUNCTIONS[fn.name.lower()] = fn
    return fn


for _fn in [
    # -- aggregations (stats) --------------------------------------------------------------
    Function("count", 0, 1, "num", None, aggregate=True),
    Function("count_distinct", 1, 1, "num", "count(DISTINCT {0})", aggregate=True),
    Function("sum", 1, 1, "num", "sum({0:n})", aggregate=True),
    Function("avg", 1, 1, "num", "avg({0:n})", aggregate=True),
    Function("stddev", 1, 1, "num", "stddev_samp({0:n})", aggregate=True),
    Function("min", 1, 1, "arg0", None, aggregate=True),
    Function("max", 1, 1, "arg0", None, aggregate=True),
    # Nearest rank: pct returns a value of the field (AWS CWL_QuerySyntax-Stats).
    Function("pct", 2, 2, "num", "quantile_disc({0:n}, {1:n} / 100.0)", aggregate=True),
    Function("percentile", 2, 2, "num", "quantile_disc({0:n}, {1:n} / 100.0)", aggregate=True),
    Function("earliest", 1, 1, "arg0", None, aggregate=True),
    Function("latest", 1, 1, "arg0", None, aggregate=True),
    Function("sortsFirst", 1, 1, "arg0", "min({0})", aggregate=True),
    Function("sortsLast", 1, 1, "arg0", "max({0})", aggregate=True),
    # -- datetime --------------------------------------------------------------------------
    Function("bin", 1, 1, "ts", None),
    Function("datefloor", 2, 2, "ts", None),
    Function("dateceil", 2, 2, "ts", None),
    Function("fromMillis", 1, 1, "ts", "make_timestamptz(CAST(round({0:n} * 1000) AS BIGINT))"),
    Function("toMillis", 1, 1, "num", "epoch_ms({0:t})"),
    Function("now", 0, 0, "num", "CAST(floor(epoch(get_current_timestamp())) AS BIGINT)"),
    # -- string ----------------------------------------------------------------------------
    Function("strlen", 1, 1, "num", "length({0:s})"),
    Function("toupper", 1, 1, "str", "upper({0:s})"),
    Function("tolower", 1, 1, "str", "lower({0:s})"),
    Function("trim", 1, 2, "str", {1: "trim({0:s})", 2: "trim({0:s}, {1:s})"}),
    Function("ltrim", 1, 2, "str", {1: "ltrim({0:s})", 2: "ltrim({0:s}, {1:s})"}),
    Function("rtrim", 1, 2, "str", {1: "rtrim({0:s})", 2: "rtrim({0:s}, {1:s})"}),
    Function("concat", 1, None, "str", "concat({*:s})"),
    # 0-based start (AWS CWL_QuerySyntax-operations-functions: substr("xyZfooxyZ", 3, 3) = "foo").
    Function(
        "substr",
        2,
        3,
        "str",
        {
            2: "substring({0:s}, CAST({1:n} AS BIGINT) + 1)",
            3: "substring({0:s}, CAST({1:n} AS BIGINT) + 1, CAST({2:n} AS BIGINT))",
        },
    ),
    Function("replace", 3, 3, "str", "replace({0:s}, {1:s}, {2:s})"),
    Function("regexReplace", 3, 3, "str", "regexp_replace({0:s}, {1:re}, {2:s}, 'g')"),
    Function(
        "strcontains",
        2,
        3,
        "num",
        {
            2: "CAST(contains({0:s}, {1:s}) AS INTEGER)",
            3: "CAST(CASE WHEN {2:b} THEN contains(lower({0:s}), lower({1:s}))"
            " ELSE contains({0:s}, {1:s}) END AS INTEGER)",
        },
    ),
    Function("startsWith", 2, 2, "num", "CAST(starts_with({0:s}, {1:s}) AS INTEGER)"),
    Function("endsWith", 2, 2, "num", "CAST(ends_with({0:s}, {1:s}) AS INTEGER)"),
    Function("isempty", 1, 1, "num", "CAST(coalesce({0:s}, '') = '' AS INTEGER)"),
    Function(
        "isblank", 1, 1, "num", "CAST(regexp_full_match(coalesce({0:s}, ''), '\\s*') AS INTEGER)"
    ),
    # -- numeric ---------------------------------------------------------------------------
    Function("abs", 1, 1, "num", "abs({0:n})"),
    Function("ceil", 1, 1, "num", "ceil({0:n})"),
    Function("floor", 1, 1, "num", "floor({0:n})"),
    Function("round", 1, 2, "num", {1: "round({0:n})", 2: "round({0:n}, CAST({1:n} AS INTEGER))"}),
    Function("log", 1, 1, "num", "ln({0:n})"),
    Function("sqrt", 1, 1, "num", "sqrt({0:n})"),
    Function("greatest", 1, None, "num", "greatest({*:n})"),
    Function("least", 1, None, "num", "least({*:n})"),
    Function("toNumber", 1, 1, "num", "{0:n}"),
    Function("toDouble", 1, 1, "num", "{0:n}"),
    Function("toInt", 1, 1, "num", "CAST(trunc({0:n}) AS BIGINT)"),
    Function("toLong", 1, 1, "num", "CAST(trunc({0:n}) AS BIGINT)"),
    # -- general ---------------------------------------------------------------------------
    Function("ispresent", 1, 1, "bool", "(({0}) IS NOT NULL)"),
    Function("coalesce", 1, None, "common", "coalesce({*})"),
    Function("if", 3, 3, "common", "CASE WHEN {0:b} THEN {1} ELSE {2} END"),
    Function("isNumeric", 1, 1, "bool", "(TRY_CAST({0:s} AS DOUBLE) IS NOT NULL)"),
    # -- JSON (AWS CWL_QuerySyntax-operations-functions): maps and lists as DuckDB JSON -----
    Function("jsonParse", 1, 1, "json", "TRY_CAST({0:s} AS JSON)"),
    Function("jsonStringify", 1, 1, "str", None),
    # -- IP addresses (Python's ipaddress, registered as DuckDB UDFs) -----------------------
    Function("isValidIp", 1, 1, "bool", "__cwli_ip_valid({0:s}, 0)", udf=True),
    Function("isValidIpV4", 1, 1, "bool", "__cwli_ip_valid({0:s}, 4)", udf=True),
    Function("isValidIpV6", 1, 1, "bool", "__cwli_ip_valid({0:s}, 6)", udf=True),
    Function("isIpInSubnet", 2, 2, "bool", "__cwli_ip_in_subnet({0:s}, {1:s}, 0)", udf=True),
    Function("isIpv4InSubnet", 2, 2, "bool", "__cwli_ip_in_subnet({0:s}, {1:s}, 4)", udf=True),
    Function("isIpv6InSubnet", 2, 2, "bool", "__cwli_ip_in_subnet({0:s}, {1:s}, 6)", udf=True),
]:
    register(_fn)

# Documented Logs Insights functions this engine does not implement: calling one raises
# UnsupportedQueryError (a name in neither table is a plain QueryError: unknown function).
UNSUPPORTED_FUNCTIONS = {
    name.lower()
    for name in (
        "jsonArraySize", "jsonArrayContains", "parseDate",
        "formatDate", "strftime", "haversine", "case", "messageSize", "queryStartTime",
        "queryEndTime", "queryTimeRange", "urlencode", "urldecode", "base64encode",
        "base64decode", "split", "hexToAscii", "hexToDec", "decToHex", "ipv4ToNumber",
        "isPrivateIp", "isPublicIp", "isReservedIp",
    )
}  # fmt: skip


def lookup(name: str) -> Function | None:
    """The function called ``name`` (case-insensitive), or None."""
    return FUNCTIONS.get(name.lower())


# -- Python UDFs for the IP functions --------------------------------------------------------
# DuckDB's own inet extension would need a download (no network here), so the IP functions
# are small Python UDFs over the standard library's ipaddress module.
def _ip_valid(value: str | None, version: int) -> bool | None:
    if value is None:
        return None
    try:
        addr = ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return version in (0, addr.version)


def _ip_in_subnet(value: str | None, cidr: str | None, version: int) -> bool | None:
    if value is None or cidr is None:
        return None
    try:
        addr = ipaddress.ip_address(value.strip())
        net = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return False
    if version and addr.version != version:
        return False
    return addr.version == net.version and addr in net


def register_udfs(con: duckdb.DuckDBPyConnection) -> None:
    """Register the IP UDFs on ``con`` (once per connection)."""
    have = {
        row[0]
        for row in con.execute(
            "SELECT function_name FROM duckdb_functions() WHERE function_name LIKE '__cwli_%'"
        ).fetchall()
    }
    # Default null handling: a NULL argument gives NULL without calling Python.
    if "__cwli_ip_valid" not in have:
        con.create_function("__cwli_ip_valid", _ip_valid, ["VARCHAR", "INTEGER"], "BOOLEAN")
    if "__cwli_ip_in_subnet" not in have:
        con.create_function(
            "__cwli_ip_in_subnet", _ip_in_subnet, ["VARCHAR", "VARCHAR", "INTEGER"], "BOOLEAN"
        )
