"""Ready-made pieces for the ``edge`` catalogue scenarios (CloudFront, billing, custom
metrics), in the shapes AWS uses, as :mod:`incident_lib.scenarios.recipes` does for API
Gateway, Lambda, DynamoDB and SQS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from incident_lib.scenarios.services import (
    ACCOUNT,
    REGION,
    Call,
    Context,
    Gauge,
    Metric,
    Where,
    recorded,
)

# -- CloudFront ----------------------------------------------------------------------------------
#: The error-rate metrics CloudFront publishes by default, and the status rates its
#: "additional metrics" (a monitoring subscription) add, all in percent of the requests.
DEFAULT_RATES = {
    "4xxErrorRate": (400, 499),
    "5xxErrorRate": (500, 599),
    "TotalErrorRate": (400, 599),
}
ADDITIONAL_RATES = {f"{code}ErrorRate": (code, code) for code in (401, 403, 404, 502, 503, 504)}


def cloudfront_dims(distribution: str) -> dict[str, str]:
    """CloudFront's metric dimensions: the distribution, and ``Region=Global`` always."""
    return {"DistributionId": distribution, "Region": "Global"}


def _rate(stream: str, lo: int, hi: int) -> Any:
    def level(ctx: Context) -> np.ndarray:
        total = ctx.counts(stream)
        bad = ctx.counts(stream, lambda f: (f["status"] >= lo) & (f["status"] <= hi))
        return np.where(total > 0, 100.0 * bad / np.maximum(total, 1.0), 0.0)

    return level


def cloudfront_metrics(
    distribution: str, stream: str, *, additional: bool = True, origin: Where | None = None
) -> list:
    """AWS/CloudFront for ``distribution`` serving ``stream``: Requests, the
    error rates in percent (4xx, 5xx, total; with ``additional``, 401/403/404/502/503/504,
    CacheHitRate and OriginLatency of the rows ``origin`` selects: the cache misses)."""
    dims = cloudfront_dims(distribution)
    out: list = [
        Metric("AWS/CloudFront", "Requests", dims, stream, "count", unit="None"),
    ]
    rates = dict(DEFAULT_RATES) | (ADDITIONAL_RATES if additional else {})
    for name, (lo, hi) in rates.items():
        out.append(Gauge("AWS/CloudFront", name, dims, _rate(stream, lo, hi), 0.0, "Percent"))
    if additional:
        hit = origin or (lambda f: pd.Series(False, index=f.index))

        def hit_rate(ctx: Context) -> np.ndarray:
            total = ctx.counts(stream)
            return np.where(total > 0, 100.0 * (1 - ctx.counts(stream, hit) / total), 0.0)

        out += [
            Gauge("AWS/CloudFront", "CacheHitRate", dims, hit_rate, 0.0, "Percent"),
            Metric(
                "AWS/CloudFront",
                "OriginLatency",
                dims,
                stream,
                "samples",
                hit,
                unit="Milliseconds",
            ),
        ]
    return out


def cloudfront_log_line(
    *, edge: str = "IAD89-P2", host: str = "d111111abcdef8.cloudfront.net"
) -> Any:
    """A CloudFront standard log record (logging v2 to CloudWatch Logs, JSON), one per request:
    ``x-edge-result-type`` Hit/Miss/Error, ``x-edge-detailed-result-type`` (OriginError when
    the origin answered with the error, an edge reason otherwise), the status, the path (the
    record names no origin: the distribution's cache behaviours say which serves a path).
    A row's ``outcome`` says where it was answered: ``ok``/``hit`` from the cache, ``miss``
    from the origin, ``origin_error`` and ``origin_timeout`` the origin's failures,
    ``edge_error`` CloudFront's own (a bad request, a blocked country), ``client_error`` a
    path nobody serves (404 from the origin)."""

    def line(row: Mapping[str, Any]) -> str:
        method, _, path = str(row["kind"]).partition(" ")
        outcome = str(row["outcome"])
        status = int(row["status"])
        if status < 400:
            result = "Hit" if outcome == "hit" else "Miss"
            detailed = result
        elif outcome == "edge_error":
            result, detailed = "Error", "InvalidRequest"
        elif outcome == "origin_timeout":
            result, detailed = "Error", "OriginReadError"
        else:
            result, detailed = "Error", "OriginError"
        seconds = float(row["latency_ms"]) / 1000
        return json.dumps(
            {
                "timestamp": int(pd.Timestamp(row["time"]).timestamp()),
                "DistributionId": host.split(".")[0],
                "date": f"{row['time']:%Y-%m-%d}",
                "time": f"{row['time']:%H:%M:%S}",
                "x-edge-location": edge,
                "sc-bytes": 0 if status >= 400 else 18234,
                "c-ip": row["client"],
                "cs-method": method,
                "cs-uri-stem": path,
                "sc-status": status,
                "x-edge-result-type": result,
                "x-edge-detailed-result-type": detailed,
                "x-edge-response-result-type": result,
                "x-edge-request-id": str(row["request_id"]).replace("-", "")[:32],
                "x-host-header": host,
                "time-taken": round(seconds, 3),
                "time-to-first-byte": round(seconds * 0.9, 3),
                "cs-protocol": "https",
            },
            separators=(",", ":"),
        )

    return line


def cloudfront_calls(
    distribution: str,
    domain: str,
    origins: Sequence[Mapping[str, Any]],
    behaviors: Sequence[Mapping[str, Any]],
    *,
    log_group: str | None = None,
    additional_metrics: bool = True,
    etag: str = "E3UN6WX5RRO2AG",
) -> list[Call]:
    """GetDistribution (its origins: ``Id``, ``DomainName``, ``OriginPath``; its cache
    behaviours: ``PathPattern`` -> ``TargetOriginId``, the first being the default),
    GetMonitoringSubscription (additional metrics on or off) and DescribeLogGroups with the
    distribution's id as pattern (where standard logging v2 delivers)."""
    default, *rest = behaviors

    def origin(o: Mapping[str, Any]) -> dict[str, Any]:
        body = {
            "Id": o["Id"],
            "DomainName": o["DomainName"],
            "OriginPath": o.get("OriginPath", ""),
            "ConnectionAttempts": 3,
            "ConnectionTimeout": 10,
        }
        if o["DomainName"].endswith(".s3.amazonaws.com") or ".s3." in o["DomainName"]:
            body["S3OriginConfig"] = {"OriginAccessIdentity": ""}
            body["OriginAccessControlId"] = "E2OACEXAMPLE1"
        else:
            body["CustomOriginConfig"] = {
                "HTTPPort": 80,
                "HTTPSPort": 443,
                "OriginProtocolPolicy": "https-only",
                "OriginReadTimeout": 30,
            }
        return body

    def behavior(b: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "TargetOriginId": b["TargetOriginId"],
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": b.get("CachePolicyId", "658327ea-f89d-4fab-a63d-7e88639e58f6"),
            "Compress": True,
        }

    config = {
        "CallerReference": f"{distribution}-2025",
        "Comment": "",
        "Enabled": True,
        "Origins": {"Quantity": len(origins), "Items": [origin(o) for o in origins]},
        "DefaultCacheBehavior": behavior(default),
        "CacheBehaviors": {
            "Quantity": len(rest),
            "Items": [{"PathPattern": b["PathPattern"], **behavior(b)} for b in rest],
        },
        "PriceClass": "PriceClass_100",
        "HttpVersion": "http2",
    }
    out = [
        recorded(
            "cloudfront",
            "GetDistribution",
            {
                "ETag": etag,
                "Distribution": {
                    "Id": distribution,
                    "ARN": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{distribution}",
                    "Status": "Deployed",
                    "LastModifiedTime": "2026-11-20T12:21:10Z",
                    "InProgressInvalidationBatches": 0,
                    "DomainName": domain,
                    "DistributionConfig": config,
                },
            },
            Id=distribution,
        ),
        recorded(
            "cloudfront",
            "GetMonitoringSubscription",
            {
                "MonitoringSubscription": {
                    "RealtimeMetricsSubscriptionConfig": {
                        "RealtimeMetricsSubscriptionStatus": "Enabled"
                        if additional_metrics
                        else "Disabled"
                    }
                }
            },
            DistributionId=distribution,
        ),
        recorded(
            "logs",
            "DescribeLogGroups",
            {
                "logGroups": [
                    {
                        "logGroupName": log_group,
                        "arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{log_group}:*",
                        "retentionInDays": 30,
                        "storedBytes": 912345678,
                    }
                ]
                if log_group
                else []
            },
            logGroupNamePattern=distribution,
        ),
    ]
    return out


def origin_apigateway_metrics(
    api: str, stage: str, stream: str | tuple[str, ...], *, reached: Where
) -> list:
    """AWS/ApiGateway for an API behind a distribution: only the requests CloudFront sent to
    the origin (``reached``: its cache misses) exist for it."""
    dims = {"ApiName": api, "Stage": stage}

    def status(lo: int, hi: int) -> Where:
        return lambda f: (f["status"] >= lo) & (f["status"] <= hi)

    return [
        Metric("AWS/ApiGateway", "Count", dims, stream, "count", reached),
        Metric("AWS/ApiGateway", "5XXError", dims, stream, "flag", status(500, 599), among=reached),
        Metric("AWS/ApiGateway", "4XXError", dims, stream, "flag", status(400, 499), among=reached),
        Metric("AWS/ApiGateway", "Latency", dims, stream, "samples", reached, unit="Milliseconds"),
    ]


def s3_request_metrics(
    bucket: str, stream: str | tuple[str, ...], *, reached: Where, filter_id: str = "EntireBucket"
) -> list:
    """AWS/S3 request metrics of ``bucket`` (a metrics configuration ``filter_id`` on it):
    AllRequests, GetRequests, 4xxErrors, 5xxErrors, FirstByteLatency of the requests that
    reached it."""
    dims = {"BucketName": bucket, "FilterId": filter_id}
    return [
        Metric("AWS/S3", "AllRequests", dims, stream, "count", reached),
        Metric("AWS/S3", "GetRequests", dims, stream, "count", reached),
        Metric(
            "AWS/S3",
            "4xxErrors",
            dims,
            stream,
            "flag",
            lambda f: (f["status"] >= 400) & (f["status"] < 500),
            among=reached,
        ),
        Metric(
            "AWS/S3", "5xxErrors", dims, stream, "flag", lambda f: f["status"] >= 500, among=reached
        ),
        Metric("AWS/S3", "FirstByteLatency", dims, stream, "samples", reached, unit="Milliseconds"),
    ]


# -- billing -------------------------------------------------------------------------------------
#: CloudWatch's ``ServiceName`` for a service's charges, and Cost Explorer's name for it.
CE_SERVICE = {
    "AWSLambda": "AWS Lambda",
    "AmazonApiGateway": "Amazon API Gateway",
    "AmazonDynamoDB": "Amazon DynamoDB",
    "AmazonS3": "Amazon Simple Storage Service",
    "AmazonCloudWatch": "AmazonCloudWatch",
    "AmazonEC2": "Amazon Elastic Compute Cloud - Compute",
}


def month_to_date(index: pd.DatetimeIndex, per_minute: np.ndarray, *, before: float) -> np.ndarray:
    """The month-to-date charge at each minute of ``index``: ``before`` (charged this month
    before the index starts) plus the running sum of ``per_minute``, starting again at the
    first of a month."""
    out = np.empty(len(per_minute))
    total = before
    for i, (t, c) in enumerate(zip(index, per_minute, strict=True)):
        if t.day == 1 and t.hour == 0 and t.minute == 0:
            total = 0.0
        total += float(c)
        out[i] = total
    return out


def billing_metrics(
    costs: Mapping[str, Any], *, month_start: pd.Timestamp, currency: str = "USD"
) -> list:
    """AWS/Billing ``EstimatedCharges`` per ``ServiceName`` and for the account (``Currency``
    only): ``costs`` maps a service to ``cost(ctx) -> per-minute charge``. The estimate is
    month-to-date: the charge since ``month_start`` (the window's earlier days at the
    same daily rate as its first day) plus the running sum."""

    def cumulative(fn: Any) -> Any:
        def level(ctx: Context) -> np.ndarray:
            per = np.asarray(fn(ctx), float)
            days_before = (ctx.index[0] - month_start).total_seconds() / 86400
            return month_to_date(ctx.index, per, before=float(per[:1440].sum()) * days_before)

        return level

    def total(ctx: Context) -> np.ndarray:
        return sum(cumulative(fn)(ctx) for fn in costs.values())

    out = [
        Gauge(
            "AWS/Billing",
            "EstimatedCharges",
            {"ServiceName": name, "Currency": currency},
            cumulative(fn),
            0.0,
            "None",
        )
        for name, fn in costs.items()
    ]
    out.append(Gauge("AWS/Billing", "EstimatedCharges", {"Currency": currency}, total, 0.0, "None"))
    return out


def cost_and_usage(
    costs: Mapping[str, Any],
    ctx: Context,
    *,
    start: str,
    end: str,
    group_by: str = "SERVICE",
) -> dict[str, Any]:
    """Cost Explorer's GetCostAndUsage answer, DAILY UnblendedCost grouped by SERVICE, for the
    days from ``start`` to ``end`` (exclusive): the days the index covers from the costs, the
    earlier ones at the rate of its first day (as :func:`billing_metrics` assumes)."""
    frame = pd.DataFrame(
        {name: np.asarray(fn(ctx), float) for name, fn in costs.items()}, index=ctx.index
    )
    daily = frame.groupby(frame.index.floor("D")).sum()
    first = frame.iloc[:1440].sum()
    results = []
    for day in pd.date_range(start, end, freq="D", inclusive="left", tz="UTC"):
        if day > ctx.index[-1]:
            break
        row = daily.loc[day] if day in daily.index else first
        results.append(
            {
                "TimePeriod": {
                    "Start": f"{day:%Y-%m-%d}",
                    "End": f"{day + pd.Timedelta(days=1):%Y-%m-%d}",
                },
                "Total": {},
                "Groups": [
                    {
                        "Keys": [CE_SERVICE.get(name, name)],
                        "Metrics": {"UnblendedCost": {"Amount": f"{v:.4f}", "Unit": "USD"}},
                    }
                    for name, v in row.items()
                ],
                "Estimated": True,
            }
        )
    return {
        "GroupDefinitions": [{"Type": "DIMENSION", "Key": group_by}],
        "ResultsByTime": results,
        "DimensionValueAttributes": [],
    }
