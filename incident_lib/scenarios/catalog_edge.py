"""Scenarios of the alert catalogue for CloudFront, cost and custom metrics, declared with the
service kit (``services.py``, ``recipes.py``, ``recipes_edge.py``). All on 2026-11-20 (UTC),
account 123456789012, us-east-1 (where CloudFront's metrics and CloudTrail events live). Each
one's ground truth says the onset, the cause, the culprit change or none, and what the
findings must say.

- ``cloudfront_origin_path_change``: an UpdateDistribution gives the stock dashboard's S3
  origin a wrong origin path (``/release/...`` for ``/releases/...``); every cache miss of the
  static site gets 403 AccessDenied from S3 and the distribution's 4xxErrorRate alarm fires.
  An invalidation 16 minutes before is in CloudTrail too. Culprit: the UpdateDistribution.
"""

from __future__ import annotations

import pandas as pd

from incident_lib.scenarios import recipes_edge as e
from incident_lib.scenarios.services import (
    ACCOUNT,
    AlarmOn,
    Logs,
    Requests,
    ServiceScenario,
    Traffic,
    api_change,
    fail,
    recorded,
)
from incident_lib.scenarios.toolkit import CI

DAY = "2026-11-20"


def at(hhmmss: str) -> pd.Timestamp:
    """``"12:01:40"`` on the scenarios' day, UTC."""
    return pd.Timestamp(f"{DAY}T{hhmmss}Z")


def minutes(n: float) -> pd.Timedelta:
    return pd.Timedelta(minutes=n)


START, END = at("11:00:00"), at("13:20:00")


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

ALL = (ORIGIN_PATH,)
for _scenario in ALL:
    _scenario.register()
