"""The recording wrapper, the pack it feeds, and the PackSource that answers from it, on the
lambda_errors store (no notebook, no kernel)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from incident_lib.alarm import parse_alarm
from incident_lib.demo import alarm_event
from incident_lib.errors import NoDataError, QueryError
from incident_lib.evidence.manifest import query_entry, verify, write_manifest
from incident_lib.evidence.pack import write_pack
from incident_lib.evidence.packsource import PackSource
from incident_lib.evidence.rca import md_escape
from incident_lib.evidence.recorder import (
    RecordingSource,
    frame_from_parquet,
    frame_to_parquet,
    load_recordings,
    request_key,
)
from incident_lib.findings import FindingsDoc, QueryRecord
from incident_lib.sources import MetricQuery, open_source
from incident_lib.sources.local import LocalSource

GROUP = "/aws/lambda/checkout-api"
T0 = pd.Timestamp("2026-11-18T13:00:00Z")
T1 = pd.Timestamp("2026-11-18T15:00:00Z")
ERRORS = MetricQuery("errors", "AWS/Lambda", "Errors", {"FunctionName": "checkout-api"}, "Sum", 60)
LEAK = "fields @timestamp, @message | filter @message like /retrying payment/"


@pytest.fixture
def recording(lambda_errors_store, tmp_path) -> RecordingSource:
    return RecordingSource(LocalSource(lambda_errors_store), calls_dir=tmp_path / "calls")


def test_frames_round_trip_through_parquet_with_their_dtypes(tmp_path) -> None:
    frame = pd.DataFrame(
        {
            "t": pd.to_datetime(["2026-01-01T00:00:00Z", None], utc=True).astype(
                "datetime64[us, UTC]"
            ),
            "n": pd.array([1, None], dtype="Int64"),
            "x": [1.5, float("nan")],
            "s": pd.Series(["a", None], dtype="str"),
            "d": [{"FunctionName": "a"}, {"k": [1, 2]}],
        }
    )
    cols = frame_to_parquet(frame, tmp_path / "f.parquet")
    assert cols == ["d"]
    pd.testing.assert_frame_equal(frame_from_parquet(tmp_path / "f.parquet", cols), frame)


def test_every_call_is_recorded_and_written_as_it_returns(recording, tmp_path) -> None:
    recording.metric_data([ERRORS], T0, T1)
    recording.insights("stats count(*) by bin(5m)", [GROUP], T0, T1)
    recording.alarm_history("checkout-api-errors", T0 - pd.Timedelta(days=1), T1)
    recording.change_events(T0, T1, resource_names=["checkout-api"])
    recording.list_metrics("AWS/Lambda", "Errors", dimension_names=["FunctionName"])
    recording.describe_alarms(["checkout-api-errors"])
    with pytest.raises(NoDataError):
        recording.aws_call("lambda", "GetFunctionConfiguration", {"FunctionName": "x"})
    with pytest.raises(QueryError):
        recording.insights("stats count(*) by", [GROUP], T0, T1)
    methods = [r.method for r in recording.recordings]
    assert methods == [
        "metric_data",
        "insights",
        "alarm_history",
        "change_events",
        "list_metrics",
        "describe_alarms",
        "aws_call",
        "insights",
    ]
    on_disk = load_recordings(tmp_path / "calls")
    assert [r.method for r in on_disk] == methods
    assert on_disk[6].error["type"] == "NoDataError"
    for mem, disk in zip(recording.recordings, on_disk, strict=True):
        assert mem.key == disk.key
        if isinstance(mem.result, pd.DataFrame):
            pd.testing.assert_frame_equal(mem.result, disk.result)


def test_the_wrapper_is_the_source_for_everything_else(recording, lambda_errors_store) -> None:
    assert recording.name == str(lambda_errors_store.path)
    assert recording.region == lambda_errors_store.descriptor.region
    assert recording.store is recording.inner.store  # attributes fall through


def test_answers_are_masked_for_the_notebook_and_the_pack(recording) -> None:
    frame = recording.insights(LEAK, [GROUP], T0, T1)
    assert len(frame) == 1
    text = frame["@message"].iloc[0]
    assert "AKIAIOSFODNN7EXAMPLE" not in text and "hunter2" not in text
    assert "AKIAIOSF****" in text and "password=****" in text
    assert (
        frame["@message"].dtype
        == LocalSource(recording.inner.store).insights(LEAK, [GROUP], T0, T1)["@message"].dtype
    )


def test_the_same_request_has_the_same_key() -> None:
    a = request_key("insights", {"query": "x", "start": "1", "limit": None})
    assert a == request_key("insights", {"limit": None, "start": "1", "query": "x"})
    assert a != request_key("insights", {"query": "y", "start": "1", "limit": None})


def _pack(recording, tmp_path, lambda_errors_store) -> Path:
    alarm = parse_alarm(alarm_event(lambda_errors_store))
    info = write_pack(
        tmp_path / "incident",
        tmp_path / "calls",
        alarm=alarm,
        doc=FindingsDoc(),
        source_spec=str(lambda_errors_store.path),
        parameters={"start": T0.isoformat(), "end": T1.isoformat(), "log_groups": [GROUP]},
        raw_source=lambda: LocalSource(lambda_errors_store),
    )
    return info.path


def test_a_pack_answers_recorded_calls_as_they_were_answered(
    recording, tmp_path, lambda_errors_store
) -> None:
    metrics = recording.metric_data([ERRORS], T0, T1)
    counts = recording.insights("stats count(*) as n by bin(5m)", [GROUP], T0, T1)
    history = recording.alarm_history("checkout-api-errors", T0, T1)
    with pytest.raises(NoDataError) as denied:
        recording.aws_call("lambda", "GetFunctionConfiguration", {"FunctionName": "x"})
    pack = _pack(recording, tmp_path, lambda_errors_store)

    source = open_source(pack)
    assert isinstance(source, PackSource)
    pd.testing.assert_frame_equal(source.metric_data([ERRORS], T0, T1), metrics)
    pd.testing.assert_frame_equal(
        source.insights("stats count(*) as n by bin(5m)", [GROUP], T0, T1), counts
    )
    pd.testing.assert_frame_equal(source.alarm_history("checkout-api-errors", T0, T1), history)
    with pytest.raises(NoDataError) as again:
        source.aws_call("lambda", "GetFunctionConfiguration", {"FunctionName": "x"})
    assert str(again.value) == str(denied.value)
    assert source.recorded == 4 and not source.unrecorded

    # A question the run never asked: the local engine over the pack's raw events.
    fresh = source.insights("stats count(*) as n", [GROUP], T0, T1)
    assert fresh["n"].iloc[0] > 0 and len(source.unrecorded) == 1


def test_manifest_costs_logs_insights_by_bytes_scanned_from_get_query_results() -> None:
    record = QueryRecord(
        n=1,
        kind="insights",
        operation="StartQuery",
        text="fields @message",
        request={"queryString": "fields @message", "logGroupNames": [GROUP]},
    )
    call = {"attrs": {"statistics": {"bytesScanned": 3 * 2**30, "recordsScanned": 10.0}}}
    entry = query_entry(record, call, recorded_from="aws")
    assert entry["cost_usd"] == pytest.approx(0.015)
    assert entry["statistics"]["recordsScanned"] == 10.0 and entry["charged"]


def test_aws_statistics_reach_the_recording(monkeypatch) -> None:
    """AwsSource keeps GetQueryResults' statistics in the frame's attrs; the recorder keeps
    them for the manifest."""
    from tests.aws.conftest import make_stubbed

    stub = make_stubbed()
    start, end = pd.Timestamp("2026-03-01T10:00:00Z"), pd.Timestamp("2026-03-01T11:00:00Z")
    stub.logs.add_response(
        "start_query",
        {"queryId": "q1"},
        {
            "queryString": "fields @message",
            "logGroupNames": ["/aws/lambda/checkout"],
            "startTime": int(start.timestamp()),
            "endTime": int(end.timestamp()),
        },
    )
    stub.logs.add_response(
        "get_query_results",
        {
            "status": "Complete",
            "results": [[{"field": "@message", "value": "boom"}]],
            "statistics": {"bytesScanned": 2048.0, "recordsMatched": 1.0, "recordsScanned": 9.0},
        },
        {"queryId": "q1"},
    )
    recording = RecordingSource(stub.source)
    recording.insights("fields @message", ["/aws/lambda/checkout"], start, end)
    stats = recording.recordings[0].attrs["statistics"]
    assert stats == {"bytesScanned": 2048.0, "recordsMatched": 1.0, "recordsScanned": 9.0}


def test_verify_a_folder_against_its_manifest(tmp_path) -> None:
    (tmp_path / "pack").mkdir()
    (tmp_path / "a.txt").write_text("a", encoding="utf-8")
    (tmp_path / "pack" / "b.bin").write_bytes(b"\x00\x01")
    write_manifest(tmp_path, doc=FindingsDoc(), incident_id="i", alarm_name="a", source="aws")
    assert verify(tmp_path).ok
    (tmp_path / "pack" / "b.bin").write_bytes(b"\x00\x02")
    (tmp_path / "a.txt").unlink()
    (tmp_path / "c.txt").write_text("c", encoding="utf-8")
    result = verify(tmp_path)
    assert result.lines() == ["changed: pack/b.bin", "missing: a.txt", "unlisted: c.txt"]
    manifest = json.loads((tmp_path / "pack" / "manifest.json").read_text("utf-8"))
    assert "pack/manifest.json" not in manifest["files"]


@pytest.mark.parametrize(
    ("text", "markdown"),
    [
        ("<script>alert(1)</script>", r"\<script\>alert\(1\)\</script\>"),
        ("**bold** _it_ `code` [x](y) | pipe", r"\*\*bold\*\* \_it\_ \`code\` \[x\]\(y\) \| pipe"),
        ("# heading\n- item", r"\# heading - item"),  # lines folded: "-" is mid-line
        ("- item", r"\- item"),
        ("1. first", r"1\. first"),
        ("password=hunter2 AKIAIOSFODNN7EXAMPLE", r"password=\*\*\*\* AKIAIOSF\*\*\*\*"),
    ],
)
def test_markdown_escaping_keeps_incident_text_text(text: str, markdown: str) -> None:
    assert md_escape(text) == markdown
