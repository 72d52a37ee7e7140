"""Composite: ``all`` / ``any`` with three-valued (Kleene) logic, nestable (DESIGN §4)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest

from retrain_sentinel import (
    CompositeTrigger,
    DataVolumeTrigger,
    DriftTrigger,
    PerformanceTrigger,
    Snapshot,
    TimeTrigger,
    TriggerDetail,
)
from retrain_sentinel.legacy.triggers import LegacyTriggerAdapter, as_trigger
from retrain_sentinel.triggers.composite import combine_states


class Fixed:
    """A custom trigger of the original API: only ``evaluate``; its verdict is fixed."""

    def __init__(self, name: str, state: str, severity: str = "warning") -> None:
        self.name = name
        self.state = state
        self.severity = severity
        self.seen: list[dict[str, Any]] = []

    def evaluate(
        self,
        drift_metrics: Mapping[str, Any] | None = None,
        current_metrics: Mapping[str, Any] | None = None,
        baseline_metrics: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> TriggerDetail:
        self.seen.append({"drift": drift_metrics, "current": current_metrics, "metadata": metadata})
        return TriggerDetail(
            self.name,
            self.state == "fired",
            self.severity,
            f"fixed {self.state}",
            undecided=self.state == "undecided",
        )


class Broken:
    name = "broken"

    def evaluate(self, **kwargs: Any) -> TriggerDetail:
        raise RuntimeError("boom")


@pytest.mark.parametrize(
    ("logic", "states", "expected"),
    [
        ("AND", ["fired", "fired"], "fired"),
        ("AND", ["fired", "not_fired"], "not_fired"),
        ("AND", ["undecided", "not_fired"], "not_fired"),
        ("AND", ["fired", "undecided"], "undecided"),
        ("OR", ["not_fired", "fired"], "fired"),
        ("OR", ["undecided", "fired"], "fired"),
        ("OR", ["not_fired", "not_fired"], "not_fired"),
        ("OR", ["not_fired", "undecided"], "undecided"),
    ],
)
def test_kleene_truth_table(logic: str, states: list[str], expected: str, now: datetime) -> None:
    children = [Fixed(f"t{i}", state) for i, state in enumerate(states)]
    detail = CompositeTrigger(children, logic).check(Snapshot(), now)
    assert detail.state == expected
    assert detail.triggered == (expected == "fired")
    assert detail.undecided == (expected == "undecided")
    assert combine_states(logic, states) == expected  # type: ignore[arg-type]


def test_or_severity_is_highest_among_fired_children(now: datetime) -> None:
    composite = CompositeTrigger(
        [Fixed("a", "fired", "info"), Fixed("b", "fired", "warning"), Fixed("c", "not_fired", "critical")]
    )
    assert composite.check(Snapshot(), now).severity == "warning"


def test_and_severity_is_highest_among_all_children(now: datetime) -> None:
    composite = CompositeTrigger([Fixed("a", "fired", "info"), Fixed("b", "fired", "critical")], "AND")
    assert composite.check(Snapshot(), now).severity == "critical"


def test_own_severity_overrides_when_fired(now: datetime) -> None:
    composite = CompositeTrigger([Fixed("a", "fired", "info")], "OR", severity="critical")
    assert composite.check(Snapshot(), now).severity == "critical"


def test_not_fired_severity_is_info_unless_set(now: datetime) -> None:
    assert CompositeTrigger([Fixed("a", "not_fired", "critical")]).check(Snapshot(), now).severity == "info"


def test_reason_lists_children_by_state(now: datetime) -> None:
    detail = CompositeTrigger([Fixed("a", "fired"), Fixed("b", "undecided")], "AND", name="gate").check(
        Snapshot(), now
    )
    assert detail.trigger_name == "gate" and detail.kind == "composite"
    assert detail.reason == "AND of 2 triggers is undecided (fired: a; undecided: b)"
    assert detail.metrics == {"logic": "AND", "children": {"a": "fired", "b": "undecided"}}


def test_nested_policy_drift_or_performance_and_time(now: datetime) -> None:
    either = CompositeTrigger([DriftTrigger(0.15), PerformanceTrigger(0.05)], "OR", name="either")
    policy = CompositeTrigger([either, TimeTrigger(interval_hours=48)], "AND", severity="critical")
    drifted_and_old = Snapshot(
        drift_metrics={"js_divergence": 0.3}, last_trained_at=now - timedelta(hours=50)
    )
    drifted_but_young = Snapshot(
        drift_metrics={"js_divergence": 0.3}, last_trained_at=now - timedelta(hours=5)
    )
    root, leaves = policy.check_tree(drifted_and_old, now)
    assert root.triggered and root.severity == "critical"
    assert [d.trigger_name for d in leaves] == ["drift_trigger", "performance_trigger", "time_trigger"]
    assert leaves[1].undecided  # no performance inputs; the OR still fired
    assert not policy.check(drifted_but_young, now).triggered
    assert policy.expression() == "(drift_trigger OR performance_trigger) AND time_trigger"


def test_expression_omits_parentheses_for_the_same_logic_and_single_children() -> None:
    inner_or = CompositeTrigger([Fixed("a", "fired"), Fixed("b", "fired")], "OR")
    single = CompositeTrigger([Fixed("c", "fired")], "AND")
    assert CompositeTrigger([inner_or, Fixed("d", "fired")], "OR").expression() == "a OR b OR d"
    assert CompositeTrigger([single, Fixed("d", "fired")], "OR").expression() == "c OR d"


def test_logic_is_case_insensitive_and_validated() -> None:
    assert CompositeTrigger([Fixed("a", "fired")], "and").logic == "AND"
    with pytest.raises(ValueError, match="logic"):
        CompositeTrigger([Fixed("a", "fired")], "XOR")
    with pytest.raises(ValueError, match="at least one"):
        CompositeTrigger([])
    with pytest.raises(ValueError, match="severity"):
        CompositeTrigger([Fixed("a", "fired")], severity="loud")


def test_original_positional_arguments_and_defaults() -> None:
    composite = CompositeTrigger([Fixed("a", "fired")], "AND", "critical", "gate")
    assert (composite.logic, composite.severity, composite.name) == ("AND", "critical", "gate")
    default = CompositeTrigger([Fixed("a", "fired")])
    assert (default.logic, default.severity, default.name) == ("OR", None, "composite_trigger")


def test_evaluate_passes_the_original_arguments_to_each_child() -> None:
    custom = Fixed("custom", "not_fired")
    composite = CompositeTrigger([DriftTrigger(0.1), custom], "OR")
    detail = composite.evaluate(drift_metrics={"js_divergence": 0.2}, metadata={"run": 1})
    assert detail.triggered
    assert custom.seen == [{"drift": {"js_divergence": 0.2}, "current": None, "metadata": {"run": 1}}]


def test_custom_triggers_with_only_evaluate_run_in_check(now: datetime) -> None:
    custom = Fixed("custom", "fired", "critical")
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
    detail = CompositeTrigger([Broken(), Fixed("ok", "not_fired")]).check(Snapshot(), now)
    assert detail.undecided
    leaf = LegacyTriggerAdapter(Broken()).check(Snapshot(), now)  # type: ignore[arg-type]
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


def test_repr_lists_children() -> None:
    assert repr(CompositeTrigger([Fixed("a", "fired")], "AND")) == "CompositeTrigger(AND, ['a'])"


def test_a_raising_custom_child_is_undecided_in_the_original_api() -> None:
    class Broken:
        name = "broken"

        def evaluate(self, **_: object) -> TriggerDetail:
            raise RuntimeError("boom")

    detail = CompositeTrigger([Broken(), DriftTrigger(threshold=0.1)], logic="OR").evaluate(
        drift_metrics={"js_divergence": 0.5}
    )
    assert detail.triggered  # the drift child still decides
    both = CompositeTrigger([Broken(), DriftTrigger(threshold=0.1)], logic="AND").evaluate(
        drift_metrics={"js_divergence": 0.5}
    )
    assert both.undecided and "broken" in both.reason
