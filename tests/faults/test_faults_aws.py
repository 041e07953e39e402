"""``incident investigate --source aws`` with AWS faults injected by a proxy in front of moto.

Every investigation ends with exit 0 or 3, within its deadline plus a bounded overshoot, and
every injected fault is visible in ``findings.json``: a section marked failed whose error names
the operation or the fault (a section marked partial counts: the alarm history, denied, leaves
"The alarm" partial with the chart shaded from the event). A fault that is still silent can be
listed with an ``xfail(strict=True)`` reason, so the fix there turns it into a failure to
remove the mark.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from incident_lib.cli import main
from incident_lib.timeutil import utc_now
from tests.aws.test_investigate_aws import _event, _seed

pytestmark = [pytest.mark.aws, pytest.mark.notebooks]

#: The deadline of a faulted run: long enough that every section is reached on a busy 2-core
#: machine (moto's missing percentiles cost GetMetricData retries), short where the fault is
#: one the deadline must cut (an endless query, a slow or throttling endpoint met first).
DEADLINE = 120
SHORT_DEADLINES = {
    ("GetMetricData", "slow:30"): 30,
    ("GetMetricData", "throttle"): 30,
    ("GetQueryResults", "status:Running"): 60,
}
#: What a run may take past its deadline: one read timeout (15 s) of a call in flight, the
#: kernel's start and the report, on a busy machine.
OVERSHOOT = 45


@pytest.fixture(scope="module")
def incident(moto_endpoint, tmp_path_factory):
    """A seeded Lambda incident on the moto server (seeded once for the module)."""
    import boto3

    from tests.aws.conftest import TEST_SETTINGS, reset_moto

    reset_moto(moto_endpoint)
    session = boto3.Session(region_name="us-east-1")
    made = {}

    def clients(service):
        if service not in made:
            made[service] = session.client(
                service, endpoint_url=moto_endpoint, config=TEST_SETTINGS.to_config()
            )
        return made[service]

    at = pd.Timestamp(utc_now()).floor("min") - pd.Timedelta(minutes=15)
    _seed(clients, at)
    path = tmp_path_factory.mktemp("fault-alarm") / "alarm.json"
    path.write_text(json.dumps(_event(at)))
    return path


def investigate(proxy, incident: Path, out: Path, monkeypatch, deadline=DEADLINE, **faults: str):
    """Run the CLI through the proxy with ``faults``; (exit code, findings, seconds)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    proxy.set(**faults)
    started = time.monotonic()
    code = main(
        [
            "investigate",
            str(incident),
            "--source",
            "aws",
            "--out",
            str(out),
            "--deadline",
            f"{deadline}s",
            "--quiet",
        ]
    )
    seconds = time.monotonic() - started
    folders = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert len(folders) == 1, folders
    findings = json.loads((folders[0] / "findings.json").read_text())
    return code, findings, seconds


def failed_naming(findings: dict, *needles: str) -> list[str]:
    """Names of failed or partial sections whose error mentions one of ``needles``."""
    return [
        s["name"]
        for s in findings["sections"]
        if s["status"] in ("failed", "partial")
        and any(n in (s.get("error") or "") for n in needles)
    ]


def test_baseline_without_faults(fault_proxy, incident, tmp_path, monkeypatch) -> None:
    code, findings, seconds = investigate(fault_proxy, incident, tmp_path, monkeypatch)
    statuses = {s["name"]: s["status"] for s in findings["sections"]}
    print(statuses, seconds, dict(fault_proxy.seen))
    assert code == 0, statuses
    assert set(statuses.values()) <= {"ok", "empty"}, findings["sections"]


# (operation, fault, what the failed section's error must mention, xfail reason)
FAULTS = [
    ("GetMetricData", "deny", ("GetMetricData", "access denied"), None),
    ("GetMetricData", "throttle", ("GetMetricData",), None),
    ("GetMetricData", "error500", ("GetMetricData",), None),
    ("GetMetricData", "reset", ("GetMetricData",), None),
    ("GetMetricData", "malformed", ("GetMetricData",), None),
    ("GetMetricData", "slow:30", ("GetMetricData",), None),
    ("StartQuery", "deny", ("StartQuery",), None),
    ("StartQuery", "throttle", ("StartQuery",), None),
    ("StartQuery", "error500", ("StartQuery",), None),
    ("StartQuery", "reset", ("StartQuery",), None),
    ("StartQuery", "malformed", ("StartQuery",), None),
    ("StartQuery", "slow:30", ("StartQuery",), None),
    ("GetQueryResults", "deny", ("GetQueryResults",), None),
    ("GetQueryResults", "throttle", ("GetQueryResults",), None),
    ("GetQueryResults", "error500", ("GetQueryResults",), None),
    ("GetQueryResults", "reset", ("GetQueryResults",), None),
    ("GetQueryResults", "malformed", ("GetQueryResults",), None),
    ("GetQueryResults", "slow:30", ("GetQueryResults",), None),
    ("GetQueryResults", "status:Failed", ("status Failed",), None),
    ("GetQueryResults", "status:Timeout", ("status Timeout",), None),
    ("GetQueryResults", "status:Cancelled", ("status Cancelled",), None),
    ("GetQueryResults", "status:Unknown", ("status Unknown",), None),
    ("GetQueryResults", "status:Running", ("deadline",), None),
    ("LookupEvents", "deny", ("LookupEvents", "access denied"), None),
    ("LookupEvents", "throttle", ("LookupEvents",), None),
    ("LookupEvents", "slow:30", ("LookupEvents",), None),
    ("DescribeAlarmHistory", "deny", ("DescribeAlarmHistory",), None),
    ("DescribeAlarmHistory", "throttle", ("DescribeAlarmHistory",), None),
    ("DescribeAlarmHistory", "error500", ("DescribeAlarmHistory",), None),
    ("DescribeAlarmHistory", "reset", ("DescribeAlarmHistory",), None),
    ("DescribeAlarmHistory", "malformed", ("DescribeAlarmHistory",), None),
]
#: The ones the default run tries (one per kind of fault); ``-m slow`` tries them all.
DEFAULT = {
    ("GetMetricData", "deny"),
    ("GetQueryResults", "status:Running"),
    ("DescribeAlarmHistory", "deny"),
}


def _params(default: bool) -> list:
    out = []
    for op, fault, needles, reason in FAULTS:
        if ((op, fault) in DEFAULT) != default:
            continue
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        if not default:
            marks.append(pytest.mark.slow)
        out.append(pytest.param(op, fault, needles, marks=marks, id=f"{op}-{fault}"))
    return out


def check_fault(proxy, incident, tmp_path, monkeypatch, op, fault, needles) -> None:
    deadline = SHORT_DEADLINES.get((op, fault), DEADLINE)
    code, findings, seconds = investigate(
        proxy, incident, tmp_path, monkeypatch, deadline, **{op: fault}
    )
    assert proxy.injected[op] > 0, f"{op} was never called: nothing injected"
    assert code in (0, 3), code
    assert seconds < deadline + OVERSHOOT, f"{seconds:.0f}s with a {deadline}s deadline"
    sections = {s["name"]: (s["status"], s.get("error", "")[:200]) for s in findings["sections"]}
    assert failed_naming(findings, *needles), f"{op} {fault} is silent: {sections}"
    assert code == 3


@pytest.mark.parametrize(("op", "fault", "needles"), _params(True))
def test_fault_is_visible(fault_proxy, incident, tmp_path, monkeypatch, op, fault, needles):
    check_fault(fault_proxy, incident, tmp_path, monkeypatch, op, fault, needles)


@pytest.mark.parametrize(("op", "fault", "needles"), _params(False))
def test_every_fault_is_visible(fault_proxy, incident, tmp_path, monkeypatch, op, fault, needles):
    check_fault(fault_proxy, incident, tmp_path, monkeypatch, op, fault, needles)
