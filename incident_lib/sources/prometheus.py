"""Prometheus over its HTTP API: ``query_range``, ``query``, ``series`` and ``labels``.

:class:`PrometheusSource` asks a Prometheus server (or anything serving its API: Amazon Managed
Service for Prometheus, Thanos, Mimir) and returns the long frame GetMetricData gives
(``id, label, timestamp, value``, tz-aware UTC), so a notebook mixes CloudWatch and Prometheus
steps. Amazon Managed Service for Prometheus wants SigV4 (service ``aps``): requests are signed
with botocore's :class:`~botocore.auth.SigV4Auth` when the URL is an ``aps-workspaces`` host, or
when ``sigv4_region`` is given. The HTTP client is the standard library's (the API is four form
POSTs; botocore signs the request, urllib sends it).

The offline counterpart, answering from a store's ``prometheus_samples``, is
:mod:`incident_lib.sources.promql_local`. See ``docs/prometheus.md``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from incident_lib.errors import BadInputError, MetricQueryError, QueryTimeoutError, SourceError
from incident_lib.redact import mask_secrets
from incident_lib.timeutil import ensure_utc

__all__ = [
    "FRAME_COLUMNS",
    "PromQLError",
    "PrometheusSource",
    "long_frame",
    "series_label",
]

log = logging.getLogger(__name__)

FRAME_COLUMNS = ["id", "label", "timestamp", "value"]
ENV_URL = "PROMETHEUS_URL"
#: Seconds a request may take (sent to Prometheus as its ``timeout`` too).
DEFAULT_TIMEOUT = 30.0
_AMP_HOST = re.compile(r"^aps-workspaces\.([a-z0-9-]+)\.amazonaws\.com$")
#: Prometheus refuses more than 11,000 points per series; keep well under it.
MAX_POINTS = 11_000


class PromQLError(MetricQueryError):
    """A PromQL expression Prometheus (or the offline engine) refused: the message is its own."""


def series_label(labels: Mapping[str, str], fallback: str) -> str:
    """A series' label as Prometheus prints it (``name{a="1", b="2"}``); ``fallback`` (the query
    id) for a series with no labels at all (``sum(...)``, a scalar)."""
    name = labels.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    if not name and not rest:
        return fallback
    return f"{name}{{{rest}}}" if rest or not name else name


def long_frame(rows: list[tuple[str, str, Any, float]]) -> pd.DataFrame:
    """``(id, label, timestamp, value)`` rows as the sorted long frame, timestamps UTC."""
    frame = pd.DataFrame(rows, columns=FRAME_COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["value"] = frame["value"].astype(float)
    return frame.sort_values(["id", "label", "timestamp"], kind="stable").reset_index(drop=True)


def _float(text: Any) -> float:
    # Prometheus sends values as strings: "1.5", "NaN", "+Inf", "-Inf".
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


class PrometheusSource:
    """The Prometheus HTTP API at ``url`` (``http://host:9090``, an AMP workspace URL
    ``https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>``).

    >>> prom = PrometheusSource("http://127.0.0.1:9090")  # doctest: +SKIP
    >>> prom.query_range({"errors": "sum by (type) (rate(http_errors_total[5m]))"}, t0, t1, step=60)
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        sigv4_region: str | None = None,
        profile: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(str(url).strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadInputError(
                f"Prometheus URL {mask_secrets(str(url))!r} is not an http(s) URL "
                "(e.g. http://prometheus:9090)"
            )
        if not 0 < timeout <= 600:
            raise BadInputError(f"Prometheus timeout {timeout}s is not between 0 and 600 s")
        self.url = str(url).strip().rstrip("/")
        self.name = f"prometheus {parts.scheme}://{parts.hostname}"
        self.timeout = float(timeout)
        self.headers = dict(headers or {})
        amp = _AMP_HOST.match(parts.hostname)
        self.sigv4_region = sigv4_region or (amp.group(1) if amp else None)
        self.profile = profile

    # -- the API ---------------------------------------------------------------------------
    def query_range(
        self,
        queries: Mapping[str, str],
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        step: int | float = 60,
    ) -> pd.DataFrame:
        """Each PromQL expression over ``[start, end)`` every ``step`` seconds: the long frame,
        one ``label`` per series (:func:`series_label`)."""
        t0, t1 = ensure_utc(start, name="start"), ensure_utc(end, name="end")
        step = _check_step(step, t0, t1)
        rows: list[tuple[str, str, Any, float]] = []
        for qid, expr in queries.items():
            data = self._call(
                "query_range",
                {
                    "query": expr,
                    "start": _ts(t0),
                    "end": _ts(t1),
                    "step": f"{step:g}",
                    "timeout": f"{self.timeout:g}s",
                },
            )
            for series in _matrix(data):
                label = series_label(series.get("metric") or {}, qid)
                for stamp, value in series.get("values") or []:
                    when = pd.Timestamp(float(stamp), unit="s", tz="UTC")
                    if when < t1:  # end exclusive, as GetMetricData
                        rows.append((qid, label, when, _float(value)))
        return long_frame(rows)

    def query(self, expr: str, at: pd.Timestamp, *, qid: str = "q") -> pd.DataFrame:
        """An instant query at ``at``: the long frame, one row per series."""
        when = ensure_utc(at, name="at")
        data = self._call(
            "query", {"query": expr, "time": _ts(when), "timeout": f"{self.timeout:g}s"}
        )
        rows: list[tuple[str, str, Any, float]] = []
        kind, result = data.get("resultType"), data.get("result")
        if kind in ("scalar", "string"):
            stamp, value = result
            rows.append((qid, qid, pd.Timestamp(float(stamp), unit="s", tz="UTC"), _float(value)))
        else:
            for series in result or []:
                stamp, value = series.get("value") or (when.timestamp(), "NaN")
                label = series_label(series.get("metric") or {}, qid)
                rows.append(
                    (qid, label, pd.Timestamp(float(stamp), unit="s", tz="UTC"), _float(value))
                )
        return long_frame(rows)

    def series(
        self, match: Sequence[str], start: pd.Timestamp, end: pd.Timestamp
    ) -> list[dict[str, str]]:
        """The label sets of the series matching any selector in ``match``."""
        if isinstance(match, str):
            match = [match]
        params = [("match[]", m) for m in match] + [
            ("start", _ts(ensure_utc(start, name="start"))),
            ("end", _ts(ensure_utc(end, name="end"))),
        ]
        return list(self._call("series", params))

    def labels(
        self,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        *,
        match: Sequence[str] = (),
    ) -> list[str]:
        """Label names (of the series matching ``match``, when given)."""
        params: list[tuple[str, str]] = [("match[]", m) for m in match]
        if start is not None:
            params.append(("start", _ts(ensure_utc(start, name="start"))))
        if end is not None:
            params.append(("end", _ts(ensure_utc(end, name="end"))))
        return list(self._call("labels", params))

    # -- the wire --------------------------------------------------------------------------
    def _call(self, endpoint: str, params: Mapping[str, str] | Sequence[tuple[str, str]]) -> Any:
        items = list(params.items()) if isinstance(params, Mapping) else list(params)
        body = urllib.parse.urlencode(items).encode()
        url = f"{self.url}/api/v1/{endpoint}"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            **self.headers,
        }
        if self.sigv4_region:
            headers = self._sign(url, body, headers)
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        where = f"Prometheus at {self.name.removeprefix('prometheus ')}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            payload = _json_or_none(raw)
            message = (payload or {}).get("error") or raw[:300].decode("utf-8", "replace")
            kind = (payload or {}).get("errorType") or ""
            message = mask_secrets(str(message).strip())
            if kind == "bad_data" or (exc.code in (400, 422) and kind != "timeout"):
                raise PromQLError(f"{where} refused the query: {message}") from None
            if kind == "timeout" or (exc.code == 503 and "timeout" in message.lower()):
                raise QueryTimeoutError(f"{where}: {message}", operation=endpoint) from None
            raise SourceError(
                f"{where} answered HTTP {exc.code}{f' ({kind})' if kind else ''}: {message}",
                operation=endpoint,
                code=str(exc.code),
            ) from None
        except TimeoutError:
            raise QueryTimeoutError(
                f"{where} did not answer within {self.timeout:g} s", operation=endpoint
            ) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError | socket.timeout):
                raise QueryTimeoutError(
                    f"{where} did not answer within {self.timeout:g} s", operation=endpoint
                ) from None
            raise SourceError(f"{where} is unreachable: {reason}", operation=endpoint) from None
        except OSError as exc:
            raise SourceError(f"{where} is unreachable: {exc}", operation=endpoint) from None
        payload = _json_or_none(raw)
        if not isinstance(payload, dict) or payload.get("status") != "success":
            message = (payload or {}).get("error") if isinstance(payload, dict) else None
            raise SourceError(
                f"{where} answered something that is not a Prometheus API reply"
                + (f": {mask_secrets(str(message))}" if message else ""),
                operation=endpoint,
            )
        for warning in payload.get("warnings") or []:
            log.warning("%s: %s", where, mask_secrets(str(warning)))
        return payload.get("data")

    def _sign(self, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        """SigV4 headers for Amazon Managed Service for Prometheus (service ``aps``)."""
        import boto3
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        session = boto3.Session(profile_name=self.profile) if self.profile else boto3.Session()
        credentials = session.get_credentials()
        if credentials is None:
            raise SourceError(
                "no AWS credentials to sign requests to Amazon Managed Service for Prometheus",
                operation="sigv4",
            )
        request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
        SigV4Auth(credentials.get_frozen_credentials(), "aps", self.sigv4_region).add_auth(request)
        return dict(request.headers.items())


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _matrix(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        raise SourceError("Prometheus answered no data", operation="query_range")
    if data.get("resultType") != "matrix":
        raise SourceError(
            f"Prometheus answered a {data.get('resultType')!r}, not a range (matrix)",
            operation="query_range",
        )
    return list(data.get("result") or [])


def _ts(when: pd.Timestamp) -> str:
    return f"{when.timestamp():.3f}"


def _check_step(step: int | float, start: pd.Timestamp, end: pd.Timestamp) -> float:
    try:
        value = float(step)
    except (TypeError, ValueError):
        raise BadInputError(f"step {step!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise BadInputError(f"step {step!r} is not a positive number of seconds")
    if end <= start:
        raise BadInputError("the window ends before it starts")
    points = (end - start).total_seconds() / value
    if points > MAX_POINTS:
        raise BadInputError(
            f"step {value:g}s over {end - start} makes {points:.0f} points per series; "
            f"at most {MAX_POINTS}: use a larger step"
        )
    return value


def open_prometheus(params: Mapping[str, Any], source: Any = None) -> Any:
    """The Prometheus a notebook's ``case.promql`` asks: the server at the ``prometheus_url``
    parameter (a ``setup()``/catalogue parameter) or ``$PROMETHEUS_URL``; else, offline, the
    ``prometheus_samples`` of the store the run reads (:class:`LocalPrometheus`); else an
    :class:`~incident_lib.sources.promql_local.OfflinePromQLError` saying the step needs one.

    Other parameters: ``prometheus_sigv4_region`` (sign for Amazon Managed Service for
    Prometheus when the URL does not name the region), ``prometheus_timeout`` (seconds),
    ``profile`` (the AWS profile for signing).
    """
    import os

    url = params.get("prometheus_url") or os.environ.get(ENV_URL)
    if url:
        return PrometheusSource(
            str(url),
            timeout=float(params.get("prometheus_timeout") or DEFAULT_TIMEOUT),
            sigv4_region=params.get("prometheus_sigv4_region") or None,
            profile=params.get("profile") or None,
        )
    from incident_lib.sources.promql_local import LocalPrometheus, OfflinePromQLError

    inner = getattr(source, "inner", source)  # an evidence run's RecordingSource wraps it
    store = getattr(inner, "store", None)
    table = store.descriptor.tables.get("prometheus_samples") if store is not None else None
    if table is not None and table.rows > 0:
        return LocalPrometheus(inner.con, name=str(store.path))
    raise OfflinePromQLError(
        "PromQL without a Prometheus: set the prometheus_url parameter or $PROMETHEUS_URL "
        "(the source holds no Prometheus samples)"
    )


def prometheus_target(params: Mapping[str, Any]) -> str:
    """What a ``case.promql`` step's record names as its target: the server's scheme and host
    (never its path or credentials), or the offline engine."""
    import os

    url = params.get("prometheus_url") or os.environ.get(ENV_URL)
    if not url:
        return "prometheus (offline: the store's samples)"
    parts = urllib.parse.urlsplit(str(url))
    return f"prometheus {parts.scheme}://{parts.hostname or '?'}"
