"""A fault-injecting HTTP proxy in front of the moto server, per AWS operation.

``FaultProxy(upstream)`` listens on 127.0.0.1; point ``AWS_ENDPOINT_URL`` at it. Each request's
operation is read from what boto3 sends (``X-Amz-Target`` for JSON services, the
``/operation/<Name>`` path of CloudWatch's RPC v2 CBOR protocol, ``Action=`` for query
services), and :meth:`FaultProxy.set` decides what happens to it:

- ``deny``: 400 AccessDeniedException; ``throttle``: 400 ThrottlingException (every attempt);
- ``error500``: 500 InternalFailure; ``reset``: the connection is reset, no answer;
- ``malformed``: 200 with a body that is not what the protocol says;
- ``slow:<seconds>``: the real answer, that late;
- ``status:<Status>``: GetQueryResults answered with that Logs Insights status (``Running``
  forever, ``Failed``, ``Timeout``, ``Cancelled``, ``Unknown``).

Standard library only (``http.server``, ``http.client``, threads): the suite needs nothing more,
and the error bodies are written in each protocol's own shape so botocore parses them as it
would AWS's.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: Error code and HTTP status per fault.
_DENIED = "User: arn:aws:sts::123456789012:assumed-role/x is not allowed to call this"
_ERRORS = {
    "deny": ("AccessDeniedException", 400, _DENIED),
    "throttle": ("ThrottlingException", 400, "Rate exceeded"),
    "error500": ("InternalFailure", 500, "We encountered an internal error"),
}


def cbor(value: object) -> bytes:
    """A minimal CBOR encoder (maps, text, ints, floats): enough for an error body."""
    if isinstance(value, dict):
        out = _head(5, len(value))
        for k, v in value.items():
            out += cbor(k) + cbor(v)
        return out
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, str):
        data = value.encode()
        return _head(3, len(data)) + data
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    raise TypeError(type(value))


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for size, code in ((1, 24), (2, 25), (4, 26), (8, 27)):
        if n < 256**size:
            return bytes([major << 5 | code]) + n.to_bytes(size, "big")
    raise ValueError(n)


class FaultProxy:
    """The proxy server. ``faults`` maps an operation name to a fault spec (see module doc)."""

    def __init__(self, upstream: str) -> None:
        parsed = urllib.parse.urlparse(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.faults: dict[str, str] = {}
        self.seen: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:  # quiet
                return

            def do_POST(self) -> None:
                proxy._handle(self)

            def do_GET(self) -> None:
                proxy._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def set(self, **faults: str) -> None:
        with self._lock:
            self.faults = dict(faults)
            self.seen.clear()
            self.injected.clear()

    # -- one request ----------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        operation, protocol = _operation(h, body)
        with self._lock:
            fault = self.faults.get(operation, "")
            self.seen[operation] += 1
            if fault:
                self.injected[operation] += 1
        if fault in _ERRORS:
            self._error(h, protocol, *_ERRORS[fault])
            return
        if fault == "reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.close_connection = True
            h.connection.close()
            return
        if fault == "malformed":
            headers = {"Content-Type": _content_type(protocol), **_extra(protocol)}
            self._send(h, 200, headers, b"\xff\x00<<not what you asked for")
            return
        if fault.startswith("slow:"):
            time.sleep(float(fault.split(":", 1)[1]))
        if operation in _MISSING_IN_MOTO:
            answer = _MISSING_IN_MOTO[operation]
            data = cbor(answer) if protocol == "cbor" else json.dumps(answer).encode()
            self._send(h, 200, {"Content-Type": _content_type(protocol), **_extra(protocol)}, data)
            return
        status, headers, data = self._forward(h, body)
        if fault.startswith("status:") and operation == "GetQueryResults" and status == 200:
            doc = json.loads(data or b"{}")
            doc["status"] = fault.split(":", 1)[1]
            doc["results"] = []
            data = json.dumps(doc).encode()
        self._send(h, status, headers, data)

    def _forward(self, h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            headers = {
                k: v for k, v in h.headers.items() if k.lower() not in ("host", "connection")
            }
            conn.request(h.command, h.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            keep = {
                k: v
                for k, v in response.getheaders()
                if k.lower()
                not in ("content-length", "transfer-encoding", "connection", "server", "date")
            }
            return response.status, keep, data
        finally:
            conn.close()

    def _error(
        self, h: BaseHTTPRequestHandler, protocol: str, code: str, status: int, message: str
    ) -> None:
        if protocol == "cbor":
            headers = {
                "Content-Type": "application/cbor",
                "smithy-protocol": "rpc-v2-cbor",
                "x-amzn-query-error": f"{code};Sender",
            }
            body = cbor({"__type": f"com.amazonaws.cloudwatch#{code}", "message": message})
        elif protocol == "json":
            headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
            body = json.dumps({"__type": code, "message": message}).encode()
        else:
            headers = {"Content-Type": "text/xml"}
            body = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
            ).encode()
        self._send(h, status, headers, body)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            h.send_response(status)
            for key, value in headers.items():
                h.send_header(key, value)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except OSError:
            pass  # the client gave up (its read timeout): nothing to answer


#: moto has no DescribeAlarmHistory and no LookupEvents: the proxy answers them as AWS does
#: for an alarm with no history and a window with no CloudTrail events.
_MISSING_IN_MOTO: dict[str, dict] = {
    "DescribeAlarmHistory": {"AlarmHistoryItems": []},
    "LookupEvents": {"Events": []},
}


def _extra(protocol: str) -> dict[str, str]:
    return {"smithy-protocol": "rpc-v2-cbor"} if protocol == "cbor" else {}


def _operation(h: BaseHTTPRequestHandler, body: bytes) -> tuple[str, str]:
    target = h.headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1], "json"
    if "/operation/" in h.path:
        return h.path.rsplit("/operation/", 1)[-1].split("?")[0], "cbor"
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    return (form.get("Action") or ["?"])[0], "query"


def _content_type(protocol: str) -> str:
    return {"cbor": "application/cbor", "json": "application/x-amz-json-1.1"}.get(
        protocol, "text/xml"
    )
