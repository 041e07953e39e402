"""Scenarios of the alert catalogue, declared with the service kit (``services.py``,
``recipes.py``). All on 2026-11-20 (UTC), account 123456789012, us-east-1. Each one's ground
truth says the onset, the cause, the culprit change or none, and what the findings must say.

- ``apigateway_backend_deploy``: a deploy of ``orders-api-handler`` breaks ``POST /orders``
  (KeyError); the API's 5XXError alarm fires. Culprit: the deploy.
- ``apigateway_dynamodb_throttle``: a bulk import floods the ``bookings`` table; it throttles,
  ``bookings-api-handler`` fails and times out (504 at 29 s); a clean deploy 45 min earlier
  and another team's change are in CloudTrail. Culprit: **none**.
- ``lambda_throttles_pool_surge``: a surge of ``report-export`` jobs fills the account's
  concurrency; ``thumbnail-worker`` (no reservation) is throttled and its SQS queue backs up.
  Culprit: **none** (a clean deploy of the worker 40 min before, an IAM change elsewhere).
- ``dynamodb_capacity_cut``: an UpdateTable cuts ``orders-ledger``'s write capacity from 100
  to 20 WCU; PutItem/UpdateItem throttle and ``ledger-api`` fails. Culprit: the UpdateTable.
- ``sqs_dlq_poison_messages``: a partner feed starts sending events without ``orderId``;
  ``order-events-consumer`` rejects them and SQS moves them to ``order-events-dlq`` after 3
  receives. Culprit: **none** (a clean consumer deploy 40 min before, another queue's change).
- ``lambda_duration_slow_dependency``: ``pricing-service`` slows down; ``quote-api``'s
  duration climbs to its 6 s timeout. Culprit: **none** (a memory increase 35 min before,
  another function's deploy).
- ``apigateway_latency_memory_cut``: an UpdateFunctionConfiguration cuts
  ``catalog-api-handler``'s memory from 1024 to 256 MB; every route of ``catalog-api`` slows.
  Culprit: the configuration change.
- ``apigateway_runaway_client``: one new client floods ``quotes-api`` past its stage limit
  (10 requests per second); everyone gets 429s. Culprit: **none**.
- ``dynamodb_service_event``: DynamoDB returns 500s in the Region (an AWS Health event);
  ``sessions`` and ``carts`` both see SystemErrors. Culprit: **none**.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from incident_lib.scenarios import recipes as r
from incident_lib.scenarios.services import (
    AlarmOn,
    Context,
    Gauge,
    Logs,
    Requests,
    ServiceScenario,
    Traffic,
    api_change,
    fail,
    lambda_deploy_change,
    over_capacity,
    surge,
)
from incident_lib.scenarios.traffic import day_clock, minutes

DAY = "2026-11-20"


at = day_clock(DAY)


START, END = at("11:00:00"), at("13:20:00")
ROUTES = {"GET /orders": 0.5, "POST /orders": 0.3, "GET /orders/{id}": 0.2}
OLD_ERROR = "TimeoutError: inventory service did not respond after 3000 ms"


def _api_app(api: str, api_id: str, fn: str, table: str, routes: dict[str, float]) -> dict:
    """The parts every API -> Lambda -> DynamoDB scenario shares: metrics, logs, calls."""
    access = f"/aws/apigateway/{api}/prod"
    return {
        "metrics": [
            *r.apigateway_metrics(api, "prod", "api"),
            *r.apigateway_metrics(api, "staging", "staging"),
            *r.lambda_metrics(fn, "api", errors=r.outcome_is("error", "timeout")),
            *r.dynamodb_metrics(table, "db", provisioned_read=400, provisioned_write=100),
        ],
        "logs": [
            Logs(access, "api", r.access_log_line),
            Logs(
                f"/aws/lambda/{fn}",
                "api",
                r.lambda_error_line(),
                where=r.outcome_is("error", "timeout"),
            ),
        ],
        "calls": [
            *r.apigateway_calls(api, api_id, "prod", list(routes), fn, access),
            *r.lambda_calls(fn, environment={"TABLE_NAME": table, "LOG_LEVEL": "INFO"}),
            r.describe_table(table, read=400, write=100),
        ],
        "resources": {
            "api": api,
            "stage": "prod",
            "function": fn,
            "table": table,
            "access_log_group": access,
        },
    }


def _background(stream: str = "api") -> list:
    """What an API always has: 2% client errors, a trickle of an old backend timeout."""
    return [
        fail(stream, START, 0.02, status=404, outcome="client_error"),
        fail(stream, START, 0.002, status=502, error=OLD_ERROR),
    ]


ORDERS = _api_app("orders-api", "a1b2c3d4e5", "orders-api-handler", "orders", ROUTES)
BACKEND_DEPLOY = ServiceScenario(
    name="apigateway_backend_deploy",
    alert_type="apigateway_5xx",
    description="a backend deploy breaks POST /orders: orders-api's 5XX alarm fires",
    start=START,
    end=END,
    requests=[
        Requests("api", Traffic(60, 140, duration_ms=85), ROUTES),
        Requests("staging", Traffic(3, 8, duration_ms=90), ROUTES),
        Requests(
            "db", Traffic(90, 200, duration_ms=6), {"GetItem": 0.5, "Query": 0.2, "PutItem": 0.3}
        ),
    ],
    effects=[
        *_background(),
        fail(
            "api",
            at("12:20:30"),
            0.8,
            kinds=["POST /orders"],
            status=502,
            error="KeyError: 'shippingAddress'",
        ),
    ],
    changes=[
        api_change(
            at("11:52:10"),
            "PutRolePolicy",
            "iam.amazonaws.com",
            [("AWS::IAM::Role", "reporting-etl-role")],
            {"roleName": "reporting-etl-role", "policyName": "s3-read"},
        ),
        lambda_deploy_change(at("12:20:30"), "orders-api-handler", culprit=True),
    ],
    alarm=AlarmOn(
        "orders-api-5xx-prod",
        "AWS/ApiGateway",
        "5XXError",
        {"ApiName": "orders-api", "Stage": "prod"},
        threshold=10,
    ),
    cause="a deploy of orders-api-handler v42 breaks POST /orders (KeyError: 'shippingAddress')",
    must_say=["POST /orders", "KeyError", "orders-api-handler"],
    **ORDERS,
)

BOOKINGS = _api_app(
    "bookings-api",
    "f6g7h8i9j0",
    "bookings-api-handler",
    "bookings",
    {"GET /bookings": 0.55, "POST /bookings": 0.3, "GET /bookings/{id}": 0.15},
)
THROTTLED = "ProvisionedThroughputExceededException: The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."  # noqa: E501
IMPORT_FROM, IMPORT_TO = at("12:25:00"), at("13:05:00")
DYNAMODB_THROTTLE = ServiceScenario(
    name="apigateway_dynamodb_throttle",
    alert_type="apigateway_5xx",
    description="a bulk import throttles the bookings table: bookings-api returns 502/504; "
    "no culprit change",
    start=START,
    end=END,
    requests=[
        Requests(
            "api",
            Traffic(50, 120, duration_ms=70),
            {"GET /bookings": 0.55, "POST /bookings": 0.3, "GET /bookings/{id}": 0.15},
        ),
        Requests(
            "staging",
            Traffic(3, 8, duration_ms=80),
            {"GET /bookings": 0.55, "POST /bookings": 0.3, "GET /bookings/{id}": 0.15},
        ),
        Requests(
            "db", Traffic(90, 180, duration_ms=6), {"GetItem": 0.4, "Query": 0.3, "PutItem": 0.3}
        ),
    ],
    effects=[
        *_background(),
        # The import's writes: the table's traffic quadruples, beyond what it holds a minute.
        surge("db", IMPORT_FROM, 4.0, until=IMPORT_TO, ramp=minutes(1)),
        over_capacity("db", 6000 / 20, error=THROTTLED, start=IMPORT_FROM),
        fail("api", IMPORT_FROM, 0.25, until=IMPORT_TO, status=502, error=THROTTLED),
        fail(
            "api",
            IMPORT_FROM,
            0.05,
            until=IMPORT_TO,
            status=504,
            outcome="timeout",
            latency_ms=29000,
            error="Endpoint request timed out",
        ),
    ],
    changes=[
        lambda_deploy_change(
            at("11:40:05"), "bookings-api-handler", old_version=17, new_version=18
        ),
        api_change(
            at("12:11:40"),
            "PutParameter",
            "ssm.amazonaws.com",
            [("AWS::SSM::Parameter", "/reporting/export-bucket")],
            {"name": "/reporting/export-bucket", "overwrite": True},
        ),
    ],
    alarm=AlarmOn(
        "bookings-api-5xx-prod",
        "AWS/ApiGateway",
        "5XXError",
        {"ApiName": "bookings-api", "Stage": "prod"},
        threshold=10,
    ),
    onset=IMPORT_FROM,
    cause="the bookings DynamoDB table throttles (a bulk import exceeds its provisioned "
    "capacity); the backend fails with ProvisionedThroughputExceededException and times out",
    must_say=["No related change found", "bookings", "ProvisionedThroughputExceededException"],
    **BOOKINGS,
)


# -- lambda_throttles ----------------------------------------------------------------------------
ACCOUNT_LIMIT = 1000
SURGE_FROM, SURGE_TO = at("12:28:00"), at("13:05:00")
POOL_FULL = at("12:32:00")


def _account_concurrency(ctx: Context) -> np.ndarray:
    """The account's executions in flight: every function's, capped at its limit."""
    busy = sum(
        r.concurrency(ctx, stream, r.not_outcome("throttled"))
        for stream in ("thumbnails", "export", "search")
    )
    return np.minimum(busy, ACCOUNT_LIMIT)


POOL_SURGE = ServiceScenario(
    name="lambda_throttles_pool_surge",
    alert_type="lambda_throttles",
    description="a surge of report-export jobs takes the account's concurrency; "
    "thumbnail-worker is throttled and its queue backs up: no culprit",
    start=START,
    end=END,
    requests=[
        Requests("thumbnails", Traffic(80, 160, duration_ms=800)),
        Requests("export", Traffic(8, 20, duration_ms=45_000)),
        Requests("search", Traffic(100, 220, duration_ms=120)),
    ],
    effects=[
        surge("export", SURGE_FROM, 100.0, until=SURGE_TO, ramp=minutes(4)),
        over_capacity(
            "export", ACCOUNT_LIMIT * 60 / 45 * 0.97, error="Rate Exceeded.", start=SURGE_FROM
        ),
        fail(
            "thumbnails",
            POOL_FULL,
            0.45,
            until=SURGE_TO,
            ramp=minutes(2),
            status=429,
            outcome="throttled",
            error="TooManyRequestsException: Rate Exceeded.",
        ),
    ],
    metrics=[
        *r.lambda_metrics("thumbnail-worker", "thumbnails", throttled=r.outcome_is("throttled")),
        *r.lambda_metrics(
            "report-export", "export", throttled=r.outcome_is("throttled"), limit=ACCOUNT_LIMIT
        ),
        *r.lambda_metrics("search-api", "search"),
        Gauge("AWS/Lambda", "ConcurrentExecutions", {}, _account_concurrency, noise=0.0),
        Gauge("AWS/Lambda", "UnreservedConcurrentExecutions", {}, _account_concurrency, 0.0),
        *r.sqs_metrics(
            "thumbnail-jobs", "thumbnails", backlog=r.outcome_is("throttled"), per_request=10
        ),
        *r.sqs_metrics("export-jobs", "export", backlog=r.outcome_is("throttled"), per_request=1),
    ],
    calls=[
        *r.lambda_calls("thumbnail-worker", timeout=60, memory=1536, account_limit=ACCOUNT_LIMIT),
        r.event_source_mappings("thumbnail-worker", ["thumbnail-jobs"]),
    ],
    changes=[
        lambda_deploy_change(at("11:50:10"), "thumbnail-worker", old_version=8, new_version=9),
        api_change(
            at("12:21:33"),
            "PutRolePolicy",
            "iam.amazonaws.com",
            [("AWS::IAM::Role", "analytics-export-role")],
            {"roleName": "analytics-export-role", "policyName": "athena"},
        ),
    ],
    alarm=AlarmOn(
        "thumbnail-worker-throttles",
        "AWS/Lambda",
        "Throttles",
        {"FunctionName": "thumbnail-worker"},
        threshold=5,
    ),
    onset=POOL_FULL,
    cause="a surge of report-export jobs fills the account's concurrency (1000); "
    "thumbnail-worker, with no reserved concurrency, is throttled and its SQS queue backs up",
    must_say=["No related change found", "report-export", "account", "thumbnail-jobs"],
    resources={"function": "thumbnail-worker", "queue": "thumbnail-jobs"},
)


# -- dynamodb_throttling -------------------------------------------------------------------------
LEDGER = "orders-ledger"
CAPACITY_CUT = at("12:15:20")
WRITES = ("PutItem", "UpdateItem")
WRITE_THROTTLED = (
    "ProvisionedThroughputExceededException: The level of configured provisioned throughput "
    "for the table was exceeded. Consider increasing your provisioning level with the "
    "UpdateTable API."
)
CAPACITY_CUT_SCENARIO = ServiceScenario(
    name="dynamodb_capacity_cut",
    alert_type="dynamodb_throttling",
    description="an UpdateTable cuts orders-ledger's write capacity from 100 to 20: "
    "writes throttle, ledger-api fails",
    start=START,
    end=END,
    requests=[
        Requests(
            "ddb",
            Traffic(300, 560, duration_ms=6),
            {"PutItem": 0.5, "UpdateItem": 0.2, "GetItem": 0.2, "Query": 0.1},
        ),
        Requests("reports", Traffic(20, 40, duration_ms=9), {"Query": 0.8, "Scan": 0.2}),
    ],
    effects=[
        # 5 WCU per write: 100 WCU/s hold 1,200 writes a minute, 20 WCU/s hold 240.
        over_capacity(
            "ddb",
            lambda m: np.where(m >= 0, 240.0, 1200.0),
            kinds=WRITES,
            error=WRITE_THROTTLED,
            start=CAPACITY_CUT,
        ),
    ],
    metrics=[
        *r.dynamodb_metrics(
            LEDGER, "ddb", write_kinds=WRITES, provisioned_read=400, units_per_request=5
        ),
        Gauge(
            "AWS/DynamoDB",
            "ProvisionedWriteCapacityUnits",
            {"TableName": LEDGER},
            lambda ctx: np.where(ctx.minutes_since(CAPACITY_CUT) >= 0, 20.0, 100.0),
            noise=0.0,
        ),
        *r.dynamodb_metrics("orders-reports", "reports", provisioned_read=200),
        *r.lambda_metrics("ledger-api", "ddb", errors=r.outcome_is("throttled")),
    ],
    logs=[
        Logs(
            "/aws/lambda/ledger-api",
            "ddb",
            r.lambda_error_line(
                [
                    ("/var/task/ledger.py", 88, "append", "table.put_item(Item=entry)"),
                    ("/var/runtime/botocore/client.py", 1023, "_make_api_call", "raise error"),
                ]
            ),
            where=r.outcome_is("throttled"),
        )
    ],
    calls=[
        r.describe_table(LEDGER, read=400, write=20, last_decrease="2026-11-20T12:15:20Z"),
        r.contributor_insights(LEDGER),
        r.list_functions(
            {
                "ledger-api": {"TABLE_NAME": LEDGER, "LOG_LEVEL": "INFO"},
                "ledger-reports": {"SOURCE_TABLE": "orders-reports"},
                "search-api": {"INDEX": "orders"},
            }
        ),
    ],
    changes=[
        lambda_deploy_change(at("12:02:45"), "ledger-reports", old_version=5, new_version=6),
        api_change(
            CAPACITY_CUT,
            "UpdateTable",
            "dynamodb.amazonaws.com",
            [("AWS::DynamoDB::Table", LEDGER)],
            {
                "tableName": LEDGER,
                "provisionedThroughput": {"readCapacityUnits": 400, "writeCapacityUnits": 20},
            },
            culprit=True,
            what="UpdateTable: write capacity 100 -> 20",
        ),
    ],
    alarm=AlarmOn(
        "orders-ledger-write-throttles",
        "AWS/DynamoDB",
        "WriteThrottleEvents",
        {"TableName": LEDGER},
        threshold=20,
    ),
    onset=CAPACITY_CUT,
    cause="an UpdateTable cut orders-ledger's provisioned write capacity from 100 to 20 WCU; "
    "writes beyond it are throttled and ledger-api fails with "
    "ProvisionedThroughputExceededException",
    must_say=["UpdateTable", "PutItem", "ledger-api", "ProvisionedThroughputExceededException"],
    resources={"table": LEDGER, "function": "ledger-api"},
)


# -- sqs_dlq -------------------------------------------------------------------------------------
POISON_FROM = at("12:22:00")
BAD_FEED = ServiceScenario(
    name="sqs_dlq_poison_messages",
    alert_type="sqs_dlq",
    description="a partner feed starts sending events without orderId: order-events-consumer "
    "rejects them and they pile up in the DLQ; no culprit change",
    start=START,
    end=END,
    requests=[Requests("consume", Traffic(120, 260, duration_ms=140))],
    effects=[
        fail(
            "consume",
            POISON_FROM,
            0.15,
            ramp=minutes(3),
            error="ValidationError: event is missing required field 'orderId' (schema v2?)",
        ),
    ],
    metrics=[
        *r.lambda_metrics("order-events-consumer", "consume"),
        *r.source_queue_metrics("order-events", "consume", failed_rows=r.failed),
        *r.dlq_metrics("order-events-dlq", "consume", failed_rows=r.failed, max_receive=3),
        *r.dlq_metrics(
            "billing-events-dlq", "consume", failed_rows=lambda f: f["kind"] == "x", max_receive=3
        ),
    ],
    logs=[
        Logs(
            "/aws/lambda/order-events-consumer",
            "consume",
            r.lambda_error_line(
                [
                    ("/var/task/consumer.py", 41, "handle", "order = OrderEvent.parse(body)"),
                    ("/var/task/schema.py", 77, "parse", "raise ValidationError(msg)"),
                ]
            ),
            where=r.failed,
        )
    ],
    calls=[
        *r.sqs_dlq_calls("order-events", "order-events-dlq", "order-events-consumer"),
        *r.lambda_calls("order-events-consumer", timeout=60, memory=512),
    ],
    changes=[
        lambda_deploy_change(
            at("11:41:12"), "order-events-consumer", old_version=30, new_version=31
        ),
        api_change(
            at("12:09:51"),
            "SetQueueAttributes",
            "sqs.amazonaws.com",
            [("AWS::SQS::Queue", "billing-events")],
            {"queueUrl": r.queue_url("billing-events"), "attributes": {"VisibilityTimeout": "90"}},
        ),
    ],
    alarm=AlarmOn(
        "order-events-dlq-not-empty",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": "order-events-dlq"},
        threshold=0,
        statistic="Maximum",
        evaluation_periods=1,
        datapoints_to_alarm=1,
    ),
    onset=POISON_FROM,
    cause="a partner feed sends events without orderId (schema v2); order-events-consumer "
    "rejects them (ValidationError) and after 3 receives SQS moves them to order-events-dlq",
    must_say=[
        "No related change found",
        "order-events-consumer",
        "ValidationError",
        "order-events",
    ],
    resources={
        "queue": "order-events-dlq",
        "source": "order-events",
        "function": "order-events-consumer",
    },
)


# -- lambda_duration -----------------------------------------------------------------------------
SLOW_FROM = at("12:18:00")
QUOTE = "quote-api"
SLOW_PRICING = ServiceScenario(
    name="lambda_duration_slow_dependency",
    alert_type="lambda_duration",
    description="pricing-service slows down: quote-api's duration climbs to its 6 s timeout; "
    "no culprit change",
    start=START,
    end=END,
    requests=[Requests("quote", Traffic(80, 160, duration_ms=320))],
    effects=[
        fail(
            "quote",
            SLOW_FROM,
            0.55,
            ramp=minutes(4),
            status=200,
            outcome="slow",
            latency_ms=4300,
        ),
        fail(
            "quote",
            SLOW_FROM + minutes(2),
            0.07,
            ramp=minutes(4),
            outcome="timeout",
            latency_ms=6010,
            error="Task timed out after 6.01 seconds",
        ),
    ],
    metrics=[*r.lambda_metrics(QUOTE, "quote", errors=r.outcome_is("timeout"))],
    logs=[
        Logs(f"/aws/lambda/{QUOTE}", "quote", r.lambda_start_line, at="start"),
        Logs(f"/aws/lambda/{QUOTE}", "quote", r.downstream_line("pricing-service")),
        Logs(f"/aws/lambda/{QUOTE}", "quote", r.lambda_report_line(memory_mb=1024)),
        Logs(f"/aws/lambda/{QUOTE}", "quote", r.lambda_error_line(), where=r.outcome_is("timeout")),
    ],
    calls=[*r.lambda_calls(QUOTE, timeout=6, memory=1024)],
    changes=[
        api_change(
            at("11:44:30"),
            "UpdateFunctionConfiguration20150331v2",
            "lambda.amazonaws.com",
            [("AWS::Lambda::Function", QUOTE)],
            {"functionName": QUOTE, "memorySize": 1024},
            what="quote-api memory 512 -> 1024 MB",
        ),
        lambda_deploy_change(at("12:34:10"), "search-api", old_version=77, new_version=78),
    ],
    alarm=AlarmOn(
        "quote-api-duration-p95",
        "AWS/Lambda",
        "Duration",
        {"FunctionName": QUOTE},
        threshold=3000,
        statistic="p95",
    ),
    onset=SLOW_FROM,
    cause="pricing-service (a downstream dependency) slows down: quote-api's calls to it take "
    "seconds, its duration climbs to the 6 s timeout and some invocations time out",
    must_say=["No related change found", "pricing-service", "timeout"],
    resources={"function": QUOTE},
)


# -- apigateway_latency --------------------------------------------------------------------------
MEMORY_CUT = at("12:24:10")
CATALOG_ROUTES = {"GET /products": 0.6, "GET /products/{id}": 0.3, "POST /products": 0.1}
CATALOG = _api_app("catalog-api", "k1l2m3n4o5", "catalog-api-handler", "products", CATALOG_ROUTES)
CATALOG["logs"] = [
    *CATALOG["logs"],
    Logs(
        "/aws/lambda/catalog-api-handler",
        "api",
        r.lambda_report_line(memory_mb=1024, used_mb=150),
        where=lambda f: f["time"] < MEMORY_CUT,
    ),
    Logs(
        "/aws/lambda/catalog-api-handler",
        "api",
        r.lambda_report_line(memory_mb=256, used_mb=150),
        where=lambda f: f["time"] >= MEMORY_CUT,
    ),
]
MEMORY_CUT_SCENARIO = ServiceScenario(
    name="apigateway_latency_memory_cut",
    alert_type="apigateway_latency",
    description="a configuration change cuts catalog-api-handler's memory (and CPU) to 256 MB: "
    "every route of catalog-api slows",
    start=START,
    end=END,
    requests=[
        Requests("api", Traffic(70, 150, duration_ms=140), CATALOG_ROUTES),
        Requests("staging", Traffic(3, 8, duration_ms=150), CATALOG_ROUTES),
        Requests("db", Traffic(90, 180, duration_ms=6), {"GetItem": 0.6, "Query": 0.4}),
    ],
    effects=[
        *_background(),
        # A quarter of the CPU: every request takes about four times as long.
        fail("api", MEMORY_CUT, 1.0, status=200, outcome="slow", latency_ms=560),
    ],
    changes=[
        api_change(
            MEMORY_CUT,
            "UpdateFunctionConfiguration20150331v2",
            "lambda.amazonaws.com",
            [("AWS::Lambda::Function", "catalog-api-handler")],
            {"functionName": "catalog-api-handler", "memorySize": 256},
            culprit=True,
            what="catalog-api-handler memory 1024 -> 256 MB",
        ),
        api_change(
            at("11:58:02"),
            "PutRolePolicy",
            "iam.amazonaws.com",
            [("AWS::IAM::Role", "data-lake-reader")],
            {"roleName": "data-lake-reader", "policyName": "glue"},
        ),
    ],
    alarm=AlarmOn(
        "catalog-api-latency-p95",
        "AWS/ApiGateway",
        "Latency",
        {"ApiName": "catalog-api", "Stage": "prod"},
        threshold=400,
        statistic="p95",
    ),
    onset=MEMORY_CUT,
    cause="an UpdateFunctionConfiguration cut catalog-api-handler's memory from 1024 to 256 MB "
    "(a quarter of the CPU): every route's integration latency quadruples",
    must_say=["UpdateFunctionConfiguration", "integration", "catalog-api-handler"],
    **CATALOG,
)


# -- apigateway_throttling -----------------------------------------------------------------------
FLOOD_FROM, FLOOD_TO = at("12:30:00"), at("13:10:00")
QUOTE_ROUTES = {"GET /quotes": 0.7, "GET /quotes/{symbol}": 0.3}
RUNAWAY = "203.0.113.250"
QUOTES = _api_app("quotes-api", "p6q7r8s9t0", "quotes-api-handler", "quotes", QUOTE_ROUTES)
QUOTES["calls"] = [
    *r.apigateway_calls(
        "quotes-api",
        "p6q7r8s9t0",
        "prod",
        list(QUOTE_ROUTES),
        "quotes-api-handler",
        "/aws/apigateway/quotes-api/prod",
        rate_limit=10.0,
        burst_limit=20,
    ),
    *r.lambda_calls("quotes-api-handler", environment={"TABLE_NAME": "quotes"}),
]
QUOTES["logs"] = [
    Logs("/aws/apigateway/quotes-api/prod", "api", r.access_log_line),
    Logs("/aws/apigateway/quotes-api/prod", "flood", r.access_log_line),
]
QUOTES["metrics"] = [
    *r.apigateway_metrics("quotes-api", "prod", ("api", "flood")),
    *r.apigateway_metrics("quotes-api", "staging", "staging"),
    *r.lambda_metrics(
        "quotes-api-handler",
        ("api", "flood"),
        errors=r.outcome_is("error"),
        invoked=r.not_outcome("throttled"),
    ),
]
RUNAWAY_CLIENT = ServiceScenario(
    name="apigateway_runaway_client",
    alert_type="apigateway_throttling",
    description="one new client floods quotes-api past its stage limit (10 rps): everyone "
    "gets 429s; no culprit change",
    start=START,
    end=END,
    requests=[
        Requests(
            "api",
            Traffic(150, 300, duration_ms=60),
            QUOTE_ROUTES,
            clients=tuple(f"198.51.100.{n}" for n in (11, 23, 37, 42, 58, 64, 71, 89)),
        ),
        Requests("flood", Traffic(1, 1, duration_ms=55), {"GET /quotes": 1.0}, clients=(RUNAWAY,)),
        Requests("staging", Traffic(3, 8, duration_ms=70), QUOTE_ROUTES),
    ],
    effects=[
        *_background(),
        surge("flood", FLOOD_FROM, 900.0, until=FLOOD_TO, ramp=minutes(1)),
        over_capacity(
            "api",
            600.0,
            status=429,
            error="Too Many Requests",
            start=FLOOD_FROM,
            shared_with=("flood",),
        ),
        over_capacity(
            "flood",
            600.0,
            status=429,
            error="Too Many Requests",
            start=FLOOD_FROM,
            shared_with=("api",),
        ),
    ],
    changes=[
        lambda_deploy_change(at("11:47:30"), "quotes-api-handler", old_version=12, new_version=13),
        api_change(
            at("12:14:05"),
            "PutRolePolicy",
            "iam.amazonaws.com",
            [("AWS::IAM::Role", "marketing-etl-role")],
            {"roleName": "marketing-etl-role", "policyName": "s3"},
        ),
    ],
    alarm=AlarmOn(
        "quotes-api-throttle-prod",
        "AWS/ApiGateway",
        "4XXError",
        {"ApiName": "quotes-api", "Stage": "prod"},
        threshold=50,
    ),
    onset=FLOOD_FROM,
    cause="one new client (203.0.113.250) sends about 900 requests a minute from 12:30; the stage "
    "limit of 10 requests per second throttles everyone (429)",
    must_say=["No related change found", RUNAWAY, "429"],
    **QUOTES,
)


# -- dynamodb_system_errors ----------------------------------------------------------------------
ISSUE_FROM, ISSUE_TO = at("12:26:00"), at("12:58:00")
INTERNAL = "InternalServerError: Internal server error (Service: DynamoDb, Status Code: 500)"


def _retries_ran_out(f: pd.DataFrame) -> pd.Series:
    """The SDK retries a 500 three times; about one failed call in five still fails."""
    return (f["outcome"] == "system_error") & f["request_id"].str[-1].isin(["0", "1", "2"])


SERVICE_EVENT = ServiceScenario(
    name="dynamodb_service_event",
    alert_type="dynamodb_system_errors",
    description="DynamoDB returns 500s in the Region (an AWS Health event): sessions and carts "
    "both see SystemErrors; no culprit change",
    start=START,
    end=END,
    requests=[
        Requests("sessions", Traffic(400, 700, duration_ms=5), {"GetItem": 0.7, "PutItem": 0.3}),
        Requests("carts", Traffic(150, 300, duration_ms=6), {"GetItem": 0.5, "UpdateItem": 0.5}),
    ],
    effects=[
        fail(
            "sessions",
            ISSUE_FROM,
            0.05,
            until=ISSUE_TO,
            ramp=minutes(2),
            outcome="system_error",
            error=INTERNAL,
        ),
        fail(
            "carts",
            ISSUE_FROM,
            0.05,
            until=ISSUE_TO,
            ramp=minutes(2),
            outcome="system_error",
            error=INTERNAL,
        ),
    ],
    metrics=[
        *r.dynamodb_metrics("sessions", "sessions", write_kinds=("PutItem",)),
        *r.dynamodb_metrics("carts", "carts", write_kinds=("UpdateItem",)),
        *r.lambda_metrics("session-api", "sessions", errors=_retries_ran_out),
    ],
    logs=[
        Logs(
            "/aws/lambda/session-api",
            "sessions",
            r.lambda_error_line(
                [
                    ("/var/task/sessions.py", 52, "load", "item = table.get_item(Key=key)"),
                    ("/var/runtime/botocore/client.py", 1023, "_make_api_call", "raise error"),
                ]
            ),
            where=_retries_ran_out,
        )
    ],
    calls=[
        r.describe_table("sessions", billing="PAY_PER_REQUEST"),
        r.list_functions({"session-api": {"SESSIONS_TABLE": "sessions"}, "cart-api": {}}),
        r.health_events(
            "DYNAMODB",
            [
                {
                    "arn": "arn:aws:health:us-east-1::event/DYNAMODB/"
                    "AWS_DYNAMODB_OPERATIONAL_ISSUE/AWS_DYNAMODB_OPERATIONAL_ISSUE_7F3A1",
                    "service": "DYNAMODB",
                    "eventTypeCode": "AWS_DYNAMODB_OPERATIONAL_ISSUE",
                    "eventTypeCategory": "issue",
                    "region": "us-east-1",
                    "startTime": "2026-11-20T12:27:00Z",
                    "statusCode": "open",
                    "eventScopeCode": "PUBLIC",
                }
            ],
        ),
    ],
    changes=[
        lambda_deploy_change(at("11:52:40"), "session-api", old_version=40, new_version=41),
        api_change(
            at("12:17:13"),
            "UpdateTimeToLive",
            "dynamodb.amazonaws.com",
            [("AWS::DynamoDB::Table", "audit-log")],
            {"tableName": "audit-log", "timeToLiveSpecification": {"enabled": True}},
        ),
    ],
    alarm=AlarmOn(
        "stock-analysis-dynamo-errors-production",
        "AWS/DynamoDB",
        "SystemErrors",
        {"TableName": "sessions", "Operation": "GetItem"},
        threshold=5,
    ),
    onset=ISSUE_FROM,
    cause="a DynamoDB operational issue in us-east-1 (AWS Health: "
    "AWS_DYNAMODB_OPERATIONAL_ISSUE) returns 500s on every table; no change of ours",
    must_say=["No related change found", "AWS_DYNAMODB_OPERATIONAL_ISSUE", "carts"],
    resources={"table": "sessions", "function": "session-api"},
)

ALL = (
    SERVICE_EVENT,
    RUNAWAY_CLIENT,
    MEMORY_CUT_SCENARIO,
    BACKEND_DEPLOY,
    DYNAMODB_THROTTLE,
    POOL_SURGE,
    CAPACITY_CUT_SCENARIO,
    BAD_FEED,
    SLOW_PRICING,
)
for _scenario in ALL:
    _scenario.register()
