"""Data volume: new samples by count or share of the baseline (DESIGN §4)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from retrain_sentinel import DataVolumeTrigger, Snapshot


def test_cumulative_counts_give_the_new_samples(now: datetime) -> None:
    trigger = DataVolumeTrigger(threshold_percentage=0.2)
    detail = trigger.check(Snapshot(current_count=1200, baseline_count=1000), now)
    assert detail.triggered and not detail.undecided
    assert detail.actual_value == 200
    assert detail.metrics == {"new_samples": 200, "new_share": 0.2, "baseline_count": 1000}
    assert detail.kind == "data_volume" and detail.severity == "info"


def test_new_count_is_used_when_given(now: datetime) -> None:
    trigger = DataVolumeTrigger(threshold_percentage=0.2)
    detail = trigger.check(Snapshot(new_count=100, current_count=5000, baseline_count=1000), now)
    assert detail.actual_value == 100 and not detail.triggered


def test_percentage_below_threshold_does_not_fire(now: datetime) -> None:
    detail = DataVolumeTrigger().check(Snapshot(current_count=1100, baseline_count=1000), now)
    assert not detail.triggered and not detail.undecided
    assert "below threshold" in detail.reason


def test_sample_threshold_fires_at_equality(now: datetime) -> None:
    trigger = DataVolumeTrigger(threshold_samples=500, threshold_percentage=None)
    assert trigger.check(Snapshot(new_count=500), now).triggered
    assert not trigger.check(Snapshot(new_count=499), now).triggered
    assert trigger.check(Snapshot(new_count=499), now).threshold == 500


def test_either_rule_fires(now: datetime) -> None:
    trigger = DataVolumeTrigger(threshold_samples=500, threshold_percentage=0.5)
    by_samples = trigger.check(Snapshot(current_count=10_600, baseline_count=10_000), now)
    by_share = trigger.check(Snapshot(current_count=150, baseline_count=100), now)
    neither = trigger.check(Snapshot(current_count=110, baseline_count=100), now)
    assert by_samples.triggered and by_share.triggered and not neither.triggered
    assert "500 samples or 50% of baseline" in neither.reason


def test_zero_baseline_with_new_data_is_an_infinite_share(now: datetime) -> None:
    detail = DataVolumeTrigger(threshold_percentage=0.2).check(
        Snapshot(current_count=5, baseline_count=0), now
    )
    assert detail.triggered and detail.metrics["new_share"] == math.inf


def test_zero_baseline_without_new_data_does_not_fire(now: datetime) -> None:
    detail = DataVolumeTrigger(threshold_percentage=0.2).check(
        Snapshot(current_count=0, baseline_count=0), now
    )
    assert not detail.triggered and not detail.undecided and detail.metrics["new_share"] == 0.0


def test_missing_counts_are_undecided(now: datetime) -> None:
    for snapshot in (Snapshot(), Snapshot(current_count=10), Snapshot(baseline_count=10)):
        detail = DataVolumeTrigger().check(snapshot, now)
        assert detail.undecided and not detail.triggered
        assert detail.reason.startswith("Missing")


@pytest.mark.parametrize(
    "snapshot",
    [
        Snapshot(new_count=-1),
        Snapshot(new_count=math.nan),
        Snapshot(current_count=-5, baseline_count=10),
        Snapshot(current_count=5, baseline_count=-10),
        Snapshot(current_count=math.inf, baseline_count=10),
    ],
)
def test_negative_or_non_finite_counts_are_undecided(now: datetime, snapshot: Snapshot) -> None:
    detail = DataVolumeTrigger(threshold_samples=1).check(snapshot, now)
    assert detail.undecided and not detail.triggered
    assert "Invalid" in detail.reason


def test_cumulative_count_below_baseline_is_undecided(now: datetime) -> None:
    detail = DataVolumeTrigger().check(Snapshot(current_count=90, baseline_count=100), now)
    assert detail.undecided and "below the baseline count" in detail.reason


def test_a_current_count_below_the_baseline_names_the_field_to_set(now: datetime) -> None:
    # issue 12, item 3: 5,000 evaluation rows mapped to current_count against 100,000 training rows
    detail = DataVolumeTrigger().check(Snapshot(current_count=5000, baseline_count=100_000), now)
    assert detail.undecided
    assert detail.reason == (
        "Current count 5000 is below the baseline count 100000: current_count is a cumulative size "
        "(the baseline's samples plus the new ones); if 5000 is the samples behind the current "
        "metrics, map it to window_count instead, and give new_count or a cumulative current_count"
    )


def test_the_window_count_is_not_a_volume_input(now: datetime) -> None:
    # the samples behind the current metrics say nothing about how much new data arrived
    trigger = DataVolumeTrigger(threshold_samples=100)
    healthy = Snapshot(window_count=5000, baseline_count=100_000)
    assert not trigger.applies_to(healthy)
    assert trigger.check(Snapshot(window_count=5000, new_count=10, baseline_count=100_000), now).actual_value == 10


def test_share_rule_without_baseline_count_is_undecided_unless_samples_fire(now: datetime) -> None:
    trigger = DataVolumeTrigger(threshold_samples=1000, threshold_percentage=0.2)
    low = trigger.check(Snapshot(new_count=10), now)
    high = trigger.check(Snapshot(new_count=5000), now)
    assert low.undecided and "cannot be judged" in low.reason
    assert high.triggered and not high.undecided


def test_critical_threshold_is_a_share(now: datetime) -> None:
    trigger = DataVolumeTrigger(threshold_percentage=0.2, critical_threshold=1.0)
    assert trigger.check(Snapshot(current_count=150, baseline_count=100), now).severity == "info"
    assert trigger.check(Snapshot(current_count=200, baseline_count=100), now).severity == "critical"


def test_min_samples_does_not_guard_the_volume_trigger(now: datetime) -> None:
    # a small count is what this trigger measures: below threshold is "not fired", not "unknown"
    trigger = DataVolumeTrigger(threshold_samples=100, threshold_percentage=None, min_samples=500)
    detail = trigger.check(Snapshot(new_count=10), now)
    assert not detail.triggered and not detail.undecided


def test_stale_counts_are_undecided(now: datetime) -> None:
    trigger = DataVolumeTrigger(threshold_samples=1, threshold_percentage=None, stale_after=timedelta(days=1))
    detail = trigger.check(Snapshot(new_count=10, observed_at=now - timedelta(days=2)), now)
    assert detail.undecided and "stale" in detail.reason


def test_needs_at_least_one_threshold() -> None:
    with pytest.raises(ValueError, match="at least one"):
        DataVolumeTrigger(threshold_samples=None, threshold_percentage=None)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"threshold_samples": -1}, "threshold_samples"),
        ({"threshold_percentage": -0.1}, "threshold_percentage"),
        ({"critical_threshold": -1.0}, "critical_threshold"),
    ],
)
def test_invalid_construction_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        DataVolumeTrigger(**kwargs)  # type: ignore[arg-type]


def test_original_positional_arguments_and_defaults() -> None:
    trigger = DataVolumeTrigger(100, None, "warning", "vol")
    assert (trigger.threshold_samples, trigger.threshold_percentage, trigger.severity, trigger.name) == (
        100,
        None,
        "warning",
        "vol",
    )
    default = DataVolumeTrigger()
    assert (default.threshold_samples, default.threshold_percentage, default.severity, default.name) == (
        None,
        0.2,
        "info",
        "data_volume_trigger",
    )


def test_applies_with_new_count_or_both_cumulative_counts() -> None:
    trigger = DataVolumeTrigger()
    assert trigger.applies_to(Snapshot(new_count=0))
    assert trigger.applies_to(Snapshot(current_count=1, baseline_count=1))
    assert not trigger.applies_to(Snapshot(current_count=1))
