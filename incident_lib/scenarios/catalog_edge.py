"""Scenarios of the alert catalogue for CloudFront, cost and custom metrics, declared with the
service kit (``services.py``, ``recipes.py``, ``recipes_edge.py``). All on 2026-11-20 (UTC),
account 123456789012, us-east-1 (where CloudFront's metrics and CloudTrail events live). Each
one's ground truth says the onset, the cause, the culprit change or none, and what the
findings must say.

- ``cloudfront_origin_path_change``: an UpdateDistribution gives the stock dashboard's S3
  origin a wrong origin path (``/release/...`` for ``/releases/...``); every cache miss of the
  static site gets 403 AccessDenied from S3 and the distribution's 4xxErrorRate alarm fires.
  An invalidation 16 minutes before is in CloudTrail too. Culprit: the UpdateDistribution.
- ``cloudfront_origin_api_outage``: the API Gateway API behind ``/api/*`` fails (502) and
  times out (504 at CloudFront's 30 s origin read timeout); the 5xxErrorRate alarm fires.
  Culprit: **none** (an invalidation of ``/*`` 21 minutes before, another team's bucket policy).
- ``cost_recursive_lambda``: a deploy makes ``thumbnail-generator`` write thumbnails into the
  bucket whose notification invokes it: a recursive loop; Lambda, S3 and CloudWatch charges
  climb and the account's EstimatedCharges alarm fires the next day. 3.5 days of telemetry,
  billing published every 6 hours, Cost Explorer recorded. Culprit: the deploy.
- ``cost_traffic_growth``: a partner starts calling ``image-api``: its requests quadruple,
  API Gateway and Lambda charges climb. Culprit: **none** (a deploy of image-api 2.5 hours
  before, a configuration change after).
- ``custom_quality_feed_change``: the market-feed provider starts sending prices as text;
  ``stock-data-ingest``'s LowQualityDataPercentage (StockAnalysis/DataQuality) climbs from
  2.5% to 35%; the same minutes yesterday and a week ago are written too. Culprit: **none**
  (a clean deploy of the function 38 minutes before, an SSM parameter after).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from incident_lib.scenarios import recipes as r
from incident_lib.scenarios import recipes_edge as e
from incident_lib.scenarios.cloudtrail import Identity
from incident_lib.scenarios.services import (
    ACCOUNT,
    REGION,
    AlarmOn,
    Call,
    Context,
    Gauge,
    Logs,
    Metric,
    Requests,
    ServiceScenario,
    Traffic,
    api_change,
    fail,
    lambda_deploy_change,
    recorded,
)
from incident_lib.scenarios.toolkit import CI
from incident_lib.scenarios.traffic import day_clock, minute_index, minutes
from incident_lib.store import StoreWriter, canonical_dimensions

DAY = "2026-11-20"


at = day_clock(DAY)


START, END = at("11:00:00"), at("13:20:00")


@dataclass(frozen=True)
class EdgeScenario(ServiceScenario):
    """A :class:`ServiceScenario` with what slow and custom metrics need: metrics published
    every few hours (``published_every``: metric name -> minutes, as AWS/Billing does), calls
    whose answers are computed from the minute index (``derived_calls``: Cost Explorer), and
    the same metric on earlier days (``history``: gauges of the index alone, written for each
    of ``history_days`` before the window, so "the same hour yesterday and last week" exist)."""

    published_every: Mapping[str, int] = field(default_factory=dict)
    derived_calls: Sequence[Callable[[Context], Call]] = ()
    history: Sequence[Gauge] = ()
    history_days: Sequence[int] = (1, 2, 3, 4, 5, 6, 7)

    def _metric_rows(self, m: Any, frames: Any, rng: np.random.Generator) -> pd.DataFrame:
        rows = super()._metric_rows(m, frames, rng)
        every = self.published_every.get(m.name)
        if every:
            t = pd.DatetimeIndex(rows["timestamp"])
            rows = rows[((t.hour * 60 + t.minute) % every == 0)]
        return rows

    def generate(self, writer: StoreWriter, rng: np.random.Generator) -> dict[str, Any]:
        ctx = Context(minute_index(self.start, self.end), {})
        plain = dataclasses.replace(
            self, calls=[*self.calls, *(c(ctx) for c in self.derived_calls)], derived_calls=()
        )
        entry = ServiceScenario.generate(plain, writer, rng)
        parts = []
        for g in self.history:
            for days in self.history_days:
                index = minute_index(self.start, self.end) - pd.Timedelta(days=days)
                level = g.level(Context(index, {})) if callable(g.level) else float(g.level)
                level = np.broadcast_to(np.asarray(level, float), (len(index),))
                values = np.round(
                    np.maximum(level * (1 + rng.normal(0, g.noise, len(index))), 0), 2
                )
                parts.append(
                    pd.DataFrame(
                        {
                            "namespace": g.namespace,
                            "metric_name": g.name,
                            "dimensions": canonical_dimensions(dict(g.dimensions)),
                            "unit": g.unit,
                            "timestamp": index,
                            "sample_count": 1.0,
                            "sum": values,
                            "minimum": values,
                            "maximum": values,
                        }
                    )
                )
        if parts:
            writer.add_metrics(pd.concat(parts, ignore_index=True))
        return entry


# -- cloudfront_errors ---------------------------------------------------------------------------
DISTRIBUTION = "E2QWRUHAPOMQZL"
DOMAIN = "dqdtse490mbv1.cloudfront.net"
BUCKET = f"stock-dashboard-{ACCOUNT}"
API = "stock-analysis-api"
API_DOMAIN = "1hdrnjh4kl.execute-api.us-east-1.amazonaws.com"
STATIC = {
    "GET /index.html": 0.2,
    "GET /assets/app.js": 0.35,
    "GET /assets/app.css": 0.25,
    "GET /assets/logo.svg": 0.2,
}
API_ROUTES = {"GET /api/anomalies": 0.7, "GET /api/health": 0.3}
CF_LOGS = f"/aws/cloudfront/{DISTRIBUTION}"
GOOD_PATH, BAD_PATH = "/releases/2026-11-19", "/release/2026-11-20"
PATH_CHANGE = at("12:21:10")


def _reached(f: pd.DataFrame) -> pd.Series:
    """Requests CloudFront sent on to an origin: not cache hits, not refused at the edge."""
    return ~f["outcome"].isin(["hit", "edge_error"])


def _origins(path: str) -> list[dict]:
    return [
        {
            "Id": "dashboard-s3",
            "DomainName": f"{BUCKET}.s3.us-east-1.amazonaws.com",
            "OriginPath": path,
        },
        {"Id": "stock-api", "DomainName": API_DOMAIN, "OriginPath": "/prod"},
    ]


def _distribution_config(path: str) -> dict:
    """UpdateDistribution's requestParameters (the parts that matter)."""
    return {
        "id": DISTRIBUTION,
        "ifMatch": "E1Q2W3E4R5T6Y7",
        "distributionConfig": {
            "origins": {
                "quantity": 2,
                "items": [
                    {"id": o["Id"], "domainName": o["DomainName"], "originPath": o["OriginPath"]}
                    for o in _origins(path)
                ],
            },
            "defaultCacheBehavior": {"targetOriginId": "dashboard-s3"},
            "cacheBehaviors": {
                "quantity": 1,
                "items": [{"pathPattern": "/api/*", "targetOriginId": "stock-api"}],
            },
        },
    }


def _cache_hits(stream: str, share: float) -> list:
    """From the window's start, ``share`` of the stream's requests are cache hits."""
    return [fail(stream, START, share, status=200, outcome="hit", latency_ms=9)]


ORIGIN_PATH = ServiceScenario(
    name="cloudfront_origin_path_change",
    alert_type="cloudfront_errors",
    description="an UpdateDistribution points the dashboard's S3 origin at a path that does "
    "not exist: the distribution's cache misses get 403",
    start=START,
    end=END,
    requests=[
        Requests("static", Traffic(180, 360, duration_ms=45), STATIC),
        Requests("api", Traffic(60, 140, duration_ms=160), API_ROUTES),
    ],
    effects=[
        *_cache_hits("static", 0.62),
        *_cache_hits("api", 0.2),
        fail("static", START, 0.012, status=404, outcome="client_error", error="NoSuchKey"),
        fail("api", START, 0.002, status=502, outcome="origin_error", error="Bad Gateway"),
        fail("static", START, 0.002, status=400, outcome="edge_error", error="InvalidRequest"),
        fail(
            "static",
            PATH_CHANGE,
            0.97,
            ramp=minutes(1),
            status=403,
            outcome="origin_error",
            error="AccessDenied",
        ),
    ],
    metrics=[
        *e.cloudfront_metrics(DISTRIBUTION, ("static", "api"), origin=_reached),
        *e.origin_apigateway_metrics(API, "prod", "api", reached=_reached),
        *e.s3_request_metrics(BUCKET, "static", reached=_reached),
    ],
    logs=[
        Logs(CF_LOGS, "static", e.cloudfront_log_line(host=DOMAIN)),
        Logs(CF_LOGS, "api", e.cloudfront_log_line(host=DOMAIN)),
    ],
    calls=[
        *e.cloudfront_calls(
            DISTRIBUTION,
            DOMAIN,
            _origins(BAD_PATH),
            [
                {"TargetOriginId": "dashboard-s3"},
                {"PathPattern": "/api/*", "TargetOriginId": "stock-api"},
            ],
            log_group=CF_LOGS,
        ),
        recorded(
            "apigateway",
            "GetRestApis",
            {"items": [{"id": API_DOMAIN.split(".")[0], "name": API}]},
            limit=500,
        ),
    ],
    changes=[
        api_change(
            at("12:05:02"),
            "CreateInvalidation",
            "cloudfront.amazonaws.com",
            [("AWS::CloudFront::Distribution", DISTRIBUTION)],
            {
                "distributionId": DISTRIBUTION,
                "invalidationBatch": {
                    "paths": {"quantity": 1, "items": ["/index.html"]},
                    "callerReference": "ci-2026-11-20-1204",
                },
            },
            who=CI,
            what="CreateInvalidation /index.html",
        ),
        api_change(
            at("11:41:37"),
            "PutRolePolicy",
            "iam.amazonaws.com",
            [("AWS::IAM::Role", "reporting-etl-role")],
            {"roleName": "reporting-etl-role", "policyName": "s3-read"},
        ),
        api_change(
            PATH_CHANGE,
            "UpdateDistribution2020_05_31",
            "cloudfront.amazonaws.com",
            [("AWS::CloudFront::Distribution", DISTRIBUTION)],
            _distribution_config(BAD_PATH),
            culprit=True,
            what=f"UpdateDistribution: dashboard-s3 origin path {GOOD_PATH} -> {BAD_PATH}",
        ),
    ],
    alarm=AlarmOn(
        "stock-dashboard-cloudfront-4xx",
        "AWS/CloudFront",
        "4xxErrorRate",
        e.cloudfront_dims(DISTRIBUTION),
        threshold=5,
        statistic="Average",
    ),
    onset=PATH_CHANGE,
    cause="an UpdateDistribution set the dashboard-s3 origin's path to /release/2026-11-20 "
    "(the objects are under /releases/...): S3 answers every cache miss with 403 AccessDenied",
    must_say=["UpdateDistribution", "403", "OriginError", "dashboard-s3", BAD_PATH],
    resources={"distribution": DISTRIBUTION, "bucket": BUCKET, "api": API},
)

API_OUTAGE = at("12:24:00")
ORIGIN_API_OUTAGE = ServiceScenario(
    name="cloudfront_origin_api_outage",
    alert_type="cloudfront_errors",
    description="the API behind the dashboard's /api/* fails (502) and times out (504): the "
    "distribution's 5xxErrorRate alarm fires; no culprit change (an invalidation 21 min before)",
    start=START,
    end=END,
    requests=ORIGIN_PATH.requests,
    effects=[
        *_cache_hits("static", 0.62),
        *_cache_hits("api", 0.2),
        fail("static", START, 0.012, status=404, outcome="client_error", error="NoSuchKey"),
        fail("api", START, 0.002, status=502, outcome="origin_error", error="Bad Gateway"),
        fail(
            "api",
            API_OUTAGE,
            0.4,
            ramp=minutes(2),
            status=502,
            outcome="origin_error",
            error="Internal server error",
        ),
        fail(
            "api",
            API_OUTAGE + minutes(1),
            0.08,
            ramp=minutes(2),
            status=504,
            outcome="origin_timeout",
            latency_ms=30000,
            error="Origin read timeout",
        ),
    ],
    metrics=ORIGIN_PATH.metrics,
    logs=ORIGIN_PATH.logs,
    calls=[
        *e.cloudfront_calls(
            DISTRIBUTION,
            DOMAIN,
            _origins(GOOD_PATH),
            [
                {"TargetOriginId": "dashboard-s3"},
                {"PathPattern": "/api/*", "TargetOriginId": "stock-api"},
            ],
            log_group=CF_LOGS,
        ),
        *ORIGIN_PATH.calls[-1:],  # GetRestApis
    ],
    changes=[
        api_change(
            at("12:03:12"),
            "CreateInvalidation",
            "cloudfront.amazonaws.com",
            [("AWS::CloudFront::Distribution", DISTRIBUTION)],
            {
                "distributionId": DISTRIBUTION,
                "invalidationBatch": {
                    "paths": {"quantity": 1, "items": ["/*"]},
                    "callerReference": "ci-2026-11-20-1203",
                },
            },
            who=CI,
            what="CreateInvalidation /*",
        ),
        api_change(
            at("12:33:40"),
            "PutBucketPolicy",
            "s3.amazonaws.com",
            [("AWS::S3::Bucket", "reports-archive")],
            {"bucketName": "reports-archive"},
        ),
    ],
    alarm=AlarmOn(
        "stock-dashboard-cloudfront-5xx",
        "AWS/CloudFront",
        "5xxErrorRate",
        e.cloudfront_dims(DISTRIBUTION),
        threshold=1,
        statistic="Average",
    ),
    onset=API_OUTAGE,
    cause="the API Gateway origin (stock-analysis-api, behind /api/*) returns 502 and times out "
    "(504): its own 5XXError rises with CloudFront's; nothing changed in the distribution",
    must_say=["No related change found", "stock-api", "502", "stock-analysis-api"],
    resources={"distribution": DISTRIBUTION, "api": API},
)


# -- cost_spike ----------------------------------------------------------------------------------
COST_START, COST_END = pd.Timestamp("2026-11-16T00:00Z"), pd.Timestamp("2026-11-20T14:00Z")
MONTH = pd.Timestamp("2026-11-01T00:00Z")
RESIZER = "thumbnail-generator"
RESIZER_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{RESIZER}"
UPLOADS = f"media-uploads-{ACCOUNT}"
LOOP_DEPLOY = pd.Timestamp("2026-11-19T14:12:30Z")
#: Per invocation of the loop: the request and 1.2 s at 1 GB (Lambda), a GET and a PUT (S3),
#: about 2 KB of logs (CloudWatch).
PER_LOOP = {
    "AWSLambda": 2e-7 + 1.2 * 1.0 * 1.66667e-5,
    "AmazonS3": 5e-6 + 4e-7,
    "AmazonCloudWatch": 1e-6,
}
DAILY = {
    "AWSLambda": 9.0,
    "AmazonApiGateway": 6.0,
    "AmazonDynamoDB": 14.0,
    "AmazonS3": 5.0,
    "AmazonCloudWatch": 4.0,
    "AmazonEC2": 22.0,
}


def _daily_shape(index: pd.DatetimeIndex) -> np.ndarray:
    """1 on average over a day, higher in the European and American afternoons."""
    hours = index.hour.to_numpy() + index.minute.to_numpy() / 60
    return 1 + 0.35 * np.cos(2 * np.pi * (hours - 16) / 24)


def _uploads(ctx: Context) -> np.ndarray:
    """Images uploaded per minute (each one invokes the resizer once)."""
    return 22.0 * _daily_shape(ctx.index)


def _loop(ctx: Context) -> np.ndarray:
    """The recursive loop's extra invocations per minute, from the deploy: each thumbnail
    written into the uploads prefix invokes the function again, up to what its concurrency
    allows."""
    m = ctx.minutes_since(LOOP_DEPLOY)
    return np.where(m >= 0, 2400.0 * (1 - np.exp(-np.maximum(m, 0) / 4.0)), 0.0)


def _cost(service: str) -> Callable[[Context], np.ndarray]:
    def per_minute(ctx: Context) -> np.ndarray:
        base = DAILY[service] / 1440 * _daily_shape(ctx.index)
        return base + _loop(ctx) * PER_LOOP.get(service, 0.0)

    return per_minute


COSTS = {name: _cost(name) for name in DAILY}


def _function_metrics(
    name: str, per_minute: Callable[[Context], np.ndarray], duration: float
) -> list:
    dims = {"FunctionName": name}
    return [
        Gauge("AWS/Lambda", "Invocations", dims, per_minute, 0.05),
        Gauge("AWS/Lambda", "Duration", dims, duration, 0.1, "Milliseconds"),
        Gauge("AWS/Lambda", "Errors", dims, 0.0, 0.0),
    ]


def _ce_call(ctx: Context, costs: Mapping[str, Callable[[Context], np.ndarray]] = COSTS) -> Call:
    """Cost Explorer for the month so far, as the notebook asks for it on 2026-11-20."""
    return recorded(
        "ce",
        "GetCostAndUsage",
        e.cost_and_usage(costs, ctx, start="2026-11-01", end="2026-11-21"),
        TimePeriod={"Start": "2026-11-01", "End": "2026-11-21"},
        Granularity="DAILY",
        Metrics=["UnblendedCost"],
        GroupBy=[{"Type": "DIMENSION", "Key": "SERVICE"}],
    )


ONCALL = Identity(ACCOUNT, "sam.okafor", role="AdministratorAccess")
RECURSIVE_LOOP = EdgeScenario(
    name="cost_recursive_lambda",
    alert_type="cost_spike",
    description="a deploy makes thumbnail-generator write its thumbnails into the prefix that "
    "triggers it: a recursive loop, 2,400 invocations a minute, and the bill climbs",
    start=COST_START,
    end=COST_END,
    requests=[],
    metrics=[
        *e.billing_metrics(COSTS, month_start=MONTH),
        *_function_metrics(RESIZER, lambda ctx: _uploads(ctx) + _loop(ctx), 1150.0),
        *_function_metrics("image-api", lambda ctx: 60.0 * _daily_shape(ctx.index), 85.0),
        *_function_metrics("orders-api", lambda ctx: 140.0 * _daily_shape(ctx.index), 60.0),
        *_function_metrics("report-export", lambda ctx: 3.0 * _daily_shape(ctx.index), 42000.0),
        Gauge(
            "AWS/ApiGateway",
            "Count",
            {"ApiName": "image-api", "Stage": "prod"},
            lambda ctx: 60.0 * _daily_shape(ctx.index),
            0.05,
        ),
        Gauge(
            "AWS/DynamoDB",
            "ConsumedWriteCapacityUnits",
            {"TableName": "orders"},
            lambda ctx: 280.0 * _daily_shape(ctx.index),
            0.05,
        ),
        Gauge(
            "AWS/S3",
            "PutRequests",
            {"BucketName": UPLOADS, "FilterId": "EntireBucket"},
            lambda ctx: _uploads(ctx) * 2 + _loop(ctx),
            0.05,
        ),
        Gauge(
            "AWS/S3",
            "GetRequests",
            {"BucketName": UPLOADS, "FilterId": "EntireBucket"},
            lambda ctx: _uploads(ctx) * 3 + _loop(ctx),
            0.05,
        ),
    ],
    published_every={"EstimatedCharges": 360},
    derived_calls=[_ce_call],
    calls=[
        *r.lambda_calls(
            RESIZER,
            timeout=30,
            memory=1024,
            environment={"OUTPUT_BUCKET": UPLOADS, "SIZES": "128,512"},
        ),
        recorded(
            "s3",
            "GetBucketNotificationConfiguration",
            {
                "LambdaFunctionConfigurations": [
                    {
                        "Id": "resize-on-upload",
                        "LambdaFunctionArn": RESIZER_ARN,
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {
                            "Key": {"FilterRules": [{"Name": "Prefix", "Value": "uploads/"}]}
                        },
                    }
                ]
            },
            Bucket=UPLOADS,
        ),
    ],
    changes=[
        lambda_deploy_change(
            pd.Timestamp("2026-11-18T10:02:00Z"), "image-api", old_version=30, new_version=31
        ),
        lambda_deploy_change(LOOP_DEPLOY, RESIZER, old_version=13, new_version=14, culprit=True),
        api_change(
            pd.Timestamp("2026-11-19T15:40:12Z"),
            "UpdateTable",
            "dynamodb.amazonaws.com",
            [("AWS::DynamoDB::Table", "orders")],
            {"tableName": "orders", "billingMode": "PAY_PER_REQUEST"},
            who=ONCALL,
        ),
    ],
    alarm=AlarmOn(
        "aws-billing-estimated-charges-usd",
        "AWS/Billing",
        "EstimatedCharges",
        {"Currency": "USD"},
        threshold=1200,
        statistic="Maximum",
        period=21600,
        evaluation_periods=1,
        datapoints_to_alarm=1,
    ),
    onset=LOOP_DEPLOY,
    cause="a deploy of thumbnail-generator (v14) writes thumbnails into the uploads bucket whose "
    "notification invokes it: a recursive loop of 2,400 invocations a minute; AWSLambda, S3 "
    "and CloudWatch charges climb",
    must_say=["thumbnail-generator", "AWSLambda", "recursive", UPLOADS],
    resources={"function": RESIZER, "bucket": UPLOADS},
)

# A partner starts calling image-api: its requests quadruple, no change of ours.
CAMPAIGN = pd.Timestamp("2026-11-19T16:00:00Z")
IMAGE_API_RATE = 1500.0  # requests a minute on an average day


def _image_requests(ctx: Context) -> np.ndarray:
    m = ctx.minutes_since(CAMPAIGN)
    surge = np.where(m >= 0, 3.0 * np.clip(m / 10.0, 0.0, 1.0), 0.0)
    return IMAGE_API_RATE * _daily_shape(ctx.index) * (1 + surge)


#: Per request: API Gateway USD 3.50 a million; Lambda the request and 85 ms at 512 MB.
PER_REQUEST = {"AmazonApiGateway": 3.5e-6, "AWSLambda": 2e-7 + 0.085 * 0.5 * 1.66667e-5}


def _traffic_cost(service: str) -> Callable[[Context], np.ndarray]:
    def per_minute(ctx: Context) -> np.ndarray:
        base = DAILY[service] / 1440 * _daily_shape(ctx.index)
        usual = IMAGE_API_RATE * _daily_shape(ctx.index)
        return base + (_image_requests(ctx) - usual) * PER_REQUEST.get(service, 0.0)

    return per_minute


TRAFFIC_COSTS = {name: _traffic_cost(name) for name in DAILY}
TRAFFIC_GROWTH = EdgeScenario(
    name="cost_traffic_growth",
    alert_type="cost_spike",
    description="a partner starts calling image-api: its requests quadruple and API Gateway "
    "and Lambda charges climb; no culprit change",
    start=COST_START,
    end=COST_END,
    requests=[],
    metrics=[
        *e.billing_metrics(TRAFFIC_COSTS, month_start=MONTH),
        *_function_metrics(RESIZER, _uploads, 1150.0),
        *_function_metrics("image-api", _image_requests, 85.0),
        *_function_metrics("orders-api", lambda ctx: 140.0 * _daily_shape(ctx.index), 60.0),
        Gauge(
            "AWS/ApiGateway",
            "Count",
            {"ApiName": "image-api", "Stage": "prod"},
            _image_requests,
            0.05,
        ),
        Gauge(
            "AWS/ApiGateway",
            "Count",
            {"ApiName": "orders-api", "Stage": "prod"},
            lambda ctx: 140.0 * _daily_shape(ctx.index),
            0.05,
        ),
    ],
    published_every={"EstimatedCharges": 360},
    derived_calls=[lambda ctx: _ce_call(ctx, TRAFFIC_COSTS)],
    calls=[*r.lambda_calls("image-api", timeout=10, memory=512, environment={"TABLE": "images"})],
    changes=[
        lambda_deploy_change(
            pd.Timestamp("2026-11-19T13:31:00Z"), "image-api", old_version=31, new_version=32
        ),
        api_change(
            pd.Timestamp("2026-11-19T16:41:05Z"),
            "UpdateFunctionConfiguration20150331v2",
            "lambda.amazonaws.com",
            [("AWS::Lambda::Function", "image-api")],
            {"functionName": "image-api", "memorySize": 512},
            who=ONCALL,
            what="image-api memory 512 MB (unchanged)",
        ),
    ],
    alarm=AlarmOn(
        "aws-billing-estimated-charges-usd",
        "AWS/Billing",
        "EstimatedCharges",
        {"Currency": "USD"},
        threshold=1165,
        statistic="Maximum",
        period=21600,
        evaluation_periods=1,
        datapoints_to_alarm=1,
    ),
    onset=CAMPAIGN,
    cause="a partner starts calling image-api (its requests quadruple from 16:00): API Gateway "
    "and Lambda charges grow with the traffic; no change of ours",
    must_say=["No related change found", "image-api", "AmazonApiGateway"],
    resources={"api": "image-api", "function": "image-api"},
)


# -- custom_metric -------------------------------------------------------------------------------
INGEST = "stock-data-ingest"
QUALITY_DIMS = {"Service": INGEST, "Environment": "production"}
FEEDS = {"market-feed": 0.6, "fundamentals-feed": 0.25, "news-feed": 0.15}
FEED_CHANGE = at("12:18:00")
NOT_A_NUMBER = "field 'price' is not a number"


def _low_quality(f: pd.DataFrame) -> pd.Series:
    return f["outcome"] == "low_quality"


def _low_quality_share(ctx: Context) -> np.ndarray:
    total = ctx.counts("ingest")
    return np.where(total > 0, 100.0 * ctx.counts("ingest", _low_quality) / np.maximum(total, 1), 0)


def _validation_line(row: Mapping[str, Any]) -> str:
    """The ingest function's WARNING for a record that failed validation (structured JSON)."""
    from incident_lib.scenarios.lambda_logs import app_line

    ts = row["time"] + pd.Timedelta(milliseconds=float(row["latency_ms"]))
    field_, _, reason = str(row["error"]).partition(": ")
    body = {
        "level": "WARNING",
        "message": "record failed validation",
        "provider": row["kind"],
        "reason": field_,
        "value": reason,
        "recordId": str(row["request_id"])[:13],
    }
    return app_line(ts, str(row["request_id"]), "WARNING", body)


def _batch_line(row: Mapping[str, Any]) -> str:
    """An INFO line per record stored (the application's normal chatter)."""
    from incident_lib.scenarios.lambda_logs import app_line

    ts = row["time"] + pd.Timedelta(milliseconds=float(row["latency_ms"]))
    body = {"level": "INFO", "message": "record stored", "provider": row["kind"]}
    return app_line(ts, str(row["request_id"]), "INFO", body)


FEED_FORMAT = EdgeScenario(
    name="custom_quality_feed_change",
    alert_type="custom_metric",
    description="the market-feed provider starts sending prices as text ('187.20 USD'): the "
    "data-quality score of stock-data-ingest falls; no change of ours",
    start=START,
    end=END,
    requests=[Requests("ingest", Traffic(150, 300, duration_ms=40), FEEDS)],
    effects=[
        fail(
            "ingest",
            START,
            0.025,
            status=200,
            outcome="low_quality",
            error="field 'volume' is missing: null",
        ),
        fail(
            "ingest",
            FEED_CHANGE,
            0.55,
            ramp=minutes(2),
            kinds=["market-feed"],
            status=200,
            outcome="low_quality",
            error=f"{NOT_A_NUMBER}: '187.20 USD'",
        ),
    ],
    metrics=[
        Gauge(
            "StockAnalysis/DataQuality",
            "LowQualityDataPercentage",
            QUALITY_DIMS,
            _low_quality_share,
            0.0,
            "Percent",
        ),
        Metric("StockAnalysis/DataQuality", "RecordsProcessed", QUALITY_DIMS, "ingest", "count"),
        *r.lambda_metrics(INGEST, "ingest", errors=r.outcome_is("error")),
    ],
    history=[
        Gauge(
            "StockAnalysis/DataQuality",
            "LowQualityDataPercentage",
            QUALITY_DIMS,
            2.5,
            0.25,
            "Percent",
        )
    ],
    logs=[
        Logs(f"/aws/lambda/{INGEST}", "ingest", _validation_line, where=_low_quality),
        Logs(
            f"/aws/lambda/{INGEST}",
            "ingest",
            _batch_line,
            where=lambda f: (f["outcome"] == "ok") & (f["request_id"].str[-1] == "0"),
        ),
    ],
    calls=[*r.lambda_calls(INGEST, timeout=60, memory=512, environment={"FEEDS": ",".join(FEEDS)})],
    changes=[
        lambda_deploy_change(at("11:40:20"), INGEST, old_version=57, new_version=58),
        api_change(
            at("12:31:02"),
            "PutParameter",
            "ssm.amazonaws.com",
            [("AWS::SSM::Parameter", "/stock-tracker/threshold")],
            {"name": "/stock-tracker/threshold", "overwrite": True},
        ),
    ],
    alarm=AlarmOn(
        "stock-analysis-data-quality-production",
        "StockAnalysis/DataQuality",
        "LowQualityDataPercentage",
        QUALITY_DIMS,
        threshold=10,
        statistic="Average",
        period=300,
    ),
    onset=FEED_CHANGE,
    cause="the market-feed provider changed its format (prices as text, '187.20 USD'): "
    "stock-data-ingest flags its records as low quality; no change of ours",
    must_say=["No related change found", "market-feed", "price"],
    resources={"service": INGEST, "function": INGEST},
)

ALL = (ORIGIN_PATH, ORIGIN_API_OUTAGE, RECURSIVE_LOOP, TRAFFIC_GROWTH, FEED_FORMAT)
for _scenario in ALL:
    _scenario.register()
