"""Time: fires when ``now - last_trained_at >= interval`` (DESIGN §4)."""

from __future__ import annotations

import time as systime
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from retrain_sentinel import Snapshot, TimeTrigger
from retrain_sentinel.legacy.triggers import parse_training_time


def test_fires_when_interval_has_passed(now: datetime) -> None:
    trigger = TimeTrigger(interval_hours=48)
    detail = trigger.check(Snapshot(last_trained_at=now - timedelta(hours=50)), now)
    assert detail.triggered and not detail.undecided
    assert detail.actual_value == pytest.approx(50)
    assert detail.threshold == 48
    assert detail.severity == "info" and detail.kind == "time"
    assert "elapsed" in detail.reason


def test_fires_exactly_at_the_interval(now: datetime) -> None:
    detail = TimeTrigger(interval_hours=48).check(Snapshot(last_trained_at=now - timedelta(hours=48)), now)
    assert detail.triggered


def test_not_fired_says_how_long_remains(now: datetime) -> None:
    detail = TimeTrigger(interval_hours=48).check(Snapshot(last_trained_at=now - timedelta(hours=40)), now)
    assert not detail.triggered and not detail.undecided
    assert detail.reason.endswith("remaining")
    assert "8.0 hours remaining" in detail.reason


def test_no_training_time_is_undecided(now: datetime) -> None:
    detail = TimeTrigger().check(Snapshot(), now)
    assert detail.undecided and not detail.triggered
    assert detail.reason.startswith("No last training time")


def test_critical_interval_escalates(now: datetime) -> None:
    trigger = TimeTrigger(interval_hours=24, critical_interval_hours=72)
    assert trigger.check(Snapshot(last_trained_at=now - timedelta(hours=30)), now).severity == "info"
    late = trigger.check(Snapshot(last_trained_at=now - timedelta(hours=72)), now)
    assert late.severity == "critical" and "critical" in late.reason


def test_stale_data_and_sample_guards_do_not_apply(now: datetime) -> None:
    trigger = TimeTrigger(interval_hours=1, stale_after=timedelta(minutes=1), min_samples=10)
    snapshot = Snapshot(last_trained_at=now - timedelta(hours=2), observed_at=now - timedelta(days=9))
    assert trigger.check(snapshot, now).triggered


def test_evaluate_reads_now_from_the_injected_clock() -> None:
    moment = datetime(2024, 1, 10, tzinfo=UTC)
    trigger = TimeTrigger(interval_hours=168, clock=lambda: moment)
    fired = trigger.evaluate(metadata={"last_training_time": "2024-01-03T00:00:00+00:00"})
    waiting = trigger.evaluate(metadata={"last_training_time": datetime(2024, 1, 4, tzinfo=UTC)})
    assert fired.triggered and fired.actual_value == 168
    assert not waiting.triggered and waiting.actual_value == 144


def test_evaluate_under_freezegun_uses_the_frozen_time() -> None:
    with freeze_time("2024-03-01T12:00:00Z"):
        detail = TimeTrigger(interval_hours=24).evaluate(
            metadata={"last_training_time": "2024-02-29T06:00:00Z"}
        )
    assert detail.triggered and detail.actual_value == pytest.approx(30)


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", 12345, ""])
def test_unparseable_time_is_undecided(value: object) -> None:
    detail = TimeTrigger().evaluate(metadata={"last_training_time": value})
    assert detail.undecided and not detail.triggered
    assert detail.reason.startswith("Invalid timestamp")


def test_absent_time_in_evaluate_is_undecided() -> None:
    detail = TimeTrigger().evaluate(metadata={"other": 1})
    assert detail.undecided and detail.reason.startswith("No last training time")


@pytest.fixture
def kolkata_local_time() -> Iterator[None]:
    """Local time five and a half hours ahead of UTC, restored afterwards."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TZ", "Asia/Kolkata")
    systime.tzset()
    try:
        yield
    finally:
        mp.undo()
        systime.tzset()


@pytest.mark.usefixtures("kolkata_local_time")
def test_naive_training_time_is_local_time() -> None:
    moment = datetime(2024, 1, 1, 0, 0, tzinfo=UTC)
    trigger = TimeTrigger(interval_hours=5, clock=lambda: moment)
    from_string = trigger.evaluate(metadata={"last_training_time": "2024-01-01T00:00:00"})
    from_datetime = trigger.evaluate(metadata={"last_training_time": datetime(2024, 1, 1)})
    # midnight in Kolkata is 18:30 UTC the day before: 5.5 hours ago
    assert from_string.actual_value == pytest.approx(5.5) and from_string.triggered
    assert from_datetime.actual_value == pytest.approx(5.5)


@pytest.mark.usefixtures("kolkata_local_time")
def test_parse_training_time_converts_to_aware_utc() -> None:
    assert parse_training_time("2024-01-01T00:00:00") == datetime(2023, 12, 31, 18, 30, tzinfo=UTC)
    assert parse_training_time("2024-01-01T00:00:00Z") == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_training_time(" 2024-01-01T02:00:00+02:00 ").utcoffset() == timedelta(0)


def test_original_positional_arguments_and_defaults() -> None:
    trigger = TimeTrigger(24.0, "warning", "age")
    assert (trigger.interval_hours, trigger.severity, trigger.name) == (24.0, "warning", "age")
    assert trigger.interval == timedelta(hours=24)
    default = TimeTrigger()
    assert (default.interval_hours, default.severity, default.name) == (168.0, "info", "time_trigger")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"interval_hours": -1}, "interval_hours"),
        ({"critical_interval_hours": -1}, "critical_interval_hours"),
    ],
)
def test_invalid_construction_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        TimeTrigger(**kwargs)  # type: ignore[arg-type]


def test_applies_only_with_a_training_time(now: datetime) -> None:
    assert TimeTrigger().applies_to(Snapshot(last_trained_at=now))
    assert not TimeTrigger().applies_to(Snapshot())


def test_training_time_in_the_future_is_undecided(now: datetime) -> None:
    detail = TimeTrigger(interval_hours=1).check(Snapshot(last_trained_at=now + timedelta(hours=2)), now)
    assert detail.undecided and not detail.triggered
    assert "in the future" in detail.reason


def test_small_clock_skew_is_tolerated(now: datetime) -> None:
    detail = TimeTrigger(interval_hours=1).check(Snapshot(last_trained_at=now + timedelta(minutes=1)), now)
    assert not detail.undecided and not detail.triggered
