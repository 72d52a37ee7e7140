"""The one small interface every channel implements.

``send`` either returns (delivered) or raises ``DeliveryError`` saying whether a retry may help and,
for HTTP 429, after how long. Classifying failures here, in each channel, keeps the dispatcher
ignorant of HTTP and SMTP.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from retrain_sentinel.alerts.notification import Message

__all__ = ["Channel"]


@runtime_checkable
class Channel(Protocol):
    """A destination for notifications (Slack, email, webhook, console)."""

    name: str
    kind: str

    def send(self, message: Message) -> None:
        """Deliver ``message`` once; raise ``DeliveryError`` (never leaking a secret) when it fails."""
        ...

    def check(self) -> None:
        """Reach the destination without sending anything (``validate --connect``); raise on failure."""
        ...
