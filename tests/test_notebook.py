"""The notebook layer: sections that fail are shown and recorded, never raised; fetches are
made once per run, failures included."""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
import pytest

from incident_lib.errors import AccessDeniedError, NoDataError
from incident_lib.findings import Finding
from incident_lib.notebook import Case


class _Source:
    """Only what Case reads of a source (sections under test do not query it)."""

    name = "test-source"
    calls: ClassVar[dict[str, int]] = {"cloudwatch:GetMetricData": 2}


@pytest.fixture
def case() -> Case:
    t = pd.Timestamp("2026-11-18T14:00:00Z")
    return Case(alarm=None, source=_Source(), start=t - pd.Timedelta(hours=1), end=t)


def test_a_failing_section_is_recorded_and_not_raised(case: Case, capsys) -> None:
    def boom(_case: Case):
        raise AccessDeniedError("not allowed", operation="StartQuery", code="AccessDenied")

    case.show("Logs", boom)
    assert case.sections[-1].status == "failed"
    assert "access denied" in case.sections[-1].error
    assert "StartQuery" in case.sections[-1].error


def test_a_section_with_nothing_to_show_is_empty(case: Case) -> None:
    case.show("Siblings", lambda _c: [pd.DataFrame(), None])
    assert case.sections[-1].status == "empty"


def test_no_data_is_an_empty_section_not_a_failure(case: Case) -> None:
    def nothing(_case: Case):
        raise NoDataError("no error lines in /aws/lambda/checkout-api")

    case.show("Logs", nothing)
    assert case.sections[-1].status == "empty"
    assert "no error lines" in case.sections[-1].error


def test_a_section_with_results_is_ok(case: Case) -> None:
    case.show("Traffic", lambda _c: ["**hello**", pd.DataFrame({"a": [1]})])
    assert case.sections[-1].status == "ok"


def test_cached_fetches_once_and_remembers_failures(case: Case) -> None:
    calls = []

    def fetch():
        calls.append(1)
        raise AccessDeniedError("no", operation="LookupEvents")

    for _ in range(3):
        with pytest.raises(AccessDeniedError):
            case.cached("changes", fetch)
    assert len(calls) == 1
    assert case.cached("ok", lambda: 42) == 42
    assert case.cached("ok", lambda: 43) == 42


def test_record_masks_secrets_and_carries_run_stats(case: Case) -> None:
    doc = case.record(
        [
            Finding(
                kind="new_signature", title="leak password=hunter2", detail="AKIAIOSFODNN7EXAMPLE"
            )
        ],
        summary="key AKIAIOSFODNN7EXAMPLE",
    )
    assert "hunter2" not in doc.findings[0].title
    assert "AKIAIOSFODNN7EXAMPLE" not in doc.findings[0].detail + doc.summary
    assert doc.stats == {"source": "test-source", "api_calls": {"cloudwatch:GetMetricData": 2}}
