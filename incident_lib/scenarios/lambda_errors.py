"""Scenario ``lambda_errors``: a bad deploy of ``checkout-api`` makes a share of checkouts fail.

Timeline (UTC, 2026-11-18), four hours of telemetry, 11:00 to 15:00:

- 12:57  ``inventory-sync`` configuration change (unrelated function).
- 13:31  IAM ``PutRolePolicy`` on ``reporting-etl-role`` (unrelated resource).
- 13:55-13:56  CI deploys ``checkout-api``: UpdateFunctionCode, PublishVersion (42),
  UpdateAlias ``live`` 41 -> 42. API Gateway invokes ``checkout-api:live``, so the alias move
  is **the culprit change**: the moment the bad code met production traffic. The code change
  it shipped is recorded as ``code_change_event_id``.
- From the alias move, a ramping 7 -> 20 % of checkouts fail with ``KeyError: 'currency'``
  raised in ``pricing.py`` (a new error). ``TimeoutError: inventory service did not respond``
  fails about 0.5 % of calls all along (an old error).
- The alarm ``checkout-api-errors`` (Errors Sum > 5, 2 of 3 one-minute periods) goes to ALARM a
  few minutes after the move (evaluated from the generated series, not placed by hand).
- 14:08  ``cart-api`` deploy (a sibling, after the onset: a distractor).
- 14:31  on-call rolls the alias back to 41; errors stop; the alarm returns to OK.

``cart-api`` and ``payments-worker`` have the same Lambda metrics and stay healthy.
A few logged requests carry hostile text (``<script>``, an ``AKIA`` key id, ``password=``):
the ground truth lists them so reports can be checked for escaping and masking.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from incident_lib.scenarios import alarms
from incident_lib.scenarios.cloudtrail import Identity, function_arn, lambda_deploy, lookup_event
from incident_lib.scenarios.ids import hex_id, hex_ids, new_uuids
from incident_lib.scenarios.lambda_logs import (
    app_line,
    end_line,
    error_payload,
    init_start_line,
    iso_ms_many,
    log_group_name,
    report_line,
    start_line,
)
from incident_lib.scenarios.lambda_sim import (
    OK,
    apigateway_metrics,
    assign_environments,
    lambda_metrics,
    simulate_invocations,
    versions_by_alias,
)
from incident_lib.scenarios.registry import Scenario, register
from incident_lib.scenarios.traffic import minute_index
from incident_lib.store import StoreWriter

ACCOUNT = "123456789012"
REGION = "us-east-1"
FUNCTION = "checkout-api"
SIBLINGS = ("cart-api", "payments-worker")
ALIAS = "live"
ALARM_NAME = "checkout-api-errors"

START = pd.Timestamp("2026-11-18T11:00:00Z")
END = pd.Timestamp("2026-11-18T15:00:00Z")
CODE_AT = pd.Timestamp("2026-11-18T13:55:48Z")
PUBLISH_AT = pd.Timestamp("2026-11-18T13:56:09Z")
ALIAS_AT = pd.Timestamp("2026-11-18T13:56:31Z")
ROLLBACK_AT = pd.Timestamp("2026-11-18T14:31:12Z")
ALARM_CREATED = pd.Timestamp("2026-11-10T09:12:44.318Z")

NEW_ERROR = ("KeyError", "'currency'")
OLD_ERROR_TYPE = "TimeoutError"
NEW_SIGNATURE = "KeyError: 'currency'"
OLD_SIGNATURE = "TimeoutError: inventory service did not respond after <NUM> ms (attempt <NUM>)"
OLD_ERROR_RATE = 0.005

_NEW_STACK = [
    ("/var/task/app.py", 57, "handler", "quote = pricing.quote(cart)"),
    ("/var/task/pricing.py", 112, "quote", "lines = [_price(item) for item in cart['items']]"),
    ("/var/task/pricing.py", 88, "_price", "rate = FX_RATES[item['currency']]"),
]
_OLD_STACK = [
    ("/var/task/app.py", 49, "handler", "stock = inventory.reserve(cart)"),
    ("/var/task/inventory.py", 31, "reserve", "resp = _session.post(URL, json=body, timeout=3)"),
    ("/var/task/inventory.py", 74, "_post", "raise TimeoutError(msg)"),
]
_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "okhttp/4.12.0 shop-android/7.3.1",
    "shop-ios/7.3.0 CFNetwork/1568 Darwin/24.1.0",
)
HOSTILE_AGENT = "Mozilla/5.0 <script>alert(1)</script>"
HOSTILE_PATH = "/checkout?promo=<img src=x onerror=alert(document.cookie)>"
LEAKED_KEY = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key id, never a real one
LEAKED_LINE = f"retrying payment provider with key {LEAKED_KEY} password=hunter2-prod"


def _fail_share(minutes_since_move: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Share of checkouts failing after the move: 7 % ramping to 20 % over 10 minutes (more
    multi-currency carts as EU traffic arrives), with a little noise."""
    ramp = np.clip(0.35 + 0.65 * minutes_since_move / 10.0, 0.35, 1.0)
    return np.clip(0.20 * ramp + rng.normal(0, 0.01, size=len(minutes_since_move)), 0.0, 1.0)


def _invocations(rng: np.random.Generator) -> pd.DataFrame:
    index = minute_index(START, END)
    frame = simulate_invocations(index, rng, low=40, high=120, duration_median_ms=46.0)
    n = len(frame)
    old = rng.random(n) < OLD_ERROR_RATE
    frame.loc[old, "outcome"] = "old_error"
    frame.loc[old, "duration_ms"] = np.round(3000 + rng.lognormal(np.log(8), 0.5, old.sum()), 2)
    bad = ((frame["start"] >= ALIAS_AT) & (frame["start"] < ROLLBACK_AT)).to_numpy()
    since = (frame.loc[bad, "start"] - ALIAS_AT).dt.total_seconds().to_numpy() / 60.0
    fails = np.zeros(n, dtype=bool)
    fails[np.flatnonzero(bad)] = rng.random(int(bad.sum())) < _fail_share(since, rng)
    frame.loc[fails, "outcome"] = "new_error"
    frame.loc[fails, "duration_ms"] = np.round(rng.lognormal(np.log(14), 0.2, fails.sum()), 2)
    versions = versions_by_alias(frame["start"], [(ALIAS_AT, "42"), (ROLLBACK_AT, "41")], "41")
    frame = assign_environments(frame, rng, versions=versions)
    frame["request_id"] = new_uuids(rng, n)
    frame["user_agent"] = rng.choice(np.array(_AGENTS, dtype=object), size=n)
    frame["items"] = rng.integers(1, 7, size=n)
    frame["path"] = "/checkout"
    return frame


def _hostile(frame: pd.DataFrame, rng: np.random.Generator) -> dict[str, str]:
    """Plant hostile text in three successful requests inside the incident window; return
    which request carries which."""
    window = frame.index[(frame["start"] > ALIAS_AT) & (frame["outcome"] == OK)]
    picks = rng.choice(window.to_numpy(), size=3, replace=False)
    frame.loc[picks[0], "user_agent"] = HOSTILE_AGENT
    frame.loc[picks[1], "path"] = HOSTILE_PATH
    return {
        "xss_user_agent": frame.loc[picks[0], "request_id"],
        "xss_path": frame.loc[picks[1], "request_id"],
        "secret": frame.loc[picks[2], "request_id"],
    }


class _Row(NamedTuple):
    log_stream: str
    request_id: str
    init_ms: float
    version: str
    path: str
    items: int
    outcome: str
    user_agent: str
    duration_ms: float
    memory_mb: int
    max_memory_mb: int


def _log_events(frame: pd.DataFrame, rng: np.random.Generator, secret_request: str) -> pd.DataFrame:
    """Every log line of ``checkout-api``: platform lines plus one JSON application line per
    request (completed, or the error that failed it). Times are epoch ms throughout: the loop
    runs once per invocation and Timestamp arithmetic would dominate the build time."""
    ts_list: list[int] = []
    streams: list[str] = []
    messages: list[str] = []
    runtime_hash = hex_id(rng, 64)
    starts = frame["start"].astype("datetime64[ms, UTC]").astype("int64").to_numpy()
    ends = starts + np.round(frame["duration_ms"].to_numpy(float)).astype("int64")
    end_iso = iso_ms_many(ends - 1)
    warn_iso = iso_ms_many(starts + 2)
    order_ids = hex_ids(rng, len(frame), 12)
    attempts = rng.integers(1, 4, size=len(frame)).tolist()

    def emit(ts: int, stream: str, message: str) -> None:
        ts_list.append(ts)
        streams.append(stream)
        messages.append(message)

    # Plain Python lists: iterating Arrow-backed columns row by row is slow.
    rows = frame[
        [
            "log_stream",
            "request_id",
            "init_ms",
            "version",
            "path",
            "items",
            "outcome",
            "user_agent",
            "duration_ms",
            "memory_mb",
            "max_memory_mb",
        ]
    ]
    columns = {name: rows[name].tolist() for name in rows.columns}
    for i, values in enumerate(zip(*columns.values(), strict=True)):
        row = _Row(*values)
        start, end, stream, rid = int(starts[i]), int(ends[i]), row.log_stream, row.request_id
        init = None if np.isnan(row.init_ms) else float(row.init_ms)
        if init is not None:
            emit(
                start - round(init),
                stream,
                init_start_line("python:3.12.v38", runtime_hash, REGION),
            )
        emit(start, stream, start_line(rid, row.version))
        if rid == secret_request:
            emit(
                start + 2,
                stream,
                app_line(
                    warn_iso[i],
                    rid,
                    "WARN",
                    {"level": "WARN", "message": LEAKED_LINE, "requestId": rid},
                ),
            )
        extra = {"path": row.path, "cartItems": row.items}
        if row.outcome == "new_error":
            body = error_payload(
                rid,
                error_type=NEW_ERROR[0],
                error_message=NEW_ERROR[1],
                stack=_NEW_STACK,
                extra=extra,
            )
            emit(end - 1, stream, app_line(end_iso[i], rid, "ERROR", body))
        elif row.outcome == "old_error":
            msg = f"inventory service did not respond after 3000 ms (attempt {attempts[i]})"
            body = error_payload(
                rid, error_type=OLD_ERROR_TYPE, error_message=msg, stack=_OLD_STACK, extra=extra
            )
            emit(end - 1, stream, app_line(end_iso[i], rid, "ERROR", body))
        else:
            emit(
                end - 1,
                stream,
                app_line(
                    end_iso[i],
                    rid,
                    "INFO",
                    {
                        "level": "INFO",
                        "message": "checkout completed",
                        "requestId": rid,
                        "method": "POST",
                        "path": row.path,
                        "status": 200,
                        "cartItems": row.items,
                        "userAgent": row.user_agent,
                        "orderId": f"ord-{order_ids[i]}",
                    },
                ),
            )
        emit(end, stream, end_line(rid))
        emit(
            end,
            stream,
            report_line(
                rid,
                float(row.duration_ms),
                memory_mb=int(row.memory_mb),
                max_memory_mb=int(row.max_memory_mb),
                init_ms=init,
            ),
        )
    stamps = np.asarray(ts_list, dtype="int64")
    order = np.argsort(stamps, kind="stable")
    stamps = stamps[order]
    ingest = stamps + rng.integers(150, 2500, size=len(stamps))
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(stamps, unit="ms", utc=True).as_unit("us"),
            "ingestion_time": pd.to_datetime(ingest, unit="ms", utc=True).as_unit("us"),
            "message": [messages[j] for j in order.tolist()],
            "log_stream": [streams[j] for j in order.tolist()],
        }
    )


def _changes(rng: np.random.Generator) -> tuple[list[dict[str, Any]], dict[str, str]]:
    ci = Identity(
        ACCOUNT,
        "gha-checkout-deploy-8841",
        role="github-actions-deploy",
        user_agent="aws-sdk-js/3.693.0 ua/2.1 os/linux lang/js md/nodejs#20.18.0",
        source_ip="140.82.112.21",
    )
    platform = Identity(
        ACCOUNT, "maria.lopez", source_ip="198.51.100.77", user_agent="console.amazonaws.com"
    )
    oncall = Identity(ACCOUNT, "oncall-jonas", role="oncall-breakglass", source_ip="198.51.100.12")
    events: list[dict[str, Any]] = []
    events.append(
        lookup_event(
            rng,
            when=pd.Timestamp("2026-11-18T12:57:14Z"),
            event_name="UpdateFunctionConfiguration20150331v2",
            event_source="lambda.amazonaws.com",
            identity=platform,
            region=REGION,
            resources=[("AWS::Lambda::Function", "inventory-sync")],
            request_parameters={
                "functionName": "inventory-sync",
                "timeout": 120,
                "environment": {},
            },
            response_elements={
                "functionName": "inventory-sync",
                "functionArn": function_arn(REGION, ACCOUNT, "inventory-sync"),
                "timeout": 120,
                "lastUpdateStatus": "InProgress",
            },
        )
    )
    events.append(
        lookup_event(
            rng,
            when=pd.Timestamp("2026-11-18T13:31:02Z"),
            event_name="PutRolePolicy",
            event_source="iam.amazonaws.com",
            identity=platform,
            region=REGION,
            resources=[
                ("AWS::IAM::Role", "reporting-etl-role"),
                ("AWS::IAM::Policy", "athena-results-write"),
            ],
            request_parameters={
                "roleName": "reporting-etl-role",
                "policyName": "athena-results-write",
                "policyDocument": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
                '"Action":"s3:PutObject","Resource":"arn:aws:s3:::reporting-athena-results/*"}]}',
            },
        )
    )
    deploy = lambda_deploy(
        rng,
        function=FUNCTION,
        alias=ALIAS,
        old_version=41,
        new_version=42,
        times=(CODE_AT, PUBLISH_AT, ALIAS_AT),
        identity=ci,
        region=REGION,
        code_sha=hex_id(rng, 43) + "=",
        artifact_key="checkout-api/build-2291/lambda.zip",
    )
    events.extend(deploy)
    sibling = lambda_deploy(
        rng,
        function="cart-api",
        alias=ALIAS,
        old_version=17,
        new_version=18,
        times=(
            pd.Timestamp("2026-11-18T14:08:03Z"),
            pd.Timestamp("2026-11-18T14:08:21Z"),
            pd.Timestamp("2026-11-18T14:08:40Z"),
        ),
        identity=ci,
        region=REGION,
        code_sha=hex_id(rng, 43) + "=",
        artifact_key="cart-api/build-907/lambda.zip",
    )
    events.extend(sibling)
    rollback = lookup_event(
        rng,
        when=ROLLBACK_AT,
        event_name="UpdateAlias20150331",
        event_source="lambda.amazonaws.com",
        identity=oncall,
        region=REGION,
        resources=[
            ("AWS::Lambda::Function", FUNCTION),
            ("AWS::Lambda::Alias", f"{FUNCTION}:{ALIAS}"),
        ],
        request_parameters={"functionName": FUNCTION, "name": ALIAS, "functionVersion": "41"},
        response_elements={
            "aliasArn": function_arn(REGION, ACCOUNT, FUNCTION, ALIAS),
            "name": ALIAS,
            "functionVersion": "41",
        },
    )
    events.append(rollback)
    ids = {
        "code_change_event_id": deploy[0]["EventId"],
        "publish_event_id": deploy[1]["EventId"],
        "culprit_event_id": deploy[2]["EventId"],
        "rollback_event_id": rollback["EventId"],
        "sibling_deploy_event_id": sibling[2]["EventId"],
    }
    return events, ids


def _recorded_calls() -> list[dict[str, Any]]:
    """The function's state as the runbook's read-only calls return it at alarm time: its
    configuration (``$LATEST`` holds the deployed code), versions and aliases, concurrency."""
    arn = function_arn(REGION, ACCOUNT, FUNCTION)
    at = ALIAS_AT + pd.Timedelta(minutes=5)

    def config(version: str, modified: pd.Timestamp, sha: str) -> dict[str, Any]:
        return {
            "FunctionName": FUNCTION,
            "FunctionArn": f"{arn}:{version}" if version != "$LATEST" else arn,
            "Runtime": "python3.12",
            "Handler": "app.handler",
            "CodeSize": 4_812_339,
            "Timeout": 10,
            "MemorySize": 512,
            "LastModified": modified.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "CodeSha256": sha,
            "Version": version,
            "Environment": {
                "Variables": {
                    "INVENTORY_URL": "https://inventory.internal/reserve",
                    "LOG_LEVEL": "INFO",
                    "PAYMENT_API_KEY": "sk_live_51Hx8cQ2eZvKYlo2C0n4Demo",
                }
            },
            "TracingConfig": {"Mode": "Active"},
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "Architectures": ["arm64"],
        }

    new_sha, old_sha = (
        "y8Fj3kQm1Nw0pXr7GdXh2c4eTqYbVs9Lk6Ua5ZoiW3E=",
        "pQ1r8sT2uV3wX4yZ5a6B7c8D9e0F1g2H3i4J5k6L7m8=",
    )
    return [
        {
            "service": "lambda",
            "operation": "GetFunctionConfiguration",
            "parameters": {"FunctionName": FUNCTION},
            "response": config("$LATEST", CODE_AT, new_sha),
            "recorded_at": at,
        },
        {
            "service": "lambda",
            "operation": "ListAliases",
            "parameters": {"FunctionName": FUNCTION},
            "response": {
                "Aliases": [
                    {
                        "AliasArn": f"{arn}:{ALIAS}",
                        "Name": ALIAS,
                        "FunctionVersion": "42",
                        "Description": "production traffic (API Gateway)",
                    }
                ]
            },
            "recorded_at": at,
        },
        {
            "service": "lambda",
            "operation": "ListVersionsByFunction",
            "parameters": {"FunctionName": FUNCTION},
            "response": {
                "Versions": [
                    config("$LATEST", CODE_AT, new_sha),
                    config("41", pd.Timestamp("2026-11-12T10:04:51Z"), old_sha),
                    config("42", PUBLISH_AT, new_sha),
                ]
            },
            "recorded_at": at,
        },
        {
            "service": "lambda",
            "operation": "GetFunctionConcurrency",
            "parameters": {"FunctionName": FUNCTION},
            "response": {"ReservedConcurrentExecutions": 100},
            "recorded_at": at,
        },
    ]


def _alarm_spec() -> alarms.MetricAlarmSpec:
    return alarms.MetricAlarmSpec(
        name=ALARM_NAME,
        description="checkout-api is failing requests (Errors > 5 per minute in 2 of 3 minutes)",
        namespace="AWS/Lambda",
        metric_name="Errors",
        dimensions={"FunctionName": FUNCTION},
        statistic="Sum",
        period=60,
        evaluation_periods=3,
        datapoints_to_alarm=2,
        threshold=5.0,
        comparison="GreaterThanThreshold",
        treat_missing="notBreaching",
        account_id=ACCOUNT,
        region=REGION,
        topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:oncall-checkout",
        configured=ALARM_CREATED,
    )


def generate(writer: StoreWriter, rng: np.random.Generator) -> dict[str, Any]:
    """Write the ``lambda_errors`` telemetry into ``writer``; return the descriptor entry."""
    frame = _invocations(rng)
    hostile = _hostile(frame, rng)
    logs = _log_events(frame, rng, hostile["secret"])
    writer.add_log_events(logs, log_group=log_group_name(FUNCTION))

    metrics = [lambda_metrics(frame, FUNCTION), apigateway_metrics(frame, "checkout", "prod", rng)]
    index = minute_index(START, END)
    for name, (low, high, median, rate) in {
        "cart-api": (30, 75, 38.0, 0.003),
        "payments-worker": (10, 30, 120.0, 0.002),
    }.items():
        sib = simulate_invocations(index, rng, low=low, high=high, duration_median_ms=median)
        sib.loc[rng.random(len(sib)) < rate, "outcome"] = "old_error"
        metrics.append(lambda_metrics(sib, name))
    writer.add_metrics(pd.concat(metrics, ignore_index=True))

    changes, change_ids = _changes(rng)
    writer.add_change_events(changes)
    writer.add_aws_calls(_recorded_calls())

    spec = _alarm_spec()
    minute = frame["start"].dt.floor("min")
    errors = (frame["outcome"] != OK).groupby(minute).sum().astype(float)
    invocations = frame.groupby(minute).size().astype(float)
    created = alarms.creation_transition(spec, ALARM_CREATED + pd.Timedelta(seconds=61.207))
    transitions = alarms.evaluate_alarm(spec, errors, sample_counts=invocations, rng=rng)
    history = alarms.history_items(spec, [created, *transitions])
    writer.add_alarms([alarms.describe_alarms_item(spec, (transitions or [created])[-1])])
    writer.add_alarm_history(history)
    fired = next(t for t in transitions if t.new_state == "ALARM")
    resolved = next((t for t in transitions if t.time > fired.time and t.new_state == "OK"), None)
    previous = created
    alarm_events = {
        "eventbridge": alarms.eventbridge_event(spec, fired, previous, rng),
        "sns": alarms.sns_message(spec, fired),
        "sns_lambda_event": alarms.sns_lambda_event(spec, fired, rng),
    }

    new = frame[frame["outcome"] == "new_error"]
    onset = new["start"].min().floor("min")
    failed_after = frame[(frame["start"] >= onset) & (frame["outcome"] != OK)]
    truth = {
        "onset": onset.isoformat(),
        "deploy_started": CODE_AT.isoformat(),
        "deploy_time": ALIAS_AT.isoformat(),
        **change_ids,
        "culprit_event_name": "UpdateAlias20150331",
        "culprit_rationale": (
            "API Gateway invokes checkout-api:live; UpdateAlias moved live to version 42 and "
            "put the new code in front of traffic. UpdateFunctionCode (code_change_event_id) "
            "is the code change it shipped."
        ),
        "new_signature": NEW_SIGNATURE,
        "old_signature": OLD_SIGNATURE,
        "new_error_first_seen": new["start"].min().isoformat(),
        "alarm_name": ALARM_NAME,
        "alarm_state_change_time": fired.time.isoformat(),
        "alarm_ok_time": resolved.time.isoformat() if resolved is not None else None,
        "failed_invocations": len(failed_after),
        "failed_invocations_new_error": len(new),
        "invocations_since_onset": int((frame["start"] >= onset).sum()),
        "affected_functions": [FUNCTION],
        "unaffected_functions": list(SIBLINGS),
        "window": {"start": START.isoformat(), "end": END.isoformat()},
        "hostile_strings": [
            {
                "kind": "html",
                "text": HOSTILE_AGENT,
                "field": "userAgent",
                "request_id": hostile["xss_user_agent"],
            },
            {
                "kind": "html",
                "text": HOSTILE_PATH,
                "field": "path",
                "request_id": hostile["xss_path"],
            },
            {
                "kind": "secret",
                "text": LEAKED_KEY,
                "field": "message",
                "request_id": hostile["secret"],
            },
            {
                "kind": "secret",
                "text": "password=hunter2-prod",
                "field": "message",
                "request_id": hostile["secret"],
            },
        ],
    }
    return {
        "alarm_name": ALARM_NAME,
        "resources": {
            "function": FUNCTION,
            "alias": ALIAS,
            "api": "checkout",
            "stage": "prod",
            "log_group": log_group_name(FUNCTION),
            "siblings": list(SIBLINGS),
        },
        "alarm_events": alarm_events,
        "ground_truth": truth,
    }


SCENARIO = register(
    Scenario(
        name="lambda_errors",
        alert_type="lambda_errors",
        description="checkout-api fails a share of requests with a new KeyError after a deploy",
        generate=generate,
        account_id=ACCOUNT,
        region=REGION,
    )
)
