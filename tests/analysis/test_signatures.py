from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import pytest

from incident_lib.analysis import (
    TemplateMiner,
    compare_signatures,
    mask,
    signature,
    signature_findings,
    signatures,
)
from incident_lib.analysis.signatures import error_text
from incident_lib.analysis.templates import MAX_LINE_CHARS, clear_cache, line_key, tokenize

T0 = pd.Timestamp("2026-11-18T12:00Z")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "signatures"


def _line(minute, etype, emsg):
    body = json.dumps({"level": "ERROR", "errorType": etype, "errorMessage": emsg})
    ts = (T0 + pd.Timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "timestamp": T0 + pd.Timedelta(minutes=minute),
        "message": f"{ts}\tabc-{minute}\tERROR\t{body}\n",
        "event_id": f"e{minute}",
    }


def grouping_accuracy(truth: list[str], predicted: list[str]) -> float:
    """Share of lines whose predicted group holds exactly the lines of their true template."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(predicted):
        groups[p].append(i)
    size = Counter(truth)
    ok = sum(
        len(m)
        for m in groups.values()
        if len({truth[i] for i in m}) == 1 and size[truth[m[0]]] == len(m)
    )
    return ok / len(truth)


# --- masking by kind -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("id 8f507cfc-1234-4697-b07a-ac58fc914c95 took 12.5 ms", "id <UUID> took <NUM> ms"),
        ("key AKIAIOSFODNN7EXAMPLE from 10.1.2.3", "key <KEY> from <IP>"),
        ("object at 0x7f3a2b9c", "object at <HEX>"),
        (
            "Received block blk_-3587508140051953248 of size 67108864",
            "Received block <ID> of size <NUM>",
        ),
        ("Receiving from 10.251.30.6:33145", "Receiving from <IP>"),
        ("reverse mapping for ns.marryaward.com failed", "reverse mapping for <HOST> failed"),
        ("Deleting file /mnt/hadoop/dfs/data/current", "Deleting file <PATH>"),
        ("fetch https://example.com/a?b=1 done", "fetch <URL> done"),
        ("chrome.exe - open", "<FILE> - open"),
        ("mail to bob@example.com", "mail to <EMAIL>"),
        (
            "connection from 222.33.90.199 (222.33.90.199) at Sun Jul 10 03:55:15 2005",
            "connection from <IP> (<IP>) at <TIME>",
        ),
        ("started at 2024-03-01T12:00:00.123Z", "started at <TIME>"),
        ("Targeting [node-123] and node-D1", "Targeting [<ID>] and <ID>"),
        (
            "session opened for user root by (uid=0)",
            "session opened for user <USER> by (uid=<NUM>)",
        ),
        ("Invalid user webmaster from 173.234.31.186", "Invalid user <USER> from <IP>"),
        ("check pass; user unknown", "check pass; user unknown"),
        (
            "logname= uid=0 tty=NODEVssh ruser= rhost=1.2.3.4",
            "logname= uid=<NUM> tty=<STR> ruser= rhost=<IP>",
        ),
        ("Table orders not found", "Table <NAME> not found"),
        (
            "user 'bob@example.com' missing field 'currency'",
            "user '<EMAIL>' missing field 'currency'",
        ),
        ("IRQs 3 4 5 6 7 9 10 11 routed", "IRQs <NUM> routed"),
        ("  spaces   collapse\tto one  ", "spaces collapse to one"),
    ],
)
def test_masks_variables_by_kind(line, masked):
    assert mask(line) == masked


def test_a_user_agent_is_one_variable_but_a_short_request_is_not():
    get = (
        '1.2.3.4 "GET /v2/a/servers HTTP/1.1" 200 "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101"'
    )
    post = get.replace("GET", "POST").replace("X11; Linux", "Macintosh; Intel")
    assert signature(get) == '<IP> "GET <PATH>" <NUM> "<STR>"'
    assert signature(post) == '<IP> "POST <PATH>" <NUM> "<STR>"'


# --- grouping --------------------------------------------------------------------------------

SAME = [
    (
        "PacketResponder 1 for block blk_38865049064139660 terminating",
        "PacketResponder 2 for block blk_-6952295868487656571 terminating",
    ),
    (
        "Failed password for root from 1.2.3.4 port 22 ssh2",
        "Failed password for root from 5.6.7.8 port 50022 ssh2",
    ),
    (
        "Received disconnect from 10.0.0.1 (host.example.com)",
        "Received disconnect from db1.internal (db1.internal)",
    ),
    (
        "PCI Interrupt Link [LNKA] (IRQs 3 4 5) *0, disabled.",
        "PCI Interrupt Link [LNKA] (IRQs 11) *7, disabled.",
    ),
    ("session closed for user root", "session closed for user cyrus"),
]
DIFFERENT = [
    (
        "[instance: 0d1f] VM Started (Lifecycle Event)",
        "[instance: 0d1f] VM Stopped (Lifecycle Event)",
    ),
    ("cupsd startup succeeded", "hcid startup succeeded"),
    ("session opened for user root", "session closed for user root"),
    ('1.2.3.4 "GET /v2/x HTTP/1.1" status: 200', '1.2.3.4 "POST /v2/x HTTP/1.1" status: 200'),
    ("KeyError: 'currency'", "KeyError: 'sku'"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_lines_of_one_template_share_a_signature(a, b):
    # signature() alone shows the kind of each variable (<IP> or <HOST>); learnt together, the
    # lines share one template whatever the kinds
    assert line_key(a) == line_key(b)
    assert len(set(signatures([a, b]))) == 1


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_lines_of_different_templates_keep_apart(a, b):
    assert signature(a) != signature(b)
    assert len(set(signatures([a, b] * 5))) == 2


def test_a_position_with_many_words_becomes_a_variable_and_few_words_stay():
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    lines = [f"sync of catalog {w} finished cleanly" for w in words]
    assert set(signatures(lines)) == {"sync of catalog <*> finished cleanly"}
    # fewer than min_distinct words: constants (VM Started / VM Stopped is two events)
    assert len(set(signatures(lines[:3]))) == 3
    # the first token is never merged this way: "cupsd startup succeeded" is its own event
    daemons = [f"{w} startup succeeded now" for w in words]
    assert len(set(signatures(daemons))) == len(words)


def test_the_fast_grouping_key_is_the_key_of_the_full_masking():
    """Fitting computes keys without kinds (line_key); they must equal tokenize()'s keys."""
    rows = [json.loads(x) for x in (FIXTURES / "labelled_lines.jsonl").read_text().splitlines()]
    odd = ["x\u00b2 \u00b2 \u0663\u0664 (1) [a=1] 'k'=v =5 a= ==", 'user "bob", Jul 4 ::1 12:00']
    for line in [error_text(r["line"]) for r in rows] + odd:
        clear_cache()
        fast = line_key(line)
        clear_cache()
        assert fast == tokenize(line)[1], line


def test_templates_do_not_depend_on_the_order_of_the_lines():
    rows = [json.loads(x) for x in (FIXTURES / "labelled_lines.jsonl").read_text().splitlines()]
    lines = [r["line"] for r in rows]
    first = dict(zip(lines, signatures(lines), strict=True))
    shuffled = lines[:]
    random.Random(3).shuffle(shuffled)
    assert dict(zip(shuffled, signatures(shuffled), strict=True)) == first


def test_grouping_accuracy_floor_on_the_committed_sample():
    """tests/fixtures/signatures/labelled_lines.jsonl: 12 systems x 80 lines with their true
    templates (made up after documented formats, see SOURCES.md). The benchmark measures the
    same on 2,000 lines per system and on loghub-2k, against drain3."""
    rows = [json.loads(x) for x in (FIXTURES / "labelled_lines.jsonl").read_text().splitlines()]
    by_system: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_system[r["system"]].append(r)
    scores = {
        name: grouping_accuracy([r["template"] for r in rs], signatures([r["line"] for r in rs]))
        for name, rs in by_system.items()
    }
    assert len(scores) == 12
    assert sum(scores.values()) / len(scores) >= 0.95, scores
    assert min(scores.values()) >= 0.8, scores


def test_miner_matches_known_lines_and_learns_new_ones():
    miner = TemplateMiner().fit(
        ["Received block blk_1 of size 5 from 10.0.0.1", "Verification succeeded for blk_2"]
    )
    assert miner.match("Received block blk_9 of size 7 from db.internal.example.com") == (
        "Received block <ID> of size <NUM> from <IP>"
    )
    assert miner.match("Deleting block blk_3 file /tmp/x/y") is None
    assert miner.add("Deleting block blk_3 file /tmp/x/y") == "Deleting block <ID> file <PATH>"
    assert miner.match("Deleting block blk_4 file /data/a/b") == "Deleting block <ID> file <PATH>"
    assert miner.templates["Deleting block <ID> file <PATH>"] == 1


# --- structured error lines ------------------------------------------------------------------

POWERTOOLS = {
    "level": "ERROR",
    "location": "handler:57",
    "message": "Failed to process order 1234",
    "timestamp": "2026-11-18 12:00:01,123+0000",
    "service": "payment",
    "exception": 'Traceback (most recent call last):\n  File "/var/task/app.py", line 57, in '
    "handler\n    total = price(cart)\nKeyError: 'currency'",
    "exception_name": "KeyError",
    "xray_trace_id": "1-5759e988-bd862e3fe1be46a994272793",
}


def test_powertools_error_is_keyed_by_exception_name_and_message_template():
    line = json.dumps(POWERTOOLS)
    other_trace = json.dumps(
        {
            **POWERTOOLS,
            "message": "Failed to process order 99",
            "exception": "Traceback ...\n"
            "  File \"/var/task/other.py\", line 3, in f\nKeyError: 'currency'",
        }
    )
    assert signature(line) == "KeyError: Failed to process order <NUM>"
    assert signature(other_trace) == signature(line)
    # only the formatted traceback: the type comes from its last line
    bare = json.dumps({"level": "ERROR", "message": "boom", "exception": POWERTOOLS["exception"]})
    assert signature(bare) == "KeyError: 'currency'"


def test_lambda_runtime_json_error_is_keyed_by_type_and_message_not_the_stack():
    body = {
        "errorType": "ResourceNotFoundException",
        "errorMessage": "Requested resource not found: Table: orders not found",
        "requestId": "8f507cfc-1234-4697-b07a-ac58fc914c95",
        "stackTrace": ['  File "/var/task/app.py", line 12, in handler\n'],
    }
    a = f"2026-11-18T12:00:00.000Z\t8f507cfc-1234-4697-b07a-ac58fc914c95\tERROR\t{json.dumps(body)}"
    b = json.dumps(
        {
            **body,
            "stackTrace": ["somewhere else"],
            "errorMessage": body["errorMessage"].replace("orders", "carts"),
        }
    )
    assert (
        signature(a)
        == "ResourceNotFoundException: Requested resource not found: Table: <NAME> not found"
    )
    assert signature(b) == signature(a)
    assert signature(_line(1, "KeyError", "'currency'")["message"]) == "KeyError: 'currency'"


def test_lambda_json_log_format_and_node_invoke_error():
    json_format = json.dumps(
        {
            "timestamp": "2026-11-18T12:00:00Z",
            "level": "ERROR",
            "requestId": "r1",
            "message": {
                "errorType": "TypeError",
                "errorMessage": "bad operand 7",
                "stackTrace": [],
            },
        }
    )
    assert signature(json_format) == "TypeError: bad operand <NUM>"
    node = (
        "2026-11-18T12:00:00.000Z\tr1\tERROR\tInvoke Error \t"
        '{"errorType":"Error","errorMessage":"boom 42",'
        '"stack":["Error: boom 42","    at x (/var/task/index.js:1:2)"]}'
    )
    assert signature(node) == "Error: boom <NUM>"


def test_lambda_text_formats():
    rid = "8f507cfc-1234-4697-b07a-ac58fc914c95"
    node_text = f"2026-11-18T12:00:00.123Z\t{rid}\tERROR\tPayment failed for order 17"
    python_text = f"[ERROR]\t2026-11-18T12:00:00.123Z\t{rid}\tPayment failed for order 18"
    assert signature(node_text) == signature(python_text) == "Payment failed for order <NUM>"
    assert (
        signature("[ERROR] KeyError: 'sku'\rTraceback (most recent call last):")
        == "KeyError: 'sku'"
    )
    assert error_text('{"level":"INFO","message":"order 123 done"}') == "order 123 done"
    assert (
        signature("REPORT RequestId: 8f507cfc-1234-4697-b07a-ac58fc914c95\tDuration: 1.5 ms")
        == "REPORT RequestId: <UUID> Duration: <NUM> ms"
    )
    assert signature("") == ""


# --- bounded work ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "a1b2" * (1 << 18),  # one 1 MiB token of hex-like characters
        "0x" * (1 << 19),
        '"' * (1 << 20),
        "user " * (1 << 18),
        "Jul 1 " * (1 << 17),
        '{"a":' + "[" * (1 << 20),  # JSON nested deeper than Python recurses
        " " * (1 << 20) + "x 1",
        "x=1 (2) [3] 'a' \"b c d e f\" " * (1 << 15),
    ],
    ids=["hex", "0x", "quotes", "user", "month", "deep-json", "spaces", "mixed"],
)
def test_a_one_megabyte_line_takes_bounded_time(line):
    # A quadratic step would take minutes on 1 MiB; the line is read up to MAX_LINE_CHARS.
    started = time.perf_counter()
    one = signature(line)
    many = signatures([line, line])
    assert time.perf_counter() - started < 10
    assert len(one) <= 2 * MAX_LINE_CHARS and many[0] == many[1]


# --- comparison of windows -------------------------------------------------------------------


def test_empty_events_give_an_empty_table():
    empty = pd.DataFrame(
        {"timestamp": pd.Series(dtype="datetime64[us, UTC]"), "message": pd.Series(dtype=str)}
    )
    table = compare_signatures(empty, incident_start=T0, baseline_end=T0)
    assert table.empty and "status" in table.columns
    assert signature_findings(table) == []


def test_new_surging_steady_and_gone():
    rows = []
    for m in range(0, 60, 6):  # steady in both windows
        rows.append(_line(m, "TimeoutError", f"no reply after {3000 + m} ms"))
        rows.append(_line(m + 60, "TimeoutError", f"no reply after {3000 + m} ms"))
    rows += [_line(m, "ValueError", "bad input 7") for m in (5, 50)]  # surging below
    rows += [_line(60 + m, "ValueError", "bad input 9") for m in range(0, 30)]
    rows += [_line(m, "OldError", "gone now") for m in (10, 20)]
    rows += [_line(70 + m, "KeyError", "'currency'") for m in range(5)]
    table = compare_signatures(
        pd.DataFrame(rows),
        incident_start=T0 + pd.Timedelta("60min"),
        baseline_end=T0 + pd.Timedelta("60min"),
    )
    status = dict(zip(table["signature"], table["status"], strict=True))
    assert status == {
        "KeyError: 'currency'": "new",
        "ValueError: bad input <NUM>": "surging",
        "TimeoutError: no reply after <NUM> ms": "steady",
        "OldError: gone now": "gone",
    }
    assert list(table["status"]) == ["new", "surging", "steady", "gone"]
    new = table.iloc[0]
    assert new["incident_count"] == 5 and new["example_id"] == "e70"
    assert new["first_seen"] == T0 + pd.Timedelta("70min")
    findings = signature_findings(table)
    assert [f.kind for f in findings] == ["new_signature", "surging_signature"]
    assert findings[0].evidence[0].ref == "log:e70"


def test_a_new_value_of_a_variable_word_is_not_a_new_error():
    """Templates are learnt from both windows together: a catalog name first seen in the
    incident window fills a variable the baseline already had, it is no new error."""
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    rows = [
        _line(i * 5, "SyncError", f"sync of catalog {w} failed twice") for i, w in enumerate(words)
    ]
    rows += [_line(61 + i, "SyncError", "sync of catalog zulu failed twice") for i in range(4)]
    table = compare_signatures(
        pd.DataFrame(rows),
        incident_start=T0 + pd.Timedelta("60min"),
        baseline_end=T0 + pd.Timedelta("60min"),
    )
    assert list(table["signature"]) == ["SyncError: sync of catalog <*> failed twice"]
    assert table.iloc[0]["status"] != "new"


def test_a_rare_new_line_is_not_a_finding():
    rows = [_line(1, "A", "x"), _line(70, "B", "y")]
    table = compare_signatures(
        pd.DataFrame(rows),
        incident_start=T0 + pd.Timedelta("60min"),
        baseline_end=T0 + pd.Timedelta("60min"),
    )
    assert "new" in set(table["status"]) and signature_findings(table) == []


def test_precomputed_signatures_and_event_ids_are_used_as_given():
    t0 = pd.Timestamp("2026-11-18T12:00:00Z")
    events = pd.DataFrame(
        {
            "timestamp": [t0 + pd.Timedelta(minutes=m) for m in (1, 30, 31, 32)],
            "message": ["a", "b", "c", "d"],
            "signature": ["old", "fresh", "fresh", "fresh"],
            "event_id": ["p1", "p2", "p3", "p4"],
        }
    )
    table = compare_signatures(
        events,
        incident_start=t0 + pd.Timedelta(minutes=20),
        baseline_end=t0 + pd.Timedelta(minutes=20),
    )
    fresh = table.set_index("signature").loc["fresh"]
    assert fresh["status"] == "new" and fresh["incident_count"] == 3
    assert fresh["example_id"] == "p2"


def test_a_traceback_logged_as_one_event_is_named_by_its_exception() -> None:
    """A container's Python traceback in one event: the raised exception's line (the last of
    a chain), not "Traceback (most recent call last):", which every traceback shares."""
    frames = '  File "/app/main.py", line 14, in <module>\n    settings = Settings()\n'
    one = (
        "Traceback (most recent call last):\n" + frames + "pydantic_core._pydantic_core."
        "ValidationError: 1 validation error for Settings\ndatabase_url\n  Input should be a URL"
    )
    assert error_text(one) == (
        "pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings"
    )
    chained = (
        "[ERROR]\t2026-11-20T12:00:00.000Z\tf3b0c2d4\tTraceback (most recent call last):\n"
        + frames
        + "KeyError: 'id'\n\nDuring handling of the above exception, another exception "
        "occurred:\n\nTraceback (most recent call last):\n" + frames + "RuntimeError: wrapped"
    )
    assert error_text(chained) == "RuntimeError: wrapped"
    assert signature(one) != signature(chained)
    # Cut before its exception: the first line is all there is.
    assert error_text("Traceback (most recent call last):\n" + frames) == (
        "Traceback (most recent call last):"
    )
