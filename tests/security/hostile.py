"""Hostile inputs for the report: XSS vectors, secrets of every kind, and the pipeline that
plants them where an attacker or a careless author would.

Shared by ``tests/browser/test_xss.py`` (vectors, opened in Chromium) and
``tests/security/test_secret_leaks.py`` (secrets, searched for in every output). Also runnable
as a script against any checkout, to measure before and after a change::

    python -m tests.security.hostile secrets --out /tmp/x     # kinds tried/leaked per file
    python -m tests.security.hostile xss --out /tmp/x         # vectors tried/executed

Everything is built through the product's own pipeline: an alarm event file, a telemetry store
(the from-alarm scenario plus hostile log lines, alarm history and CloudTrail events), then
``incident investigate`` or ``incident demo --from-alarm`` in a subprocess, exactly as a user
runs them; and for AWS error messages, ``--source aws`` against a local endpoint that answers
every call with an AccessDenied whose message is the hostile text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
ALARM_FIXTURE = ROOT / "tests" / "fixtures" / "alarms" / "eventbridge_lambda_errors.json"
EVIL = "https://evil.example"

# -- XSS vectors -------------------------------------------------------------------------------
# Each vector carries its id in what it would run (alert('X07')) or fetch (evil.example/X07),
# so a dialog or a request says which one got through. "click": runs only on interaction.


@dataclass(frozen=True)
class Vector:
    id: str
    payload: str
    trigger: str = "load"  # or "click"


def _vectors() -> list[Vector]:
    raw: list[tuple[str, str]] = [
        ("load", "<script>alert('{id}')</script>"),
        ("load", "</script><script>alert('{id}')</script>"),
        ("load", "</SCRIPT><img src=x onerror=alert('{id}')>"),
        ("load", "<svg onload=alert('{id}')>"),
        ("load", "<svg><script>alert('{id}')</script></svg>"),
        ("load", "<img src=x onerror=alert('{id}')>"),
        ("load", "<iframe src=\"javascript:alert('{id}')\"></iframe>"),
        ("load", "<iframe srcdoc=\"<script>parent.alert('{id}')</script>\"></iframe>"),
        ("load", "<details open ontoggle=alert('{id}')>d</details>"),
        ("load", "<input autofocus onfocus=alert('{id}')>"),
        ("load", "<body onload=alert('{id}')>"),
        ("load", "<video><source onerror=alert('{id}')></video>"),
        ("load", "<audio src=x onerror=alert('{id}')></audio>"),
        ("load", "<object data=\"javascript:alert('{id}')\"></object>"),
        ("load", "<embed src=\"javascript:alert('{id}')\">"),
        ("load", "<svg><animate onbegin=alert('{id}') attributeName=x dur=1s></svg>"),
        ("load", "<marquee onstart=alert('{id}')>m</marquee>"),
        ("load", "<select autofocus onfocus=alert('{id}')></select>"),
        ("load", "<textarea autofocus onfocus=alert('{id}')></textarea>"),
        ("load", "<!--<img src=\"--><img src=x onerror=alert('{id}')//\">"),
        ("load", "<noscript><p title=\"</noscript><img src=x onerror=alert('{id}')>\"></noscript>"),
        ("load", "$<img src=x onerror=alert('{id}')>$"),
        ("load", "<object data=\"data:text/html,<script>alert('{id}')</script>\"></object>"),
        ("load", '<img src="' + EVIL + '/{id}.png">'),
        ("load", "![i](" + EVIL + "/{id}.png)"),
        ("load", "<link rel=stylesheet href=" + EVIL + "/{id}.css>"),
        ("load", '<meta http-equiv=refresh content="0;url=' + EVIL + '/{id}">'),
        ("load", "<style>@import '" + EVIL + "/{id}.css';</style>"),
        ("load", '<div style="background:url(' + EVIL + '/{id}.png)">bg</div>'),
        ("load", '" onmouseover="alert(\'{id}\')" x="'),
        ("load", "' autofocus onfocus='alert(`{id}`)' x='"),
        ("click", "<a href=\"javascript:alert('{id}')\">click {id}</a>"),
        ("click", "[click {id}](javascript:alert('{id}'))"),
        ("click", "<javascript:alert('{id}')>"),
        ("click", "<" + EVIL + "/{id}>"),
        ("click", EVIL + "/{id}/bare-url"),
        ("click", "<form action=" + EVIL + "/{id}><button>go {id}</button></form>"),
        ("click", "<math><a xlink:href=\"javascript:alert('{id}')\">m{id}</a></math>"),
        ("click", '<a href="' + EVIL + '/{id}">plotly link {id}</a>'),
        ("click", "<a href=\"data:text/html,<script>alert('{id}')</script>\">d{id}</a>"),
    ]
    return [
        Vector(id=f"X{i:02d}", payload=p.format(id=f"X{i:02d}"), trigger=t)
        for i, (t, p) in enumerate(raw, start=1)
    ]


VECTORS: list[Vector] = _vectors()


def vector_text() -> str:
    """Every vector in one string (what a hostile field carries)."""
    return " ".join(v.payload for v in VECTORS)


# -- secrets -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Secret:
    kind: str
    text: str  # as planted
    secret: str  # the part that must never appear in an output


SECRETS: list[Secret] = [
    Secret("aws_access_key_id", "key AKIAZ7Q3XEXAMPLEAB12 used", "XEXAMPLEAB12"),
    Secret("aws_temp_access_key_id", "temp ASIAZ7Q3XEXAMPLECD34 used", "XEXAMPLECD34"),
    Secret(
        "aws_secret_key_bare",
        "AKIAZ7Q3XEXAMPLEEF56 wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Bare012",
        "bPxRfiCYzq8Bare01",
    ),
    Secret(
        "aws_secret_key_kv",
        "aws_secret_access_key=Je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKV1",
        "h3yCo8nvbEXAMPLEKV1",
    ),
    Secret(
        "aws_session_token_kv",
        "aws_session_token=FQoGZXIvYXdzELr1K2VtIh9vbm9uZTokenKV02",
        "IvYXdzELr1K2VtIh9vbm9uZTokenKV02",
    ),
    Secret(
        "aws_session_token_bare",
        "IQoJb3JpZ2luX2VjEHoaCXVzLWVhc3QtMSJHMEUCIQBareSess03",
        "X2VjEHoaCXVzLWVhc3QtMSJHMEUCIQBareSess03",
    ),
    Secret(
        "json_secret_access_key", '{"SecretAccessKey": "sAk9Zr2QJsonSAK04"}', "sAk9Zr2QJsonSAK04"
    ),
    Secret("json_session_token", '{"sessionToken": "sTk8Yq1PJsonST05"}', "sTk8Yq1PJsonST05"),
    Secret("json_db_password", '{"db_password": "dbPw7Xw0JsonDB06"}', "dbPw7Xw0JsonDB06"),
    Secret("json_password", '{"password": "pW6Vv9OJsonPW07"}', "pW6Vv9OJsonPW07"),
    Secret("json_token", '{"token": "tK5Uu8NJsonTK08"}', "tK5Uu8NJsonTK08"),
    Secret("json_api_key", '{"apiKey": "aK4Tt7MJsonAK09"}', "aK4Tt7MJsonAK09"),
    Secret(
        "escaped_json_password",
        r'{"msg": "{\"password\":\"eSc3Ss6LEscPW10\"}"}',
        "eSc3Ss6LEscPW10",
    ),
    Secret("github_ghp", "ghp_R2d2C3poLukeLeiaHanSolo0123456789ab", "LukeLeiaHanSolo0123456789ab"),
    Secret("github_gho", "gho_Chewbacca0123456789abcdefghijklmno", "Chewbacca0123456789abcdef"),
    Secret(
        "github_pat",
        "github_pat_11AAAAAAA0FinePat_abcdefghijklmnopqrstuvwxyz0123456789",
        "FinePat_abcdefghijklmnopqrstuvwxyz",
    ),
    Secret("slack_token", "xoxb-123456789012-1234567890123-SlackTokenXyz123", "SlackTokenXyz123"),
    Secret(
        "slack_webhook",
        "https://hooks.slack.com/services/T0HOOK00/B0HOOK00/SlackHookSecret15abc",
        "SlackHookSecret15abc",
    ),
    Secret("stripe_sk_live", "sk_live_StripeLive16abcdefXYZ", "StripeLive16abcdefXYZ"),
    Secret("stripe_rk_live", "rk_live_StripeRestr17abcdXYZ", "StripeRestr17abcdXYZ"),
    Secret("google_api_key", "AIzaSyGoogle18abcdefghijklmnopqrstuvwxy", "Google18abcdefghijklmn"),
    Secret("npm_token", "npm_NpmToken19abcdefghijklmnopqrstuvwxyz", "NpmToken19abcdefghijklmno"),
    Secret("openai_sk", "sk-OpenAi20abcdefghijklmnopqrstuv", "OpenAi20abcdefghijklmnop"),
    Secret(
        "openai_sk_proj", "sk-proj-OpenAiProj21abcdefghijklmnop", "OpenAiProj21abcdefghijklmnop"
    ),
    Secret(
        "azure_connection_string",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=AzKey22abc+def/ghi==;",
        "AzKey22abc+def/ghi==",
    ),
    Secret(
        "jwt",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqd3QyMyJ9.JwtSig23abcdefghij",
        "eyJzdWIiOiJqd3QyMyJ9",
    ),
    Secret("bearer_token", "Authorization: Bearer BearerTok24abcdefgh", "BearerTok24abcdefgh"),
    Secret("basic_auth", "Authorization: Basic QmFzaWNBdXRoMjU6cHc=", "QmFzaWNBdXRoMjU6cHc="),
    Secret("cookie_header", "Cookie: session=CookieVal26abc; theme=dark", "CookieVal26abc"),
    Secret(
        "set_cookie_header", "Set-Cookie: sid=SetCookie27xyz; Path=/; HttpOnly", "SetCookie27xyz"
    ),
    Secret("url_user_pass", "https://deploy:UrlPass28xyz@git.example.com/repo.git", "UrlPass28xyz"),
    Secret("postgres_url", "postgres://app:PgPass29xyz@db.internal:5432/orders", "PgPass29xyz"),
    Secret("mysql_url", "mysql://root:MyPass30xyz@mysql.internal/app", "MyPass30xyz"),
    Secret(
        "mongodb_srv_url",
        "mongodb+srv://svc:MongoPass31xyz@cluster0.example.mongodb.net/db",
        "MongoPass31xyz",
    ),
    Secret("redis_url", "redis://:RedisPass32xyz@cache.internal:6379/0", "RedisPass32xyz"),
    Secret(
        "pem_private_key",
        "-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIBAAKCAQEAPemBody33abcdefghijklmnop\\n"
        "-----END RSA PRIVATE KEY-----",
        "PemBody33abcdefghijklmnop",
    ),
    Secret(
        "pem_truncated",
        "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0TruncPem34abcdefgh",
        "TruncPem34abcdefgh",
    ),
    Secret("password_in_query", "GET /login?user=bob&password=QueryPw35xyz&next=/", "QueryPw35xyz"),
    Secret("password_kv", "login failed password=KvPass36xyz for bob", "KvPass36xyz"),
]


def secret_text() -> str:
    """Every secret in one string, separated so no two run together."""
    return " ; ".join(s.text for s in SECRETS)


# -- the alarm, the store ----------------------------------------------------------------------
def alarm_event(text: str, *, kind: str = "lambda") -> dict[str, Any]:
    """An EventBridge alarm event with ``text`` in its name, reason, description and, by
    ``kind``: ``lambda`` (the FunctionName value), ``generic`` (namespace, metric name and
    dimension value of a custom metric), ``math`` (a metric-math expression that the local
    engine cannot evaluate, so its error message carries the text)."""
    event = json.loads(ALARM_FIXTURE.read_text(encoding="utf-8"))
    detail = event["detail"]
    name = f"orders {kind} {text}"[:255]
    detail["alarmName"] = name
    event["resources"] = [f"arn:aws:cloudwatch:us-west-2:123456789012:alarm:{name}"]
    detail["state"]["reason"] = f"Threshold Crossed: {text}"
    detail["configuration"]["description"] = f"Runbook says: {text}"
    metric = detail["configuration"]["metrics"][0]["metricStat"]["metric"]
    if kind == "lambda":
        metric["dimensions"] = {"FunctionName": f"fn {text}"}
    elif kind == "generic":
        metric["namespace"] = f"Custom/{text}"
        metric["name"] = f"Latency {text}"
        metric["dimensions"] = {"Service": f"svc {text}"}
    elif kind == "math":
        metric["namespace"] = "Custom/Orders"
        metric["name"] = "Failures"
        metric["dimensions"] = {"Service": "orders"}
        detail["configuration"]["metrics"][0]["returnData"] = False
        detail["configuration"]["metrics"].append(
            {
                "id": "e1",
                "expression": f"SEARCH('{{Custom/Orders}} \"{text}\"', 'Sum', 60)",
                "label": f"search {text}",
                "returnData": True,
            }
        )
    else:
        raise ValueError(kind)
    return event


def hostile_store(event: dict[str, Any], path: Path, text: str) -> Path:
    """The from-alarm scenario's store for ``event``, plus hostile error log lines (plain,
    JSON, JSON inside JSON), alarm history summaries and CloudTrail events carrying ``text``."""
    from incident_lib.alarm import parse_alarm
    from incident_lib.scenarios.cloudtrail import Identity, lookup_event
    from incident_lib.scenarios.from_alarm import build_store_for_alarm
    from incident_lib.store import StoreWriter

    alarm = parse_alarm(json.dumps(event))
    base = build_store_for_alarm(alarm, path.with_name(path.name + "-base"))
    when = pd.Timestamp(alarm.state_change_time).tz_convert("UTC").floor("min")
    fn = next(iter(alarm.metric.dimensions.values())) if alarm.metric else "fn"
    rng = np.random.default_rng(3)
    lines = []
    for i in range(40):
        ts = when - pd.Timedelta(minutes=20) + pd.Timedelta(seconds=30 * i)
        rid = f"{i:08d}-0000-4000-8000-000000000000"
        stamp = ts.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        body = [
            f"ERROR upstream failed: {text}",
            json.dumps({"errorType": f"HostileError {text}", "errorMessage": text}),
            json.dumps({"level": "ERROR", "message": f"request failed {text}"}),
            json.dumps({"level": "ERROR", "message": json.dumps({"inner": text})}),
        ][i % 4]
        for message in (
            f"START RequestId: {rid} Version: $LATEST\n",
            f"{stamp}\t{rid}\tERROR\t{body}\n",
            f"END RequestId: {rid}\n",
        ):
            lines.append(
                {
                    "timestamp": ts,
                    "message": message,
                    "log_stream": f"2026/01/20/[$LATEST]{text[:40]}",
                }
            )
    identity = Identity(account_id="123456789012", name=f"ci {text}"[:64], role="ci-deployer")
    change = lookup_event(
        rng,
        when=when - pd.Timedelta(minutes=22),
        event_name="UpdateFunctionCode20150331v2",
        event_source="lambda.amazonaws.com",
        identity=identity,
        region="us-west-2",
        resources=[("AWS::Lambda::Function", fn)],
        request_parameters={"functionName": fn, "note": text},
    )
    change["Username"] = f"deployer {text}"
    history = [
        {
            "AlarmName": alarm.name,
            "AlarmType": "MetricAlarm",
            "Timestamp": when - pd.Timedelta(minutes=m),
            "HistoryItemType": kind,
            "HistorySummary": f"{kind} {text}",
            "HistoryData": json.dumps({"note": text}),
        }
        for m, kind in ((30, "ConfigurationUpdate"), (25, "Action"))
    ]
    groups = [f"/aws/lambda/{fn}"]
    with StoreWriter(path, base=base) as writer:
        for group in groups:
            writer.add_log_events(pd.DataFrame(lines), log_group=group)
        writer.add_change_events([change])
        writer.add_alarm_history(history)
    return path


# -- a local endpoint that denies everything -----------------------------------------------
def _cbor_text(value: str) -> bytes:
    data = value.encode("utf-8")
    n = len(data)
    if n < 24:
        head = bytes([0x60 + n])
    elif n < 256:
        head = bytes([0x78, n])
    elif n < 65536:
        head = bytes([0x79]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x7A]) + n.to_bytes(4, "big")
    return head + data


@contextmanager
def denying_endpoint(message: str) -> Iterator[str]:
    """An HTTP endpoint on 127.0.0.1 that answers every AWS call with AccessDenied and
    ``message`` (JSON for Logs and CloudTrail, CBOR for CloudWatch, XML otherwise)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            if self.headers.get("smithy-protocol") == "rpc-v2-cbor":
                body = (
                    b"\xa2"
                    + _cbor_text("__type")
                    + _cbor_text("AccessDeniedException")
                    + _cbor_text("message")
                    + _cbor_text(message)
                )
                headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
            elif "json" in (self.headers.get("Content-Type") or ""):
                body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
                headers = {"Content-Type": "application/x-amz-json-1.1"}
            else:
                from xml.sax.saxutils import escape

                body = (
                    "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                    f"<Message>{escape(message)}</Message></Error>"
                    "<RequestId>1</RequestId></ErrorResponse>"
                ).encode()
                headers = {"Content-Type": "text/xml"}
            self.send_response(400)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# -- running the product -------------------------------------------------------------------
@dataclass
class Run:
    """One investigation run through the command line: its folder and what it printed."""

    name: str
    exit_code: int
    stdout: str
    stderr: str
    folder: Path | None
    files: dict[str, Path] = field(default_factory=dict)


FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-west-2",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def run_cli(name: str, args: list[str], out: Path, env: dict[str, str] | None = None) -> Run:
    """``incident ARGS --out OUT`` in a subprocess; the incident folder it wrote, if any."""
    full_env = dict(os.environ)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN"):
        full_env.pop(key, None)  # the caller's own, not the ones this run sets below
    full_env.update({**FAKE_AWS_ENV, **(env or {})})
    full_env["INCIDENT_REPORTS"] = str(out)  # demo stores go to <out>/_stores
    out.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in out.iterdir()}
    proc = subprocess.run(
        [sys.executable, "-m", "incident_lib.cli", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=str(ROOT),
        timeout=600,
        check=False,
    )
    created = [
        p
        for p in out.iterdir()
        if p.is_dir() and p.name not in before and not p.name.startswith((".", "_"))
    ]
    folder = created[0] if created else None
    files = {}
    if folder is not None:
        for fname in ("report.html", "notebook.ipynb", "findings.json", "alarm.json"):
            if (folder / fname).is_file():
                files[fname] = folder / fname
    return Run(name, proc.returncode, proc.stdout, proc.stderr, folder, files)


def write_event(event: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(event, indent=2), encoding="utf-8")
    return path


def pipeline_runs(text: str, out: Path, *, aws: bool = True) -> list[Run]:
    """Every path at once: ``text`` in a Lambda alarm with a hostile store, a generic alarm
    (``demo --from-alarm``), a metric-math alarm, and AWS error messages (``--source aws``
    against :func:`denying_endpoint`)."""
    runs = []
    lam = alarm_event(text, kind="lambda")
    store = hostile_store(lam, out / "_stores" / "lambda", text)
    runs.append(
        run_cli(
            "lambda store",
            [
                "investigate",
                str(write_event(lam, out / "_events" / "lambda.json")),
                "--source",
                str(store),
            ],
            out / "lambda",
        )
    )
    for kind in ("generic", "math"):
        event = alarm_event(text, kind=kind)
        runs.append(
            run_cli(
                f"{kind} from-alarm",
                ["demo", "--from-alarm", str(write_event(event, out / "_events" / f"{kind}.json"))],
                out / kind,
            )
        )
    if aws:
        with denying_endpoint(f"User is not authorized: {text}") as endpoint:
            runs.append(
                run_cli(
                    "aws errors",
                    ["investigate", str(out / "_events" / "lambda.json"), "--source", "aws"],
                    out / "aws",
                    env={"AWS_ENDPOINT_URL": endpoint},
                )
            )
    return runs


# -- searching outputs for secrets ---------------------------------------------------------
def _forms(secret: str) -> set[str]:
    """The secret as it may appear in a file: raw, JSON-escaped, HTML-escaped."""
    forms = {secret, json.dumps(secret)[1:-1]}
    import html

    forms |= {html.escape(f, quote=True) for f in list(forms)}
    forms.add(secret.replace("/", "\\/"))
    return forms


def leaks(text: str) -> list[str]:
    """The kinds of :data:`SECRETS` whose secret part appears in ``text``."""
    return [s.kind for s in SECRETS if any(f in text for f in _forms(s.secret))]


def secret_leaks(runs: list[Run]) -> dict[str, dict[str, list[str]]]:
    """Per output file (``report.html`` ... and ``terminal``): kinds leaked, per run."""
    table: dict[str, dict[str, list[str]]] = {}
    for run in runs:
        for fname, path in run.files.items():
            table.setdefault(fname, {})[run.name] = leaks(path.read_text(encoding="utf-8"))
        table.setdefault("terminal", {})[run.name] = leaks(run.stdout + run.stderr)
    return table


def _main(argv: list[str]) -> int:  # pragma: no cover - a measuring tool
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["secrets", "xss"])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.what == "secrets":
        runs = pipeline_runs(secret_text(), args.out)
        for run in runs:
            print(f"{run.name}: exit {run.exit_code}, files {sorted(run.files)}")
        table = secret_leaks(runs)
        print(f"secret kinds tried: {len(SECRETS)} in {len(runs)} runs")
        for fname, per_run in table.items():
            kinds = sorted({k for ks in per_run.values() for k in ks})
            total = sum(len(ks) for ks in per_run.values())
            print(f"{fname}: {len(kinds)} kinds leaked ({total} leaks over runs): {kinds}")
        return 0
    from tests.browser.xss import probe_runs

    runs = pipeline_runs(vector_text(), args.out)
    print(json.dumps(probe_runs(runs), indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main(sys.argv[1:]))


__all__ = [
    "SECRETS",
    "VECTORS",
    "Run",
    "alarm_event",
    "denying_endpoint",
    "hostile_store",
    "leaks",
    "pipeline_runs",
    "run_cli",
    "secret_leaks",
    "secret_text",
    "vector_text",
]
