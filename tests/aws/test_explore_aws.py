"""explore live against AWS (a moto server on 127.0.0.1): the dimension pickers come from
ListMetrics, the chart from GetMetricData, the query box runs StartQuery, and a pin from a live
answer goes into the incident's pack like any other."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from incident_lib.alarm import parse_alarm
from incident_lib.demo import alarm_event
from incident_lib.evidence.manifest import verify, write_manifest
from incident_lib.explore import Explorer
from incident_lib.findings import FindingsDoc

pytestmark = pytest.mark.aws

GROUP = "/aws/lambda/checkout-api"


@pytest.fixture
def live_incident(tmp_path: Path, lambda_errors_store, moto, moto_clients, monkeypatch) -> Path:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto)
    alarm = parse_alarm(alarm_event(lambda_errors_store))
    # Data from the last hour, not from the demo alarm's day: CloudWatch Logs (and moto) reject
    # events older than 14 days, and the demo's day is fixed.
    t0 = pd.Timestamp.now(tz="UTC").floor("60s") - pd.Timedelta(minutes=50)
    cw = moto_clients("cloudwatch")
    for fn, base in (("checkout-api", 5.0), ("cart-api", 1.0)):
        for name in ("Errors", "Invocations"):
            data = [
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": "FunctionName", "Value": fn}],
                    "Timestamp": (t0 + pd.Timedelta(minutes=i)).to_pydatetime(),
                    "Value": base + i,
                    "Unit": "Count",
                }
                for i in range(30)
            ]
            cw.put_metric_data(Namespace="AWS/Lambda", MetricData=data[:20])
            cw.put_metric_data(Namespace="AWS/Lambda", MetricData=data[20:])
    logs = moto_clients("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="s")
    events = [
        {"timestamp": int((t0 + pd.Timedelta(minutes=i)).timestamp() * 1000),
         "message": f"ERROR KeyError 'currency' request {i}"}
        for i in range(10)
    ]  # fmt: skip
    logs.put_log_events(logGroupName=GROUP, logStreamName="s", logEvents=events)

    root = tmp_path / alarm.incident_id
    (root / "pack").mkdir(parents=True)
    (root / "alarm.json").write_text(alarm.model_dump_json(), encoding="utf-8")
    (root / "findings.json").write_text(FindingsDoc().model_dump_json(), encoding="utf-8")
    (root / "rca.md").write_text("# RCA draft\n\n## Action items\n", encoding="utf-8")
    nb = nbformat.v4.new_notebook()
    nb.metadata["incident"] = {
        "parameters": {
            "start": (t0 - pd.Timedelta(minutes=5)).isoformat(),
            "end": (t0 + pd.Timedelta(minutes=35)).isoformat(),
            "log_groups": [GROUP],
            "function_name": "checkout-api",
        }
    }
    nbformat.write(nb, root / "notebook.ipynb")
    write_manifest(root, doc=FindingsDoc(), incident_id="x", alarm_name=alarm.name, source="aws")
    return root


def test_explore_live_lists_charts_queries_and_pins(live_incident: Path) -> None:
    ex = Explorer.open(incident_dir=live_incident, source="aws")
    assert ex.source_spec == "aws"
    assert {"Errors", "Invocations"} <= set(ex.metric_names())  # ListMetrics
    assert set(ex.dimension_values()["FunctionName"]) == {"checkout-api", "cart-api"}
    a, b = ex.case.start, ex.case.end
    frame, _ = ex.metric_chart("Invocations", {"FunctionName": "cart-api"}, a, b)
    assert len(frame) == 30 and frame["value"].max() == 30.0
    out = ex.run_query("fields @timestamp, @message | limit 5", [GROUP], a, b)
    assert out.ok, out.error
    assert len(out.frame) == 5
    assert [r.operation for r in ex.history][-2:] == ["GetMetricData", "StartQuery"]
    pin = ex.pin("query table", "live KeyError lines")
    assert verify(live_incident).ok
    kept = json.loads((live_incident / "pack" / "pins" / f"pin-{pin.n}.json").read_text())
    assert kept["source"] == "aws" and kept["query"]["operation"] == "StartQuery"
