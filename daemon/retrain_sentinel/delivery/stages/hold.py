"""Stage 2, hold: a destination that asked to wait (``Retry-After``) gets nothing until then.

A 429's ``Retry-After`` is the receiver's word on its *endpoint*, not on the one message that got
it: Slack rate-limits a webhook URL, a gateway its route. So the wait is held per destination (the
URL a webhook or Slack channel posts to, the SMTP server), and every message for it — of any watch,
of any channel posting to the same URL — is deferred to the end of the wait without an attempt.
Holds live in the dispatcher's memory: after a restart the first message to a destination that is
still limiting learns the wait again.
"""

from __future__ import annotations

import threading
from datetime import datetime

from retrain_sentinel.clock import Clock
from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.delivery.stages.base import Delivery, Reason, Ruling

__all__ = ["Hold", "destination_of"]


def destination_of(channel: Channel) -> str:
    """The key a hold is kept under: the channel's ``destination`` (a secret: never logged), or
    its name for channels that have none."""
    destination = getattr(channel, "destination", None)
    return destination if isinstance(destination, str) and destination else f"channel:{channel.name}"


class Hold:
    """Rules ``HELD`` (with the seconds left as ``retry_after``) while the delivery's destination
    is held; ``hold`` is told when a receiver asks to wait. Thread-safe: channels run in parallel."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def __call__(self, delivery: Delivery) -> Ruling | None:
        channel = delivery.channel
        if channel is None:
            return None
        until = self.until(channel)
        if until is None:
            return None
        left = (until - self._clock()).total_seconds()
        return Ruling(Reason.HELD, f"the receiver asked to wait {left:.0f} s more (Retry-After)", left)

    def until(self, channel: Channel) -> datetime | None:
        """When the hold on ``channel``'s destination ends, if it is held now."""
        key = destination_of(channel)
        with self._lock:
            until = self._until.get(key)
            if until is not None and until <= self._clock():
                del self._until[key]
                return None
            return until

    def hold(self, channel: Channel, until: datetime) -> None:
        """Hold ``channel``'s destination until ``until`` (a later hold is never shortened)."""
        key = destination_of(channel)
        with self._lock:
            current = self._until.get(key)
            if current is None or until > current:
                self._until[key] = until
