"""Cron expressions with crontab's meaning, on APScheduler 3.

APScheduler 3's ``CronTrigger`` rolls a field over by adding a wall-clock difference in UTC, so
across a DST change it lands an hour off and can skip a whole day (``0 0 * * *`` in New York never
fires the day after spring-forward); ``_CronTrigger`` corrects that roll-over, for the scheduler's
fire times and for the slots alike. Its ``from_crontab`` also passes weekday numbers through
unchanged although it counts from Monday = 0 and crontab from Sunday = 0 (``1-5`` would run Tuesday
to Saturday), so the weekdays are translated to names here.

Errors name the field that is wrong (``invalid hour field``), never the expression: it may have come
from a ``${VAR}``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

__all__ = ["crontab_trigger"]


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
            raise ValueError("invalid day-of-week field")
        days.update(day % 7 for day in range(first, last + 1, int(step or 1)))
    return ",".join(_DAY_NAMES[day] for day in sorted(days))


_FIELDS = ("minute", "hour", "day", "month", "day_of_week")
_FIELD_NAMES = {"day": "day-of-month", "day_of_week": "day-of-week"}


def crontab_trigger(expression: str, timezone: str = "UTC") -> CronTrigger:
    """The trigger for a 5-field crontab expression in ``timezone``; ``ValueError`` when invalid."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab expression has 5 fields (minute hour day month weekday), not {len(fields)}")
    minute, hour, day, month, weekdays = fields
    try:
        values = dict(zip(_FIELDS, (minute, hour, day, month, _crontab_weekdays(weekdays)), strict=True))
    except ValueError:
        raise ValueError("invalid day-of-week field") from None
    try:
        return _CronTrigger(**values, timezone=ZoneInfo(timezone))
    except ValueError:  # APScheduler's message quotes the expression: find the field to name instead
        for name, value in values.items():
            try:
                CronTrigger(**{name: value}, timezone=UTC)
            except ValueError:
                raise ValueError(f"invalid {_FIELD_NAMES.get(name, name)} field") from None
        raise ValueError("invalid expression") from None
