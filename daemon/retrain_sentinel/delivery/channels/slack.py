"""Slack through an incoming webhook: Block Kit blocks plus a plain ``text`` fallback.

Slack reads ``<…>`` as mentions and links (``<!channel>``, ``<https://x|click>``), so every piece of
user text is escaped (``&`` ``<`` ``>``) before it enters a payload; only the link we build ourselves
uses the ``<url|label>`` form. Slack refuses payloads over its limits, so the payload stays within
them: at most 50 blocks, section text ≤ 3,000 characters, header ≤ 150, cutting with "…and N more".

Success is exactly HTTP 200 with the body ``ok``; Slack's 4xx answers carry a short error code
(``invalid_payload``, ``channel_is_archived``) that is safe to quote.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import requests
from pydantic import SecretStr

from retrain_sentinel.alerts.notification import Message
from retrain_sentinel.alerts.render import (
    AlertView,
    describe_message,
    feature_text,
    group_title,
    summary_line,
)
from retrain_sentinel.clock import Clock, system_clock
from retrain_sentinel.delivery.channels.http import HttpAnswer, classify_answer, post
from retrain_sentinel.delivery.settings import check_http_url
from retrain_sentinel.errors import DeliveryError
from retrain_sentinel.jsonsafe import dumps
from retrain_sentinel.redaction import redact_url

__all__ = [
    "MAX_BLOCKS",
    "MAX_HEADER",
    "MAX_SECTION",
    "SlackChannel",
    "escape",
    "slack_payload",
]

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_FALLBACK = 3000
_ERROR_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def escape(text: str) -> str:
    """Slack's three control characters as entities, so user text can neither mention nor link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, ending in "…", never splitting an ``&…;`` entity."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    return head + "…"


def fit_lines(lines: Sequence[str], limit: int = MAX_SECTION) -> str:
    """Join ``lines`` within ``limit``; what does not fit becomes "…and N more"."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        remaining = len(lines) - index - 1
        reserve = len(f"\n…and {len(lines)} more") if remaining else 0
        text = cut(line, limit - reserve - 1)
        if used + len(text) + 1 + reserve > limit:
            kept.append(f"…and {len(lines) - index} more")
            break
        kept.append(text)
        used += len(text) + 1
    return "\n".join(kept)


def _link(url: str, label: str = "Open") -> str:
    return f"<{escape(url.replace('|', '%7C'))}|{label}>"


def _section(lines: Sequence[str]) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit_lines(lines)}}


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": cut(text, MAX_HEADER), "emoji": True}}


def _bullets(title: str, items: Sequence[str]) -> list[str]:
    return [f"*{title}*", *(f"• {escape(item)}" for item in items)] if items else []


def _single_blocks(view: AlertView) -> list[dict[str, Any]]:
    """One alert: header, what and why, reasons, features, recommendations, id and link."""
    lines = [f"*{escape(view.watch_and_version)}*: {escape(view.verdict)}"]
    if view.why:
        lines.append(f"_{escape(view.why)}_")
    if view.error:
        lines.append(f"Error: {escape(view.error)}")
    blocks = [_header(f"{view.emoji} {view.headline} · {view.severity}"), _section(lines)]
    for title, items in (
        ("Reasons", view.reasons),
        ("Not judged", view.not_judged),
        ("Top drifted features", [feature_text(f) for f in view.features]),
        ("Recommendations", view.recommendations),
    ):
        if items:
            blocks.append(_section(_bullets(title, items)))
    context = f"id `{escape(view.id)}` · {view.created_at.isoformat()}"
    if view.link:
        context += f" · {_link(view.link)}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(context, MAX_SECTION)}]})
    return blocks


def _group_item(view: AlertView) -> dict[str, Any]:
    lines = [escape(summary_line(view))]
    lines += [f"• {escape(reason)}" for reason in view.reasons[:3]]
    lines += [f"• {escape(note)}" for note in view.not_judged[:3]]
    if view.features:
        lines.append("Drifted: " + escape(", ".join(feature_text(f) for f in view.features[:3])))
    if view.error:
        lines.append(f"Error: {escape(view.error)}")
    if view.link:
        lines.append(_link(view.link))
    return _section(lines)


def _group_blocks(message: Message, views: Sequence[AlertView]) -> list[dict[str, Any]]:
    """A batch: a header, one section per alert, and "…and N more" past Slack's 50 blocks."""
    blocks = [_header(f"Retrain Sentinel: {group_title(message)}")]
    room = MAX_BLOCKS - len(blocks)
    shown = views if len(views) <= room else views[: room - 1]
    blocks += [_group_item(v) for v in shown]
    if len(shown) < len(views):
        more = ", ".join(v.watch for v in views[len(shown) :])
        text = cut(f"…and {len(views) - len(shown)} more: {escape(more)}", MAX_SECTION)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    return blocks


def _fallback(message: Message, views: Sequence[AlertView]) -> str:
    if not message.is_group:
        return cut(escape(summary_line(views[0])), MAX_FALLBACK)
    watches = ", ".join(v.watch for v in views)
    return cut(escape(f"Retrain Sentinel: {group_title(message)}: {watches}"), MAX_FALLBACK)


def slack_payload(message: Message, *, link_template: str | None = None) -> dict[str, Any]:
    """The JSON Slack receives for ``message`` (pure: no I/O, no clock)."""
    views = describe_message(message, link_template=link_template)
    blocks = _group_blocks(message, views) if message.is_group else _single_blocks(views[0])
    return {"text": _fallback(message, views), "blocks": blocks}


class SlackChannel:
    """Posts to one Slack incoming webhook; the URL is the secret and never leaves this object."""

    kind = "slack"

    def __init__(
        self,
        name: str,
        webhook_url: SecretStr,
        *,
        timeout: float = 10.0,
        link_template: str | None = None,
        session: requests.Session | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.name = name
        self._url = webhook_url
        self._timeout = timeout
        self._link_template = link_template
        self._session = session or requests.Session()
        self._clock = clock
        self._label = f"slack channel {name!r}"

    def __repr__(self) -> str:
        return f"SlackChannel(name={self.name!r}, host={redact_url(self._url.get_secret_value())!r})"

    @property
    def destination(self) -> str:
        """Where this channel delivers: the incoming-webhook URL it posts to.

        The key under which a rate limit (HTTP 429 ``Retry-After``) holds every message to the same
        place, whichever channel or notification met it. A secret (the URL is Slack's credential):
        never logged, never rendered, never in an error or the repr.
        """
        return self._url.get_secret_value()

    def send(self, message: Message) -> None:
        body = dumps(slack_payload(message, link_template=self._link_template)).encode("utf-8")
        url = self._url.get_secret_value()
        answer = post(
            self._session,
            url,
            body=body,
            headers={"Content-Type": "application/json; charset=utf-8"},
            timeout=self._timeout,
            label=self._label,
        )
        self._judge(answer, f"{self._label}: {redact_url(url)}")

    def _judge(self, answer: HttpAnswer, target: str) -> None:
        code = answer.body.strip()
        if answer.status == 200:
            if code == "ok":
                return
            raise DeliveryError(f"{target} answered HTTP 200 without 'ok'", retryable=False)
        error = classify_answer(answer, target=target, now=self._clock())
        if error is None:  # another 2xx: not Slack's success answer
            raise DeliveryError(f"{target} answered HTTP {answer.status} without 'ok'", retryable=False)
        if _ERROR_CODE.match(code):
            raise DeliveryError(f"{error} ({code})", retryable=error.retryable, retry_after=error.retry_after)
        raise error

    def check(self) -> None:
        """Validate the URL's shape only: Slack has no way to test a webhook without posting."""
        problem = check_http_url(self._url.get_secret_value())
        if problem:
            raise DeliveryError(f"{self._label}: webhook URL {problem}", retryable=False)
