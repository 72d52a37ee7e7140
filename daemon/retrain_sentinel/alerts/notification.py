"""The values that cross from the alert rules to the channels.

A ``Notification`` is one message for one channel route about one transition of one model; its
``id`` is its idempotency key, so a receiver can drop the duplicate that at-least-once delivery may
produce. A ``Message`` is what a channel actually sends: one notification, or a group of them from
one batch for one channel (the group has an id of its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["TRANSITION_KINDS", "Message", "Notification", "TransitionKind"]

TransitionKind = Literal["firing", "changed", "repeat", "resolved", "broken", "recovered"]
TRANSITION_KINDS: tuple[TransitionKind, ...] = ("firing", "changed", "repeat", "resolved", "broken", "recovered")


@dataclass(frozen=True)
class Notification:
    """One transition of one model for one channel route.

    ``report`` is the report's ``to_dict()`` of the evaluation that caused the transition (``None``
    for ``broken`` when the source failed; ``error`` then says why). ``reason`` says which rule
    produced it ("fired for 2 consecutive evaluations"), so logs and tests can tell why.
    """

    id: str
    watch: str
    channel: str
    kind: TransitionKind
    severity: str
    created_at: datetime
    reason: str
    report: Mapping[str, Any] | None = None
    model_version: str | None = None
    error: str | None = None
    link: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def fired_triggers(self) -> list[str]:
        details = (self.report or {}).get("trigger_details") or []
        return [d["trigger_name"] for d in details if d.get("triggered")]

    @property
    def recommendations(self) -> list[str]:
        return list((self.report or {}).get("recommendations") or [])


@dataclass(frozen=True)
class Message:
    """What one ``Channel.send`` delivers: one notification or a group, under one idempotency key."""

    id: str
    channel: str
    notifications: tuple[Notification, ...]

    @property
    def is_group(self) -> bool:
        return len(self.notifications) > 1

    @property
    def severity(self) -> str:
        order = ("info", "warning", "critical")
        return max((n.severity for n in self.notifications), key=lambda s: order.index(s) if s in order else 0)
