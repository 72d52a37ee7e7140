"""Schedule slots: which evaluation a run of a schedule stands for.

Interval slots are anchored to the Unix epoch, so every replica (and a restarted leader) agrees on
them without coordination; a slot is the unit of "evaluate each watch at most once" that the
history's UNIQUE(model, slot_at) enforces. Cron slots are the latest fire time at or before now.
Cron expressions are read by ``retrain_sentinel.cron`` (crontab semantics, DST-safe).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from retrain_sentinel.cron import crontab_trigger
from retrain_sentinel.settings import ScheduleSettings

__all__ = ["EPOCH", "aps_trigger", "current_slot"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CRON_LOOKBACK = (timedelta(hours=2), timedelta(days=2), timedelta(days=35), timedelta(days=400))


def current_slot(schedule: ScheduleSettings, now: datetime, timezone: str = "UTC") -> datetime:
    """The slot that ``now`` falls in: the latest scheduled time at or before ``now`` (aware UTC)."""
    if schedule.every is not None:  # timedelta arithmetic is exact: no float rounding at a boundary
        return EPOCH + ((now - EPOCH) // schedule.every) * schedule.every
    trigger = crontab_trigger(str(schedule.cron), timezone)
    for lookback in _CRON_LOOKBACK:
        latest: datetime | None = None
        fire = trigger.get_next_fire_time(None, now - lookback)
        while fire is not None and fire <= now:
            latest = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if latest is not None:
            return latest.astimezone(UTC)
    return now.replace(second=0, microsecond=0)  # a cron that fires less than yearly: this minute


def aps_trigger(schedule: ScheduleSettings, timezone: str = "UTC") -> BaseTrigger:
    """The APScheduler trigger for a schedule: epoch-anchored interval, or cron in the config's zone."""
    if schedule.every is not None:
        return IntervalTrigger(seconds=schedule.every.total_seconds(), start_date=EPOCH, timezone=UTC)
    return crontab_trigger(str(schedule.cron), timezone)
