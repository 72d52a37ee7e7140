"""Performance: relative degradation against the baseline, and absolute bounds (DESIGN §4)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from retrain_sentinel import PerformanceTrigger, Snapshot
from retrain_sentinel.triggers.performance import degradation


def snap(current: object = None, baseline: object = None, metric: str = "val_loss", **kw: object) -> Snapshot:
    return Snapshot(
        current_metrics=None if current is None else {metric: current},
        baseline_metrics=None if baseline is None else {metric: baseline},
        **kw,  # type: ignore[arg-type]
    )


def test_loss_increase_beyond_threshold_fires(now: datetime) -> None:
    detail = PerformanceTrigger(threshold=0.05).check(snap(0.45, 0.40), now)
    assert detail.triggered and not detail.undecided
    assert detail.actual_value == pytest.approx(0.125)
    assert detail.threshold == 0.05
    assert "degradation" in detail.reason
    assert detail.metrics == {
        "current": 0.45,
        "baseline": 0.40,
        "metric": "val_loss",
        "mode": "min",
        "degradation": pytest.approx(0.125),
    }


def test_loss_decrease_is_stable_with_negative_degradation(now: datetime) -> None:
    detail = PerformanceTrigger(threshold=0.05).check(snap(0.30, 0.40), now)
    assert not detail.triggered and not detail.undecided
    assert detail.actual_value == pytest.approx(-0.25)
    assert "stable" in detail.reason


def test_degradation_equal_to_threshold_does_not_fire(now: datetime) -> None:
    detail = PerformanceTrigger(threshold=0.5).check(snap(3.0, 2.0), now)
    assert detail.actual_value == 0.5 and not detail.triggered


def test_mode_max_fires_on_a_drop(now: datetime) -> None:
    trigger = PerformanceTrigger(threshold=0.05, metric_name="acc", mode="max")
    dropped = trigger.check(snap(0.80, 0.90, "acc"), now)
    improved = trigger.check(snap(0.95, 0.90, "acc"), now)
    assert dropped.triggered and dropped.actual_value == pytest.approx(1 / 9)
    assert not improved.triggered and improved.actual_value == pytest.approx(-1 / 18)


def test_negative_baseline_uses_its_magnitude(now: datetime) -> None:
    trigger = PerformanceTrigger(threshold=0.1, metric_name="score", mode="max")
    detail = trigger.check(snap(-1.5, -1.0, "score"), now)
    assert detail.actual_value == pytest.approx(0.5) and detail.triggered


@pytest.mark.parametrize(
    ("current", "mode", "expected"),
    [
        (0.0, "min", 0.0),
        (0.0, "max", 0.0),
        (0.1, "min", math.inf),
        (0.1, "max", -math.inf),
        (-0.1, "min", -math.inf),
        (-0.1, "max", math.inf),
    ],
)
def test_zero_baseline_is_no_change_or_infinite_by_direction(
    current: float, mode: str, expected: float
) -> None:
    assert degradation(current, 0.0, mode) == expected


def test_zero_baseline_worse_fires_with_infinite_degradation(now: datetime) -> None:
    detail = PerformanceTrigger().check(snap(0.1, 0.0), now)
    assert detail.triggered and detail.actual_value == math.inf
    equal = PerformanceTrigger().check(snap(0.0, 0.0), now)
    assert not equal.triggered and equal.actual_value == 0.0


def test_min_value_bound_fires_in_mode_max(now: datetime) -> None:
    trigger = PerformanceTrigger(threshold=0.5, metric_name="auc", mode="max", min_value=0.8)
    detail = trigger.check(snap(0.79, 0.80, "auc"), now)
    assert detail.triggered
    assert "below min_value 0.8" in detail.reason and "degradation" in detail.reason
    assert not trigger.check(snap(0.81, 0.80, "auc"), now).triggered


def test_max_value_bound_fires_in_mode_min(now: datetime) -> None:
    trigger = PerformanceTrigger(threshold=0.5, max_value=1.0)
    detail = trigger.check(snap(1.2, 1.1), now)
    assert detail.triggered and "above max_value 1" in detail.reason


def test_bound_breach_fires_without_a_baseline(now: datetime) -> None:
    trigger = PerformanceTrigger(metric_name="auc", mode="max", min_value=0.8)
    detail = trigger.check(snap(0.7, None, "auc"), now)
    assert detail.triggered and detail.actual_value is None


def test_bounds_within_and_no_baseline_is_undecided(now: datetime) -> None:
    trigger = PerformanceTrigger(metric_name="auc", mode="max", min_value=0.8)
    detail = trigger.check(snap(0.9, None, "auc"), now)
    assert detail.undecided and not detail.triggered
    assert detail.reason.startswith("Missing")


def test_relative_and_bound_both_named_when_both_fire(now: datetime) -> None:
    trigger = PerformanceTrigger(threshold=0.05, max_value=0.5)
    detail = trigger.check(snap(0.6, 0.4), now)
    assert detail.triggered
    assert "exceeds threshold" in detail.reason and "above max_value" in detail.reason


@pytest.mark.parametrize(
    "snapshot",
    [
        Snapshot(),
        Snapshot(current_metrics={"val_loss": 0.4}),
        Snapshot(baseline_metrics={"val_loss": 0.4}),
    ],
)
def test_missing_inputs_are_undecided(now: datetime, snapshot: Snapshot) -> None:
    detail = PerformanceTrigger().check(snapshot, now)
    assert detail.undecided and not detail.triggered
    assert detail.reason.startswith("Missing")


def test_metric_absent_from_current_is_not_found(now: datetime) -> None:
    snapshot = Snapshot(current_metrics={"acc": 0.9}, baseline_metrics={"val_loss": 0.4})
    detail = PerformanceTrigger().check(snapshot, now)
    assert detail.undecided and "not found" in detail.reason


def test_metric_absent_from_baseline_is_not_found(now: datetime) -> None:
    snapshot = Snapshot(current_metrics={"val_loss": 0.9}, baseline_metrics={"acc": 0.4})
    detail = PerformanceTrigger().check(snapshot, now)
    assert detail.undecided and "not found" in detail.reason


@pytest.mark.parametrize("bad", [math.nan, math.inf, "n/a", [0.4]])
def test_non_finite_current_is_undecided(now: datetime, bad: object) -> None:
    detail = PerformanceTrigger().check(snap(bad, 0.4), now)
    assert detail.undecided and not detail.triggered
    assert "not a finite number" in detail.reason


@pytest.mark.parametrize("bad", [math.nan, -math.inf, "n/a"])
def test_non_finite_baseline_is_undecided(now: datetime, bad: object) -> None:
    detail = PerformanceTrigger().check(snap(0.4, bad), now)
    assert detail.undecided and not detail.triggered
    assert "not a finite number" in detail.reason


def test_numeric_strings_are_read_as_numbers(now: datetime) -> None:
    detail = PerformanceTrigger().check(snap("0.45", "0.40"), now)
    assert detail.triggered and detail.actual_value == pytest.approx(0.125)
    assert "0.4 → 0.45" in detail.reason


def test_critical_threshold_escalates_relative_degradation(now: datetime) -> None:
    trigger = PerformanceTrigger(threshold=0.05, critical_threshold=0.2)
    assert trigger.check(snap(0.45, 0.40), now).severity == "warning"
    severe = trigger.check(snap(0.60, 0.40), now)
    assert severe.severity == "critical" and "critical above 20.0%" in severe.reason


def test_original_positional_arguments_and_defaults() -> None:
    trigger = PerformanceTrigger(0.1, "acc", "max", "critical", "perf")
    assert (trigger.threshold, trigger.metric_name, trigger.mode, trigger.severity, trigger.name) == (
        0.1,
        "acc",
        "max",
        "critical",
        "perf",
    )
    default = PerformanceTrigger()
    assert (default.threshold, default.metric_name, default.mode, default.severity, default.name) == (
        0.05,
        "val_loss",
        "min",
        "warning",
        "performance_trigger",
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"mode": "maximise"}, "mode"),
        ({"threshold": -0.01}, "threshold"),
        ({"critical_threshold": math.nan}, "critical_threshold"),
        ({"severity": "urgent"}, "severity"),
    ],
)
def test_invalid_construction_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        PerformanceTrigger(**kwargs)  # type: ignore[arg-type]


def test_guards_make_it_undecided(now: datetime) -> None:
    trigger = PerformanceTrigger(min_samples=100, stale_after=timedelta(hours=1))
    few = trigger.check(snap(0.9, 0.4, window_count=10), now)
    stale = trigger.check(snap(0.9, 0.4, window_count=1000, observed_at=now - timedelta(hours=2)), now)
    assert few.undecided and stale.undecided


def test_applies_only_with_the_metric_on_both_sides() -> None:
    trigger = PerformanceTrigger()
    assert trigger.applies_to(snap(0.1, 0.2))
    assert not trigger.applies_to(snap(0.1, None))
    assert not trigger.applies_to(Snapshot(current_metrics={"val_loss": 1}, baseline_metrics={"acc": 1}))
