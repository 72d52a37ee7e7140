"""A signed JSON POST to any receiver — how a retraining pipeline gets started.

One request per ``Message`` as given. The body is serialised once and those exact bytes are both
signed and sent (``X-Sentinel-Signature``, see ``delivery/signature.py``); ``Idempotency-Key`` carries
the message id, so a receiver can drop the duplicate that at-least-once delivery may produce.

Body (``schema`` versioned; keys are added, never renamed)::

    {"schema": "retrain-sentinel.notification/1", "id": "...", "idempotency_key": "...",
     "channel": "retrain", "severity": "critical", "sent_at": "2026-...Z", "models": ["churn"],
     "notifications": [{"id", "model", "model_version", "transition", "status", "severity",
                        "reason", "created_at", "fired_triggers", "not_judged", "recommendations",
                        "report", "error", "link", "metadata"}],
     ...and, when the message holds one notification, that notification's keys at the top level}

``status`` is the verdict in one word as ``check`` prints it (``triggered``, ``ok``, ``undecided``, or
``error`` when there is no report), so a receiver never has to read ``triggered: false`` as healthy;
``not_judged`` names the triggers that could not decide or were skipped, each with why.
``report`` is the report's ``to_dict()`` (non-finite numbers as ``"inf"`` / ``"nan"``), ``model`` the
watch's configured name.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import SecretStr

import retrain_sentinel
from retrain_sentinel.alerts.notification import Message, Notification
from retrain_sentinel.alerts.render import build_link
from retrain_sentinel.clock import Clock, system_clock
from retrain_sentinel.delivery.channels.http import classify_answer, post
from retrain_sentinel.delivery.settings import check_http_url
from retrain_sentinel.delivery.signature import SIGNATURE_HEADER, sign, verify_signature
from retrain_sentinel.errors import DeliveryError
from retrain_sentinel.evaluation import outcome_of
from retrain_sentinel.jsonsafe import dumps, jsonable
from retrain_sentinel.redaction import redact_url

__all__ = ["SCHEMA", "WebhookChannel", "verify_signature", "webhook_body", "webhook_request"]

SCHEMA = "retrain-sentinel.notification/1"


def _notification(notification: Notification, link_template: str | None) -> dict[str, Any]:
    return {
        "id": notification.id,
        "model": notification.watch,
        "model_version": notification.model_version,
        "transition": notification.kind,
        "status": outcome_of(notification.report) if notification.report is not None else "error",
        "severity": notification.severity,
        "reason": notification.reason,
        "created_at": notification.created_at.isoformat(),
        "fired_triggers": notification.fired_triggers,
        "not_judged": notification.report.notes if notification.report is not None else [],
        "recommendations": notification.recommendations,
        "report": jsonable(notification.report.to_dict()) if notification.report is not None else None,
        "error": notification.error,
        "link": build_link(link_template, notification),
        "metadata": jsonable(notification.metadata),
    }


def webhook_body(message: Message, *, sent_at: datetime, link_template: str | None = None) -> dict[str, Any]:
    """The JSON document a receiver gets for ``message`` (pure)."""
    items = [_notification(n, link_template) for n in message.notifications]
    body: dict[str, Any] = {
        "schema": SCHEMA,
        "id": message.id,
        "idempotency_key": message.id,
        "channel": message.channel,
        "severity": message.severity,
        "sent_at": sent_at.isoformat(),
        "models": list(dict.fromkeys(n.watch for n in message.notifications)),
        "notifications": items,
    }
    if len(items) == 1:
        body.update({k: v for k, v in items[0].items() if k != "id"})
        body["notification_id"] = items[0]["id"]
    return body


def webhook_request(
    message: Message,
    *,
    secrets: Sequence[str],
    extra_headers: Mapping[str, str],
    now: datetime,
    link_template: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The exact body bytes and the headers (pure): what is signed is what is sent."""
    body = dumps(webhook_body(message, sent_at=now, link_template=link_template)).encode("utf-8")
    headers = {
        **extra_headers,
        "User-Agent": f"retrain-sentinel/{retrain_sentinel.__version__}",
        "Content-Type": "application/json",
        "Idempotency-Key": message.id,
    }
    if secrets:
        headers[SIGNATURE_HEADER] = sign(body, secrets, int(now.timestamp()))
    return body, headers


class WebhookChannel:
    """POSTs signed JSON to one URL; the URL, the keys and the header values never leave it."""

    kind = "webhook"

    def __init__(
        self,
        name: str,
        url: SecretStr,
        *,
        secrets: Sequence[SecretStr] = (),
        headers: Mapping[str, SecretStr] | None = None,
        timeout: float = 10.0,
        link_template: str | None = None,
        session: requests.Session | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.name = name
        self._url = url
        self._secrets = tuple(secrets)
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._link_template = link_template
        self._session = session or requests.Session()
        self._clock = clock
        self._label = f"webhook channel {name!r}"

    def __repr__(self) -> str:
        return (
            f"WebhookChannel(name={self.name!r}, host={redact_url(self._url.get_secret_value())!r}, "
            f"secrets={len(self._secrets)})"
        )

    @property
    def destination(self) -> str:
        """Where this channel delivers: the URL it posts to.

        The key under which a rate limit (HTTP 429 ``Retry-After``) holds every message to the same
        place, whichever channel or notification met it. A secret (a URL may carry a token):
        never logged, never rendered, never in an error or the repr.
        """
        return self._url.get_secret_value()

    def send(self, message: Message) -> None:
        now = self._clock()
        body, headers = webhook_request(
            message,
            secrets=[s.get_secret_value() for s in self._secrets],
            extra_headers={k: v.get_secret_value() for k, v in self._headers.items()},
            now=now,
            link_template=self._link_template,
        )
        url = self._url.get_secret_value()
        answer = post(
            self._session, url, body=body, headers=headers, timeout=self._timeout, label=self._label
        )
        error = classify_answer(answer, target=f"{self._label}: {redact_url(url)}", now=now)
        if error is not None:
            raise error

    def check(self) -> None:
        """Validate the URL and open (then close) a TCP connection to its host: nothing is posted."""
        url = self._url.get_secret_value()
        target = f"{self._label}: {redact_url(url)}"
        problem = check_http_url(url)
        if problem:
            raise DeliveryError(f"{self._label}: url {problem}", retryable=False)
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            with socket.create_connection((parts.hostname or "", port), timeout=self._timeout):
                pass
        except OSError as exc:
            raise DeliveryError(
                f"{target} could not be reached ({type(exc).__name__})", retryable=True
            ) from None
