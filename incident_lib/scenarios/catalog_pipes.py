"""Scenarios of the data-pipeline, composite and RDS alert types, declared with the service kit
(``services.py``, ``recipes.py``, ``recipes_pipes.py``). All on 2026-11-20 (UTC), account
123456789012, us-east-1.

The flight data pipeline (seed runbook 003): an EventBridge schedule
``flightdata-ingest-schedule`` (``rate(1 minute)``) runs ``flightdata-ingest``, which pages
the OpenSky API and writes raw objects; ``flightdata-processor`` processes each object and
publishes ``FlightData RecordsProcessed`` (``Pipeline=flightdata``); the Glue job
``flightdata-etl`` compacts the hour. The alarm ``flightdata-records-processed-low`` fires
when fewer than 1,000 records are processed in 5 minutes (missing data breaching).

- ``data_freshness_rule_disabled``: someone disables the schedule rule (DisableRule); no run
  from the next minute on. Culprit: the DisableRule.
- ``data_freshness_upstream_empty``: the OpenSky API answers with empty pages; the job runs
  every minute and ingests nothing. Culprit: **none** (a deploy of ``flightdata-processor``
  19 min before the onset is in CloudTrail).
- ``composite_checkout_degraded``: the composite ``checkout-degraded`` is
  ``ALARM(checkout-api-5xx) AND ALARM(checkout-handler-errors)``; a deploy of
  ``checkout-handler`` fails ``POST /checkout``: the handler's errors alarm fires first, the
  API's 5XX alarm (3 of 3 minutes) a few minutes later, which raises the composite. Culprit:
  the deploy.
- ``rds_pool_size_deploy``: a deploy of ``orders-api`` raises its connection pool from 2 to 10
  per execution environment; ``orders-db`` (db.t3.medium: ``max_connections`` 450 from the
  engine's formula) fills and refuses connections. Culprit: the deploy.
- ``rds_connection_leak``: each payment-provider timeout in ``invoice-worker`` leaks a
  connection; ``billing-db`` climbs to ``max_connections`` (600). Culprit: **none** (a clean
  deploy 22 min before, another parameter group's change).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from incident_lib.scenarios import recipes as r
from incident_lib.scenarios import recipes_pipes as p
from incident_lib.scenarios.services import (
    AlarmOn,
    Context,
    Logs,
    Requests,
    Traffic,
    api_change,
    fail,
    lambda_deploy_change,
    recorded,
)
from incident_lib.scenarios.traffic import daily_rate, day_clock

DAY = "2026-11-20"


at = day_clock(DAY)


START, END = at("11:00:00"), at("13:20:00")

# -- data_freshness ------------------------------------------------------------------------------
PIPELINE = {"Pipeline": "flightdata"}
RULE = "flightdata-ingest-schedule"
INGEST, PROCESSOR, API = "flightdata-ingest", "flightdata-processor", "flightdata-api-handler"
ETL = "flightdata-etl"


def _records(ctx: Context) -> np.ndarray:
    """Flight records the OpenSky API returns a minute (daily shape, busiest mid-afternoon)."""
    return daily_rate(ctx.index, low=350.0, high=800.0, peak_hour=15.0)


def _pipeline(ingesting, running, *, rule_state: str) -> dict:
    """The pipeline's metrics, calls and history: ``running`` selects the minutes the schedule
    fires (and the ingest job runs), ``ingesting`` those in which records come back."""

    def fetched(ctx: Context) -> np.ndarray:
        return np.where(ingesting(ctx), _records(ctx), 0.0)

    records_processed = p.Published(
        "FlightData",
        "RecordsProcessed",
        PIPELINE,
        lambda c: fetched(c) * 0.985,
        0.06,
        when=ingesting,
    )
    records_ingested = p.Published(
        "FlightData", "RecordsIngested", PIPELINE, fetched, 0.06, when=running
    )
    return {
        "metrics": [
            *p.schedule_metrics(RULE, running),
            *p.job_function_metrics(INGEST, running, duration_ms=3200.0),
            records_ingested,
            *p.job_function_metrics(
                PROCESSOR,
                ingesting,
                per_minute=lambda c: np.ceil(fetched(c) / 250.0),
                duration_ms=1800.0,
            ),
            records_processed,
            *p.job_function_metrics(API, p.every_minute, per_minute=40.0, duration_ms=90.0),
        ],
        "history": [records_processed, records_ingested],
        "calls": [
            p.list_functions([INGEST, PROCESSOR, API, "billing-report"]),
            *p.rule_calls(RULE, INGEST, schedule="rate(1 minute)", state=rule_state),
            p.no_rules(PROCESSOR),
            p.no_rules(API),
            *p.glue_calls(
                ETL,
                [
                    (at("10:05:12"), 402, "SUCCEEDED"),
                    (at("11:05:09"), 415, "SUCCEEDED"),
                    (at("12:05:11"), 398, "SUCCEEDED"),
                ],
            ),
            recorded("glue", "ListJobs", {"JobNames": [ETL, "billing-export"]}),
            recorded("stepfunctions", "ListStateMachines", {"stateMachines": []}),
            p.list_metrics("FlightData", PIPELINE, ["RecordsIngested", "RecordsProcessed"]),
        ],
        "resources": {"pipeline": "flightdata", "rule": RULE, "functions": [INGEST, PROCESSOR]},
    }


def _alarm() -> AlarmOn:
    return AlarmOn(
        "flightdata-records-processed-low",
        "FlightData",
        "RecordsProcessed",
        PIPELINE,
        threshold=1000,
        period=300,
        evaluation_periods=2,
        datapoints_to_alarm=2,
        comparison="LessThanThreshold",
        treat_missing="breaching",
        description="Fewer than 1,000 flight records processed in 5 minutes (no new data)",
    )


def _fetched_line(ts: pd.Timestamp, i: int) -> int:
    return int(daily_rate(pd.DatetimeIndex([ts]), low=350.0, high=800.0, peak_hour=15.0)[0])


DISABLED_AT = at("12:20:30")
RULE_DISABLED = p.PipelineScenario(
    name="data_freshness_rule_disabled",
    alert_type="data_freshness",
    description="the ingest schedule rule is disabled: no new flight records from the next "
    "minute on",
    start=START,
    end=END,
    requests=[],
    alarm=_alarm(),
    runs=[
        p.Runs(
            f"/aws/lambda/{INGEST}",
            p.before(DISABLED_AT),
            p.pipeline_line("INFO", "fetched page", source="opensky", records=_fetched_line),
        )
    ],
    changes=[
        api_change(
            at("12:02:15"),
            "UpdateFunctionConfiguration",
            "lambda.amazonaws.com",
            [("AWS::Lambda::Function", API)],
            {"functionName": API, "environment": {"variables": {"LOG_LEVEL": "DEBUG"}}},
        ),
        api_change(
            DISABLED_AT,
            "DisableRule",
            "events.amazonaws.com",
            [("AWS::Events::Rule", RULE)],
            {"name": RULE, "eventBusName": "default"},
            culprit=True,
            what=f"DisableRule {RULE}",
        ),
    ],
    onset=at("12:21:00"),
    cause=f"the EventBridge rule {RULE} was disabled (DisableRule): the schedule stopped "
    f"firing, so {INGEST} stopped running and no records reached the pipeline",
    must_say=["DisableRule", RULE, "stopped firing", "DISABLED"],
    **_pipeline(p.before(DISABLED_AT), p.before(DISABLED_AT), rule_state="DISABLED"),
)

EMPTY_FROM = at("12:24:00")
EMPTY_PAGE = "upstream returned empty page"
UPSTREAM_EMPTY = p.PipelineScenario(
    name="data_freshness_upstream_empty",
    alert_type="data_freshness",
    description="the OpenSky API answers with empty pages: the ingest job runs and finds "
    "nothing; no culprit change",
    start=START,
    end=END,
    requests=[],
    alarm=_alarm(),
    runs=[
        p.Runs(
            f"/aws/lambda/{INGEST}",
            p.before(EMPTY_FROM),
            p.pipeline_line("INFO", "fetched page", source="opensky", records=_fetched_line),
        ),
        p.Runs(
            f"/aws/lambda/{INGEST}",
            lambda ctx: ~p.before(EMPTY_FROM)(ctx),
            p.pipeline_line(
                "WARN", EMPTY_PAGE, source="opensky", records=0, http_status=200, page=1
            ),
        ),
    ],
    changes=[
        lambda_deploy_change(at("12:05:10"), PROCESSOR, old_version=13, new_version=14),
        api_change(
            at("12:12:40"),
            "PutRolePolicy",
            "iam.amazonaws.com",
            [("AWS::IAM::Role", "billing-report-role")],
            {"roleName": "billing-report-role", "policyName": "s3-write"},
        ),
    ],
    onset=EMPTY_FROM,
    cause=f"the OpenSky API returns empty pages: {INGEST} runs every minute but ingests no "
    "records; nothing in the account changed",
    must_say=["No related change found", "empty page", INGEST, "runs"],
    **_pipeline(p.before(EMPTY_FROM), p.every_minute, rule_state="ENABLED"),
)

# -- composite -----------------------------------------------------------------------------------
CHECKOUT_ROUTES = {"POST /checkout": 0.45, "GET /cart": 0.4, "GET /checkout/{id}": 0.15}
CHECKOUT_FN = "checkout-handler"
CHECKOUT_DEPLOY = at("12:20:30")
CHECKOUT_DEGRADED = p.CompositeScenario(
    name="composite_checkout_degraded",
    alert_type="composite",
    description="a deploy of checkout-handler fails POST /checkout: its errors alarm fires, "
    "then the API's 5XX alarm, then the composite checkout-degraded",
    start=START,
    end=END,
    requests=[Requests("api", Traffic(70, 150, duration_ms=95), CHECKOUT_ROUTES)],
    effects=[
        fail("api", START, 0.02, status=404, outcome="client_error"),
        fail(
            "api",
            CHECKOUT_DEPLOY,
            0.7,
            ramp=pd.Timedelta(minutes=8),
            kinds=["POST /checkout"],
            status=502,
            error="TypeError: Cannot read properties of undefined (reading 'currency')",
        ),
    ],
    metrics=[
        *r.apigateway_metrics("checkout-api", "prod", "api"),
        *r.lambda_metrics(CHECKOUT_FN, "api", errors=r.outcome_is("error")),
    ],
    logs=[
        Logs(
            f"/aws/lambda/{CHECKOUT_FN}",
            "api",
            r.lambda_error_line(),
            where=r.outcome_is("error"),
        )
    ],
    changes=[
        api_change(
            at("12:08:05"),
            "PutRolePolicy",
            "iam.amazonaws.com",
            [("AWS::IAM::Role", "reporting-etl-role")],
            {"roleName": "reporting-etl-role", "policyName": "s3-read"},
        ),
        lambda_deploy_change(
            CHECKOUT_DEPLOY, CHECKOUT_FN, old_version=57, new_version=58, culprit=True
        ),
    ],
    alarm=AlarmOn(
        "checkout-handler-errors",
        "AWS/Lambda",
        "Errors",
        {"FunctionName": CHECKOUT_FN},
        threshold=5,
        description="checkout-handler errors above 5 a minute",
    ),
    extra_alarms=[
        AlarmOn(
            "checkout-api-5xx",
            "AWS/ApiGateway",
            "5XXError",
            {"ApiName": "checkout-api", "Stage": "prod"},
            threshold=15,
            evaluation_periods=3,
            datapoints_to_alarm=3,
            description="checkout-api 5XX above 15 a minute for 3 minutes",
        )
    ],
    composite="checkout-degraded",
    rule="ALARM(checkout-api-5xx) AND ALARM(checkout-handler-errors)",
    composite_description="Checkout is failing: API 5XX and handler errors together",
    calls=[*r.lambda_calls(CHECKOUT_FN)],
    cause="a deploy of checkout-handler v58 fails POST /checkout (TypeError); the handler's "
    "errors alarm fired first, then the API's 5XX alarm, which raised the composite",
    must_say=["checkout-handler-errors", "fired first", "checkout-api-5xx", CHECKOUT_FN],
    resources={"api": "checkout-api", "function": CHECKOUT_FN},
)

# -- rds_connections -----------------------------------------------------------------------------
SLOTS = (
    "OperationalError: FATAL: remaining connection slots are reserved for non-replication "
    "superuser connections"
)


def _environments(low: float, high: float):
    """Warm execution environments of a function (each holds its own connection pool)."""
    return lambda ctx: daily_rate(ctx.index, low=low, high=high, peak_hour=15.0)


def _pool_line(size: int):
    return p.pipeline_line("INFO", "db pool ready", pool_size=size, db="orders")


ORDERS_DB, ORDERS_FN = "orders-db", "orders-api"
ORDERS_HOST = f"{ORDERS_DB}.c9xk2mplq3rt.us-east-1.rds.amazonaws.com"
POOL_DEPLOY = at("12:15:10")
ORDERS_ENVS = _environments(38.0, 48.0)


def _pool_size(ctx: Context) -> np.ndarray:
    """Connections per environment: 2, then 10 as the new version's environments replace the
    old ones over 10 minutes."""
    m = ctx.minutes_since(POOL_DEPLOY)
    return 2.0 + 8.0 * np.clip(m / 10.0, 0.0, 1.0)


def _orders_connections(ctx: Context) -> np.ndarray:
    return np.minimum(ORDERS_ENVS(ctx) * _pool_size(ctx) + 6.0, 447.0)


POOL_SIZE_DEPLOY = p.PipelineScenario(
    name="rds_pool_size_deploy",
    alert_type="rds_connections",
    description="a deploy of orders-api raises its connection pool from 2 to 10: orders-db "
    "runs out of connections",
    start=START,
    end=END,
    requests=[Requests("app", Traffic(250, 400, duration_ms=180), {"POST /orders": 1.0})],
    effects=[
        fail("app", at("12:25:00"), 0.3, ramp=pd.Timedelta(minutes=2), status=500, error=SLOTS),
    ],
    metrics=[
        *p.rds_metrics(
            ORDERS_DB,
            _orders_connections,
            cpu=lambda c: 22.0 + 0.03 * _orders_connections(c),
        ),
        *r.lambda_metrics(ORDERS_FN, "app"),
    ],
    logs=[Logs(f"/aws/lambda/{ORDERS_FN}", "app", r.lambda_error_line(), where=r.failed)],
    runs=[
        p.Runs(
            f"/aws/lambda/{ORDERS_FN}",
            lambda c: (c.minutes_since(POOL_DEPLOY) < 0) & (c.index.minute % 3 == 0),
            _pool_line(2),
        ),
        p.Runs(
            f"/aws/lambda/{ORDERS_FN}",
            lambda c: (
                (c.minutes_since(POOL_DEPLOY) >= 0)
                & ((c.minutes_since(POOL_DEPLOY) < 12) | (c.index.minute % 3 == 0))
            ),
            _pool_line(10),
        ),
    ],
    calls=[
        *p.rds_instance_calls(
            ORDERS_DB, instance_class="db.t3.medium", parameter_group="orders-pg15"
        ),
        r.list_functions(
            {
                ORDERS_FN: {"DB_HOST": ORDERS_HOST, "DB_NAME": "orders", "DB_POOL_SIZE": "10"},
                "orders-reports": {
                    "DB_HOST": "reports-db.c9xk2mplq3rt.us-east-1.rds.amazonaws.com"
                },
                "search-api": {"INDEX": "orders"},
            }
        ),
        *r.lambda_calls(
            ORDERS_FN,
            environment={"DB_HOST": ORDERS_HOST, "DB_NAME": "orders", "DB_POOL_SIZE": "10"},
        ),
    ],
    changes=[
        api_change(
            at("12:05:40"),
            "ModifyDBInstance",
            "rds.amazonaws.com",
            [("AWS::RDS::DBInstance", "reports-db")],
            {"dBInstanceIdentifier": "reports-db", "backupRetentionPeriod": 14},
        ),
        lambda_deploy_change(POOL_DEPLOY, ORDERS_FN, old_version=87, new_version=88, culprit=True),
    ],
    alarm=AlarmOn(
        "orders-db-connections-high",
        "AWS/RDS",
        "DatabaseConnections",
        {"DBInstanceIdentifier": ORDERS_DB},
        threshold=360,
        statistic="Maximum",
        evaluation_periods=3,
        datapoints_to_alarm=3,
        description="orders-db connections above 80% of max_connections",
    ),
    onset=POOL_DEPLOY,
    cause="a deploy of orders-api (v88) raised its connection pool from 2 to 10 per execution "
    "environment; orders-db reached max_connections (450) and refused connections",
    must_say=["orders-api", "max_connections", "remaining connection slots", "pool"],
    resources={"db": ORDERS_DB, "function": ORDERS_FN},
)

BILLING_DB, BILLING_FN = "billing-db", "invoice-worker"
BILLING_HOST = f"{BILLING_DB}.c9xk2mplq3rt.us-east-1.rds.amazonaws.com"
LEAK_FROM = at("12:20:00")
PROVIDER_TIMEOUT = "TimeoutError: payment provider did not respond after 10000 ms"


def _billing_connections(ctx: Context) -> np.ndarray:
    """4 per warm environment, plus one leaked for every provider timeout (that path never
    returns its connection to the pool), up to max_connections less the reserved 3."""
    leaked = np.cumsum(ctx.counts("app", lambda f: f["error"] == PROVIDER_TIMEOUT))
    return np.minimum(4.0 * _environments(18.0, 24.0)(ctx) + 5.0 + leaked, 597.0)


CONNECTION_LEAK = p.PipelineScenario(
    name="rds_connection_leak",
    alert_type="rds_connections",
    description="payment-provider timeouts in invoice-worker leak database connections until "
    "billing-db refuses new ones; no culprit change",
    start=START,
    end=END,
    requests=[Requests("app", Traffic(300, 460, duration_ms=250), {"invoice": 1.0})],
    effects=[
        fail("app", LEAK_FROM, 0.03, status=500, error=PROVIDER_TIMEOUT),
        fail("app", at("13:01:00"), 0.35, ramp=pd.Timedelta(minutes=2), status=500, error=SLOTS),
    ],
    metrics=[
        *p.rds_metrics(
            BILLING_DB,
            _billing_connections,
            cpu=lambda c: 18.0 + 0.01 * _billing_connections(c),
            memory_bytes=5.5e9,
        ),
        *r.lambda_metrics(BILLING_FN, "app"),
    ],
    logs=[Logs(f"/aws/lambda/{BILLING_FN}", "app", r.lambda_error_line(), where=r.failed)],
    runs=[
        p.Runs(
            f"/aws/lambda/{BILLING_FN}",
            lambda c: c.index.minute % 4 == 0,
            p.pipeline_line("INFO", "db pool ready", pool_size=4, db="billing"),
        )
    ],
    calls=[
        *p.rds_instance_calls(
            BILLING_DB,
            instance_class="db.m5.large",
            parameter_group="billing-pg15",
            max_connections="600",
            source="user",
        ),
        r.list_functions(
            {
                BILLING_FN: {"DATABASE_URL": f"postgresql://billing@{BILLING_HOST}/billing"},
                "invoice-api": {"QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123/invoices"},
            }
        ),
        *r.lambda_calls(
            BILLING_FN,
            environment={"DATABASE_URL": f"postgresql://billing@{BILLING_HOST}/billing"},
        ),
    ],
    changes=[
        lambda_deploy_change(at("11:58:20"), BILLING_FN, old_version=31, new_version=32),
        api_change(
            at("12:14:05"),
            "ModifyDBParameterGroup",
            "rds.amazonaws.com",
            [("AWS::RDS::DBParameterGroup", "analytics-pg15")],
            {
                "dBParameterGroupName": "analytics-pg15",
                "parameters": [{"parameterName": "work_mem"}],
            },
        ),
    ],
    alarm=AlarmOn(
        "billing-db-connections-high",
        "AWS/RDS",
        "DatabaseConnections",
        {"DBInstanceIdentifier": BILLING_DB},
        threshold=480,
        statistic="Maximum",
        evaluation_periods=3,
        datapoints_to_alarm=3,
        description="billing-db connections above 80% of max_connections",
    ),
    onset=LEAK_FROM,
    cause="invoice-worker leaks a database connection on every payment-provider timeout "
    "(TimeoutError); billing-db's connections climb to max_connections (600); nothing changed",
    must_say=["No related change found", BILLING_FN, "TimeoutError", "max_connections"],
    resources={"db": BILLING_DB, "function": BILLING_FN},
)

ALL = (RULE_DISABLED, UPSTREAM_EMPTY, CHECKOUT_DEGRADED, POOL_SIZE_DEPLOY, CONNECTION_LEAK)

for _scenario in ALL:
    _scenario.register()
