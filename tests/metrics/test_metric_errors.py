"""Every way a GetMetricData request can be refused: MetricQueryError naming the query and
what is wrong, never a silently wrong answer."""

from __future__ import annotations

import pandas as pd
import pytest

from incident_lib.errors import BadInputError, MetricQueryError
from incident_lib.metrics import get_metric_data

SAMPLES = [{"t": "00:00:01", "value": 1.0}, {"t": "00:01:01", "value": 2.0}]
METRIC = {"id": "a", "stat": "Sum", "period": 60}


def _run(make_con, at_time, query, specs):
    con = make_con(SAMPLES)
    return get_metric_data(con, [query(s) for s in specs], at_time("00:00:00"), at_time("00:05:00"))


@pytest.mark.parametrize(
    ("expression", "qid", "needle"),
    [
        ("a + nope", "e", "unknown id 'nope'"),
        ("a +", "e", "at the end"),
        ("a b", "e", "expected an operator before 'b'"),
        ("(a + 1", "e", "expected ')'"),
        ("a + )", "e", "expected a value"),
        ("", "e", "empty expression"),
        ("a # 2", "e", "unexpected character '#'"),
        ("a > 1", "e", "operator '>'"),
        ("a == 1", "e", "operator '=='"),
        ("a AND a", "e", "operator 'AND'"),
        ("IF(a > 1, a)", "e", "operator '>'"),
        ("IF(a, 1, 0)", "e", "function IF is not supported"),
        ("ANOMALY_DETECTION_BAND(a, 2)", "e", "function ANOMALY_DETECTION_BAND is not supported"),
        (
            "SEARCH('{AWS/EC2,InstanceId} CPUUtilization', 'Average', 300)",
            "e",
            "function SEARCH is not supported",
        ),
        ("STDDEV(METRICS())", "e", "function STDDEV is not supported"),
        ("sum(a)", "e", "unknown function 'sum' (functions are uppercase)"),
        ("FROB(a)", "e", "unknown function 'FROB'"),
        ("AVG(a)", "e", "gives a single number, not a time series"),
        ("2 * 3", "e", "gives a single number"),
        ("FILL(a, NEAREST)", "e", "FILL takes a number, REPEAT or LINEAR, got NEAREST"),
        ("FILL(a)", "e", "FILL takes 2 arguments"),
        ("FILL(3, 0)", "e", "FILL needs a time series, got a number"),
        ("RATE(a, a)", "e", "RATE takes 1 argument(s), got 2"),
        ("DIFF(5)", "e", "DIFF needs a time series"),
        ("METRICS(a)", "e", "METRICS takes a string"),
        ("METRICS() + METRICS()", "e", "between two arrays"),
        ("a + 'x'", "e", "does not apply to a string"),
        ("a + REPEAT", "e", "'REPEAT' is not a value here"),
    ],
)
def test_expression_errors(make_con, at_time, query, expression, qid, needle) -> None:
    with pytest.raises(MetricQueryError) as info:
        _run(make_con, at_time, query, [METRIC, {"id": qid, "expression": expression}])
    assert info.value.query_id == qid
    assert needle in str(info.value)
    assert str(info.value).startswith(f"{qid}: ")


def test_cycle_names_the_ids(make_con, at_time, query) -> None:
    specs = [
        METRIC,
        {"id": "x", "expression": "y + a"},
        {"id": "y", "expression": "z * 2"},
        {"id": "z", "expression": "x - 1"},
    ]
    with pytest.raises(MetricQueryError, match="cycle: x -> y -> z -> x") as info:
        _run(make_con, at_time, query, specs)
    assert info.value.query_id == "x"


def test_self_reference_is_a_cycle(make_con, at_time, query) -> None:
    with pytest.raises(MetricQueryError, match="cycle: e -> e"):
        _run(make_con, at_time, query, [METRIC, {"id": "e", "expression": "e + 1"}])


def test_duplicate_ids(make_con, at_time, query) -> None:
    with pytest.raises(MetricQueryError, match="duplicate id") as info:
        _run(make_con, at_time, query, [METRIC, {"id": "a", "expression": "2 * a"}])
    assert info.value.query_id == "a"


@pytest.mark.parametrize(
    ("stat", "needle"),
    [
        ("tm99", "'tm99' (trimmed mean) is not supported"),
        ("TM(10%:90%)", "'TM(10%:90%)' (trimmed mean)"),
        ("IQM", "'IQM' (interquartile mean)"),
        ("wm90", "'wm90' (winsorized mean)"),
        ("WM(:95%)", "(winsorized mean)"),
        ("PR(:300)", "'PR(:300)' (percentile rank)"),
        ("tc90", "(trimmed count)"),
        ("TC(80:500)", "(trimmed count)"),
        ("ts90", "(trimmed sum)"),
        ("TS(5%:95%)", "(trimmed sum)"),
        ("sum", "unknown statistic 'sum'"),
        ("Avg", "unknown statistic 'Avg'"),
        ("P99", "unknown statistic 'P99'"),
        ("p101", "outside p0 to p100"),
        ("p99.12345678901", "unknown statistic"),
    ],
)
def test_statistic_errors(make_con, at_time, query, stat, needle) -> None:
    with pytest.raises(MetricQueryError) as info:
        _run(make_con, at_time, query, [{**METRIC, "id": "m", "stat": stat}])
    assert needle in str(info.value)
    assert info.value.query_id == "m"


def test_start_must_precede_end(make_con, at_time, query) -> None:
    con = make_con(SAMPLES)
    with pytest.raises(MetricQueryError, match="must be before end"):
        get_metric_data(con, [query(METRIC)], at_time("00:05:00"), at_time("00:05:00"))


def test_naive_times_are_refused(make_con, query) -> None:
    con = make_con(SAMPLES)
    with pytest.raises(BadInputError, match="timezone-aware"):
        get_metric_data(
            con, [query(METRIC)], pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-02")
        )


def test_errors_map_to_exit_status_2() -> None:
    assert MetricQueryError("x", query_id="a").exit_code == 2
