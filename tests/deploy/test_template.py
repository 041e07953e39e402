"""deploy/: the SAM template passes cfn-lint, its IAM policy is exactly the notebooks' reads,
and the image's handler exists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from incident_lib.sources.recorded import READ_PREFIXES, api_operation
from tests.deploy.policy import TEMPLATE, investigation_actions, template

ROOT = Path(__file__).resolve().parents[2]

#: Every AWS call incident_lib.sources.aws makes (tests/aws/test_investigate_aws.py checks the
#: calls one investigation made on the wire against the policy, too).
SOURCE_CALLS = {
    "cloudwatch:GetMetricData",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:DescribeAlarmHistory",
    "cloudwatch:ListMetrics",
    "logs:StartQuery",
    "logs:GetQueryResults",
    "logs:StopQuery",
    "logs:FilterLogEvents",
    "cloudtrail:LookupEvents",
}
#: API operations whose IAM action is named otherwise.
IAM_ACTION = {"s3:GetBucketNotificationConfiguration": "s3:GetBucketNotification"}
#: A notebook's read-only step: ``case.aws("service", "operation-name"``, or a step that can
#: do without the answer: ``pipes_steps.optional_call(case, "service", "operation-name"``.
_CASE_AWS = re.compile(
    r'(?:case\.aws\(|optional_call\(\s*case,)\s*"([a-z0-9-]+)",\s*"([a-z0-9-]+)"'
)
#: boto3 service names whose IAM prefix differs.
_IAM_PREFIX = {"stepfunctions": "states", "elbv2": "elasticloadbalancing"}


def notebook_calls() -> set[str]:
    """The IAM action of every ``case.aws`` step in the package's notebooks (API Gateway's
    reads are all ``apigateway:GET``)."""
    import nbformat

    actions = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            for service, op in _CASE_AWS.findall(cell.source):
                if service in ("apigateway", "apigatewayv2"):
                    actions.add("apigateway:GET")
                else:
                    # The API's own spelling (DescribeDBInstances, not DescribeDbInstances).
                    prefix = _IAM_PREFIX.get(service, service)
                    action = f"{prefix}:{api_operation(service, op)}"
                    actions.add(IAM_ACTION.get(action, action))
    return actions


CALLS = SOURCE_CALLS | notebook_calls()


def test_cfn_lint_passes() -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")  # the test extra's console script
    proc = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cfn_lint_catches_a_broken_template(tmp_path: Path) -> None:
    broken = TEMPLATE.read_text(encoding="utf-8").replace(
        "VisibilityTimeout: 1800", "Visibility: 1"
    )
    (tmp_path / "t.yaml").write_text(broken, encoding="utf-8")
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    proc = subprocess.run([str(cfn_lint), str(tmp_path / "t.yaml")], capture_output=True, text=True)
    assert proc.returncode != 0 and "Visibility" in proc.stdout


def test_policy_is_exactly_the_investigations_reads() -> None:
    actions = investigation_actions()
    assert actions == CALLS
    assert "lambda:GetFunctionConfiguration" in actions  # the notebooks' steps were read
    for action in actions - {"apigateway:GET"}:  # API Gateway's IAM actions are HTTP verbs
        assert action.split(":", 1)[1].startswith(
            (*READ_PREFIXES, "StartQuery", "StopQuery", "Filter")
        )
        assert "*" not in action


def test_queue_has_a_dlq_and_the_worker_reports_partial_failures() -> None:
    resources = template()["Resources"]
    redrive = resources["AlarmQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["AlarmDeadLetterQueue", "Arn"]}
    event = resources["Worker"]["Properties"]["Events"]["Alarms"]["Properties"]
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    timeout = resources["Worker"]["Properties"]["Timeout"]
    assert resources["AlarmQueue"]["Properties"]["VisibilityTimeout"] >= 6 * timeout
    pattern = resources["AlarmStateChangeRule"]["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]


def test_dockerfile_runs_the_lambda_handler() -> None:
    import importlib

    text = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    cmd = re.search(r'CMD \["([\w.]+)"\]', text)
    assert cmd is not None
    module, _, name = cmd.group(1).rpartition(".")
    assert callable(getattr(importlib.import_module(module), name))


def test_ecs_worker_runs_incident_serve_scaled_on_the_queue() -> None:
    resources = template()["Resources"]
    (container,) = resources["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert container["EntryPoint"] == ["incident"]
    command = container["Command"]
    assert command[0] == "serve" and command[command.index("--queue-url") + 1] == {
        "Ref": "AlarmQueue"
    }
    task_role = resources["TaskRole"]["Properties"]
    assert task_role["ManagedPolicyArns"] == [{"Ref": "InvestigationReadPolicy"}]
    backlog = resources["QueueBacklogAlarm"]["Properties"]
    assert backlog["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert backlog["AlarmActions"] == [{"Ref": "ScaleOut"}]
    assert resources["ServiceScaling"]["Properties"]["MinCapacity"] == 0
    # Lambda or ECS, never both on one queue by accident.
    assert resources["Worker"]["Condition"] == "UseLambda"
    assert resources["Service"]["Condition"] == "UseEcs"
