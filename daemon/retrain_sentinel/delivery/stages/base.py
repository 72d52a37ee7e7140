"""What flows through the delivery stages, and the one signature they share.

A ``Delivery`` is one message on its way: the claimed rows that go out together (a group's members
share one message and one idempotency key), the channel it goes to, and the run's ``now`` and
lease, read once per run and handed down. A stage looks at it and either hands it on (``None``) or
ends it with a ``Ruling`` that says *why* (``Reason``), never a bare bool: the outcome stages act on
the reason, and logs and tests can name it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from retrain_sentinel.alerts.notification import Message
from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.store import LeaseToken, OutboxRow

__all__ = ["Delivery", "Reason", "Ruling", "Stage"]


class Reason(StrEnum):
    """Why a delivery ended where it did."""

    SENT = "sent"
    """The channel accepted the message."""
    TOO_OLD = "too_old"
    """Not delivered within ``max_age``: dead without another attempt."""
    NO_CHANNEL = "no_channel"
    """No channel of that name is configured: dead without an attempt."""
    REJECTED = "rejected"
    """A permanent failure (a 4xx other than 429): dead after this attempt."""
    RETRY = "retry"
    """A failure worth trying again later."""
    HELD = "held"
    """The destination asked everybody to wait (``Retry-After``): deferred without an attempt."""

    @property
    def attempted(self) -> bool:
        """Whether the channel was tried (a dead row counts the attempt only then)."""
        return self not in (Reason.TOO_OLD, Reason.NO_CHANNEL, Reason.HELD)


@dataclass(frozen=True)
class Ruling:
    """A stage's word on a delivery: its ``reason``, a redacted ``detail`` to store and log, and for
    a rate-limited answer (or a held destination) the ``retry_after`` seconds the receiver asked for."""

    reason: Reason
    detail: str = ""
    retry_after: float | None = None


@dataclass(frozen=True)
class Delivery:
    """One message on its way through the stages (``channel`` is ``None`` when none is configured)."""

    rows: tuple[OutboxRow, ...]
    message: Message
    channel: Channel | None
    now: datetime
    lease: LeaseToken | None

    @classmethod
    def of(
        cls,
        rows: Sequence[OutboxRow],
        channels: Mapping[str, Channel],
        now: datetime,
        lease: LeaseToken | None = None,
    ) -> Delivery:
        """The delivery of ``rows`` (one message's rows, in claim order) to their channel."""
        first = rows[0]
        message = Message(
            id=first.message_id, channel=first.channel, notifications=tuple(r.notification for r in rows)
        )
        return cls(tuple(rows), message, channels.get(first.channel), now, lease)

    @property
    def first(self) -> OutboxRow:
        """The row that stands for the message (a group's members share its bookkeeping)."""
        return self.rows[0]

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.rows]

    @property
    def watches(self) -> list[str]:
        return sorted({r.watch for r in self.rows})


class Stage(Protocol):
    """One step of the chain: hand the delivery on (``None``) or end it with a ruling."""

    def __call__(self, delivery: Delivery) -> Ruling | None: ...
