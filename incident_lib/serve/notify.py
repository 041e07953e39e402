"""Notifications once a report is stored: Slack-compatible incoming webhooks and a JSON webhook.

- ``slack``: ``{"text": "<summary line> <link>"}``, what Slack, Mattermost, Rocket.Chat,
  Microsoft Teams workflows and Google Chat incoming webhooks accept;
- ``json``: the report's facts (:func:`payload`), for a team's own receiver or a pager.

Each post is retried with exponential backoff (urllib3's ``Retry``: connection errors, 429
and 5xx, ``Retry-After`` honoured) and its outcome logged. A notification that still fails
never costs the report: the report is stored before anything is posted, and the outcome is
kept in the incident's done marker.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from incident_lib.redact import mask_secrets

log = logging.getLogger(__name__)

__all__ = ["Webhook", "payload", "post_all", "slack_text"]

Kind = Literal["slack", "json"]


@dataclass(frozen=True)
class Webhook:
    url: str
    kind: Kind = "json"

    @classmethod
    def parse(cls, url: str, kind: Kind | None = None) -> Webhook:
        """``kind`` by default from the host: Slack's own hooks get ``slack``."""
        if kind is None:
            kind = "slack" if "hooks.slack.com" in url else "json"
        return cls(url, kind)

    def redacted(self) -> str:
        """The URL as logged: a webhook URL is a secret (its path is the token)."""
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}/…"


def slack_text(info: dict[str, Any]) -> str:
    """``:rotating_light: <state> <alarm>: <summary> <link>`` on one line, masked. Slack
    reads ``<``, ``>`` and ``&`` as markup: escaped as its docs say."""
    state = info.get("new_state") or "?"
    line = f"{state} {info.get('alarm') or info.get('incident_id')}: {info.get('summary') or ''}"
    if info.get("partial"):
        line += " (partial report: a section failed)"
    line = mask_secrets(line.strip())
    for char, escape in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        line = line.replace(char, escape)
    link = info.get("link") or ""
    return f":rotating_light: {line} <{link}|report>" if link else f":rotating_light: {line}"


def payload(info: dict[str, Any]) -> dict[str, Any]:
    """The generic JSON webhook's body."""
    keys = (
        "incident_id",
        "alarm",
        "new_state",
        "state_change_time",
        "alert_type",
        "summary",
        "partial",
        "link",
        "findings",
    )
    return json.loads(mask_secrets(json.dumps({k: info.get(k) for k in keys}, default=str)))


def post_all(
    hooks: list[Webhook],
    info: dict[str, Any],
    *,
    retries: int = 5,
    backoff: float = 0.5,
    timeout: float = 10.0,
) -> list[dict[str, Any]]:
    """Post to every hook; returns one ``{"url", "kind", "ok", "status"|"error"}`` each."""
    import urllib3
    from urllib3.util import Retry

    # urllib3 logs each retry with the URL's path, which is a webhook's secret: its retries
    # are said here instead, the URL redacted.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)

    http = urllib3.PoolManager(
        retries=Retry(
            total=retries,
            backoff_factor=backoff,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"POST"}),
            raise_on_status=False,
            respect_retry_after_header=True,
        ),
        timeout=urllib3.Timeout(total=timeout),
    )
    outcomes = []
    for hook in hooks:
        body = {"text": slack_text(info)} if hook.kind == "slack" else payload(info)
        outcome: dict[str, Any] = {"url": hook.redacted(), "kind": hook.kind}
        try:
            response = http.request(
                "POST",
                hook.url,
                body=json.dumps(body).encode("utf-8"),
                headers={"Content-Type": "application/json"},
            )
            outcome["status"] = response.status
            outcome["ok"] = 200 <= response.status < 300
        except Exception as exc:  # urllib3's MaxRetryError and the like: logged, kept
            outcome["ok"] = False
            text = f"{type(exc).__name__}: {exc}".replace(hook.url, hook.redacted())
            path = urlsplit(hook.url)._replace(scheme="", netloc="").geturl()
            if path not in ("", "/"):
                text = text.replace(path, "/…")
            outcome["error"] = mask_secrets(text)[:300]
        if outcome["ok"]:
            log.info("notified %s (%s): %s", outcome["url"], hook.kind, outcome.get("status"))
        else:
            log.warning("notification to %s failed after retries: %s", outcome["url"], outcome)
        outcomes.append(outcome)
    return outcomes
