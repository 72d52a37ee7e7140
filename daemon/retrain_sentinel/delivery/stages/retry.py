"""After a ``RETRY`` ruling: count the attempt and hand the rows back until a backoff has passed.

Exponential backoff with full jitter, ``min(max_delay, base_delay · 2^attempts) · U(0, 1)``,
spreads the retries of many failed messages instead of sending them back in one burst; a 429's
``Retry-After`` is a floor, never shortened. The delay counts from the failed answer, not from the
run's start: pacing and earlier sends may have taken longer than ``Retry-After`` itself.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

import structlog

from retrain_sentinel.clock import Clock
from retrain_sentinel.delivery.settings import DeliverySettings
from retrain_sentinel.delivery.stages.base import Delivery, Ruling
from retrain_sentinel.store import HistoryStore

__all__ = ["RETRY_AFTER_LIMIT", "Retry", "backoff_delay"]

RETRY_AFTER_LIMIT = timedelta(days=1)
"""The longest ``Retry-After`` honoured: a receiver's header must not overflow a date (``1e300``)
or park a message past any ``max_age`` worth having."""

log = structlog.get_logger("retrain_sentinel.dispatcher")


def backoff_delay(
    attempts: int, *, base: timedelta, cap: timedelta, jitter: float, retry_after: float | None = None
) -> timedelta:
    """Full-jitter backoff after the ``attempts``-th failure (0 for the first); ``jitter`` ∈ [0, 1)."""
    ceiling = min(cap.total_seconds(), base.total_seconds() * 2 ** min(attempts, 32))
    seconds = ceiling * jitter
    if retry_after is not None:
        seconds = max(seconds, min(retry_after, RETRY_AFTER_LIMIT.total_seconds()))
    return timedelta(seconds=seconds)


class Retry:
    """Marks a failed message's rows for another attempt after ``backoff_delay``, releasing the
    claim of ``holder``; returns the delay chosen."""

    def __init__(
        self,
        store: HistoryStore,
        holder: str,
        settings: DeliverySettings,
        clock: Clock,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.holder = holder
        self.settings = settings
        self.clock = clock
        self._jitter = jitter

    def __call__(self, delivery: Delivery, ruling: Ruling) -> timedelta:
        first = delivery.first
        delay = backoff_delay(
            first.attempts,
            base=self.settings.base_delay,
            cap=self.settings.max_delay,
            jitter=self._jitter(),
            retry_after=ruling.retry_after,
        )
        failed_at = max(delivery.now, self.clock())
        self.store.mark_failed(
            delivery.ids, self.holder, failed_at + delay, ruling.detail, lease=delivery.lease
        )
        log.warning(
            "alert.retry",
            id=delivery.message.id,
            channel=delivery.message.channel,
            attempts=first.attempts + 1,
            delay_seconds=round(delay.total_seconds(), 3),
            error=ruling.detail,
        )
        return delay
