from __future__ import annotations

import json

import pandas as pd

from incident_lib.analysis import compare_signatures, mask, signature, signature_findings

T0 = pd.Timestamp("2026-11-18T12:00Z")


def _line(minute, etype, emsg):
    body = json.dumps({"level": "ERROR", "errorType": etype, "errorMessage": emsg})
    ts = (T0 + pd.Timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "timestamp": T0 + pd.Timedelta(minutes=minute),
        "message": f"{ts}\tabc-{minute}\tERROR\t{body}\n",
        "event_id": f"e{minute}",
    }


def test_masks_ids_numbers_and_data_but_keeps_key_names():
    assert mask("id 8f507cfc-1234-4697-b07a-ac58fc914c95 took 12.5 ms") == (
        "id <UUID> took <NUM> ms"
    )
    assert mask("key AKIAIOSFODNN7EXAMPLE from 10.1.2.3") == "key <KEY> from <IP>"
    assert mask("user 'bob@example.com' missing field 'currency'") == (
        "user '<STR>' missing field 'currency'"
    )
    assert mask("object at 0x7f3a2b9c") == "object at <HEX>"


def test_signature_of_each_line_shape():
    assert signature(_line(1, "KeyError", "'currency'")["message"]) == "KeyError: 'currency'"
    assert signature("[ERROR] KeyError: 'sku'\rTraceback (most recent call last):") == (
        "KeyError: 'sku'"
    )
    assert signature('{"level":"INFO","message":"order 123 done"}') == "order <NUM> done"
    assert (
        signature("REPORT RequestId: 8f507cfc-1234-4697-b07a-ac58fc914c95\tDuration: 1.5 ms")
        == "REPORT RequestId: <UUID> Duration: <NUM> ms"
    )
    assert signature("") == ""


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
