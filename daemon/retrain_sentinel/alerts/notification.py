"""The values that cross from the alert rules to the channels.

A ``Notification`` is one message for one channel route about one transition of one model; its
``id`` is its idempotency key, so a receiver can drop the duplicate that at-least-once delivery may
produce. A ``Message`` is what a channel actually sends: one notification, or a group of them from
one batch for one channel (the group has an id of its own).

A notification carries the typed ``RetrainingReport``, so rendering reads its fields and its
``decision`` instead of digging through a dict. Its stored form (``to_payload`` / ``from_payload``)
is the outbox's JSON and keeps the shape earlier versions wrote — the report as its ``to_dict()``,
the watch under ``model`` — so rows queued by an earlier version still deliver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from retrain_sentinel.jsonsafe import jsonable
from retrain_sentinel.report import RetrainingReport
from retrain_sentinel.verdict import SEVERITIES, severity_rank

__all__ = ["TRANSITION_KINDS", "Message", "Notification", "TransitionKind"]

TransitionKind = Literal["firing", "changed", "repeat", "resolved", "broken", "recovered"]
TRANSITION_KINDS: tuple[TransitionKind, ...] = (
    "firing",
    "changed",
    "repeat",
    "resolved",
    "broken",
    "recovered",
)


@dataclass(frozen=True)
class Notification:
    """One transition of one model for one channel route.

    ``report`` is the report of the evaluation that caused the transition (``None`` for ``broken``
    when the source failed; ``error`` then says why). ``reason`` says which rule produced it ("fired
    for 2 consecutive evaluations"), so logs and tests can tell why.
    """

    id: str
    watch: str
    channel: str
    kind: TransitionKind
    severity: str
    created_at: datetime
    reason: str
    report: RetrainingReport | None = None
    model_version: str | None = None
    error: str | None = None
    link: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def fired_triggers(self) -> list[str]:
        return self.report.fired_triggers if self.report is not None else []

    @property
    def recommendations(self) -> list[str]:
        return list(self.report.recommendations) if self.report is not None else []

    def to_payload(self) -> dict[str, Any]:
        """The stored form: its values only; channel *names*, never URLs or secrets; strict JSON."""
        payload: dict[str, Any] = jsonable(
            {
                "id": self.id,
                "model": self.watch,
                "channel": self.channel,
                "kind": self.kind,
                "severity": self.severity,
                "created_at": self.created_at,
                "reason": self.reason,
                "report": self.report.to_dict() if self.report is not None else None,
                "model_version": self.model_version,
                "error": self.error,
                "link": self.link,
                "metadata": self.metadata,
            }
        )
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Notification:
        """A notification from its stored form (as this or an earlier version wrote it)."""
        kind: TransitionKind = payload["kind"]
        report, unreadable = _stored_report(payload.get("report"))
        return cls(
            id=payload["id"],
            watch=payload["model"],
            channel=payload["channel"],
            kind=kind,
            severity=payload["severity"],
            created_at=datetime.fromisoformat(payload["created_at"]),
            reason=payload["reason"],
            report=report,
            model_version=payload.get("model_version"),
            error=payload.get("error") or unreadable,
            link=payload.get("link"),
            metadata=dict(payload.get("metadata") or {}),
        )


def _stored_report(data: Any) -> tuple[RetrainingReport | None, str | None]:
    """The stored report, or ``None`` and why when it cannot be read (a row edited by hand, say):
    the message then goes out without its numbers instead of blocking its channel's queue."""
    if data is None:
        return None, None
    try:
        return _report_from_payload(data), None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return None, f"the stored report could not be read ({type(exc).__name__}: {exc})"


def _report_from_payload(data: Mapping[str, Any]) -> RetrainingReport:
    """The stored report, its timestamp a ``datetime`` again when it was written from one.

    ``to_dict`` writes the timestamp as ISO text; only text that parses back to exactly itself is
    turned back, so a notification read from the outbox equals the one queued and renders the same
    bytes.
    """
    report = RetrainingReport.from_dict(data)
    if not isinstance(report.timestamp, str):
        return report
    try:
        when = datetime.fromisoformat(report.timestamp)
    except ValueError:
        return report
    return replace(report, timestamp=when) if when.isoformat() == report.timestamp else report


def _rank(severity: str) -> int:
    """A severity's place in ``verdict.SEVERITIES``; one it does not know ranks with ``info``."""
    return severity_rank(severity) if severity in SEVERITIES else 0


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
        return max((n.severity for n in self.notifications), key=_rank)
