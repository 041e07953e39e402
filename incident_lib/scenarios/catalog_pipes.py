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
from incident_lib.scenarios.traffic import daily_rate

DAY = "2026-11-20"


def at(hhmmss: str) -> pd.Timestamp:
    """``"12:01:40"`` on the scenarios' day, UTC."""
    return pd.Timestamp(f"{DAY}T{hhmmss}Z")


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

ALL = (RULE_DISABLED, UPSTREAM_EMPTY, CHECKOUT_DEGRADED)

for _scenario in ALL:
    _scenario.register()
