"""Delivering the outbox: claim → (too old? dead) → pace → send → mark sent / retry later / dead.

At-least-once: a row is marked sent only after its channel accepted it, under the notification's (or
its group's) id as idempotency key, so a crash between the two gives at most one duplicate the
receiver can drop. Rows are claimed first (``claimed_until``), so two dispatchers never send one row
and a dispatcher killed anywhere only delays its rows until the claim expires: stopping is safe at
every point. Order per (model, channel) comes from the store's claiming, where a newer transition
supersedes an undelivered older one.

Failures: ``DeliveryError.retryable`` → exponential backoff with full jitter,
``min(max_delay, base_delay · 2^attempts) · U(0, 1)``, never sooner than a 429's ``Retry-After``;
not retryable → dead at once; older than ``max_age`` → dead, counted, logged and, when configured,
sent to ``dead_letter_channel``. Slack webhooks are paced to one message per second each.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from retrain_sentinel.alerts.notification import Message, Notification
from retrain_sentinel.clock import Clock, system_clock
from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.delivery.settings import DeliverySettings
from retrain_sentinel.errors import DeliveryError
from retrain_sentinel.redaction import redact
from retrain_sentinel.store.history import HistoryStore
from retrain_sentinel.store.records import LeaseToken, OutboxRow

__all__ = [
    "SLACK_INTERVAL",
    "DispatchStats",
    "Dispatcher",
    "backoff_delay",
]

SLACK_INTERVAL = 1.0
"""Seconds between two messages to one Slack webhook (Slack's documented rate: 1 per second)."""

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


def backoff_delay(
    attempts: int, *, base: timedelta, cap: timedelta, jitter: float, retry_after: float | None = None
) -> timedelta:
    """Full-jitter backoff after the ``attempts``-th failure (0 for the first); ``jitter`` ∈ [0, 1)."""
    ceiling = min(cap.total_seconds(), base.total_seconds() * 2 ** min(attempts, 32))
    seconds = ceiling * jitter
    if retry_after is not None:
        seconds = max(seconds, retry_after)
    return timedelta(seconds=seconds)


def _units(rows: Sequence[OutboxRow]) -> list[list[OutboxRow]]:
    """Rows by message (a group's members together), in claim order."""
    units: dict[str, list[OutboxRow]] = {}
    for row in rows:
        units.setdefault(row.message_id, []).append(row)
    return list(units.values())


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
        self._sleep = sleep
        self._jitter = jitter
        self._last_sent: dict[str, float] = {}
        self._stopping = False

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
        for unit in _units(claim.rows):
            if self._stopping:
                stats.released += self.store.release_claims([r.id for r in unit], self.holder)
                continue
            self._deliver(unit, now, lease, stats)
        return stats

    # --- stages -------------------------------------------------------------------------------------

    def _deliver(
        self, unit: list[OutboxRow], now: datetime, lease: LeaseToken | None, stats: DispatchStats
    ) -> None:
        first = unit[0]
        ids = [r.id for r in unit]
        if now - first.created_at > self.settings.max_age:
            reason = f"not delivered within max_age ({first.attempts} attempts; last error: {first.last_error or 'none'})"
            self._dead(unit, reason, lease, stats, attempted=False)
            return
        channel = self.channels.get(first.channel)
        if channel is None:
            self._dead(
                unit, f"no channel named {first.channel!r} is configured", lease, stats, attempted=False
            )
            return
        message = Message(
            id=first.message_id, channel=first.channel, notifications=tuple(r.notification for r in unit)
        )
        self._pace(channel)
        try:
            channel.send(message)
        except DeliveryError as error:
            self._failed(unit, error, now, lease, stats)
            return
        except Exception as error:  # a channel bug must not stop the others; the class says enough
            self._failed(
                unit,
                DeliveryError(f"{channel.kind} channel {first.channel!r} failed: {type(error).__name__}"),
                now,
                lease,
                stats,
            )
            return
        finally:
            self._last_sent[first.channel] = time.monotonic()
        self.store.mark_sent(ids, self.clock(), lease=lease)
        stats.sent += len(unit)
        log.info(
            "alert.sent",
            id=message.id,
            channel=first.channel,
            models=sorted({r.watch for r in unit}),
            kinds=[r.kind for r in unit],
        )

    def _pace(self, channel: Channel) -> None:
        if channel.kind != "slack":
            return
        last = self._last_sent.get(channel.name)
        if last is not None:
            wait = SLACK_INTERVAL - (time.monotonic() - last)
            if wait > 0:
                self._sleep(wait)

    def _failed(
        self,
        unit: list[OutboxRow],
        error: DeliveryError,
        now: datetime,
        lease: LeaseToken | None,
        stats: DispatchStats,
    ) -> None:
        text = redact(str(error))
        first = unit[0]
        if not error.retryable:
            self._dead(unit, f"permanent failure: {text}", lease, stats, attempted=True)
            return
        delay = backoff_delay(
            first.attempts,
            base=self.settings.base_delay,
            cap=self.settings.max_delay,
            jitter=self._jitter(),
            retry_after=error.retry_after,
        )
        # from the failed answer, not the run's start: pacing and earlier sends may have taken longer
        # than a 429's Retry-After
        failed_at = max(now, self.clock())
        self.store.mark_failed([r.id for r in unit], self.holder, failed_at + delay, text, lease=lease)
        stats.retried += len(unit)
        log.warning(
            "alert.retry",
            id=first.message_id,
            channel=first.channel,
            attempts=first.attempts + 1,
            delay_seconds=round(delay.total_seconds(), 3),
            error=text,
        )

    def _dead(
        self,
        unit: list[OutboxRow],
        reason: str,
        lease: LeaseToken | None,
        stats: DispatchStats,
        *,
        attempted: bool,
    ) -> None:
        first = unit[0]
        self.store.mark_dead([r.id for r in unit], reason, attempted=attempted, lease=lease)
        stats.dead += len(unit)
        log.error(
            "alert.dead",
            id=first.message_id,
            channel=first.channel,
            models=sorted({r.watch for r in unit}),
            reason=redact(reason),
        )
        if self._dead_letter(unit, reason):
            stats.dead_lettered += len(unit)

    def _dead_letter(self, unit: list[OutboxRow], reason: str) -> bool:
        name = self.settings.dead_letter_channel
        first = unit[0]
        if name is None or name == first.channel:
            return False
        channel = self.channels.get(name)
        if channel is None:
            log.error("alert.dead_letter_missing", channel=name)
            return False

        def forward(n: Notification) -> Notification:
            metadata: dict[str, Any] = {
                **n.metadata,
                "dead_letter": {"channel": first.channel, "reason": redact(reason)},
            }
            return replace(n, channel=name, metadata=metadata)

        message = Message(
            id=f"{first.message_id}-dead",
            channel=name,
            notifications=tuple(forward(r.notification) for r in unit),
        )
        self._pace(channel)
        try:
            channel.send(message)
        except Exception as error:  # best effort: the row is already dead and logged
            log.error("alert.dead_letter_failed", channel=name, error=redact(str(error)))
            return False
        finally:
            self._last_sent[name] = time.monotonic()
        return True
