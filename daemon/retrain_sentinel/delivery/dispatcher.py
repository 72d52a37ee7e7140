"""Delivering the outbox: claim, then each message through expire → hold → pace → send → mark /
retry / dead.

At-least-once: a row is marked sent only after its channel accepted it, under the notification's (or
its group's) id as idempotency key, so a crash between the two gives at most one duplicate the
receiver can drop. Rows are claimed first (``claimed_until``, and the lease token they were claimed
under), so two dispatchers never send one row; a dispatcher killed anywhere leaves claims the next
leader takes over at once, and rows whose send this dispatcher could not record (the store failed
after the channel accepted) are taken again by its next run: stopping is safe at every point, and
nothing waits out ``claim_timeout`` but a lease-less ``check``'s claims. Order per (model, channel)
comes from the store's claiming, where a newer transition supersedes an undelivered older one.

Channels are independent: one run delivers each channel's messages in its own thread (the daemon
runs one job per channel besides), and a destination that failed is not tried again within the run,
so a receiver hanging to its timeout delays only itself. A ``Retry-After`` holds the destination —
the URL — for every message, not only the one that got it.

The stages live in ``delivery/stages/``, one small module each (their docstrings say what each
decides and why); this module claims, runs each message through them and counts the outcome.
Every store write carries the caller's lease token, so a paused ex-leader's writes are refused.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

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
    Hold,
    MarkSent,
    Pace,
    Reason,
    Retry,
    Ruling,
    Send,
    backoff_delay,
)
from retrain_sentinel.errors import LeaseLost, StoreError
from retrain_sentinel.store import HistoryStore, LeaseToken, OutboxRow

__all__ = [
    "SLACK_INTERVAL",
    "DispatchStats",
    "Dispatcher",
    "backoff_delay",
]

log = structlog.get_logger("retrain_sentinel.dispatcher")

MAX_PARALLEL_CHANNELS = 16
"""Channels delivered at once by one run; more wait for a free thread."""


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
    deferred: int = 0
    unrecorded: int = 0

    def add(self, other: DispatchStats) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def count(self, ruling: Ruling, forwarding: Forwarding | None, rows: int) -> None:
        """Add one message's ``rows`` under the outcome its ``ruling`` led to."""
        if ruling.reason is Reason.SENT:
            self.sent += rows
        elif ruling.reason is Reason.RETRY:
            self.retried += rows
        elif ruling.reason is Reason.HELD:
            self.deferred += rows
        else:
            self.dead += rows
        if forwarding is Forwarding.FORWARDED:
            self.dead_lettered += rows


def _messages_by_channel(rows: Sequence[OutboxRow]) -> dict[str, list[list[OutboxRow]]]:
    """Rows by message (a group's members together), by channel, in claim order."""
    messages: dict[str, list[OutboxRow]] = {}
    for row in rows:
        messages.setdefault(row.message_id, []).append(row)
    by_channel: dict[str, list[list[OutboxRow]]] = {}
    for message in messages.values():
        by_channel.setdefault(message[0].channel, []).append(message)
    return by_channel


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
        self._unrecorded: dict[str, datetime] = {}  # rows sent (or not) whose marking failed: ours
        self._lock = threading.Lock()
        pace = Pace(sleep)
        self._expire = Expire(settings.max_age)
        self._hold = Hold(clock)
        self._pace = pace
        self._send = Send(attempted=pace.attempted)
        self._mark_sent = MarkSent(store, clock)
        self._retry = Retry(store, self.holder, settings, clock, jitter)
        self._dead = Dead(store, self.channels, settings.dead_letter_channel, pace, self._send)

    def stop(self) -> None:
        """Finish the message being sent, hand the other claimed rows back, return."""
        self._stopping = True

    def run_once(
        self,
        now: datetime | None = None,
        *,
        only: Collection[str] | None = None,
        channels: Collection[str] | None = None,
        other_than: Collection[str] = (),
    ) -> DispatchStats:
        """Claim due rows and deliver them, each channel in its own thread; returns what happened.

        ``only``: these notification ids alone; ``channels`` / ``other_than``: rows of (or not of)
        these channels alone — the daemon runs one dispatch job per channel, so a slow receiver
        never holds up another's next run.
        """
        now = now or self.clock()
        stats = DispatchStats()
        lease = self._lease_provider() if self._lease_provider is not None else None
        if self._lease_provider is not None and lease is None:
            return stats
        reclaim = self._reclaimable(now)
        claim = self.store.claim_due(
            now,
            self.holder,
            claim_for=self.settings.claim_timeout,
            limit=self.settings.batch_size,
            lease=lease,
            only=only,
            channels=channels,
            other_than=other_than,
            reclaim=reclaim,
        )
        self._forget_unrecorded([*(r.id for r in claim.rows), *claim.superseded])
        stats.claimed = len(claim.rows)
        stats.superseded = len(claim.superseded)
        if claim.superseded:
            log.info("alert.superseded", ids=list(claim.superseded))
        if self._pause_hook is not None and claim.rows:
            self._pause_hook(claim.rows)
        by_channel = _messages_by_channel(claim.rows)
        if len(by_channel) <= 1:
            for messages in by_channel.values():
                stats.add(self._deliver_channel(messages, now, lease))
            return stats
        with ThreadPoolExecutor(
            max_workers=min(len(by_channel), MAX_PARALLEL_CHANNELS), thread_name_prefix="deliver"
        ) as pool:
            futures = [pool.submit(self._deliver_channel, m, now, lease) for m in by_channel.values()]
        for future in futures:
            stats.add(future.result())
        return stats

    def _deliver_channel(
        self, messages: Sequence[Sequence[OutboxRow]], now: datetime, lease: LeaseToken | None
    ) -> DispatchStats:
        """One channel's messages in order. After a retryable failure the rest of the run's messages
        for the channel go back untried (a down receiver costs one timeout per run, not one per
        message); after a store failure they are kept to be taken again by the next run."""
        stats = DispatchStats()
        down = False
        for index, rows in enumerate(messages):
            ids = [r.id for r in rows]
            if self._stopping or down:
                stats.released += self.store.release_claims(ids, self.holder)
                continue
            delivery = Delivery.of(rows, self.channels, now, lease)
            try:
                ruling = self._deliver(delivery, stats)
            except LeaseLost:
                raise
            except StoreError as exc:
                left = [r.id for message in messages[index:] for r in message]
                self._remember_unrecorded(left, now + self.settings.claim_timeout)
                stats.unrecorded += len(left)
                log.warning(
                    "alert.unrecorded",
                    id=delivery.message.id,
                    channel=delivery.message.channel,
                    rows=len(left),
                    detail="the store failed; the next run takes these rows again",
                    error=str(exc),
                )
                break
            down = ruling.reason is Reason.RETRY
        return stats

    def _deliver(self, delivery: Delivery, stats: DispatchStats) -> Ruling:
        """The chain (the first stage to rule ends it), then the outcome its ruling calls for."""
        ruling = (
            self._expire(delivery) or self._hold(delivery) or self._pace(delivery) or self._send(delivery)
        )
        forwarding = None
        if ruling.reason is Reason.SENT:
            self._mark_sent(delivery)
        elif ruling.reason is Reason.RETRY:
            delay = self._retry(delivery, ruling)
            if ruling.retry_after is not None and delivery.channel is not None:
                self._hold.hold(delivery.channel, self.clock() + delay)
        elif ruling.reason is Reason.HELD:
            self._defer(delivery, ruling)
        else:
            forwarding = self._dead(delivery, ruling)
        stats.count(ruling, forwarding, len(delivery.rows))
        return ruling

    def _defer(self, delivery: Delivery, ruling: Ruling) -> None:
        until = self.clock() + timedelta(seconds=ruling.retry_after or 0.0)
        self.store.defer(delivery.ids, self.holder, until, lease=delivery.lease)
        log.info(
            "alert.deferred",
            id=delivery.message.id,
            channel=delivery.message.channel,
            until=until.isoformat(),
            detail=ruling.detail,
        )

    # --- rows whose marking failed ------------------------------------------------------------

    def _remember_unrecorded(self, ids: Sequence[str], until: datetime) -> None:
        with self._lock:
            for row_id in ids:
                self._unrecorded[row_id] = until

    def _forget_unrecorded(self, ids: Sequence[str]) -> None:
        with self._lock:
            for row_id in ids:
                self._unrecorded.pop(row_id, None)

    def _reclaimable(self, now: datetime) -> frozenset[str]:
        """Rows this dispatcher claimed and could not mark, while their claim still stands."""
        with self._lock:
            self._unrecorded = {k: v for k, v in self._unrecorded.items() if v > now}
            return frozenset(self._unrecorded)
