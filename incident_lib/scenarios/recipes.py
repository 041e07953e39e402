"""Ready-made pieces for :mod:`incident_lib.scenarios.services` declarations: the metrics a
service publishes for a request stream, its log lines, and the read-only calls a runbook makes
about it, in the shapes AWS uses. Each returns plain kit objects, so a scenario mixes them with
its own. Add a service here (EC2, RDS, ALB ...) the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from incident_lib.scenarios.lambda_logs import app_line, error_payload, report_line, start_line
from incident_lib.scenarios.services import (
    ACCOUNT,
    REGION,
    Call,
    Context,
    Gauge,
    Metric,
    Where,
    iso,
    recorded,
)


def failed(frame: pd.DataFrame) -> pd.Series:
    """Rows that did not succeed (any effect's outcome)."""
    return frame["outcome"] != "ok"


def status_between(lo: int, hi: int) -> Where:
    return lambda f: (f["status"] >= lo) & (f["status"] <= hi)


def outcome_is(*outcomes: str) -> Where:
    return lambda f: f["outcome"].isin(outcomes)


def not_outcome(*outcomes: str) -> Where:
    return lambda f: ~f["outcome"].isin(outcomes)


# -- API Gateway ---------------------------------------------------------------------------------
def apigateway_metrics(
    api: str, stage: str, stream: str | tuple[str, ...], *, overhead_ms: float = 12.0
) -> list:
    """AWS/ApiGateway (REST API, ``ApiName``/``Stage``): Count, 5XXError and 4XXError (a 0 or
    a 1 per request, so Average is the rate), Latency and IntegrationLatency (raw samples)."""
    dims = {"ApiName": api, "Stage": stage}
    return [
        Metric("AWS/ApiGateway", "Count", dims, stream, "count"),
        Metric("AWS/ApiGateway", "5XXError", dims, stream, "flag", status_between(500, 599)),
        Metric("AWS/ApiGateway", "4XXError", dims, stream, "flag", status_between(400, 499)),
        Metric(
            "AWS/ApiGateway",
            "Latency",
            dims,
            stream,
            "samples",
            unit="Milliseconds",
            offset=overhead_ms,
        ),
        Metric(
            "AWS/ApiGateway",
            "IntegrationLatency",
            dims,
            stream,
            "samples",
            not_outcome("client_error"),
            unit="Milliseconds",
        ),
    ]


def access_log_line(row: Mapping[str, Any]) -> str:
    """A REST API access log line in JSON ($context variables), one per request."""
    method, _, path = str(row["kind"]).partition(" ")
    status = int(row["status"])
    latency = float(row["latency_ms"])
    integration = {
        "ok": 200,
        "error": 200,  # a Lambda proxy function error: the integration answered, API says 502
        "timeout": None,
        "client_error": None,
    }.get(str(row["outcome"]), 200)
    error = {
        "timeout": "Endpoint request timed out",
        "error": "Lambda function error" if status == 502 else "",
    }.get(str(row["outcome"]), "")
    return json.dumps(
        {
            "requestId": row["request_id"],
            "ip": row["client"],
            "requestTime": iso(row["time"]),
            "httpMethod": method,
            "resourcePath": path,
            "status": status,
            "protocol": "HTTP/1.1",
            "responseLength": 0 if status >= 400 else 512,
            "responseLatency": round(latency),
            "integrationLatency": None if integration is None else round(latency * 0.92),
            "integrationStatus": integration,
            "integrationError": error or None,
        },
        separators=(",", ":"),
    )


def apigateway_calls(
    api: str,
    api_id: str,
    stage: str,
    routes: Sequence[str],
    function: str,
    access_group: str,
    *,
    rate_limit: float = 10000.0,
    burst_limit: int = 5000,
) -> list[Call]:
    """GetRestApis, GetStage (access logging to ``access_group``, the stage's throttling
    limits), GetResources with the methods' Lambda proxy integrations to ``function`` and
    GetUsagePlans (none)."""
    fn_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{fn_arn}/invocations"
    resources: dict[str, dict[str, Any]] = {}
    for i, route in enumerate(routes):
        method, _, path = route.partition(" ")
        res = resources.setdefault(
            path,
            {"id": f"r{i}x{len(path)}", "path": path, "resourceMethods": {}},
        )
        res["resourceMethods"][method] = {
            "httpMethod": method,
            "authorizationType": "NONE",
            "methodIntegration": {
                "type": "AWS_PROXY",
                "httpMethod": "POST",
                "uri": uri,
                "timeoutInMillis": 29000,
            },
        }
    return [
        recorded(
            "apigateway",
            "GetRestApis",
            {"items": [{"id": api_id, "name": api, "createdDate": "2025-03-02T10:11:12Z"}]},
            limit=500,
        ),
        recorded(
            "apigateway",
            "GetStage",
            {
                "stageName": stage,
                "deploymentId": "d3pl0y",
                "accessLogSettings": {
                    "destinationArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{access_group}",
                    "format": '{"requestId":"$context.requestId","status":"$context.status"}',
                },
                "methodSettings": {
                    "*/*": {"throttlingBurstLimit": burst_limit, "throttlingRateLimit": rate_limit}
                },
                "lastUpdatedDate": "2026-10-01T08:00:00Z",
            },
            restApiId=api_id,
            stageName=stage,
        ),
        recorded(
            "apigateway",
            "GetResources",
            {"items": list(resources.values())},
            restApiId=api_id,
            embed=["methods"],
        ),
        recorded("apigateway", "GetUsagePlans", {"items": []}, limit=500),
    ]


# -- Lambda --------------------------------------------------------------------------------------
def lambda_metrics(
    function: str,
    stream: str | tuple[str, ...],
    *,
    errors: Where | None = None,
    throttled: Where | None = None,
    limit: float | None = None,
    invoked: Where | None = None,
) -> list:
    """AWS/Lambda for ``function`` invoked once per row of ``stream`` (those ``invoked``
    selects: a request the API throttled never reaches it): Invocations, Errors, Throttles
    (flags), Duration (raw samples) and ConcurrentExecutions (mean in flight, at most
    ``limit``)."""
    dims = {"FunctionName": function}
    if errors is None:  # a throttled request never ran, so it is not an error
        errors = (lambda f: failed(f) & ~throttled(f)) if throttled is not None else failed
    ran = (lambda f: ~throttled(f)) if throttled is not None else None
    no = throttled or (lambda f: pd.Series(False, index=f.index))
    if invoked is not None:
        ran_or_all = ran
        ran = (lambda f: invoked(f) & ran_or_all(f)) if ran_or_all is not None else invoked
    return [
        Metric("AWS/Lambda", "Invocations", dims, stream, "count", ran),
        Metric("AWS/Lambda", "Errors", dims, stream, "flag", errors, among=invoked),
        Metric("AWS/Lambda", "Throttles", dims, stream, "flag", no, among=invoked),
        Metric("AWS/Lambda", "Duration", dims, stream, "samples", ran, unit="Milliseconds"),
        Gauge(
            "AWS/Lambda",
            "ConcurrentExecutions",
            dims,
            lambda ctx: np.minimum(concurrency(ctx, stream, ran), limit or np.inf),
            noise=0.0 if limit else 0.05,
        ),
    ]


def concurrency(
    ctx: Context, stream: str | tuple[str, ...], where: Where | None = None
) -> np.ndarray:
    """Mean executions in flight per minute: requests x mean duration / 60 s (at least 1 when
    any ran)."""
    n = ctx.counts(stream, where)
    busy = n * ctx.mean(stream, "latency_ms", where) / 60_000.0
    return np.where(n > 0, np.maximum(busy, 1.0), 0.0)


_STACKS = {
    "default": [("/var/task/app.py", 57, "handler", "return process(event)")],
}


def lambda_error_line(
    stack: Sequence[tuple[str, int, str, str]] = (),
) -> Any:
    """A Lambda application ERROR line (JSON with errorType/errorMessage) for a failed row whose
    ``error`` is ``"Type: message"``; ``Task timed out after N seconds`` for a timeout."""
    frames = list(stack) or _STACKS["default"]

    def line(row: Mapping[str, Any]) -> str:
        ts = row["time"] + pd.Timedelta(milliseconds=float(row["latency_ms"]))
        if row["outcome"] == "timeout":
            return f"{iso(ts)} {row['request_id']} Task timed out after 30.03 seconds\n"
        etype, _, msg = str(row["error"]).partition(": ")
        body = error_payload(
            str(row["request_id"]),
            error_type=etype or "Error",
            error_message=msg,
            stack=frames,
            extra={"route": row["kind"]},
        )
        return app_line(ts, str(row["request_id"]), "ERROR", body)

    return line


def lambda_calls(
    function: str,
    *,
    timeout: int = 30,
    memory: int = 1024,
    environment: Mapping[str, str] | None = None,
    reserved: int | None = None,
    account_limit: int = 1000,
    unreserved_min: int = 100,
) -> list[Call]:
    """GetFunctionConfiguration, GetFunctionConcurrency and GetAccountSettings of ``function``."""
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
    return [
        recorded(
            "lambda",
            "GetFunctionConfiguration",
            {
                "FunctionName": function,
                "FunctionArn": arn,
                "Runtime": "python3.12",
                "Handler": "app.handler",
                "Timeout": timeout,
                "MemorySize": memory,
                "LastModified": "2026-11-12T09:14:03.000+0000",
                "Version": "$LATEST",
                "Environment": {"Variables": dict(environment or {})},
                "State": "Active",
                "LastUpdateStatus": "Successful",
            },
            FunctionName=function,
        ),
        recorded(
            "lambda",
            "GetFunctionConcurrency",
            {"ReservedConcurrentExecutions": reserved} if reserved is not None else {},
            FunctionName=function,
        ),
        recorded(
            "lambda",
            "GetAccountSettings",
            {
                "AccountLimit": {
                    "TotalCodeSize": 80530636800,
                    "CodeSizeUnzipped": 262144000,
                    "CodeSizeZipped": 52428800,
                    "ConcurrentExecutions": account_limit,
                    "UnreservedConcurrentExecutions": max(
                        account_limit - (reserved or 0), unreserved_min
                    ),
                },
                "AccountUsage": {"TotalCodeSize": 912345678, "FunctionCount": 57},
            },
        ),
    ]


# -- DynamoDB ------------------------------------------------------------------------------------
def dynamodb_metrics(
    table: str,
    stream: str,
    *,
    write_kinds: Sequence[str] = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"),
    throttled: Where | None = None,
    provisioned_read: float | None = None,
    provisioned_write: float | None = None,
    units_per_request: float = 1.0,
) -> list:
    """AWS/DynamoDB for ``table`` serving ``stream`` (a row per operation, ``kind`` the
    operation): ThrottledRequests per ``Operation``, Read/WriteThrottleEvents, consumed
    capacity per minute, provisioned capacity when given, SuccessfulRequestLatency."""
    is_throttled = throttled or outcome_is("throttled")
    writes = set(write_kinds)
    out: list = []
    kinds_seen = ("GetItem", "Query", "Scan", *write_kinds)
    for op in kinds_seen:
        out.append(
            Metric(
                "AWS/DynamoDB",
                "ThrottledRequests",
                {"TableName": table, "Operation": op},
                stream,
                "count",
                lambda f, op=op: (f["kind"] == op) & is_throttled(f),
            )
        )
        out.append(
            Metric(
                "AWS/DynamoDB",
                "SuccessfulRequestLatency",
                {"TableName": table, "Operation": op},
                stream,
                "samples",
                lambda f, op=op: (f["kind"] == op) & ~is_throttled(f),
                unit="Milliseconds",
            )
        )
        out.append(
            Metric(
                "AWS/DynamoDB",
                "SystemErrors",
                {"TableName": table, "Operation": op},
                stream,
                "count",
                lambda f, op=op: (f["kind"] == op) & (f["outcome"] == "system_error"),
            )
        )
    dims = {"TableName": table}

    def is_write(f: pd.DataFrame) -> pd.Series:
        return f["kind"].isin(writes)

    out += [
        Metric("AWS/DynamoDB", "ThrottledRequests", dims, stream, "count", is_throttled),
        Metric(
            "AWS/DynamoDB",
            "WriteThrottleEvents",
            dims,
            stream,
            "count",
            lambda f: is_write(f) & is_throttled(f),
        ),
        Metric(
            "AWS/DynamoDB",
            "ReadThrottleEvents",
            dims,
            stream,
            "count",
            lambda f: ~is_write(f) & is_throttled(f),
        ),
        Gauge(
            "AWS/DynamoDB",
            "ConsumedWriteCapacityUnits",
            dims,
            lambda ctx: (
                ctx.counts(stream, lambda f: is_write(f) & ~is_throttled(f)) * units_per_request
            ),
            noise=0.0,
        ),
        Gauge(
            "AWS/DynamoDB",
            "ConsumedReadCapacityUnits",
            dims,
            lambda ctx: (
                ctx.counts(stream, lambda f: ~is_write(f) & ~is_throttled(f))
                * units_per_request
                * 0.5
            ),
            noise=0.0,
        ),
    ]
    # Provisioned capacity is per second; consumed is a per-minute Sum: both shown per minute
    # by the notebook (x 60), as the console does.
    if provisioned_write is not None:
        out.append(
            Gauge("AWS/DynamoDB", "ProvisionedWriteCapacityUnits", dims, provisioned_write, 0.0)
        )
    if provisioned_read is not None:
        out.append(
            Gauge("AWS/DynamoDB", "ProvisionedReadCapacityUnits", dims, provisioned_read, 0.0)
        )
    return out


def describe_table(
    table: str,
    *,
    billing: str = "PROVISIONED",
    read: int = 0,
    write: int = 0,
    indexes: Sequence[str] = (),
    last_increase: str = "2026-10-20T08:00:00Z",
    last_decrease: str | None = None,
) -> Call:
    """DescribeTable of ``table`` (provisioned or PAY_PER_REQUEST)."""
    throughput: dict[str, Any] = {
        "ReadCapacityUnits": read,
        "WriteCapacityUnits": write,
        "NumberOfDecreasesToday": 1 if last_decrease else 0,
        "LastIncreaseDateTime": last_increase,
    }
    if last_decrease:
        throughput["LastDecreaseDateTime"] = last_decrease
    body: dict[str, Any] = {
        "TableName": table,
        "TableArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}",
        "TableStatus": "ACTIVE",
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "BillingModeSummary": {"BillingMode": billing},
        "ProvisionedThroughput": throughput,
        "ItemCount": 18234012,
        "TableSizeBytes": 9123456789,
    }
    if indexes:
        body["GlobalSecondaryIndexes"] = [
            {
                "IndexName": name,
                "IndexStatus": "ACTIVE",
                "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"}],
                "ProvisionedThroughput": throughput,
            }
            for name in indexes
        ]
    return recorded("dynamodb", "DescribeTable", {"Table": body}, TableName=table)


def event_source_mappings(function: str, queues: Sequence[str], *, batch_size: int = 10) -> Call:
    """ListEventSourceMappings of ``function``: one SQS queue per mapping."""
    return recorded(
        "lambda",
        "ListEventSourceMappings",
        {
            "EventSourceMappings": [
                {
                    "UUID": f"esm-{function}-{i}",
                    "EventSourceArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
                    "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}",
                    "BatchSize": batch_size,
                    "State": "Enabled",
                    "LastProcessingResult": "OK",
                }
                for i, queue in enumerate(queues)
            ]
        },
        FunctionName=function,
    )


# -- SQS -----------------------------------------------------------------------------------------
def sqs_metrics(
    queue: str, stream: str, *, backlog: Where, per_request: float = 1.0, base: float = 5.0
) -> list:
    """AWS/SQS for ``queue`` feeding ``stream``: messages received per minute, and a backlog
    that grows by ``per_request`` for every row ``backlog`` selects (a throttled or failed
    poll returns its messages to the queue) and drains at the stream's pace afterwards; the
    age of the oldest message follows the backlog."""
    dims = {"QueueName": queue}

    def visible(ctx: Context) -> np.ndarray:
        added = ctx.counts(stream, backlog) * per_request
        served = ctx.counts(stream, lambda f: ~backlog(f)) * 0.25
        level = np.zeros(len(added))
        total = 0.0
        for i, (a, s) in enumerate(zip(added, served, strict=True)):
            total = max(total + a - (s if a == 0 else 0.0), 0.0)
            level[i] = total
        return level + base

    def age(ctx: Context) -> np.ndarray:
        v = visible(ctx)
        return 2.0 + 60.0 * np.cumsum(v > base * 2) * (v > base * 2)

    return [
        Metric("AWS/SQS", "NumberOfMessagesReceived", dims, stream, "count"),
        Gauge("AWS/SQS", "ApproximateNumberOfMessagesVisible", dims, visible, noise=0.02),
        Gauge("AWS/SQS", "ApproximateAgeOfOldestMessage", dims, age, noise=0.0, unit="Seconds"),
    ]


def contributor_insights(table: str, status: str = "DISABLED") -> Call:
    """DescribeContributorInsights of ``table``: is hot-key data collected?"""
    return recorded(
        "dynamodb",
        "DescribeContributorInsights",
        {"TableName": table, "ContributorInsightsStatus": status},
        TableName=table,
    )


def list_functions(environments: Mapping[str, Mapping[str, str]]) -> Call:
    """ListFunctions: each function with its environment variables (how a runbook finds the
    functions that name a table or a queue)."""
    return recorded(
        "lambda",
        "ListFunctions",
        {
            "Functions": [
                {
                    "FunctionName": name,
                    "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
                    "Runtime": "python3.12",
                    "Environment": {"Variables": dict(env)},
                }
                for name, env in environments.items()
            ]
        },
    )


def queue_url(queue: str) -> str:
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{queue}"


def queue_arn(queue: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"


def dlq_metrics(dlq: str, stream: str, *, failed_rows: Where, max_receive: int) -> list:
    """The dead-letter queue of ``stream``'s source queue: a message lands there after
    ``max_receive`` failed receives, so its backlog grows by the failed rows / max_receive;
    nobody consumes it. ``NumberOfMessagesSent`` stays 0: SQS does not count redriven
    messages in it."""
    dims = {"QueueName": dlq}

    def visible(ctx: Context) -> np.ndarray:
        return np.floor(np.cumsum(ctx.counts(stream, failed_rows)) / max_receive)

    def age(ctx: Context) -> np.ndarray:
        v = visible(ctx)
        first = np.argmax(v > 0) if (v > 0).any() else len(v)
        return np.where(np.arange(len(v)) >= first, 60.0 * (np.arange(len(v)) - first + 1), 0.0)

    return [
        Gauge("AWS/SQS", "ApproximateNumberOfMessagesVisible", dims, visible, noise=0.0),
        Gauge("AWS/SQS", "ApproximateAgeOfOldestMessage", dims, age, 0.0, unit="Seconds"),
        Gauge("AWS/SQS", "NumberOfMessagesSent", dims, 0.0, 0.0),
    ]


def source_queue_metrics(queue: str, stream: str, *, failed_rows: Where) -> list:
    """A consumed queue: messages sent, received (every attempt), deleted (the successes),
    a small backlog that grows with the retries of failing messages."""
    dims = {"QueueName": queue}
    ok = not_outcome_where(failed_rows)
    return [
        Metric("AWS/SQS", "NumberOfMessagesSent", dims, stream, "count", ok),
        Metric("AWS/SQS", "NumberOfMessagesReceived", dims, stream, "count"),
        Metric("AWS/SQS", "NumberOfMessagesDeleted", dims, stream, "count", ok),
        Gauge(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            dims,
            lambda ctx: 3.0 + ctx.counts(stream, failed_rows) * 0.5,
            noise=0.05,
        ),
    ]


def not_outcome_where(where: Where) -> Where:
    return lambda f: ~where(f)


def sqs_dlq_calls(
    source: str, dlq: str, consumer: str, *, max_receive: int = 3, visibility: int = 180
) -> list[Call]:
    """GetQueueUrl of both queues, ListDeadLetterSourceQueues of the DLQ, GetQueueAttributes
    of the source (its redrive policy) and ListEventSourceMappings of its consumer."""
    return [
        recorded("sqs", "GetQueueUrl", {"QueueUrl": queue_url(dlq)}, QueueName=dlq),
        recorded("sqs", "GetQueueUrl", {"QueueUrl": queue_url(source)}, QueueName=source),
        recorded(
            "sqs",
            "ListDeadLetterSourceQueues",
            {"queueUrls": [queue_url(source)]},
            QueueUrl=queue_url(dlq),
        ),
        recorded(
            "sqs",
            "GetQueueAttributes",
            {
                "Attributes": {
                    "QueueArn": queue_arn(source),
                    "VisibilityTimeout": str(visibility),
                    "MessageRetentionPeriod": "345600",
                    "RedrivePolicy": json.dumps(
                        {"deadLetterTargetArn": queue_arn(dlq), "maxReceiveCount": max_receive}
                    ),
                }
            },
            QueueUrl=queue_url(source),
            AttributeNames=["All"],
        ),
        recorded(
            "lambda",
            "ListEventSourceMappings",
            {
                "EventSourceMappings": [
                    {
                        "UUID": f"esm-{consumer}",
                        "EventSourceArn": queue_arn(source),
                        "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{consumer}",
                        "BatchSize": 10,
                        "State": "Enabled",
                    }
                ]
            },
            EventSourceArn=queue_arn(source),
        ),
    ]


# -- Lambda invocation lines ---------------------------------------------------------------------
def _unit_hash(request_id: str) -> float:
    """A number in [0, 1) fixed by the request id (cold starts, memory: no generator needed)."""
    return int(str(request_id)[-8:], 16) / 16**8


def lambda_start_line(row: Mapping[str, Any]) -> str:
    """``START RequestId: ... Version: $LATEST``."""
    return start_line(str(row["request_id"]), "$LATEST")


def lambda_report_line(
    *, memory_mb: int = 1024, used_mb: float = 180.0, cold_share: float = 0.03
) -> Any:
    """The ``REPORT`` line of each invocation: its duration (the row's latency, the timeout
    for a timeout), memory used around ``used_mb``, an ``Init Duration`` for ``cold_share`` of
    them (cold starts)."""

    def line(row: Mapping[str, Any]) -> str:
        h = _unit_hash(str(row["request_id"]))
        cold = h < cold_share
        text = report_line(
            str(row["request_id"]),
            float(row["latency_ms"]),
            memory_mb=memory_mb,
            max_memory_mb=int(used_mb * (0.9 + 0.2 * h)),
            init_ms=(650.0 + 900.0 * h / max(cold_share, 1e-9)) if cold else None,
        )
        if row["outcome"] == "timeout":
            text = text.rstrip("\n") + "Status: timeout\n"
        return text

    return line


def downstream_line(dependency: str, *, share_of_duration: float = 0.7) -> Any:
    """An application INFO line per invocation timing its call to ``dependency``
    (``elapsed_ms``: that share of the invocation's duration)."""

    def line(row: Mapping[str, Any]) -> str:
        ts = row["time"] + pd.Timedelta(milliseconds=float(row["latency_ms"]) * 0.95)
        body = {
            "level": "INFO",
            "message": "downstream call",
            "dependency": dependency,
            "elapsed_ms": round(float(row["latency_ms"]) * share_of_duration, 1),
            "requestId": str(row["request_id"]),
        }
        return app_line(ts, str(row["request_id"]), "INFO", body)

    return line


def health_events(service: str, events: Sequence[Mapping[str, Any]]) -> Call:
    """AWS Health DescribeEvents for ``service`` (the account's open and recent issues)."""
    return recorded(
        "health",
        "DescribeEvents",
        {"events": [dict(e) for e in events]},
        filter={"services": [service]},
    )
