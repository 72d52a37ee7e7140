"""After a ``TOO_OLD``, ``NO_CHANNEL`` or ``REJECTED`` ruling: give the message up, and say so.

A dead message is marked dead (its attempt counted only when the channel was tried), logged, and,
when ``dead_letter_channel`` is set, forwarded there so someone hears of the alert that did not get
through. Forwarding is best effort: the rows are already dead and logged, so a failure is logged
and not retried. It goes through the same pace and send stages as any message, so a Slack
dead-letter channel is paced too, and returns why it did or did not forward (``Forwarding``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from enum import StrEnum
from typing import Any

import structlog

from retrain_sentinel.alerts.notification import Message, Notification
from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.delivery.stages.base import Delivery, Reason, Ruling
from retrain_sentinel.delivery.stages.pace import Pace
from retrain_sentinel.delivery.stages.send import Send
from retrain_sentinel.redaction import redact
from retrain_sentinel.store import HistoryStore

__all__ = ["Dead", "Forwarding"]

log = structlog.get_logger("retrain_sentinel.dispatcher")


class Forwarding(StrEnum):
    """What became of a dead message's copy for the dead-letter channel."""

    FORWARDED = "forwarded"
    NOT_CONFIGURED = "not_configured"
    """No ``dead_letter_channel`` is set."""
    OWN_CHANNEL = "own_channel"
    """The message died on the dead-letter channel itself."""
    MISSING = "missing"
    """``dead_letter_channel`` names no configured channel."""
    FAILED = "failed"


class Dead:
    """Marks a message's rows dead with the ruling's detail, then forwards a copy to
    ``dead_letter_channel`` (when set) through ``pace`` and ``send``."""

    def __init__(
        self,
        store: HistoryStore,
        channels: Mapping[str, Channel],
        dead_letter_channel: str | None,
        pace: Pace,
        send: Send,
    ) -> None:
        self.store = store
        self.channels = channels
        self.dead_letter_channel = dead_letter_channel
        self._pace = pace
        self._send = send

    def __call__(self, delivery: Delivery, ruling: Ruling) -> Forwarding:
        self.store.mark_dead(
            delivery.ids, ruling.detail, attempted=ruling.reason.attempted, lease=delivery.lease
        )
        log.error(
            "alert.dead",
            id=delivery.message.id,
            channel=delivery.message.channel,
            models=delivery.watches,
            reason=redact(ruling.detail),
        )
        return self._forward(delivery, ruling)

    def _forward(self, delivery: Delivery, ruling: Ruling) -> Forwarding:
        name = self.dead_letter_channel
        if name is None:
            return Forwarding.NOT_CONFIGURED
        if name == delivery.message.channel:
            return Forwarding.OWN_CHANNEL
        channel = self.channels.get(name)
        if channel is None:
            log.error("alert.dead_letter_missing", channel=name)
            return Forwarding.MISSING
        letter = replace(delivery, message=_dead_letter(delivery.message, name, ruling), channel=channel)
        self._pace(letter)
        answer = self._send(letter)
        if answer.reason is not Reason.SENT:
            log.error("alert.dead_letter_failed", channel=name, error=answer.detail)
            return Forwarding.FAILED
        return Forwarding.FORWARDED


def _dead_letter(message: Message, channel: str, ruling: Ruling) -> Message:
    """``message`` readdressed to ``channel``, each notification saying where and why it died."""

    def forward(n: Notification) -> Notification:
        metadata: dict[str, Any] = {
            **n.metadata,
            "dead_letter": {"channel": message.channel, "reason": redact(ruling.detail)},
        }
        return replace(n, channel=channel, metadata=metadata)

    return Message(
        id=f"{message.id}-dead",
        channel=channel,
        notifications=tuple(forward(n) for n in message.notifications),
    )
