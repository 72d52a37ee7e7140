"""Superseding: which queued messages of one (watch, channel, track) to drop, and which to send.

Delivery is in order per key, and only what is still true is worth sending — but the receiver must
always end up knowing the current state of what it was told about:

- the newest pending row of a key supersedes the older pending ones (it says what is true now);
- a closing row (``resolved`` / ``recovered``) is sent only when the receiver believes the watch is
  firing (or broken), that is when the last message the channel *accepted* on this key opened an
  episode. After an outage that dropped firing → resolved → firing → resolved, the receiver still
  gets the final resolved; a closing row is dropped only when the receiver never heard of the
  firing (it was superseded or dead) or already heard it end;
- a key with a row under someone else's live claim waits, so nothing overtakes a send in flight.

Pure: the store reads the rows and what the channel last accepted, and writes the plan
(``store/outbox.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

__all__ = [
    "CLOSING_KINDS",
    "OPENING_KINDS",
    "TRACK_KINDS",
    "KeyPlan",
    "Queued",
    "Track",
    "plan_key",
    "receiver_firing",
    "track_of",
]

Track = Literal["alert", "health"]
CLOSING_KINDS = frozenset({"resolved", "recovered"})
OPENING_KINDS: dict[Track, tuple[str, ...]] = {"alert": ("firing", "changed", "repeat"), "health": ("broken",)}
TRACK_KINDS: dict[Track, tuple[str, ...]] = {
    "alert": ("firing", "changed", "repeat", "resolved"),
    "health": ("broken", "recovered"),
}


def track_of(kind: str) -> Track:
    """``alert`` for firing/changed/repeat/resolved, ``health`` for broken/recovered."""
    return "health" if kind in ("broken", "recovered") else "alert"


class Queued(Protocol):
    """What superseding reads of a queued row (``store.OutboxRow`` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def next_attempt_at(self) -> datetime: ...


@dataclass(frozen=True)
class KeyPlan:
    """What to do with one (model, channel, track): rows to supersede, and the row to claim, if any."""

    supersede: tuple[str, ...] = ()
    claim: str | None = None


def receiver_firing(last_accepted_kind: str | None) -> bool:
    """Whether a receiver whose last accepted message on a key was of this kind believes the watch
    is firing (or broken): it does after an opening message, not after a closing one or none."""
    return last_accepted_kind is not None and last_accepted_kind not in CLOSING_KINDS


def plan_key(rows: Sequence[Queued], now: datetime, *, firing: bool, in_flight: bool) -> KeyPlan:
    """Decide one key's pending rows (oldest first).

    ``firing``: whether the receiver believes the watch is firing (``receiver_firing`` of the last
    message the channel accepted on this key); ``in_flight``: a row of the key is under a live claim.
    """
    if not rows or in_flight:
        return KeyPlan()
    newest = rows[-1]
    older = tuple(r.id for r in rows[:-1])
    if newest.kind in CLOSING_KINDS and not firing:
        return KeyPlan(supersede=(*older, newest.id))
    return KeyPlan(supersede=older, claim=newest.id if newest.next_attempt_at <= now else None)
