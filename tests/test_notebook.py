"""The verbs notebooks are written with: sections that isolate failure, the telemetry verbs on a
real store (each keeps a query record), recorded AWS calls, and what ``show`` displays."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from incident_lib.alarm import parse_alarm
from incident_lib.catalog import resolve
from incident_lib.demo import alarm_event
from incident_lib.errors import AccessDeniedError, BadInputError, NoDataError
from incident_lib.findings import QUERY_MIMETYPE, SECTION_MIMETYPE, Finding
from incident_lib.notebook import Case, expression, metric, setup
from incident_lib.sources import open_source
from incident_lib.store import Store, StoreWriter


@pytest.fixture
def displayed(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Everything the verbs display, in order (IPython's display, captured)."""
    shown: list[Any] = []

    def capture(*objs: Any, raw: bool = False, **_: Any) -> None:
        shown.extend(objs)

    monkeypatch.setattr("IPython.display.display", capture)
    return shown


@pytest.fixture
def case(lambda_errors_store: Store, displayed: list[Any]) -> Case:
    alarm = parse_alarm(alarm_event(lambda_errors_store))
    params = dict(resolve(alarm).parameters)
    return setup(
        alarm_json=params["alarm_json"],
        source=str(lambda_errors_store.path),
        start=params["start"],
        end=params["end"],
        log_groups=params["log_groups"],
        function_name=params["function_name"],
    )


def _html(displayed: list[Any]) -> str:
    return "\n".join(
        d.get("text/html", "") if isinstance(d, dict) else _repr_html(d) for d in displayed
    )


def _repr_html(obj: Any) -> str:
    return obj._repr_html_() if hasattr(obj, "_repr_html_") else ""


# -- sections ------------------------------------------------------------------------------------
def test_a_failing_section_is_recorded_shown_and_not_raised(case: Case, displayed) -> None:
    with case.section("Logs"):
        raise AccessDeniedError("not allowed", operation="StartQuery", code="AccessDenied")
    status = case.sections[-1]
    assert (status.name, status.status) == ("Logs", "failed")
    assert "access denied" in status.error and "StartQuery" in status.error
    assert any(isinstance(d, dict) and SECTION_MIMETYPE in d for d in displayed)


def test_code_after_a_failed_section_still_runs(case: Case) -> None:
    with case.section("A"):
        raise RuntimeError("boom")
    ran = []
    with case.section("B"):
        ran.append(1)
        case.show("still here")
    assert ran == [1]
    assert [s.status for s in case.sections] == ["failed", "ok"]


def test_no_data_is_an_empty_section_not_a_failure(case: Case) -> None:
    with case.section("Logs"):
        raise NoDataError("no error lines in /aws/lambda/checkout-api")
    assert case.sections[-1].status == "empty"
    assert "no error lines" in case.sections[-1].error


def test_a_section_that_shows_nothing_is_empty(case: Case) -> None:
    with case.section("Siblings"):
        case.show(pd.DataFrame(), None)
    assert case.sections[-1].status == "empty"


def test_a_step_failing_after_results_were_shown_makes_the_section_partial(case: Case) -> None:
    with case.section("Traffic"):
        case.show(pd.DataFrame({"a": [1]}))
        raise AccessDeniedError("denied", operation="GetMetricData")
    assert case.sections[-1].status == "partial"


def test_a_problem_noted_in_a_section_makes_it_partial(case: Case) -> None:
    with case.section("The alarm"):
        case.show("facts")
        case.problem("alarm history unavailable")
    assert case.sections[-1].status == "partial"
    assert "history unavailable" in case.sections[-1].error


def test_sections_do_not_nest(case: Case) -> None:
    with case.section("Outer"), case.section("Inner"):
        pass
    assert case.sections[-1].status == "failed"
    assert "inside" in case.sections[-1].error


# -- telemetry verbs ---------------------------------------------------------------------------
def test_metrics_fetches_the_step_in_one_call_and_keeps_a_record(case: Case, displayed) -> None:
    fn = {"FunctionName": case.params["function_name"]}
    with case.section("Traffic"):
        frame = case.metrics(
            {
                "invocations": metric("AWS/Lambda", "Invocations", fn, "Sum"),
                "errors": metric("AWS/Lambda", "Errors", fn, "Sum"),
                "rate": expression("100 * errors / invocations", label="Error rate"),
            },
            period=60,
        )
    assert set(frame["id"]) == {"invocations", "errors", "rate"}
    record = case.queries[-1]
    assert (record.n, record.kind, record.operation) == (1, "metrics", "GetMetricData")
    assert record.rows == len(frame) and record.section == "Traffic"
    assert "AWS/Lambda Errors FunctionName=" in record.text and "100 * errors" in record.text
    assert record.start == case.start and record.end == case.end
    # What was asked is shown beside the answer, escaped.
    assert any(isinstance(d, dict) and QUERY_MIMETYPE in d for d in displayed)
    # A later section reads the series without the notebook's variables.
    errors = case.series("errors")
    assert isinstance(errors.index, pd.DatetimeIndex) and str(errors.index.tz) == "UTC"
    with pytest.raises(NoDataError):
        case.series("throttles")


def test_labels_name_the_statistic_when_it_is_not_a_count(case: Case) -> None:
    fn = {"FunctionName": case.params["function_name"]}
    frame = case.metrics({"p95": metric("AWS/Lambda", "Duration", fn, "p95")})
    assert set(frame["label"]) == {"Duration p95"}


def test_logs_runs_on_the_alarms_log_groups_and_dedents_the_query(case: Case) -> None:
    lines = case.logs(
        """
        fields @timestamp, @message
        | filter @message like /ERROR/
        | limit 5
        """
    )
    assert 0 < len(lines) <= 5
    record = case.queries[-1]
    assert record.text.startswith("fields @timestamp") and record.target == case.log_groups[0]


def test_a_failed_query_is_recorded_with_its_error(case: Case) -> None:
    with case.section("Logs"):
        case.logs("fields @message | frobnicate 3")
    assert case.sections[-1].status == "failed"
    assert case.queries[-1].error and case.queries[-1].rows == 0


def test_no_log_groups_is_no_data(case: Case) -> None:
    case.log_groups = []
    with case.section("Logs"):
        case.logs("fields @message")
    assert case.sections[-1].status == "empty"
    assert "no log groups" in case.sections[-1].error


def test_a_window_that_ends_before_it_starts_is_bad_input(case: Case) -> None:
    with pytest.raises(BadInputError):
        case.logs("fields @message", start=case.end, end=case.start)


def test_history_and_changes_are_fetched_once(case: Case) -> None:
    for _ in range(3):
        case.alarm_history()
        case.changes()
    assert [q.kind for q in case.queries] == ["history", "changes"]


# -- recorded AWS calls --------------------------------------------------------------------------
def test_a_mutating_aws_call_is_refused(case: Case) -> None:
    with case.section("Rollback"):
        case.aws("lambda", "update-function-code", FunctionName="x")
    assert case.sections[-1].status == "failed"
    assert "changes state" in case.sections[-1].error


def test_a_secret_returning_read_is_refused(case: Case) -> None:
    with pytest.raises(BadInputError, match="secret"):
        case.aws("secretsmanager", "get-secret-value", SecretId="db")


def test_an_unrecorded_call_on_a_store_says_it_needs_live_aws(case: Case) -> None:
    with case.section("Configuration"):
        case.aws("lambda", "get-function-configuration", FunctionName="nobody")
    status = case.sections[-1]
    assert status.status == "empty"
    assert "GetFunctionConfiguration" in status.error and "live AWS" in status.error


def test_a_recorded_call_is_answered_from_the_store_with_secrets_masked(
    tmp_path, displayed
) -> None:
    t = pd.Timestamp("2026-11-18T14:00:00Z")
    with StoreWriter(tmp_path / "store") as w:
        w.add_aws_calls(
            [
                {
                    "service": "lambda",
                    "operation": "GetFunctionConfiguration",
                    "parameters": {"FunctionName": "checkout"},
                    "response": {
                        "Timeout": 30,
                        "Environment": {
                            "Variables": {"DB_PASSWORD": "hunter2hunter2", "LOG_LEVEL": "INFO"}
                        },
                    },
                    "recorded_at": t,
                }
            ]
        )
    case = Case(
        alarm=None,  # type: ignore[arg-type]
        source=open_source(tmp_path / "store"),
        start=t - pd.Timedelta(hours=1),
        end=t,
    )
    with case.section("Configuration"):
        config = case.aws("lambda", "GetFunctionConfiguration", FunctionName="checkout")
        case.show(config)
    assert config["Timeout"] == 30
    assert config["Environment"]["Variables"]["DB_PASSWORD"] == "****"
    assert case.sections[-1].status == "ok"
    assert case.queries[-1].operation == "lambda:GetFunctionConfiguration"
    assert "hunter2" not in _html(displayed)


# -- showing and recording -----------------------------------------------------------------------
def test_text_is_shown_escaped_never_as_markup(case: Case, displayed) -> None:
    case.show('<img src=x onerror="alert(1)"> **bold** [x](javascript:alert(1))')
    html = _html(displayed)
    assert "<img" not in html and "&lt;img" in html


def test_long_tables_say_how_much_is_shown(case: Case, displayed) -> None:
    case.show(pd.DataFrame({"a": range(120)}))
    assert "50 of 120 rows shown" in _html(displayed)


def test_record_flattens_skips_none_masks_secrets_and_carries_run_stats(case: Case) -> None:
    leak = Finding(
        kind="new_signature", title="leak password=hunter2", detail="AKIAIOSFODNN7EXAMPLE"
    )
    doc = case.record(None, [leak, None], summary="key AKIAIOSFODNN7EXAMPLE")
    assert len(doc.findings) == 1
    assert "hunter2" not in doc.findings[0].title
    assert "AKIAIOSFODNN7EXAMPLE" not in doc.findings[0].detail + doc.summary
    assert doc.stats["source"] == str(case.source.name)


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


def test_a_flood_of_findings_is_cut_to_the_most_severe_with_a_count(case: Case) -> None:
    flood = [Finding(kind="new_signature", title=f"new error {i}") for i in range(500)]
    worst = Finding(kind="culprit_change", title="the culprit", severity="critical")
    doc = case.record(flood, worst, summary="x" * 10_000)
    assert doc.findings[0].title == "the culprit"
    assert len(doc.findings) == 26 and doc.findings[-1].kind == "more_findings"
    assert doc.findings[-1].title == "476 more findings not listed"
    assert doc.stats["findings_not_listed"] == 476
    assert len(doc.summary) <= 300


# -- error lines cut at their limit -----------------------------------------------------------
ERRORS_QUERY = r"""
    fields @timestamp, @requestId, @message
    | filter @message like /(?i)(\bERROR\b|exception|errorType)/
    | sort @timestamp desc
    | limit {n}
"""


def test_a_result_that_reaches_its_limit_is_marked_cut(case: Case) -> None:
    from incident_lib import steps

    with case.section("Error logs"):
        cut = case.logs(ERRORS_QUERY.format(n=5), start=steps.incident_start(case))
        whole = case.logs(ERRORS_QUERY.format(n=100000), start=steps.incident_start(case))
    assert len(cut) == 5 and cut.attrs["truncated"] and cut.attrs["limit"] == 5
    assert len(whole) > 5 and not whole.attrs.get("truncated")
    assert [q.truncated for q in case.queries[-2:]] == [True, False]


def test_signatures_from_two_windows_call_the_new_error_new(case: Case) -> None:
    from incident_lib import steps

    with case.section("Error logs"):
        split = steps.incident_start(case)
        baseline = case.logs(ERRORS_QUERY.format(n=5000), end=split)
        incident = case.logs(ERRORS_QUERY.format(n=5000), start=split)
        table = steps.error_signatures(case, incident, baseline=baseline)
        case.show(table)
    assert "new" in set(table["status"])
    assert case.sections[-1].status == "ok"


def test_without_a_baseline_read_nothing_is_called_new(case: Case) -> None:
    """One query cut at its limit inside the incident: the baseline was never read, so a
    signature absent from it is "unknown", not "new", and the section says why."""
    from incident_lib import steps

    with case.section("Error logs"):
        lines = case.logs(ERRORS_QUERY.format(n=20))
        table = steps.error_signatures(case, lines)
        case.show(table)
    assert pd.to_datetime(lines["@timestamp"], utc=True).min() >= steps.incident_start(case)
    assert "new" not in set(table["status"]) and "unknown" in set(table["status"])
    status = case.sections[-1]
    assert status.status == "partial"
    assert "stopped at its limit of 20 lines" in status.error
    assert "no signature can be called new" in status.error


def test_a_long_window_is_fetched_at_a_coarser_period_and_says_so(case: Case) -> None:
    fn = {"FunctionName": case.params["function_name"]}
    start, end = case.end - pd.Timedelta(days=3), case.end
    with case.section("Long"):
        frame = case.metrics(
            {"errors": metric("AWS/Lambda", "Errors", fn, "Sum")}, start=start, end=end
        )
        case.show(frame)
    # 3 days of 1-minute points would be 4,320: the next standard period, 5 minutes, is 864.
    assert case.queries[-1].text.endswith("(period 300s)")
    assert len(frame) <= 864
    assert "fetched at 300 s" in case.sections[-1].error


def test_the_threshold_of_a_sum_alarm_is_scaled_on_a_coarser_series(case: Case) -> None:
    """Errors Sum > 5 per 60 s, drawn over 300 s points, is a line at 25 labelled as such; the
    same frame at the alarm's own period keeps the threshold as it is."""
    from incident_lib.steps import alarm_chart

    fn = {"FunctionName": case.params["function_name"]}
    start, end = case.end - pd.Timedelta(days=3), case.end
    with case.section("Long"):
        coarse = case.metrics(
            {"errors": metric("AWS/Lambda", "Errors", fn, "Sum")}, start=start, end=end
        )
        fine = case.metrics({"errors": metric("AWS/Lambda", "Errors", fn, "Sum")})
    assert case.alarm.threshold == 5 and case.alarm.metric.period == 60
    line = [s for s in alarm_chart(case, coarse).layout.shapes if s.type == "line" and s.y0 == s.y1]
    texts = [a.text for a in alarm_chart(case, coarse).layout.annotations]
    assert [s.y0 for s in line] == [25.0]
    assert "threshold 5 per 60 s = 25 per 300 s" in texts
    fine_lines = [s.y0 for s in alarm_chart(case, fine).layout.shapes if s.y0 == s.y1]
    assert fine_lines == [5.0]
