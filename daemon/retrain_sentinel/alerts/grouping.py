"""Grouping: a batch's notifications for one chat or mail channel become one message past a threshold.

Twenty models firing at once should be one Slack message, not twenty (DESIGN §8). The group gets one
id, its idempotency key; the store queues its members under it and delivery sends them together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from retrain_sentinel.alerts.notification import Notification

__all__ = ["GROUPABLE_KINDS", "group"]

GROUPABLE_KINDS = frozenset({"slack", "email", "console"})
"""Channel kinds a person reads; a webhook's receiver wants one request per transition."""


def group(
    items: Sequence[Notification], kinds: Mapping[str, str], threshold: int, new_id: Callable[[], str]
) -> list[tuple[Notification, str | None]]:
    """Give one group id to a channel's notifications of this batch when they exceed ``threshold``."""
    counts = Counter(n.channel for n in items if kinds.get(n.channel) in GROUPABLE_KINDS)
    group_ids = {channel: new_id() for channel, count in counts.items() if count > threshold}
    return [(n, group_ids.get(n.channel)) for n in items]
