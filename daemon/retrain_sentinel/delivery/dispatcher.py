"""Delivering the outbox: claim, then each message through expire → pace → send → mark / retry / dead.

At-least-once: a row is marked sent only after its channel accepted it, under the notification's (or
its group's) id as idempotency key, so a crash between the two gives at most one duplicate the
receiver can drop. Rows are claimed first (``claimed_until``), so two dispatchers never send one row
and a dispatcher killed anywhere only delays its rows until the claim expires: stopping is safe at
every point. Order per (model, channel) comes from the store's claiming, where a newer transition
supersedes an undelivered older one.

The stages live in ``delivery/stages/``, one small module each (their docstrings say what each
decides and why); this module claims, runs each message through them and counts the outcome.
Every store write carries the caller's lease token, so a paused ex-leader's writes are refused.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from retrain_sentinel.clock import Clock, system_clock
from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.delivery.settings import DeliverySettings
from retrain_sentinel.delivery.stages import (
    SLACK_INTERVAL,
    Dead,
    Delivery,
    Expire,
    Forwarding,
    MarkSent,
    Pace,
    Reason,
    Retry,
    Ruling,
    Send,
    backoff_delay,
)
from retrain_sentinel.store import HistoryStore, LeaseToken, OutboxRow

__all__ = [
    "SLACK_INTERVAL",
    "DispatchStats",
    "Dispatcher",
    "backoff_delay",
]

log = structlog.get_logger("retrain_sentinel.dispatcher")


@dataclass
class DispatchStats:
    """What one ``run_once`` did (notifications counted, a group counts each member)."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    superseded: int = 0
    dead_lettered: int = 0
    released: int = 0

    def count(self, ruling: Ruling, forwarding: Forwarding | None, rows: int) -> None:
        """Add one message's ``rows`` under the outcome its ``ruling`` led to."""
        if ruling.reason is Reason.SENT:
            self.sent += rows
        elif ruling.reason is Reason.RETRY:
            self.retried += rows
        else:
            self.dead += rows
        if forwarding is Forwarding.FORWARDED:
            self.dead_lettered += rows


def _messages(rows: Sequence[OutboxRow]) -> list[list[OutboxRow]]:
    """Rows by message (a group's members together), in claim order."""
    messages: dict[str, list[OutboxRow]] = {}
    for row in rows:
        messages.setdefault(row.message_id, []).append(row)
    return list(messages.values())


class Dispatcher:
    """Delivers due outbox rows to their channels; one ``run_once(now)`` per tick.

    ``lease_provider`` returns the caller's current lease token (``None``: not the leader, so
    nothing is sent); every store write then carries it. ``pause_hook`` is for tests only: called
    with the claimed rows after claiming and before sending.
    """

    def __init__(
        self,
        store: HistoryStore,
        channels: Mapping[str, Channel],
        settings: DeliverySettings,
        clock: Clock = system_clock,
        *,
        lease_provider: Callable[[], LeaseToken | None] | None = None,
        pause_hook: Callable[[Sequence[OutboxRow]], None] | None = None,
        holder: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.channels = dict(channels)
        self.settings = settings
        self.clock = clock
        self.holder = holder or f"dispatcher-{uuid.uuid4().hex[:12]}"
        self._lease_provider = lease_provider
        self._pause_hook = pause_hook
        self._stopping = False
        pace = Pace(sleep)
        self._expire = Expire(settings.max_age)
        self._pace = pace
        self._send = Send(attempted=pace.attempted)
        self._mark_sent = MarkSent(store, clock)
        self._retry = Retry(store, self.holder, settings, clock, jitter)
        self._dead = Dead(store, self.channels, settings.dead_letter_channel, pace, self._send)

    def stop(self) -> None:
        """Finish the message being sent, hand the other claimed rows back, return."""
        self._stopping = True

    def run_once(self, now: datetime | None = None, *, only: Collection[str] | None = None) -> DispatchStats:
        """Claim due rows (``only`` these ids, when given) and deliver them; returns what happened."""
        now = now or self.clock()
        stats = DispatchStats()
        lease = self._lease_provider() if self._lease_provider is not None else None
        if self._lease_provider is not None and lease is None:
            return stats
        claim = self.store.claim_due(
            now,
            self.holder,
            claim_for=self.settings.claim_timeout,
            limit=self.settings.batch_size,
            lease=lease,
            only=only,
        )
        stats.claimed = len(claim.rows)
        stats.superseded = len(claim.superseded)
        if claim.superseded:
            log.info("alert.superseded", ids=list(claim.superseded))
        if self._pause_hook is not None and claim.rows:
            self._pause_hook(claim.rows)
        for rows in _messages(claim.rows):
            if self._stopping:
                stats.released += self.store.release_claims([r.id for r in rows], self.holder)
                continue
            self._deliver(Delivery.of(rows, self.channels, now, lease), stats)
        return stats

    def _deliver(self, delivery: Delivery, stats: DispatchStats) -> None:
        """The chain (the first stage to rule ends it), then the outcome its ruling calls for."""
        ruling = self._expire(delivery) or self._pace(delivery) or self._send(delivery)
        forwarding = None
        if ruling.reason is Reason.SENT:
            self._mark_sent(delivery)
        elif ruling.reason is Reason.RETRY:
            self._retry(delivery, ruling)
        else:
            forwarding = self._dead(delivery, ruling)
        stats.count(ruling, forwarding, len(delivery.rows))
