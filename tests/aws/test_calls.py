"""CallCounter: one count per API call, errors counted apart, not hidden by a Stubber."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from incident_lib.sources.calls import CallCounter

from .conftest import fake_session


def test_counts_calls_per_operation_and_errors():
    client = fake_session().client("cloudwatch")
    counter = CallCounter()
    counter.attach(client)
    counter.attach(client)  # idempotent: still one count per call
    with Stubber(client) as stub:
        stub.add_response("list_metrics", {"Metrics": []})
        stub.add_response("list_metrics", {"Metrics": []})
        stub.add_response("describe_alarms", {"MetricAlarms": []})
        stub.add_client_error("describe_alarms", "AccessDenied", http_status_code=403)
        client.list_metrics()
        client.list_metrics()
        client.describe_alarms()
        with pytest.raises(ClientError):
            client.describe_alarms()
    assert dict(counter) == {"cloudwatch:DescribeAlarms": 2, "cloudwatch:ListMetrics": 2}
    assert counter.total() == 4
    assert counter.errors == {"cloudwatch:DescribeAlarms": 1}
    assert counter.by_operation() == {"ListMetrics": 2, "DescribeAlarms": 2}
    assert counter.summary().startswith("4 AWS API calls (1 failed): cloudwatch:DescribeAlarms 2")
    counter.reset()
    assert counter.total() == 0
    assert counter.summary() == "0 AWS API calls"


def test_counts_across_several_clients():
    counter = CallCounter()
    logs = counter.attach(fake_session().client("logs"))
    sts = counter.attach(fake_session().client("sts"))
    with Stubber(logs) as s1, Stubber(sts) as s2:
        s1.add_response("stop_query", {"success": True})
        s2.add_response("get_caller_identity", {"Account": "123456789012"})
        logs.stop_query(queryId="q")
        sts.get_caller_identity()
    assert dict(counter) == {"logs:StopQuery": 1, "sts:GetCallerIdentity": 1}
    assert "missing" not in counter
