"""A database's times as aware UTC, read in the source's timezone (DESIGN §4 "Times").

Kept apart from ``engine`` so the pure steps that build a snapshot from rows need no SQLAlchemy.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from retrain_sentinel.sources.base import WatchFailure

__all__ = ["to_utc"]


def to_utc(value: object, zone: tzinfo, what: str = "time") -> datetime | None:
    """A database time as aware UTC; naive values are read in the source's timezone.

    Accepts datetimes and ISO-like text (``YYYY-MM-DD HH:MM:SS[.ffffff]``); ``None`` stays ``None``.
    Anything else fails the watch (``WatchFailure``): an unreadable training time must not look
    like a missing one. So does a time that exists only in its own zone — year 1 east of UTC,
    year 9999 west of it — since converting it overflows.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:  # also an offset of a day or more
            raise WatchFailure(f"{what} is not a time: {str(value)[:40]!r}") from None
    try:
        if moment.tzinfo is None:
            if zone is UTC:
                return moment.replace(tzinfo=UTC)
            moment = moment.replace(tzinfo=zone)
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise WatchFailure(f"{what} is out of range: {str(value)[:40]!r}") from None
