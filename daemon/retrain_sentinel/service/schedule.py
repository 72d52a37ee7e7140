"""Schedule slots: which evaluation a run of a schedule stands for.

Interval slots are anchored to the Unix epoch, so every replica (and a restarted leader) agrees on
them without coordination; a slot is the unit of "evaluate each watch at most once" that the
history's UNIQUE(model, slot_at) enforces. Cron slots are the latest fire time at or before now.

APScheduler 3's ``CronTrigger`` rolls a field over by adding a wall-clock difference in UTC, so
across a DST change it lands an hour off and can skip a whole day (``0 0 * * *`` in New York never
fires the day after spring-forward); ``_CronTrigger`` corrects that roll-over, for the scheduler's
fire times and for the slots alike. Its ``from_crontab`` also passes weekday numbers through
unchanged although it counts from Monday = 0 and crontab from Sunday = 0 (``1-5`` would run Tuesday
to Saturday), so the weekdays are translated to names here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from retrain_sentinel.settings import ScheduleSettings

__all__ = ["EPOCH", "aps_trigger", "current_slot"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CRON_LOOKBACK = (timedelta(hours=2), timedelta(days=2), timedelta(days=35), timedelta(days=400))


class _CronTrigger(CronTrigger):  # type: ignore[misc]  # APScheduler 3 ships no type hints
    """A ``CronTrigger`` whose field roll-over keeps the wall-clock time it aimed at across DST."""

    def _increment_field_value(self, dateval: datetime, fieldnum: int) -> tuple[datetime, int]:
        shifted, fieldnum = super()._increment_field_value(dateval, fieldnum)
        drift = (shifted.utcoffset() or timedelta(0)) - (dateval.utcoffset() or timedelta(0))
        if not drift:
            return shifted, fieldnum
        aimed = (shifted.replace(tzinfo=None) - drift).replace(tzinfo=self.timezone)
        corrected = aimed.astimezone(UTC).astimezone(self.timezone)  # a time in a DST gap moves forward
        return (corrected, fieldnum) if corrected > dateval else (shifted, fieldnum)


_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _crontab_day(text: str) -> int:
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text)  # 7 is Sunday too
    return _DAY_NAMES.index(text[:3])  # ValueError for anything else


def _crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field (Sunday = 0 or 7) as the day names APScheduler reads unambiguously."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        base, _, step = part.partition("/")
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            first, last = (_crontab_day(end) for end in base.split("-", 1))
        else:
            first = _crontab_day(base)
            last = 6 if step else first
        if last < first or (step and int(step) < 1):
            raise ValueError(f"invalid day-of-week field {field!r}")
        days.update(day % 7 for day in range(first, last + 1, int(step or 1)))
    return ",".join(_DAY_NAMES[day] for day in sorted(days))


def _cron(expression: str, timezone: str) -> _CronTrigger:
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab expression has 5 fields, not {len(fields)}: {expression!r}")
    minute, hour, day, month, weekdays = fields
    return _CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_crontab_weekdays(weekdays),
        timezone=ZoneInfo(timezone),
    )


def current_slot(schedule: ScheduleSettings, now: datetime, timezone: str = "UTC") -> datetime:
    """The slot that ``now`` falls in: the latest scheduled time at or before ``now`` (aware UTC)."""
    if schedule.every is not None:  # timedelta arithmetic is exact: no float rounding at a boundary
        return EPOCH + ((now - EPOCH) // schedule.every) * schedule.every
    trigger = _cron(str(schedule.cron), timezone)
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
    return _cron(str(schedule.cron), timezone)
