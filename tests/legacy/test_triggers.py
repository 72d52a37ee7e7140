"""The original API's triggers (``legacy/triggers.py``): the keyword ``evaluate``, the clock each
trigger reads, the adapter that runs a user's ``evaluate``-only trigger inside a composite."""

from __future__ import annotations

import inspect
import time as systime
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time

from retrain_sentinel import (
    CompositeTrigger,
    DataVolumeTrigger,
    DriftTrigger,
    PerformanceTrigger,
    Snapshot,
    TimeTrigger,
    TriggerDetail,
)
from retrain_sentinel.legacy.triggers import LegacyTriggerAdapter, as_trigger, parse_training_time

from .conftest import KeywordTrigger


def broken() -> KeywordTrigger:
    """A user's trigger that raises, as a buggy one would."""
    return KeywordTrigger("broken", raises=RuntimeError("boom"))


# --- leaf triggers: evaluate(...) wraps check(snapshot, now) -------------------------------------


def test_drift_evaluate_wraps_check_with_the_original_keywords() -> None:
    trigger = DriftTrigger(threshold=0.15)
    assert trigger.evaluate(drift_metrics={"js_divergence": 0.18}).triggered
    assert trigger.evaluate().reason == "No drift metrics provided"


def test_performance_evaluate_wraps_check() -> None:
    trigger = PerformanceTrigger(threshold=0.05, metric_name="val_loss")
    detail = trigger.evaluate(current_metrics={"val_loss": 0.45}, baseline_metrics={"val_loss": 0.40})
    assert detail.triggered
    assert trigger.evaluate().reason.startswith("Missing")


def test_volume_original_evaluate_reads_counts_from_metadata_and_says_missing() -> None:
    trigger = DataVolumeTrigger(threshold_percentage=0.2)
    assert trigger.evaluate(metadata={"current_count": 1300, "baseline_count": 1000}).triggered
    missing = trigger.evaluate()
    assert missing.undecided and missing.reason.startswith("Missing")


# --- the time trigger's clock and the training time it parses --------------------------------------


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


# --- composites with user triggers -----------------------------------------------------------------


def test_composite_original_positional_arguments_and_defaults() -> None:
    composite = CompositeTrigger([KeywordTrigger("a", "fired")], "AND", "critical", "gate")
    assert (composite.logic, composite.severity, composite.name) == ("AND", "critical", "gate")
    default = CompositeTrigger([KeywordTrigger("a", "fired")])
    assert (default.logic, default.severity, default.name) == ("OR", None, "composite_trigger")


def test_evaluate_passes_the_original_arguments_to_each_child() -> None:
    custom = KeywordTrigger("custom", "not_fired")
    composite = CompositeTrigger([DriftTrigger(0.1), custom], "OR")
    detail = composite.evaluate(drift_metrics={"js_divergence": 0.2}, metadata={"run": 1})
    assert detail.triggered
    assert custom.seen == [{"drift": {"js_divergence": 0.2}, "current": None, "metadata": {"run": 1}}]


def test_custom_triggers_with_only_evaluate_run_in_check(now: datetime) -> None:
    custom = KeywordTrigger("custom", "fired", "critical")
    composite = CompositeTrigger([custom, DataVolumeTrigger()], "AND")
    trained = now - timedelta(days=1)
    snapshot = Snapshot(
        drift_metrics={"x": 1.0}, current_count=300, baseline_count=100, last_trained_at=trained
    )
    detail = composite.check(snapshot, now)
    assert detail.triggered and detail.severity == "critical"
    assert custom.seen[0]["metadata"] == {
        "last_training_time": trained,
        "current_count": 300,
        "baseline_count": 100,
    }


def test_custom_trigger_that_raises_is_undecided_in_check(now: datetime) -> None:
    detail = CompositeTrigger([broken(), KeywordTrigger("ok", "not_fired")]).check(Snapshot(), now)
    assert detail.undecided
    leaf = LegacyTriggerAdapter(broken()).check(Snapshot(), now)
    assert leaf.undecided and leaf.reason == "Trigger raised RuntimeError: boom"


def test_adapter_names_objects_without_a_name() -> None:
    class Anonymous:
        def evaluate(self, **kwargs: Any) -> TriggerDetail:
            return TriggerDetail("x", False, "info", "")

    adapter = as_trigger(Anonymous())
    assert isinstance(adapter, LegacyTriggerAdapter) and adapter.name == "Anonymous"
    assert CompositeTrigger([Anonymous()]).expression() == "Anonymous"


def test_builtin_triggers_are_used_directly_and_others_rejected() -> None:
    drift = DriftTrigger()
    assert as_trigger(drift) is drift
    with pytest.raises(TypeError, match="neither"):
        as_trigger(object())


def test_a_raising_custom_child_is_undecided_in_the_original_api() -> None:
    detail = CompositeTrigger([broken(), DriftTrigger(threshold=0.1)], logic="OR").evaluate(
        drift_metrics={"js_divergence": 0.5}
    )
    assert detail.triggered  # the drift child still decides
    both = CompositeTrigger([broken(), DriftTrigger(threshold=0.1)], logic="AND").evaluate(
        drift_metrics={"js_divergence": 0.5}
    )
    assert both.undecided and "broken" in both.reason


@pytest.mark.parametrize(
    ("cls", "first"),
    [
        (DriftTrigger, "threshold"),
        (PerformanceTrigger, "threshold"),
        (TimeTrigger, "interval_hours"),
        (DataVolumeTrigger, "threshold_samples"),
    ],
)
def test_help_shows_the_original_constructor_with_its_clock(cls: type, first: str) -> None:
    parameters = inspect.signature(cls).parameters
    assert next(iter(parameters)) == first
    assert parameters["clock"].kind is inspect.Parameter.KEYWORD_ONLY and parameters["clock"].default is None
    assert parameters["name"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD


def test_help_shows_the_composites_original_constructor_with_its_clock() -> None:
    parameters = inspect.signature(CompositeTrigger).parameters
    assert list(parameters) == ["triggers", "logic", "severity", "name", "clock"]
    assert parameters["clock"].kind is inspect.Parameter.KEYWORD_ONLY
