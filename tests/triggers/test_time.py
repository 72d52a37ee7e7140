"""Time: fires when ``now - last_trained_at >= interval`` (DESIGN §4)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from retrain_sentinel import Snapshot, TimeTrigger


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
