"""Drift: ``drift_metrics[metric] > threshold`` fires (DESIGN §4)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from retrain_sentinel import DriftTrigger, Snapshot


def check(trigger: DriftTrigger, now: datetime, **drift: object) -> object:
    return trigger.check(Snapshot(drift_metrics=drift), now)


def test_fires_when_score_exceeds_threshold(now: datetime) -> None:
    detail = DriftTrigger(threshold=0.15).check(Snapshot(drift_metrics={"js_divergence": 0.18}), now)
    assert detail.triggered and not detail.undecided
    assert detail.actual_value == 0.18
    assert detail.threshold == 0.15
    assert detail.severity == "warning"
    assert detail.kind == "drift"
    assert "exceeds threshold" in detail.reason
    assert detail.metrics == {"js_divergence": 0.18}


def test_score_equal_to_threshold_does_not_fire(now: datetime) -> None:
    detail = DriftTrigger(threshold=0.15).check(Snapshot(drift_metrics={"js_divergence": 0.15}), now)
    assert not detail.triggered and not detail.undecided
    assert "within threshold" in detail.reason


def test_reads_the_named_metric(now: datetime) -> None:
    trigger = DriftTrigger(threshold=0.2, metric_name="psi")
    detail = trigger.check(Snapshot(drift_metrics={"js_divergence": 0.9, "psi": 0.1}), now)
    assert not detail.triggered
    assert detail.actual_value == 0.1


def test_no_drift_metrics_is_undecided(now: datetime) -> None:
    for drift in (None, {}):
        detail = DriftTrigger().check(Snapshot(drift_metrics=drift), now)
        assert detail.undecided and not detail.triggered
        assert detail.reason == "No drift metrics provided"


def test_absent_metric_is_undecided_and_says_not_found(now: datetime) -> None:
    detail = DriftTrigger().check(Snapshot(drift_metrics={"psi": 0.3}), now)
    assert detail.undecided and not detail.triggered
    assert "not found" in detail.reason


@pytest.mark.parametrize("score", [math.nan, math.inf, -math.inf, -0.1, None, "high", True])
def test_invalid_score_is_undecided_and_never_raises(now: datetime, score: object) -> None:
    detail = DriftTrigger().check(Snapshot(drift_metrics={"js_divergence": score}), now)  # type: ignore[dict-item]
    assert detail.undecided and not detail.triggered
    assert "not a valid score" in detail.reason


def test_numeric_string_score_is_read_as_a_number(now: datetime) -> None:
    detail = DriftTrigger().check(Snapshot(drift_metrics={"js_divergence": "0.3"}), now)  # type: ignore[dict-item]
    assert detail.triggered and detail.actual_value == 0.3


def test_critical_threshold_escalates_severity(now: datetime) -> None:
    trigger = DriftTrigger(threshold=0.15, critical_threshold=0.3)
    mild = trigger.check(Snapshot(drift_metrics={"js_divergence": 0.2}), now)
    severe = trigger.check(Snapshot(drift_metrics={"js_divergence": 0.31}), now)
    at_critical = trigger.check(Snapshot(drift_metrics={"js_divergence": 0.3}), now)
    assert mild.severity == "warning"
    assert severe.severity == "critical" and "critical" in severe.reason
    assert at_critical.severity == "warning"


def test_critical_threshold_does_not_escalate_an_unfired_detail(now: datetime) -> None:
    trigger = DriftTrigger(threshold=0.5, critical_threshold=0.1)
    detail = trigger.check(Snapshot(drift_metrics={"js_divergence": 0.3}), now)
    assert not detail.triggered and detail.severity == "warning"


def test_original_positional_arguments() -> None:
    trigger = DriftTrigger(0.2, "psi", "critical", "my_drift")
    assert (trigger.threshold, trigger.metric_name, trigger.severity, trigger.name) == (
        0.2,
        "psi",
        "critical",
        "my_drift",
    )
    detail = trigger.evaluate(drift_metrics={"psi": 0.5})
    assert detail.trigger_name == "my_drift" and detail.severity == "critical"


def test_defaults_match_the_original() -> None:
    trigger = DriftTrigger()
    assert (trigger.threshold, trigger.metric_name, trigger.severity, trigger.name) == (
        0.15,
        "js_divergence",
        "warning",
        "drift_trigger",
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"threshold": -0.1}, "threshold"),
        ({"threshold": math.nan}, "threshold"),
        ({"critical_threshold": -1}, "critical_threshold"),
        ({"severity": "fatal"}, "severity"),
        ({"min_samples": -1}, "min_samples"),
    ],
)
def test_invalid_construction_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        DriftTrigger(**kwargs)  # type: ignore[arg-type]


def test_stale_data_is_undecided(now: datetime) -> None:
    trigger = DriftTrigger(stale_after=timedelta(days=2))
    old = Snapshot(drift_metrics={"js_divergence": 0.9}, observed_at=now - timedelta(days=3))
    fresh = Snapshot(drift_metrics={"js_divergence": 0.9}, observed_at=now - timedelta(days=1))
    detail = trigger.check(old, now)
    assert detail.undecided and not detail.triggered
    assert "stale" in detail.reason
    assert trigger.check(fresh, now).triggered


def test_unknown_observation_time_is_not_stale(now: datetime) -> None:
    trigger = DriftTrigger(stale_after=timedelta(hours=1))
    assert trigger.check(Snapshot(drift_metrics={"js_divergence": 0.9}), now).triggered


def test_fewer_samples_than_min_samples_is_undecided(now: datetime) -> None:
    trigger = DriftTrigger(min_samples=500)
    drift = {"js_divergence": 0.9}
    few = trigger.check(Snapshot(drift_metrics=drift, window_count=499), now)
    unknown = trigger.check(Snapshot(drift_metrics=drift), now)
    nan = trigger.check(Snapshot(drift_metrics=drift, window_count=math.nan), now)
    enough = trigger.check(Snapshot(drift_metrics=drift, window_count=500), now)
    assert few.undecided and "Too few samples" in few.reason and "window_count" in few.reason
    assert unknown.undecided and "unknown" in unknown.reason
    assert nan.undecided
    assert enough.triggered


def test_min_samples_reads_the_window_count_not_the_cumulative_counts(now: datetime) -> None:
    # issue 12, item 3: current_count / new_count are the volume trigger's inputs; a model with
    # 100,000 cumulative rows but no window_count has an unknown sample count for min_samples.
    trigger = DriftTrigger(min_samples=500)
    detail = trigger.check(
        Snapshot(drift_metrics={"js_divergence": 0.9}, current_count=100_000, new_count=600), now
    )
    assert detail.undecided
    assert detail.reason == (
        "Sample count unknown: min_samples 500 reads the snapshot's window_count (the samples behind "
        "the current metrics), which the source did not give; map it: counts.window, or a "
        "window_count column in a queries: source"
    )


def test_applies_only_when_the_metric_is_present() -> None:
    trigger = DriftTrigger()
    assert trigger.applies_to(Snapshot(drift_metrics={"js_divergence": 0.0}))
    assert not trigger.applies_to(Snapshot(drift_metrics={"psi": 0.0}))
    assert not trigger.applies_to(Snapshot())


def test_repr_names_the_trigger() -> None:
    assert repr(DriftTrigger(name="d")) == "DriftTrigger(name='d')"
