"""Result typing shared by both paths (``type_insights``): numbers only when nothing is lost."""

from __future__ import annotations

import pandas as pd
import pytest

from incident_lib.sources.frames import rows_to_frame, type_insights

KINESIS_SEQ = "49590338271490256608559692538361571095921575989136588898"


def _typed(values: list[str | None], name: str = "v") -> pd.Series:
    return type_insights(pd.DataFrame({name: pd.Series(values, dtype="object")}))[name]


@pytest.mark.parametrize(
    ("values", "dtype", "first"),
    [
        (["1", "-2", "0"], "Int64", 1),
        (["9223372036854775807", "1"], "Int64", 9223372036854775807),
        (["15.0", "1.28E8", "2.5"], "float64", 15.0),
        (["1", "2.5"], "float64", 1.0),
        (["0.1", "-3e-2"], "float64", 0.1),
    ],
    ids=["ints", "int64_max", "java_doubles", "ints_and_floats", "decimals_shortest_repr"],
)
def test_numbers_whose_value_survives_are_typed(values, dtype, first):
    col = _typed(values)
    assert str(col.dtype) == dtype
    assert col[0] == first


@pytest.mark.parametrize(
    "values",
    [
        [KINESIS_SEQ],
        ["9223372036854775808"],  # int64 max + 1
        ["012345678901", "5"],  # leading zero: an identifier, not a number
        ["007"],
        ["+5"],
        [".5"],
        ["5."],
        ["9007199254740993"],  # in int64 but mixed with a float below
        ["0.1000000000000000055511151231257827"],
        ["1e400"],  # overflows a double
        ["NaN"],
        ["12", "n/a"],
    ],
)
def test_text_that_a_number_would_change_stays_text(values):
    if values == ["9007199254740993"]:
        values = ["9007199254740993", "0.5"]  # 2**53 + 1 is not a double
    col = _typed(values)
    assert str(col.dtype) in ("str", "string", "object")
    assert col.tolist() == values


def test_missing_values_stay_missing_in_every_type():
    assert _typed(["1", None]).tolist() == [1, pd.NA]
    text = _typed([KINESIS_SEQ, None])
    assert text[0] == KINESIS_SEQ and pd.isna(text[1])


@pytest.mark.parametrize("name", ["@ptr", "@logStream", "@requestId", "@log", "@message"])
def test_identifier_fields_stay_text_even_when_all_digits(name):
    assert _typed(["2024", "2025"], name).tolist() == ["2024", "2025"]


def test_aws_rows_keep_leading_zeros_and_long_digit_strings():
    frame = rows_to_frame(
        [
            [
                {"field": "@timestamp", "value": "2026-03-01 10:00:01.250"},
                {"field": "account", "value": "012345678901"},
                {"field": "seq", "value": KINESIS_SEQ},
                {"field": "count()", "value": "42"},
                {"field": "@memorySize", "value": "1.28E8"},
            ]
        ]
    )
    row = frame.iloc[0]
    assert row["account"] == "012345678901"
    assert row["seq"] == KINESIS_SEQ
    assert row["count()"] == 42 and str(frame["count()"].dtype) == "Int64"
    assert row["@memorySize"] == 128_000_000.0
    assert row["@timestamp"] == pd.Timestamp("2026-03-01T10:00:01.250Z")


def test_time_field_as_epoch_milliseconds():
    col = _typed(["1709287201250"], "@ingestionTime")
    assert col[0] == pd.Timestamp("2024-03-01T10:00:01.250Z")
