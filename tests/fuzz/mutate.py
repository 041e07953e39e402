"""Mutations of real inputs: alarm payloads, Logs Insights queries, log lines, stores.

Every mutator takes a :class:`random.Random`, so the same seed gives the same case: the tests
draw the generator from hypothesis (``st.randoms()``, shrinkable and reproducible) and the census
script (``python -m tests.fuzz.census``) from plain seeds.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ALARM_FILES = sorted(
    p
    for p in (FIXTURES / "alarms").rglob("*.json")
    if "malformed" not in p.parts and p.parent.name != "catalog"
)

#: Values that broke, or could break, a parser that trusts its input.
HOSTILE_VALUES: list[Any] = [
    None,
    "",
    " ",
    0,
    -1,
    1.5,
    10**18,
    -(10**18),
    1e308,
    True,
    [],
    {},
    [None],
    {"": None},
    "x" * 10_000,
    "\u0000",
    "\ud800",  # a lone surrogate: valid in JSON text, not encodable as UTF-8
    "\u202e\u202dRTL",
    "../../etc/passwd",
    "/etc/passwd",
    "<script>alert(1)</script>",
    "$(id)`id`;|&",
    "NaN",
    "Infinity",
    "-0",
    "1e999",
    "99999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "9999999999999",
    "-9999999999999",
    "2024-01-01T00:00:00",
    "ALARM",
    "arn:aws:cloudwatch:us-east-1:123456789012:alarm:x",
    "arn:aws:cloudwatch::::alarm:",
]

#: Raw JSON texts that no ``json.dumps`` produces but a hostile sender can.
RAW_NUMBERS = ["1" * 5000, "-" + "9" * 4400, "1e99999", "0." + "0" * 5000 + "1", "1" * 400]


def nodes(doc: Any, path: tuple = ()) -> list[tuple]:
    """Every path in a JSON document (keys and list indexes)."""
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(nodes(v, (*path, k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.extend(nodes(v, (*path, i)))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _set(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


def _delete(doc: Any, path: tuple) -> Any:
    if not path:
        return doc
    parent = _get(doc, path[:-1])
    del parent[path[-1]]
    return doc


def nest(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


def mutate_json(doc: Any, r: random.Random, *, steps: int | None = None) -> Any:
    """``doc`` (a copy) with 1-3 structural mutations; nested JSON strings are mutated too."""
    doc = json.loads(json.dumps(doc))
    for _ in range(steps or r.randint(1, 3)):
        paths = nodes(doc)
        path = r.choice(paths)
        value = _get(doc, path)
        op = r.randrange(9)
        if isinstance(value, str) and value.lstrip().startswith("{") and r.random() < 0.6:
            # An SNS Message or SQS body: the alarm lives inside this string.
            try:
                inner = json.loads(value)
            except ValueError:
                inner = None
            if inner is not None:
                doc = _set(doc, path, json.dumps(mutate_json(inner, r)))
                continue
        if op == 0 and path:
            doc = _delete(doc, path)
        elif op in (1, 2):
            doc = _set(doc, path, r.choice(HOSTILE_VALUES))
        elif op == 3:
            doc = _set(doc, path, nest(value, r.choice([2, 50, 200, 600])))
        elif op == 4 and isinstance(value, str):
            i = r.randrange(len(value) + 1)
            doc = _set(
                doc, path, value[:i] + r.choice(["\ud800", "\x00", "\u202e", "é", "💥"]) + value[i:]
            )
        elif op == 5 and isinstance(value, str):
            doc = _set(doc, path, value * r.choice([2, 100, 5000]))
        elif op == 6 and isinstance(value, int | float) and not isinstance(value, bool):
            doc = _set(doc, path, r.choice([-value, value * 10**12, 0, -1, 1e300, 2**63]))
        elif op == 7 and isinstance(value, dict) and value:
            key = r.choice(list(value))
            value[r.choice([key.lower(), key.upper(), key + " ", ""])] = value.pop(key)
        else:
            doc = _set(doc, path, r.choice([str(value), [value], {"value": value}, None]))
    return doc


def alarm_payload(r: random.Random) -> bytes:
    """A mutated real alarm payload, as the bytes a queue would deliver."""
    source = r.choice(ALARM_FILES)
    raw = source.read_bytes()
    kind = r.randrange(10)
    if kind <= 5:
        doc = mutate_json(json.loads(raw), r)
        return json.dumps(doc, ensure_ascii=r.random() < 0.5).encode("utf-8", "surrogatepass")
    text = raw.decode("utf-8")
    if kind == 6:  # a number no encoder writes: 5,000 digits, a huge exponent
        for marker in ('"Threshold": ', '"threshold": ', '"Period": ', '"period": ', ": "):
            if marker in text:
                at = text.index(marker) + len(marker)
                end = at
                while end < len(text) and text[end] not in ",}\n":
                    end += 1
                text = text[:at] + r.choice(RAW_NUMBERS) + text[end:]
                break
        return text.encode()
    if kind == 7:  # deep nesting as text: recursion limits, not memory
        depth = r.choice([1000, 100_000])
        return (
            ("[" * depth + "]" * depth).encode()
            if r.random() < 0.5
            else ('{"detail":' * depth + "1" + "}" * depth).encode()
        )
    if kind == 8:  # bytes: flipped, cut, or another encoding
        data = bytearray(raw)
        choice = r.randrange(4)
        if choice == 0:
            for _ in range(r.randint(1, 20)):
                data[r.randrange(len(data))] = r.randrange(256)
            return bytes(data)
        if choice == 1:
            return bytes(data[: r.randrange(len(data))])
        if choice == 2:
            return text.encode("utf-16")
        return b"\x00\xff\xfe" + bytes(r.randrange(256) for _ in range(200))
    # kind 9: a lone surrogate or a NUL written as a JSON escape
    return text.replace(
        '"ALARM"', r.choice(['"\\ud800"', '"AL\\u0000ARM"', '"\\udfff"']), 1
    ).encode()


#: Tokens spliced into queries.
QUERY_TOKENS = [
    "|", "||", "(", ")", "((((", "))", "[", "]", '"', "'", "`", "/", "//", "\\", ",", "*", "-",
    "=~", "!=", "<=", "^", "%", ":", "stats", "by", "bin(", "bin(0m)", "bin(99999999999999y)",
    "like", "in", "not", "and", "or", "as", "sort", "desc", "limit", "limit 0",
    "limit 99999999999999999999", "limit -1", "parse", "filter", "fields", "display", "dedup",
    "@message", "@timestamp", "count(*)", "pct(@duration, 101)", "pct(x, -1)", "sum(", "avg()",
    "1e999", "9" * 400, "1" * 5000, "0.5e", "5000000000000000000000000000y", "-9223372036854775809",
    "/(?<x>/", "/[/", "/a{99999}/", "/(a+)+$/", "strlen()", "concat(", "datefloor(@timestamp, 0s)",
    "fromMillis(1e30)", "toMillis(@message)", "abs(-)", "\ud800", "\x00", "é", "\n", "#",
    "source", "pattern", "unnest", "SOURCE logGroups(namePrefix: ['a'])", "ispresent(",
]  # fmt: skip


def query_fixtures() -> list[str]:
    """Every query in ``tests/fixtures/insights/*.yaml`` (the engine's own cases)."""
    import yaml

    out: list[str] = []
    for path in sorted((FIXTURES / "insights").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in doc.get("cases", []) if isinstance(doc, dict) else []:
            if isinstance(case, dict) and isinstance(case.get("query"), str):
                out.append(case["query"])
    return out


def mutate_query(queries: list[str], r: random.Random) -> str:
    """A real query with 1-4 splices, cuts or swaps."""
    text = r.choice(queries)
    for _ in range(r.randint(1, 4)):
        op = r.randrange(5)
        i = r.randrange(len(text) + 1)
        if op <= 1:
            text = text[:i] + " " * r.randint(0, 1) + r.choice(QUERY_TOKENS) + text[i:]
        elif op == 2 and text:
            j = min(len(text), i + r.randint(1, 8))
            text = text[:i] + text[j:]
        elif op == 3:
            other = r.choice(queries)
            text = text[:i] + " | " + other[r.randrange(len(other) + 1) :]
        else:
            text = text[:i]
    return text


def log_lines(r: random.Random) -> bytes:
    """Input for ``store import-logs``: JSON lines or a ``filter-log-events`` document, mutated."""
    base = {
        "timestamp": 1767225600000,
        "message": "ERROR boom",
        "logStreamName": "2026/01/01/[$LATEST]abc",
        "ingestionTime": 1767225600100,
        "eventId": "1",
    }
    kind = r.randrange(8)
    if kind == 0:
        events = [mutate_json(base, r) for _ in range(r.randint(1, 5))]
        return json.dumps({"events": events}).encode("utf-8", "surrogatepass")
    if kind == 1:  # deep JSON
        depth = r.choice([1000, 50_000])
        return (('{"events":' if r.random() < 0.5 else "") + "[" * depth + "]" * depth).encode()
    if kind == 2:  # one very long line
        return json.dumps(dict(base, message="A" * r.choice([10**6, 3 * 10**6]))).encode()
    if kind == 3:  # huge or negative timestamps
        ts = r.choice([10**20, -(10**15), 2**63, -1, 1e300, 253402300800000, "1" * 5000])
        text = json.dumps(dict(base, timestamp=0)).replace('"timestamp": 0', f'"timestamp": {ts}')
        return text.encode()
    if kind == 4:  # binary
        return bytes(r.randrange(256) for _ in range(r.randint(1, 500)))
    if kind == 5:  # a lone surrogate as a JSON escape
        return json.dumps(dict(base, message="x\ud800y"), ensure_ascii=True).encode()
    lines = [json.dumps(mutate_json(base, r), ensure_ascii=r.random() < 0.5) for _ in range(3)]
    return "\n".join(lines).encode("utf-8", "surrogatepass")


# -- stores ------------------------------------------------------------------------------------
def corrupt_store(root: Path, r: random.Random, outside: Path) -> str:
    """Damage the store at ``root`` in one way; returns what was done. ``outside`` is a valid
    Parquet file outside the store (for paths that try to leave it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    desc_path = root / "store.json"
    desc = json.loads(desc_path.read_text(encoding="utf-8"))
    tables = ["metrics", "logs", "alarms", "alarm_history", "changes"]
    table = r.choice(tables)
    file = root / f"{table}.parquet"
    kind = r.randrange(16)
    if kind == 0:
        desc = mutate_json(desc, r)
    elif kind == 1:
        desc["tables"][table]["file"] = r.choice(
            ["../" + outside.name, str(outside), "../../" * 8 + "etc/passwd", "a/../../x.parquet"]
        )
    elif kind == 2:
        file.unlink()
        file.symlink_to(outside)
    elif kind == 3:
        desc.pop(r.choice(["format", "version", "created", "tables"]))
    elif kind == 4:
        desc["version"] = r.choice(["1", 1.0, 1.5, 2, -1, None, True, 10**30])
    elif kind == 5:
        desc["tables"][table]["rows"] = r.choice([-1, "3", None, 1e300, 2**70])
    elif kind == 6:
        data = file.read_bytes()
        file.write_bytes(data[: r.randrange(len(data))])
    elif kind == 7:
        data = bytearray(file.read_bytes())
        for _ in range(r.randint(1, 40)):
            data[r.randrange(4, max(5, len(data) - 8))] = r.randrange(256)
        file.write_bytes(bytes(data))
    elif kind == 8:
        other = root / f"{r.choice([t for t in tables if t != table])}.parquet"
        file.write_bytes(other.read_bytes())  # a table of the wrong shape
    elif kind == 9:
        file.unlink()
        file.mkdir()
    elif kind == 10:  # required columns null
        schema = pq.read_schema(file)
        columns = {f.name: pa.nulls(2, f.type) for f in schema}
        pq.write_table(pa.table(columns, schema=schema), file)
    elif kind == 11:
        desc_path.write_bytes(
            r.choice(
                [b"", b"\xff\xfe\x00binary", b"[" * 100_000, b'{"version": ' + b"9" * 5000 + b"}"]
            )
        )
        return f"descriptor text {kind}"
    elif kind == 12:
        desc["time_range"] = r.choice(
            [
                {"start": "2026-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
                {"start": "0001-01-01T00:00:00Z", "end": "9999-12-31T23:59:59Z"},
                {"start": "2026-01-01T00:00:00", "end": "2026-01-02T00:00:00"},
                {"start": 10**20, "end": -(10**20)},
            ]
        )
    elif kind == 13:
        desc["tables"][table]["file"] = r.choice(["", ".", "store.json", "logs.parquet\x00x"])
    elif kind == 14:
        desc_path.unlink()
        desc_path.mkdir()
        return "descriptor is a folder"
    else:
        del desc["tables"][table]
    desc_path.write_text(json.dumps(desc), encoding="utf-8", errors="surrogatepass")
    return f"kind {kind} on {table}"
