"""Superseding: which queued messages of one (watch, channel, track) to drop, and which to send.

Delivery is in order per key, and only what is still true is worth sending:

- the newest pending row of a key supersedes the older pending ones (it says what is true now);
- a closing row (``resolved`` / ``recovered``) is superseded too when nothing of its episode was ever
  delivered on that channel, so a superseded (or dead) firing is never followed by its resolved;
- a key with a row under someone else's live claim waits, so nothing overtakes a send in flight.

Pure: the store reads the rows and writes the plan (``store/outbox.py``).
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
    def claimed_until(self) -> datetime | None: ...
    @property
    def next_attempt_at(self) -> datetime: ...


@dataclass(frozen=True)
class KeyPlan:
    """What to do with one (model, channel, track): rows to supersede, and the row to claim, if any."""

    supersede: tuple[str, ...] = ()
    claim: str | None = None


def plan_key(rows: Sequence[Queued], now: datetime, episode_delivered: bool) -> KeyPlan:
    """Decide one key's pending rows (oldest first). ``episode_delivered``: whether any opening row of
    the newest row's episode was sent on this channel (only asked about closing rows)."""
    if not rows or any(r.claimed_until is not None and r.claimed_until > now for r in rows):
        return KeyPlan()
    newest = rows[-1]
    older = tuple(r.id for r in rows[:-1])
    if newest.kind in CLOSING_KINDS and not episode_delivered:
        return KeyPlan(supersede=(*older, newest.id))
    return KeyPlan(supersede=older, claim=newest.id if newest.next_attempt_at <= now else None)


