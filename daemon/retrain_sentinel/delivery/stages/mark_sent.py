"""After a ``SENT`` ruling, and only then: mark the rows sent.

At-least-once hangs on this order. The channel accepted the message before its rows are marked, so
a crash between the two sends it once more, under the same idempotency key, and the receiver can
drop the duplicate; marking first would lose it instead.
"""

from __future__ import annotations

import structlog

from retrain_sentinel.clock import Clock
from retrain_sentinel.delivery.stages.base import Delivery
from retrain_sentinel.store import HistoryStore

__all__ = ["MarkSent"]

log = structlog.get_logger("retrain_sentinel.dispatcher")


class MarkSent:
    """Marks a delivered message's rows sent at ``clock()`` (the answer's time, not the run's start),
    under the delivery's lease."""

    def __init__(self, store: HistoryStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def __call__(self, delivery: Delivery) -> None:
        self.store.mark_sent(delivery.ids, self.clock(), lease=delivery.lease)
        log.info(
            "alert.sent",
            id=delivery.message.id,
            channel=delivery.message.channel,
            models=delivery.watches,
            kinds=[r.kind for r in delivery.rows],
        )
