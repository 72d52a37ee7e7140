"""The values that go into and come out of the history store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from retrain_sentinel.alerts.notification import Notification
from retrain_sentinel.alerts.rules import AlertState, Change

__all__ = [
    "ClaimResult",
    "LeaseInfo",
    "LeaseToken",
    "OutboxRow",
    "PurgeResult",
    "RecordResult",
    "Silence",
]


@dataclass(frozen=True)
class RecordResult:
    """What one ``record`` call wrote: evaluation ids, skipped slots, changes, queued notifications.

    ``failed`` holds the watches whose data the database refused (a value too long, a NUL), each
    with the cause: nothing of theirs was written, and everything else of the batch was.
    """

    evaluation_ids: tuple[int, ...] = ()
    skipped: tuple[tuple[str, datetime | None], ...] = ()
    changes: Mapping[str, tuple[Change, ...]] = field(default_factory=dict)
    states: Mapping[str, AlertState] = field(default_factory=dict)
    notifications: tuple[Notification, ...] = ()
    attempts: int = 1
    failed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LeaseToken:
    """Proof of holding a lease: ``token`` is the fencing token (it grows on every takeover)."""

    name: str
    holder: str
    token: int
    expires_at: datetime


@dataclass(frozen=True)
class LeaseInfo:
    """Who holds a lease, by the database clock at the time of the read."""

    name: str
    holder: str
    token: int
    expires_at: datetime
    active: bool


@dataclass(frozen=True)
class OutboxRow:
    """One outbox row (a queued notification) with its delivery bookkeeping."""

    id: str
    watch: str
    channel: str
    kind: str
    severity: str
    episode: str | None
    notification: Notification
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    position: int
    sent_at: datetime | None
    last_error: str | None
    group_id: str | None
    claimed_by: str | None
    claimed_until: datetime | None
    claim_token: int | None = None

    @property
    def message_id(self) -> str:
        """The idempotency key it is delivered under: its group's id, else its own."""
        return self.group_id or self.id


@dataclass(frozen=True)
class ClaimResult:
    """Rows claimed for delivery, and how many older rows were superseded while claiming."""

    rows: tuple[OutboxRow, ...]
    superseded: tuple[str, ...] = ()


@dataclass(frozen=True)
class Silence:
    """Notifications for ``model`` are suppressed until ``until`` (history and state go on)."""

    id: int
    watch: str
    until: datetime
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class PurgeResult:
    """Rows removed by a retention purge."""

    evaluations: int = 0
    notifications: int = 0
    silences: int = 0
