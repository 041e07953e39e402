"""Fixture-driven GetMetricData cases: ``cases/*.yaml``, one behaviour per file.

Each file has ``samples`` (rows of the store's metrics table), ``queries`` (MetricQuery
fields; namespace, name and dimensions default to the samples' metric), ``start``/``end`` and
either ``expected`` (``[id, time, value]`` rows, or ``[id, label, time, value]``) or ``error``
(a text the MetricQueryError message must contain, and ``error_id``, the query id it names).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from incident_lib.errors import MetricQueryError
from incident_lib.metrics import get_metric_data

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path, make_con, at_time, query) -> None:
    at = at_time
    case = load(path)
    con = make_con(case.get("samples", []))
    start, end = at(case.get("start", "00:00:00")), at(case.get("end", "01:00:00"))
    if "error" in case:
        with pytest.raises(MetricQueryError) as info:
            queries = [query(q) for q in case["queries"]]
            get_metric_data(con, queries, start, end)
        assert case["error"] in str(info.value)
        assert info.value.query_id == case.get("error_id")
        return
    frame = get_metric_data(con, [query(q) for q in case["queries"]], start, end)
    got = []
    for row in frame.itertuples(index=False):
        got.append((row.id, row.label, row.timestamp, row.value))
    expected = []
    for row in case["expected"]:
        if len(row) == 4:
            qid, label, time, value = row
        else:
            (qid, time, value), label = row, None
        expected.append((qid, label, at(time), float(value)))
    assert len(got) == len(expected), frame.to_string()
    for (gid, glabel, gtime, gvalue), (eid, elabel, etime, evalue) in zip(
        got, expected, strict=True
    ):
        assert (gid, gtime) == (eid, etime), frame.to_string()
        if elabel is not None:
            assert glabel == elabel
        assert math.isclose(gvalue, evalue, rel_tol=1e-9, abs_tol=1e-12), (gid, gtime, gvalue)


def test_cases_exist() -> None:
    assert len(CASES) >= 20
