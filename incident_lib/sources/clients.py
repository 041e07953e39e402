"""Every AWS client of the product is built here, and every botocore error is translated here.

One place decides retries (standard or adaptive mode, an explicit ``max_attempts``), timeouts,
the user agent (``incident-notebooks/<version>``), the region (the alarm's), an optional role to
assume through STS, and the endpoint (``endpoint_url`` argument, else boto3's own
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` environment variables, else AWS).

An investigation has one overall :class:`Deadline` (about 90 s by default): every client built
here checks it before each HTTP attempt, first try and retries alike, and raises
:class:`~incident_lib.errors.DeadlineExceeded` instead of calling once it has passed, so a
throttling or slow AWS costs a section, never the report. Retries are logged at INFO on the
``incident_lib.sources.aws`` logger (the terminal shows them as progress).

See docs/aws.md for credentials, IAM permissions and costs.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

from incident_lib import __version__
from incident_lib.errors import (
    AccessDeniedError,
    BadInputError,
    DeadlineExceeded,
    IncidentError,
    QueryError,
    SourceError,
    ThrottledError,
)
from incident_lib.redact import MaskingFormatter

__all__ = [
    "DEADLINE_ENV",
    "DEFAULT_DEADLINE",
    "PROGRESS_ENV",
    "USER_AGENT",
    "ClientSettings",
    "Deadline",
    "attach_progress_log",
    "make_client",
    "make_session",
    "translate_error",
]

log = logging.getLogger(__name__)
#: Progress lines (retries, slow queries) go to this logger; the CLI shows its INFO lines.
progress_log = logging.getLogger("incident_lib.sources.aws")

#: Seconds one investigation may spend on AWS calls, all sections together.
DEFAULT_DEADLINE = 90.0
#: The deadline as an absolute epoch time (seconds), set by ``incident investigate`` for the
#: notebook's kernel, so the kernel's sources keep the run's deadline.
DEADLINE_ENV = "INCIDENT_DEADLINE_AT"
#: A file the kernel appends progress lines to; the command line shows them as they come.
PROGRESS_ENV = "INCIDENT_PROGRESS_FILE"
#: Operations still made after the deadline: stopping what we started is cleanup, not waiting.
_AFTER_DEADLINE = {"StopQuery"}

USER_AGENT = f"incident-notebooks/{__version__}"
#: ``RoleSessionName`` used when a role is assumed; shows in the target account's CloudTrail.
SESSION_NAME = "incident-notebooks"

_ACCESS_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedException",
    "AuthorizationError",
    "NotAuthorized",
}
_THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    # Logs: "LimitExceededException: ... maximum number of concurrent queries" (StartQuery).
    "LimitExceededException",
}
_BAD_CREDENTIALS = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
    "IncompleteSignature",
}


@dataclass(frozen=True)
class ClientSettings:
    """How clients retry and wait. Defaults suit an investigation run from an alarm.

    ``retry_mode="adaptive"`` adds client-side rate limiting on top of ``standard`` retries,
    which helps with CloudTrail LookupEvents (2 TPS per account and Region).
    """

    retry_mode: Literal["standard", "adaptive", "legacy"] = "adaptive"
    #: Four attempts: standard/adaptive back-off sleeps at most 2 + 4 + 8 s between them.
    max_attempts: int = 4
    connect_timeout: float = 3.0
    #: Per socket read. The APIs used answer in seconds; a 70 s answer was a stuck endpoint and
    #: cost 729 s with the old 60 s and five attempts. Retried within the deadline.
    read_timeout: float = 15.0
    max_pool_connections: int = 10

    def to_config(self) -> Config:
        """The botocore ``Config`` these settings stand for."""
        return Config(
            retries={"mode": self.retry_mode, "max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=self.max_pool_connections,
            user_agent_extra=USER_AGENT,
        )


class Deadline:
    """One investigation's time budget for AWS calls (monotonic clock).

    ``Deadline(90)`` leaves 90 s from now; :meth:`from_env` takes the absolute time the command
    line set for the kernel (``INCIDENT_DEADLINE_AT``), else the default from now.

    >>> d = Deadline(90)
    >>> 0 < d.remaining() <= 90
    True
    """

    def __init__(self, seconds: float = DEFAULT_DEADLINE) -> None:
        self.seconds = float(seconds)
        self.at = time.monotonic() + self.seconds

    @classmethod
    def from_env(cls) -> Deadline:
        value = os.environ.get(DEADLINE_ENV)
        if value:
            try:
                return cls(float(value) - time.time())
            except ValueError:
                log.warning("%s=%r is not an epoch time; using %ss", DEADLINE_ENV, value, 90)
        return cls()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def check(self, operation: str) -> None:
        """Raise :class:`DeadlineExceeded` when the budget is spent."""
        if self.expired():
            raise DeadlineExceeded(
                f"the investigation's {self.seconds:g} s deadline for AWS calls has passed; "
                "not called (raise it with --deadline)",
                operation=operation,
                code="DeadlineExceeded",
            )

    def watch(self, client: BaseClient, max_attempts: int | None = None) -> BaseClient:
        """Check this deadline before every HTTP attempt of ``client`` and log its retries."""
        if max_attempts is None:
            retries = getattr(client.meta.config, "retries", None) or {}
            max_attempts = int(retries.get("max_attempts") or 1)
        events = client.meta.events
        uid = f"incident-notebooks-deadline-{id(self)}"
        events.register_first("before-send.*.*", self._before_send, unique_id=f"{uid}-send")
        events.register_first(
            "needs-retry.*.*",
            functools.partial(self._needs_retry, max_attempts=max_attempts),
            unique_id=f"{uid}-retry",
        )
        return client

    def _before_send(self, request: Any = None, **kwargs: Any) -> None:
        operation = _operation(kwargs.get("event_name", ""))
        if operation not in _AFTER_DEADLINE:
            self.check(operation)

    def _needs_retry(
        self,
        response: Any = None,
        attempts: int = 1,
        caught_exception: Exception | None = None,
        event_name: str = "",
        max_attempts: int = 1,
        **_: Any,
    ) -> None:
        # Runs before botocore's own retry handler: past the deadline, stop retrying now
        # rather than sleep and be refused by _before_send.
        operation = _operation(event_name)
        problem = _attempt_problem(response, caught_exception)
        if problem is None or attempts >= max_attempts:
            return  # fine, not worth retrying, or the last attempt: botocore raises it
        if self.expired() and operation not in _AFTER_DEADLINE:
            raise DeadlineExceeded(
                f"{problem}, and the investigation's {self.seconds:g} s deadline has passed; "
                "not retried (raise it with --deadline)",
                operation=operation,
                code="DeadlineExceeded",
            )
        progress_log.info(
            "%s: %s (attempt %d of %d); retrying, %.0f s left of the deadline",
            operation,
            problem,
            attempts,
            max_attempts,
            max(0.0, self.remaining()),
        )


def _operation(event_name: str) -> str:
    parts = event_name.split(".")
    return parts[2] if len(parts) >= 3 else event_name


def _attempt_problem(response: Any, caught: Exception | None) -> str | None:
    """What went wrong with one HTTP attempt when botocore may retry it (a connection error,
    a timeout, throttling, a 5xx), else None."""
    if caught is not None:
        return type(caught).__name__
    if not response:
        return None
    http, parsed = response
    status = getattr(http, "status_code", 200)
    error = parsed.get("Error", {}) if isinstance(parsed, dict) else {}
    code = str(error.get("Code") or "")
    if status >= 500 or status == 429 or code in _THROTTLED or code.startswith("Throttl"):
        return f"{code or 'HTTP'} {status}".strip()
    return None


def attach_progress_log() -> None:
    """Append INFO lines of ``incident_lib.sources.aws`` to ``$INCIDENT_PROGRESS_FILE`` (set by
    ``incident investigate`` for the kernel; it shows them on the terminal). Idempotent."""
    path = os.environ.get(PROGRESS_ENV)
    if not path or any(getattr(h, "_incident_progress", False) for h in progress_log.handlers):
        return
    try:
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        log.debug("no progress file %s: %s", path, exc)
        return
    handler.setLevel(logging.INFO)
    handler.setFormatter(MaskingFormatter("%(message)s"))
    handler._incident_progress = True  # type: ignore[attr-defined]
    progress_log.addHandler(handler)
    if progress_log.getEffectiveLevel() > logging.INFO:
        progress_log.setLevel(logging.INFO)


class _AssumeRoleProvider(CredentialProvider):
    """A credential provider that assumes a role, refreshing before the credentials expire."""

    METHOD = "incident-notebooks-assume-role"
    CANONICAL_NAME = "incident-notebooks-assume-role"

    def __init__(self, fetcher: AssumeRoleCredentialFetcher) -> None:
        super().__init__()
        self._fetcher = fetcher

    def load(self) -> DeferredRefreshableCredentials:
        return DeferredRefreshableCredentials(
            refresh_using=self._fetcher.fetch_credentials, method=self.METHOD
        )


def make_session(
    profile: str | None = None,
    role_arn: str | None = None,
    region: str | None = None,
    *,
    endpoint_url: str | None = None,
    session_name: str = SESSION_NAME,
    external_id: str | None = None,
    settings: ClientSettings | None = None,
) -> boto3.Session:
    """A boto3 session for ``region``, from ``profile`` (or the default chain), optionally
    assuming ``role_arn``.

    The role is assumed lazily, on the first call, and re-assumed before its credentials
    expire (botocore's ``AssumeRoleCredentialFetcher``), so a long investigation never meets an
    ``ExpiredToken``. The STS call goes to ``endpoint_url`` when one is given.

    Parameters
    ----------
    profile : str, optional
        A profile from ``~/.aws/config``; ``None`` uses the default credential chain.
    role_arn : str, optional
        A role to assume with ``sts:AssumeRole`` (e.g. a read-only role in the alarm's account).
    region : str, optional
        The alarm's Region.
    endpoint_url : str, optional
        Endpoint for the STS client that assumes the role (tests: a moto server).
    session_name : str
        ``RoleSessionName``; shows as the caller in the target account's CloudTrail.
    external_id : str, optional
        ``ExternalId`` the role's trust policy asks for.
    settings : ClientSettings, optional
        Retries and timeouts of the STS client.

    Returns
    -------
    boto3.Session

    See Also
    --------
    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html

    Examples
    --------
    >>> session = make_session(role_arn="arn:aws:iam::123456789012:role/incident-read",
    ...                        region="eu-west-1")  # doctest: +SKIP
    """
    try:
        base = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as exc:
        raise BadInputError(f"AWS profile {profile!r} not found ({exc})") from None
    if not role_arn:
        return base
    creator = functools.partial(
        base.client,
        region_name=region or base.region_name,
        endpoint_url=endpoint_url,
        config=(settings or ClientSettings()).to_config(),
    )
    source_credentials = base.get_credentials()
    if source_credentials is None:
        raise SourceError(_NO_CREDENTIALS, operation="AssumeRole", code="NoCredentials")
    extra: dict[str, Any] = {"RoleSessionName": session_name}
    if external_id:
        extra["ExternalId"] = external_id
    fetcher = AssumeRoleCredentialFetcher(
        client_creator=creator,
        source_credentials=source_credentials,
        role_arn=role_arn,
        extra_args=extra,
    )
    core = botocore.session.get_session()
    core.get_component("credential_provider").insert_before("env", _AssumeRoleProvider(fetcher))
    log.debug("session assumes %s as %s", role_arn, session_name)
    return boto3.Session(botocore_session=core, region_name=region or base.region_name)


def make_client(
    session: boto3.Session,
    service: str,
    region: str | None = None,
    endpoint_url: str | None = None,
    *,
    settings: ClientSettings | None = None,
) -> BaseClient:
    """A botocore client for ``service`` with the product's retries, timeouts and user agent.

    Parameters
    ----------
    session : boto3.Session
        From :func:`make_session`.
    service : str
        ``cloudwatch``, ``logs``, ``cloudtrail``, ``sts`` ...
    region : str, optional
        Defaults to the session's Region.
    endpoint_url : str, optional
        Overrides the endpoint. When ``None``, boto3 still honours ``AWS_ENDPOINT_URL`` and
        ``AWS_ENDPOINT_URL_<SERVICE>`` from the environment or the profile's ``endpoint_url``.
    settings : ClientSettings, optional
        Retries and timeouts; defaults to :class:`ClientSettings()`.

    Returns
    -------
    botocore.client.BaseClient

    See Also
    --------
    https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html

    Examples
    --------
    >>> logs = make_client(make_session(region="us-east-1"), "logs")  # doctest: +SKIP
    """
    try:
        return session.client(
            service,
            region_name=region or session.region_name,
            endpoint_url=endpoint_url,
            config=(settings or ClientSettings()).to_config(),
        )
    except NoRegionError:
        raise BadInputError(
            f"no AWS Region for {service}: pass region= (the alarm's) or set AWS_REGION"
        ) from None


_NO_CREDENTIALS = (
    "no AWS credentials found: set AWS_PROFILE (or pass profile=), run `aws sso login`, or set "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; see docs/aws.md"
)


def translate_error(
    exc: Exception, operation: str, *, query: str | None = None, detail: str | None = None
) -> IncidentError:
    """Map a botocore exception onto the product's exception tree.

    ``AccessDenied*`` -> :class:`AccessDeniedError`; throttling still failing after the client's
    retries -> :class:`ThrottledError`; ``MalformedQueryException`` -> :class:`QueryError` (line
    and column from the compile error's offset); a missing resource -> :class:`SourceError`
    naming it (``detail``); credential and endpoint problems -> :class:`SourceError` with what
    to do. Anything already an :class:`IncidentError` is returned as is.
    """
    if isinstance(exc, IncidentError):
        return exc
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code") or "Unknown")
        message = str(err.get("Message") or exc)
        if code in _ACCESS_DENIED or code.startswith("AccessDenied"):
            return AccessDeniedError(
                f"access denied ({code}): {message}; the IAM permissions needed are in docs/aws.md",
                operation=operation,
                code=code,
            )
        if code in _THROTTLED or code.startswith("Throttl"):
            return ThrottledError(
                f"throttled ({code}) after the client's retries: {message}",
                operation=operation,
                code=code,
            )
        if code == "MalformedQueryException":
            return _query_error(exc.response, message, operation, query)
        if code == "ResourceNotFoundException":
            what = f"{detail} not found" if detail else "resource not found"
            return SourceError(f"{what} ({message})", operation=operation, code=code)
        if code in _BAD_CREDENTIALS:
            return SourceError(
                f"the AWS credentials were rejected ({code}: {message}); refresh them "
                "(e.g. `aws sso login`) or check the profile and Region",
                operation=operation,
                code=code,
            )
        extra = f" [{detail}]" if detail else ""
        return SourceError(f"{code}: {message}{extra}", operation=operation, code=code)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return SourceError(_NO_CREDENTIALS, operation=operation, code="NoCredentials")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ConnectionClosedError):
        # The host only: botocore's message carries the request URL, whose path holds
        # resource names (percent-encoded, so out of the masking's sight).
        url = str(getattr(exc, "kwargs", {}).get("endpoint_url") or "")
        parts = urlsplit(url)
        where = f"{parts.scheme}://{parts.netloc}" if parts.netloc else type(exc).__name__
        return SourceError(
            f"cannot reach the AWS endpoint ({where}); check the Region, network, and "
            "AWS_ENDPOINT_URL / endpoint_url",
            operation=operation,
            code="EndpointConnectionError",
        )
    if isinstance(exc, ReadTimeoutError):
        return SourceError(
            f"the endpoint did not answer in time ({exc}); raise read_timeout in ClientSettings",
            operation=operation,
            code="ReadTimeout",
        )
    if isinstance(exc, ResponseParserError | UnicodeDecodeError):
        return SourceError(
            f"the endpoint's answer could not be read ({type(exc).__name__}); a proxy or "
            "network device may be rewriting it",
            operation=operation,
            code="MalformedResponse",
        )
    if isinstance(exc, ParamValidationError):
        return SourceError(f"invalid request: {exc}", operation=operation, code="ParamValidation")
    if isinstance(exc, BotoCoreError):
        return SourceError(str(exc), operation=operation, code=type(exc).__name__)
    return SourceError(f"{type(exc).__name__}: {exc}", operation=operation)


def _query_error(
    response: dict[str, Any], message: str, operation: str, query: str | None
) -> QueryError:
    compile_error = response.get("queryCompileError") or {}
    location = compile_error.get("location") or {}
    reason = compile_error.get("message") or message
    line = column = None
    length = 1
    start = location.get("startCharOffset")
    if query and isinstance(start, int) and 0 <= start <= len(query):
        before = query[:start]
        line = before.count("\n") + 1
        column = start - (before.rfind("\n") + 1) + 1
        end = location.get("endCharOffset")
        if isinstance(end, int) and end > start:
            length = end - start
    return QueryError(
        f"{operation}: {reason}", query=query, line=line, column=column, length=length
    )
