"""Schedule slots: epoch-anchored intervals, cron in the config's time zone, and APScheduler agreeing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from retrain_sentinel.service.schedule import EPOCH, aps_trigger, current_slot
from retrain_sentinel.settings import ScheduleSettings


def every(value: str) -> ScheduleSettings:
    return ScheduleSettings.model_validate({"every": value})


def cron(expression: str) -> ScheduleSettings:
    return ScheduleSettings.model_validate({"cron": expression})


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "now", "slot"),
    [
        ("1s", at(2026, 3, 1, 12, 34, second=56, micro=789), at(2026, 3, 1, 12, 34, second=56)),
        ("1h", at(2026, 3, 1, 12, 34, second=56), at(2026, 3, 1, 12)),
        ("1h", at(2026, 3, 1, 12), at(2026, 3, 1, 12)),  # a slot's own instant belongs to it
        ("15m", at(2026, 3, 1, 12, 44, second=59, micro=999_999), at(2026, 3, 1, 12, 30)),
        ("1d", at(2026, 3, 1, 23, 59), at(2026, 3, 1)),  # days start at 00:00 UTC, not local midnight
        ("7d", at(2026, 3, 4, 12), at(2026, 2, 26)),  # weeks from the epoch: Thursday to Thursday
        ("7m", at(1970, 1, 1, 0, 20), at(1970, 1, 1, 0, 14)),
    ],
)
def test_interval_slots_are_anchored_to_the_unix_epoch(period: str, now: datetime, slot: datetime) -> None:
    assert current_slot(every(period), now) == slot
    assert current_slot(every(period), now).tzinfo == UTC


def test_interval_slots_ignore_the_config_timezone() -> None:
    """Every replica agrees on interval slots whatever zone it displays in."""
    now = at(2026, 3, 1, 12, 34)
    assert (
        current_slot(every("1d"), now, "Asia/Tokyo")
        == current_slot(every("1d"), now, "UTC")
        == at(2026, 3, 1)
    )


@pytest.mark.parametrize(
    ("expression", "timezone", "now", "slot"),
    [
        ("*/15 * * * *", "UTC", at(2026, 3, 1, 12, 44, second=59), at(2026, 3, 1, 12, 30)),
        ("0 9 * * *", "Europe/Berlin", at(2026, 3, 1, 7, 59), at(2026, 2, 28, 8)),  # 09:00 CET = 08:00 UTC
        ("0 9 * * *", "Europe/Berlin", at(2026, 3, 1, 8, 0), at(2026, 3, 1, 8)),
        ("0 9 * * *", "Europe/Berlin", at(2026, 7, 1, 7, 30), at(2026, 7, 1, 7)),  # 09:00 CEST = 07:00 UTC
        ("0 0 * * *", "America/New_York", at(2026, 3, 8, 12), at(2026, 3, 8, 5)),  # EST on the DST day
        ("0 0 * * *", "America/New_York", at(2026, 3, 9, 12), at(2026, 3, 9, 4)),  # EDT the day after
        ("0 6 1 * *", "UTC", at(2026, 3, 31, 23), at(2026, 3, 1, 6)),  # monthly: a month back
        ("0 0 1 1 *", "UTC", at(2026, 12, 31), at(2026, 1, 1)),  # yearly: most of a year back
    ],
)
def test_cron_slots_are_the_latest_fire_time_in_the_config_timezone(
    expression: str, timezone: str, now: datetime, slot: datetime
) -> None:
    assert current_slot(cron(expression), now, timezone) == slot
    assert current_slot(cron(expression), now, timezone).tzinfo == UTC


@pytest.mark.parametrize(
    ("weekdays", "days"),
    [
        ("1-5", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("0", ["Sun"]),
        ("7", ["Sun"]),
        ("0,6", ["Sat", "Sun"]),
        ("*/2", ["Sun", "Tue", "Thu", "Sat"]),
        ("1-7/3", ["Mon", "Thu", "Sun"]),
        ("mon-fri", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("sat,sun", ["Sat", "Sun"]),
        ("*", ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]),
    ],
)
def test_cron_weekdays_count_from_sunday_as_in_crontab(weekdays: str, days: list[str]) -> None:
    """APScheduler 3 alone would read ``1-5`` as Tuesday to Saturday."""
    trigger = aps_trigger(ScheduleSettings.model_construct(every=None, cron=f"0 12 * * {weekdays}"))
    fire, fired = trigger.get_next_fire_time(None, at(2026, 3, 1)), []  # a Sunday
    while fire is not None and fire < at(2026, 3, 8):
        fired.append(fire.strftime("%a"))
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    assert sorted(fired) == sorted(days)


@pytest.mark.parametrize("weekdays", ["5-1", "8", "funday", "1-5/0"])
def test_an_invalid_weekday_field_is_refused(weekdays: str) -> None:
    with pytest.raises(ValueError):
        aps_trigger(ScheduleSettings.model_construct(every=None, cron=f"0 12 * * {weekdays}"))


NOWS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@settings(max_examples=100, deadline=None)
@given(now=NOWS, seconds=st.integers(min_value=1, max_value=40 * 86400))
def test_an_interval_slot_holds_now(now: datetime, seconds: int) -> None:
    schedule = ScheduleSettings(every=timedelta(seconds=seconds))
    slot = current_slot(schedule, now)
    assert slot <= now < slot + timedelta(seconds=seconds)
    assert (slot - EPOCH) % timedelta(seconds=seconds) == timedelta(0)


@settings(max_examples=100, deadline=None)
@given(now=NOWS, milliseconds=st.integers(min_value=1000, max_value=10_000))
def test_a_fractional_interval_slot_holds_now(now: datetime, milliseconds: int) -> None:
    period = timedelta(milliseconds=milliseconds)
    slot = current_slot(ScheduleSettings(every=period), now)
    assert slot <= now < slot + period


@settings(max_examples=50, deadline=None)
@given(
    now=NOWS,
    expression=st.sampled_from(["*/5 * * * *", "0 * * * *", "30 2 * * *", "0 9 * * 1-5", "0 0 1 * *"]),
    timezone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
)
@example(  # 02:30 does not exist that day: the slot is the gap's end, 03:30 EDT
    now=datetime(2012, 3, 11, 8, 0, tzinfo=UTC), expression="30 2 * * *", timezone="America/New_York"
)
def test_a_cron_slot_is_the_last_fire_time_at_or_before_now(
    now: datetime, expression: str, timezone: str
) -> None:
    schedule = cron(expression)
    slot = current_slot(schedule, now, timezone)
    trigger = aps_trigger(schedule, timezone)
    assert slot <= now
    # a real fire time: one of the series the scheduler walks (asked *from* a time in a DST gap,
    # APScheduler skips to the next day, though walking the series it fires in the gap; instants are
    # compared as timestamps, since PEP 495 makes a gap time unequal to every other zone's)
    fires, fire = [], trigger.get_next_fire_time(None, slot - timedelta(days=1))
    while fire is not None and fire.timestamp() <= slot.timestamp():
        fires.append(fire.timestamp())
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    assert slot.timestamp() in fires
    following = trigger.get_next_fire_time(slot, slot + timedelta(seconds=1))
    assert following is not None and following > now  # and the latest one


@settings(max_examples=100, deadline=None)
@given(now=NOWS, seconds=st.integers(min_value=1, max_value=7 * 86400))
def test_the_scheduler_fires_on_slot_boundaries(now: datetime, seconds: int) -> None:
    """The APScheduler job runs at the instants the slots start, so a run stands for a fresh slot."""
    schedule = ScheduleSettings(every=timedelta(seconds=seconds))
    fire = aps_trigger(schedule).get_next_fire_time(None, now)
    assert fire is not None
    assert current_slot(schedule, fire) == fire
    assert now <= fire < now + timedelta(seconds=seconds)


# --- cron across daylight-saving changes, against a minute-by-minute reference ---------------------

CRON_CASES: dict[str, Callable[[datetime], bool]] = {  # the expression, and the wall times it matches
    "0 0 * * *": lambda wall: (wall.hour, wall.minute) == (0, 0),
    "30 9 * * *": lambda wall: (wall.hour, wall.minute) == (9, 30),
    "0 12 * * 1-5": lambda wall: wall.weekday() < 5 and (wall.hour, wall.minute) == (12, 0),
    "15 4 * * 0": lambda wall: wall.weekday() == 6 and (wall.hour, wall.minute) == (4, 15),
    "0 */6 * * *": lambda wall: wall.hour % 6 == 0 and wall.minute == 0,
}
DST_CHANGES = {  # a spring-forward and a fall-back instant of each zone
    "America/New_York": (at(2026, 3, 8, 7), at(2026, 11, 1, 6)),
    "Europe/Berlin": (at(2026, 3, 29, 1), at(2026, 10, 25, 1)),
    "Australia/Sydney": (at(2026, 10, 3, 16), at(2026, 4, 4, 16)),
}


def reference_next(matches: Callable[[datetime], bool], zone: str, start: datetime) -> datetime:
    """The first whole-minute instant at or after ``start`` whose local wall time matches."""
    minute = start.replace(second=0, microsecond=0)
    if minute < start:
        minute += timedelta(minutes=1)
    while not matches(minute.astimezone(ZoneInfo(zone))):
        minute += timedelta(minutes=1)
    return minute


@pytest.mark.parametrize(
    ("expression", "zone", "previous", "expected"),
    [
        (
            "0 0 * * *",
            "America/New_York",
            at(2026, 3, 8, 5),
            at(2026, 3, 9, 4),
        ),  # APScheduler 3 says 10 March
        ("0 0 * * *", "America/New_York", at(2026, 10, 31, 4), at(2026, 11, 1, 4)),
        ("0 0 * * *", "America/New_York", at(2026, 11, 1, 4), at(2026, 11, 2, 5)),
        ("30 9 * * *", "Europe/Berlin", at(2026, 3, 28, 8, 30), at(2026, 3, 29, 7, 30)),
    ],
)
def test_cron_fires_on_the_day_after_a_dst_change(
    expression: str, zone: str, previous: datetime, expected: datetime
) -> None:
    trigger = aps_trigger(cron(expression), zone)
    fire = trigger.get_next_fire_time(previous, previous + timedelta(microseconds=1))
    assert fire == expected
    assert current_slot(cron(expression), expected + timedelta(hours=1), zone) == expected


@settings(max_examples=100, deadline=None)
@given(
    expression=st.sampled_from(sorted(CRON_CASES)),
    zone=st.sampled_from(sorted(DST_CHANGES)),
    which=st.integers(min_value=0, max_value=1),
    offset=st.integers(min_value=-3 * 86400, max_value=3 * 86400),
)
def test_cron_fire_times_across_dst_match_the_wall_clock(
    expression: str, zone: str, which: int, offset: int
) -> None:
    start = DST_CHANGES[zone][which] + timedelta(seconds=offset)
    fire = aps_trigger(cron(expression), zone).get_next_fire_time(None, start)
    assert fire == reference_next(CRON_CASES[expression], zone, start)
    assert current_slot(cron(expression), fire, zone) == fire


def test_fractional_intervals_get_schedules_of_their_own() -> None:
    keys = {ScheduleSettings(every=every).key for every in ("1s", "1.5s", "2.5s")}
    assert len(keys) == 3


def test_config_accepts_crontab_sunday_as_seven() -> None:
    assert ScheduleSettings(cron="0 9 * * 7").cron == "0 9 * * 7"
    assert ScheduleSettings(cron="0 9 * * 1-7").cron == "0 9 * * 1-7"
