"""Stage 2, pace: no Slack webhook gets two messages within ``SLACK_INTERVAL``.

Slack documents one message per second per incoming webhook and answers faster senders with 429,
so waiting here is cheaper than a retry. Other kinds are not paced. The stage remembers when each
channel was last tried; whoever sends tells it (``attempted``), dead letters included.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.delivery.stages.base import Delivery, Ruling

__all__ = ["SLACK_INTERVAL", "Pace"]

SLACK_INTERVAL = 1.0
"""Seconds between two messages to one Slack webhook (Slack's documented rate: 1 per second)."""


class Pace:
    """Waits (by ``sleep``) until ``SLACK_INTERVAL`` has passed since the channel's last attempt;
    never ends a delivery. ``monotonic`` is the clock the intervals are measured with."""

    def __init__(
        self,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sleep = sleep
        self._monotonic = monotonic
        self._last_attempt: dict[str, float] = {}

    def __call__(self, delivery: Delivery) -> Ruling | None:
        channel = delivery.channel
        if channel is None or channel.kind != "slack":
            return None
        last = self._last_attempt.get(channel.name)
        if last is not None:
            wait = SLACK_INTERVAL - (self._monotonic() - last)
            if wait > 0:
                self._sleep(wait)
        return None

    def attempted(self, channel: Channel) -> None:
        """Note that ``channel`` was just tried, whether or not it accepted."""
        self._last_attempt[channel.name] = self._monotonic()
