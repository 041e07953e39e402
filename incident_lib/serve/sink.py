"""Where ``incident serve`` keeps reports, and how it makes one report per alarm state change.

Two destinations, one contract (:class:`Sink`):

- :class:`LocalSink`: ``DIR/<incident-id>/`` written by :func:`incident_lib.run.investigate`
  (its lock per incident and atomic swap); the claim is ``fcntl.flock`` on
  ``DIR/.<incident-id>.serve.lock`` (dropped by the kernel if the worker dies) and the done
  marker ``DIR/.<incident-id>.done.json``.
- :class:`S3Sink`: the folder is written under a local staging folder, then uploaded to
  ``s3://bucket/prefix/<incident-id>/`` file by file; the claim is a **conditional write**
  of ``prefix/_claims/<incident-id>.json`` (``If-None-Match: *``: of any number of workers on
  any number of machines, exactly one creates it). A claim whose worker died (older than the
  lease, no ``done``) is taken over with ``If-Match`` on its ETag, so again by one worker.
  The marker is rewritten with ``"state": "done"`` and the report's link once every file is
  stored.

A claim says one of: ``claimed`` (run the investigation), ``done`` (a duplicate: the report
exists; delete the message), ``busy`` (another worker is on it: let the message come back
later, by then it is ``done``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import mimetypes
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from incident_lib.errors import BadInputError
from incident_lib.timeutil import format_iso, utc_now

log = logging.getLogger(__name__)

__all__ = ["Claim", "LocalSink", "S3Sink", "Sink", "open_sink"]

ClaimState = Literal["claimed", "done", "busy"]
CLAIMS = "_claims"
#: A claim older than this with no ``done`` is a dead worker's (a run takes seconds; its
#: deadline for AWS calls is 90 s by default).
DEFAULT_LEASE_SECONDS = 900.0


@dataclass
class Claim:
    state: ClaimState
    incident_id: str
    link: str = ""
    info: dict[str, Any] = field(default_factory=dict)


class Sink(Protocol):
    def describe(self) -> str: ...

    @contextlib.contextmanager
    def claim(self, incident_id: str) -> Iterator[Claim]: ...

    def staging(self) -> Path:
        """The reports folder ``investigate`` writes into."""
        ...

    def store(self, directory: Path) -> str:
        """Keep the finished incident folder; returns the report's link."""
        ...

    def mark_done(self, claim: Claim, info: dict[str, Any]) -> None: ...

    def release(self, claim: Claim) -> None:
        """Give up a claim whose investigation failed, so that a redelivery runs it."""
        ...


def open_sink(out: str | Path | None, **options: Any) -> Sink:
    """``s3://bucket/prefix`` or a folder (default ``reports/``)."""
    text = str(out) if out is not None else ""
    if text.startswith("s3://"):
        bucket, _, prefix = text[len("s3://") :].partition("/")
        if not bucket:
            raise BadInputError(f"--out {text}: no bucket name")
        return S3Sink(bucket, prefix.strip("/"), **options)
    from incident_lib.paths import reports_dir

    return LocalSink(Path(text) if text else reports_dir())


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# -- local folder ----------------------------------------------------------------------------
class LocalSink:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise BadInputError(f"--out {self.root}: exists and is not a folder")
        self.root.mkdir(parents=True, exist_ok=True)

    def describe(self) -> str:
        return str(self.root)

    def _done_path(self, incident_id: str) -> Path:
        return self.root / f".{incident_id}.done.json"

    @contextlib.contextmanager
    def claim(self, incident_id: str) -> Iterator[Claim]:
        fd = os.open(self.root / f".{incident_id}.serve.lock", os.O_CREAT | os.O_RDWR)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield Claim("busy", incident_id)
                return
            done = _read_json(self._done_path(incident_id))
            if done is not None and (self.root / incident_id / "report.html").is_file():
                yield Claim("done", incident_id, link=done.get("link", ""), info=done)
                return
            yield Claim("claimed", incident_id)
        finally:
            os.close(fd)  # drops the lock

    def staging(self) -> Path:
        return self.root

    def store(self, directory: Path) -> str:
        return (directory / "report.html").resolve().as_uri()

    def release(self, claim: Claim) -> None:
        """Nothing to undo: the lock goes with the block, and no done marker was written."""

    def mark_done(self, claim: Claim, info: dict[str, Any]) -> None:
        path = self._done_path(claim.incident_id)
        tmp = path.with_suffix(f".tmp-{os.getpid()}")
        tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


# -- S3 --------------------------------------------------------------------------------------
class S3Sink:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        presign_seconds: int = 7 * 24 * 3600,
        link_base: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.lease_seconds = lease_seconds
        self.presign_seconds = presign_seconds
        self.link_base = link_base.rstrip("/") if link_base else None
        if client is None:
            import boto3

            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None,
                region_name=region,
            )
        self.s3 = client
        self._stage: Path | None = None

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    @contextlib.contextmanager
    def claim(self, incident_id: str) -> Iterator[Claim]:
        yield self._claim(incident_id)

    def _claim(self, incident_id: str) -> Claim:
        from botocore.exceptions import ClientError

        key = self.key(CLAIMS, f"{incident_id}.json")
        body = {"state": "running", "worker": _worker_id(), "claimed_at": format_iso(utc_now())}
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=_json_bytes(body),
                IfNoneMatch="*",
                ContentType="application/json",
            )
            return Claim("claimed", incident_id, info={"key": key})
        except ClientError as exc:
            if not _precondition_failed(exc):
                raise
        try:
            current = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:  # deleted in between: let the message come back
            log.info("claim of %s vanished while read: %s", incident_id, exc)
            return Claim("busy", incident_id)
        etag = current["ETag"]
        try:
            info = json.loads(current["Body"].read())
        except ValueError:
            info = {}
        if info.get("state") == "done":
            return Claim("done", incident_id, link=str(info.get("link", "")), info=info)
        age = time.time() - current["LastModified"].timestamp()
        if age < self.lease_seconds:
            return Claim("busy", incident_id, info=info)
        log.warning("taking over incident %s: its claim is %.0fs old, not done", incident_id, age)
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=_json_bytes({**body, "took_over": info}),
                IfMatch=etag,
                ContentType="application/json",
            )
        except ClientError as exc:
            if _precondition_failed(exc):
                return Claim("busy", incident_id)
            raise
        return Claim("claimed", incident_id, info={"key": key})

    def staging(self) -> Path:
        if self._stage is None:
            self._stage = Path(tempfile.mkdtemp(prefix="incident-serve-"))
        return self._stage

    def store(self, directory: Path) -> str:
        """Upload every file of the incident folder (the report last: its presence means the
        rest is there), then remove the staged copy."""
        incident_id = directory.name
        files = sorted(p for p in directory.rglob("*") if p.is_file())
        files.sort(key=lambda p: p.name == "report.html")
        for path in files:
            rel = path.relative_to(directory).as_posix()
            ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if ctype.startswith("text/") or ctype == "application/json":
                ctype += "; charset=utf-8"
            self.s3.upload_file(
                str(path),
                self.bucket,
                self.key(incident_id, rel),
                ExtraArgs={"ContentType": ctype},
            )
        shutil.rmtree(directory, ignore_errors=True)
        return self.link(incident_id)

    def link(self, incident_id: str) -> str:
        key = self.key(incident_id, "report.html")
        if self.link_base:
            return f"{self.link_base}/{key}"
        return self.s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=self.presign_seconds,
        )

    def release(self, claim: Claim) -> None:
        """Delete the claim marker (ours: another worker takes a claim over only after the
        lease), so that the redelivery claims it at once instead of waiting out the lease."""
        try:
            self.s3.delete_object(
                Bucket=self.bucket, Key=self.key(CLAIMS, f"{claim.incident_id}.json")
            )
        except Exception as exc:  # then the lease frees it
            log.warning("claim of %s not released: %s", claim.incident_id, exc)

    def mark_done(self, claim: Claim, info: dict[str, Any]) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=self.key(CLAIMS, f"{claim.incident_id}.json"),
            Body=_json_bytes({**info, "state": "done"}),
            ContentType="application/json",
        )


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, default=str) + "\n").encode("utf-8")


def _precondition_failed(exc: Any) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    # 412: the object exists (If-None-Match) or changed (If-Match); 409: a concurrent
    # conditional write to the same key is in progress (S3 says ConditionalRequestConflict).
    return status in (409, 412) or error.get("Code") in (
        "PreconditionFailed",
        "ConditionalRequestConflict",
    )
