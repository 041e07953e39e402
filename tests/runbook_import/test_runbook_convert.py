"""One runbook command -> one step. Converted steps are run against a recording case, so the
tests check what the verbs are asked (not the generated text); mitigation and manual steps
are checked for their kind and reason."""

from __future__ import annotations

import types
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pytest

from incident_lib.notebook import expression as real_expression
from incident_lib.notebook import metric as real_metric
from incident_lib.runbook_import.convert import (
    CONVERTED,
    MANUAL,
    MITIGATION,
    Context,
    Step,
    convert,
)
from incident_lib.runbook_import.shell import ShellCommand, read_block

END = pd.Timestamp("2026-11-18T14:13:40Z")


class RecordingCase:
    """Stands in for :class:`incident_lib.notebook.Case`: records what each verb is asked."""

    def __init__(self) -> None:
        self.end = END
        self.start = END - pd.Timedelta(minutes=75)
        self.calls: list[tuple[str, tuple, dict]] = []
        self.alarm = types.SimpleNamespace(name="the-alarm")

    @contextmanager
    def section(self, name: str):
        self.calls.append(("section", (name,), {}))
        yield self

    def _record(self, verb: str, *args: Any, **kwargs: Any) -> pd.DataFrame:
        self.calls.append((verb, args, kwargs))
        return pd.DataFrame({"id": [], "timestamp": [], "value": []})

    def metrics(self, *a, **k):
        return self._record("metrics", *a, **k)

    def logs(self, *a, **k):
        return self._record("logs", *a, **k)

    def filter_logs(self, *a, **k):
        return self._record("filter_logs", *a, **k)

    def changes(self, *a, **k):
        return self._record("changes", *a, **k)

    def alarm_history(self, *a, **k):
        return self._record("alarm_history", *a, **k)

    def aws(self, *a, **k):
        self.calls.append(("aws", a, k))
        return {"Table": {"TableStatus": "ACTIVE"}}

    def show(self, *items):
        self.calls.append(("show", items, {}))

    def verb(self, name: str) -> tuple[tuple, dict]:
        found = [(a, k) for v, a, k in self.calls if v == name]
        assert len(found) == 1, self.calls
        return found[0]


def convert_one(text: str, alerts: tuple[str, ...] = ()) -> tuple[Step, Context]:
    ctx = Context(alerts=list(alerts))
    (cmd,) = [c for c in read_block(text) if isinstance(c, ShellCommand)]
    return convert(cmd, ctx, "step"), ctx


def run(step: Step, ctx: Context) -> RecordingCase:
    """Execute the step's section against a recording case, with the parameters' defaults."""
    assert step.kind == CONVERTED, step.reason
    case = RecordingCase()
    steps = types.SimpleNamespace(
        onset=lambda *a, **k: case.calls.append(("onset", a, k)),
        series=lambda frame, qid: ("series", qid),
        ranked_changes=lambda c, frame: frame,
        history_table=lambda frame: frame,
    )
    namespace: dict[str, Any] = {
        "case": case,
        "steps": steps,
        "metric": real_metric,
        "timeseries": lambda *a, **k: None,
        "pd": pd,
        "jmespath": __import__("jmespath"),
    }
    namespace.update({p.name: p.default for p in ctx.params.params.values()})
    code = "\n".join(['with case.section("step"):', *step.code])
    exec(compile(code, "<step>", "exec"), namespace)
    return case


# -- metrics -------------------------------------------------------------------------------------
def test_get_metric_statistics_with_several_statistics_and_percentiles():
    step, ctx = convert_one(
        "aws cloudwatch get-metric-statistics --namespace AWS/Lambda --metric-name Duration "
        "--dimensions Name=FunctionName,Value=checkout-api --period 60 "
        "--statistics Average Maximum --extended-statistics p99 p99.9 "
        "--start-time $(date -d '1 hour ago' --iso-8601) --end-time $(date --iso-8601)"
    )
    case = run(step, ctx)
    (queries,), kwargs = case.verb("metrics")
    assert kwargs == {"period": 60}  # the last hour is the investigation window
    assert {qid: (q.name, q.stat, dict(q.dimensions)) for qid, q in queries.items()} == {
        "duration_average": ("Duration", "Average", {"FunctionName": "checkout-api"}),
        "duration_maximum": ("Duration", "Maximum", {"FunctionName": "checkout-api"}),
        "duration_p99": ("Duration", "p99", {"FunctionName": "checkout-api"}),
        "duration_p99_9": ("Duration", "p99.9", {"FunctionName": "checkout-api"}),
    }
    # The first metric step looks for the onset, on its first series, not as counts.
    (_, series), onset_kw = case.verb("onset")
    assert series == ("series", "duration_average") and "counts" not in onset_kw
    assert ctx.params.params["function_name"].dimension == "FunctionName"


def test_comma_joined_metric_names_become_one_query_each():
    step, ctx = convert_one(
        "aws cloudwatch get-metric-statistics --namespace AWS/DynamoDB "
        "--metric-name ConsumedReadCapacityUnits,ConsumedWriteCapacityUnits "
        "--dimensions Name=TableName,Value=orders --period 300 --statistics Sum "
        "--start-time $(date -d '2 hours ago' --iso-8601) --end-time $(date --iso-8601)"
    )
    case = run(step, ctx)
    (queries,), kwargs = case.verb("metrics")
    assert [q.name for q in queries.values()] == [
        "ConsumedReadCapacityUnits",
        "ConsumedWriteCapacityUnits",
    ]
    assert kwargs["start"] == END - pd.Timedelta(hours=2)  # looks back further than the window
    assert case.verb("onset")[1] == {"label": "ConsumedReadCapacityUnits", "counts": True}
    assert any("comma" in n for n in step.notes)
    assert ctx.params.params["table_name"].default == "orders"


@pytest.mark.parametrize(
    "dimensions",
    [
        "Name=FunctionName,Value=fn Name=Resource,Value=fn:live",
        "Name=FunctionName,Value=fn,Name=Resource,Value=fn:live",
        '\'[{"Name":"FunctionName","Value":"fn"},{"Name":"Resource","Value":"fn:live"}]\'',
        "FunctionName=fn Resource=fn:live",
    ],
    ids=["shorthand", "one-word", "json", "key-value"],
)
def test_dimension_spellings(dimensions):
    step, ctx = convert_one(
        f"aws cloudwatch get-metric-statistics --namespace AWS/Lambda --metric-name Errors "
        f"--dimensions {dimensions} --period 300 --statistics Sum"
    )
    (queries,), _ = run(step, ctx).verb("metrics")
    assert dict(queries["errors"].dimensions) == {"FunctionName": "fn", "Resource": "fn:live"}


def test_get_metric_data_queries_and_expressions():
    step, ctx = convert_one(
        "aws cloudwatch get-metric-data --metric-data-queries "
        '\'[{"Id":"errors","MetricStat":{"Metric":{"Namespace":"AWS/Lambda",'
        '"MetricName":"Errors","Dimensions":[{"Name":"FunctionName","Value":"fn"}]},'
        '"Period":60,"Stat":"Sum"}},{"Id":"rate","Expression":"errors * 2"}]\' '
        "--start-time $(date -u -v-3H +%Y-%m-%dT%H:%M:%SZ) "
        "--end-time $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    )
    assert "expression" in ctx.uses
    case = RecordingCase()
    ns = {
        "case": case,
        "metric": real_metric,
        "expression": real_expression,
        "timeseries": lambda *a, **k: None,
        "pd": pd,
        "steps": types.SimpleNamespace(onset=lambda *a, **k: None, series=lambda *a: None),
        **{p.name: p.default for p in ctx.params.params.values()},
    }
    exec("\n".join(['with case.section("s"):', *step.code]), ns)
    (queries,), kwargs = case.verb("metrics")
    assert queries["errors"].stat == "Sum" and queries["rate"].expression == "errors * 2"
    assert kwargs == {"period": 60, "start": END - pd.Timedelta(hours=3)}


# -- logs ----------------------------------------------------------------------------------------
def test_filter_log_events_keeps_the_pattern_and_derives_the_log_group():
    step, ctx = convert_one(
        "aws logs filter-log-events --log-group-name /aws/lambda/stock-api "
        "--start-time $(date -d '15 minutes ago' +%s)000 "
        '--filter-pattern "{ $.level = \\"ERROR\\" }" --max-items 10'
    )
    case = run(step, ctx)
    (pattern,), kwargs = case.verb("filter_logs")
    assert pattern == '{ $.level = "ERROR" }'
    assert kwargs == {
        "log_groups": ["/aws/lambda/stock-api"],
        "start": END - pd.Timedelta(minutes=15),
        "limit": 10,
    }
    assert "/aws/lambda/{function_name}" in "\n".join(step.code)


def test_start_query_runs_the_query_text():
    step, ctx = convert_one(
        "aws logs start-query --log-group-name /app/prod "
        "--start-time $(date -d '1 hour ago' +%s) --end-time $(date +%s) "
        "--query-string 'fields @timestamp, @message | filter @message like /ERROR/ | limit 20'"
    )
    (query,), kwargs = run(step, ctx).verb("logs")
    assert " ".join(query.split()) == (
        "fields @timestamp, @message | filter @message like /ERROR/ | limit 20"
    )
    assert kwargs == {"log_groups": ["/app/prod"]}
    assert ctx.params.params["log_group"].default == "/app/prod"


def test_logs_tail_is_the_recent_events():
    step, ctx = convert_one("aws logs tail /ecs/app --since 2h --follow --format short")
    (pattern,), kwargs = run(step, ctx).verb("filter_logs")
    assert pattern == ""
    assert kwargs == {"log_groups": ["/ecs/app"], "start": END - pd.Timedelta(hours=2)}
    assert any("--follow" in n for n in step.notes)


def test_a_computed_log_group_reads_the_alarm_s_log_groups_and_says_so():
    step, ctx = convert_one(
        "aws logs filter-log-events --log-group-name "
        "API-Gateway-Execution-Logs_$(aws apigateway get-rest-apis --query 'items[0].id' "
        "--output text)/prod --filter-pattern ERROR"
    )
    (_, kwargs) = run(step, ctx).verb("filter_logs")
    assert "log_groups" not in kwargs
    assert any("alarm's log groups" in n for n in step.notes)


# -- changes, history, recorded calls ------------------------------------------------------------
def test_cloudtrail_lookup_events_is_the_changes_step():
    step, ctx = convert_one(
        "aws cloudtrail lookup-events --lookup-attributes "
        "AttributeKey=ResourceName,AttributeValue=checkout-api --max-results 50"
    )
    (names,), _ = run(step, ctx).verb("changes")
    assert names == ["checkout-api"]
    assert ctx.changes


def test_the_alarm_s_history_is_the_history_verb():
    step, ctx = convert_one(
        "aws cloudwatch describe-alarm-history --alarm-name api-errors --max-records 20",
        alerts=("api-errors",),
    )
    run(step, ctx).verb("alarm_history")


def test_describe_calls_are_recorded_calls_with_typed_boto3_parameters():
    step, ctx = convert_one(
        "aws ecs describe-services --cluster prod --services api worker "
        "--query 'services[0].deployments'"
    )
    case = run(step, ctx)
    (service, operation), params = case.verb("aws")
    assert (service, operation) == ("ecs", "describe-services")
    assert params == {"cluster": "prod", "services": ["api", "worker"]}
    assert ctx.params.params["cluster_name"].dimension == "ClusterName"
    assert ctx.params.params["service_name_2"].dimension is None  # one binds, not both
    shown = [items for verb, items, _ in case.calls if verb == "show"]
    assert shown[0][0] is None  # the runbook's --query, applied to the answer


def test_s3api_is_the_s3_service_and_s3_ls_is_list_objects():
    step, ctx = convert_one("aws s3api list-object-versions --bucket data --prefix raw/")
    (service, op), params = run(step, ctx).verb("aws")
    assert (service, op, params) == (
        "s3",
        "list-object-versions",
        {"Bucket": "data", "Prefix": "raw/"},
    )
    step, ctx = convert_one("aws s3 ls s3://data/year=$(date +%Y)/ --recursive | tail -5")
    (service, op), params = run(step, ctx).verb("aws")
    assert (service, op) == ("s3", "list-objects-v2")
    assert params == {"Bucket": "data", "Prefix": f"year={END:%Y}/"}


def test_resource_literals_become_parameters_bound_to_dimensions():
    ctx = Context()
    for text in (
        "aws lambda get-function --function-name stock-api",
        "aws logs filter-log-events --log-group-name /aws/lambda/stock-api",
        "aws dynamodb describe-table --table-name stock-table",
        "aws lambda get-function --function-name other-fn",
    ):
        (cmd,) = [c for c in read_block(text) if isinstance(c, ShellCommand)]
        assert convert(cmd, ctx, "t").kind == CONVERTED
    params = {p.name: (p.default, p.dimension) for p in ctx.params.params.values()}
    assert params == {
        "function_name": ("stock-api", "FunctionName"),
        "table_name": ("stock-table", "TableName"),
        "function_name_2": ("other-fn", None),
    }


# -- never run -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "aws lambda update-function-configuration --function-name f --timeout 30",
        "aws ssm put-parameter --name /x --value y --overwrite",
        "aws dynamodb delete-table --table-name t",
        "aws sqs purge-queue --queue-url https://sqs/x",
        "aws dynamodb create-backup --table-name t --backup-name b-$(date +%Y%m%d)",
        "aws rds modify-db-instance --db-instance-identifier d --apply-immediately",
        "aws autoscaling set-desired-capacity --auto-scaling-group-name a --desired-capacity 6",
        "aws rds reboot-db-instance --db-instance-identifier d",
        "aws ec2 stop-instances --instance-ids i-1",
        "aws ec2 start-instances --instance-ids i-1",
        "aws lambda invoke --function-name f /tmp/out.json",
        "aws ssm start-session --target i-1",
        "aws ssm send-command --document-name AWS-RunShellScript --instance-ids i-1",
        "terraform apply -var=x=1",
        "terraform destroy",
        "ssh ec2-user@10.0.0.1",
        "kubectl apply -f deploy.yaml",
        "kubectl rollout restart deployment/api",
        "kubectl scale deployment api --replicas=5",
        "kubectl delete pod api-1",
        "systemctl restart nginx",
        "sudo systemctl restart app",
        "psql -U admin -c 'DROP INDEX idx_orders'",
        'psql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"',
        "docker restart api",
        "docker-compose -f local.yml restart postgres",
        "redis-cli -h cache FLUSHDB",
        "kill -9 1234",
        "make docker-restart",
        "cdk deploy --all",
        "helm rollback api 3",
        "git push origin rollback",
        "curl -X DELETE https://api/items/1",
    ],
)
def test_commands_that_change_things_are_mitigation(text):
    step, _ = convert_one(text)
    assert step.kind == MITIGATION, step.reason
    assert not step.code


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("curl -s https://status.aws.amazon.com/ | grep -i dynamodb", "HTTP request"),
        ("psql -U admin -c 'SELECT count(*) FROM pg_stat_activity'", "PostgreSQL"),
        ("kubectl get pods -n prod", "Kubernetes"),
        ("promtool query instant http://prom rate(x[5m])", "promtool"),
        ("histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m]))", "PromQL"),
        ("container_memory_usage_bytes", "PromQL"),
        ("git log --oneline -10", "git"),
        ("./scripts/diagnose.sh --since 1h", "script"),
        ("aws dynamodb scan --table-name t --limit 5", "customer data"),
        ("aws ssm get-parameter --name /db/password", "secret"),
        ("aws lambda get-function --function-name [FUNCTION_NAME]", "fill in"),
        ("aws apigateway get-deployments --rest-api-id YOUR_API_ID", "fill in"),
        ("aws lambda get-function --function-name $FUNC", "shell variable"),
        ("aws athena start-query-execution --query-string 'SELECT 1'", "Athena"),
        ("aws s3 cp s3://b/k -", "copies"),
        ("aws frobnicate get-widgets", "not an operation botocore knows"),
        ("aws lambda get-function --function-name f --bogus 1", "no argument --bogus"),
        ("watch -n 5 'curl -s http://localhost:9090'", "repeated"),
    ],
)
def test_what_cannot_be_converted_is_manual_with_the_reason(text, why):
    step, _ = convert_one(text)
    assert step.kind == MANUAL
    assert why in step.reason
