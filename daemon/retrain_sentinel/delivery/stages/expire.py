"""Stage 1, expire: a message not delivered within ``max_age`` is given up before any attempt.

An alert a day late misleads more than it helps (the model may have been retrained since), so the
age is checked first, against the run's ``now``, and a too-old message never reaches its channel.
"""

from __future__ import annotations

from datetime import timedelta

from retrain_sentinel.delivery.stages.base import Delivery, Reason, Ruling

__all__ = ["Expire"]


class Expire:
    """Rules ``TOO_OLD`` when the message was queued more than ``max_age`` before ``now``."""

    def __init__(self, max_age: timedelta) -> None:
        self.max_age = max_age

    def __call__(self, delivery: Delivery) -> Ruling | None:
        first = delivery.first
        if delivery.now - first.created_at <= self.max_age:
            return None
        return Ruling(
            Reason.TOO_OLD,
            f"not delivered within max_age ({first.attempts} attempts; last error: {first.last_error or 'none'})",
        )
