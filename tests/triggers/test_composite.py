"""Composite: ``all`` / ``any`` with three-valued (Kleene) logic, nestable (DESIGN §4).

The children are the shared fake of a user's trigger, so the logic is seen through the public
``CompositeTrigger``; what the original API adds (adapters, keyword ``evaluate``) is in
``tests/legacy/test_triggers.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from retrain_sentinel import CompositeTrigger, DriftTrigger, PerformanceTrigger, Snapshot, TimeTrigger
from retrain_sentinel.triggers.composite import combine_states

from .conftest import KeywordTrigger


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
    children = [KeywordTrigger(f"t{i}", state) for i, state in enumerate(states)]
    detail = CompositeTrigger(children, logic).check(Snapshot(), now)
    assert detail.state == expected
    assert detail.triggered == (expected == "fired")
    assert detail.undecided == (expected == "undecided")
    assert combine_states(logic, states) == expected  # type: ignore[arg-type]


def test_or_severity_is_highest_among_fired_children(now: datetime) -> None:
    composite = CompositeTrigger(
        [
            KeywordTrigger("a", "fired", "info"),
            KeywordTrigger("b", "fired", "warning"),
            KeywordTrigger("c", "not_fired", "critical"),
        ]
    )
    assert composite.check(Snapshot(), now).severity == "warning"


def test_and_severity_is_highest_among_all_children(now: datetime) -> None:
    composite = CompositeTrigger(
        [KeywordTrigger("a", "fired", "info"), KeywordTrigger("b", "fired", "critical")], "AND"
    )
    assert composite.check(Snapshot(), now).severity == "critical"


def test_own_severity_overrides_when_fired(now: datetime) -> None:
    composite = CompositeTrigger([KeywordTrigger("a", "fired", "info")], "OR", severity="critical")
    assert composite.check(Snapshot(), now).severity == "critical"


def test_not_fired_severity_is_info_unless_set(now: datetime) -> None:
    assert (
        CompositeTrigger([KeywordTrigger("a", "not_fired", "critical")]).check(Snapshot(), now).severity
        == "info"
    )


def test_reason_lists_children_by_state(now: datetime) -> None:
    detail = CompositeTrigger(
        [KeywordTrigger("a", "fired"), KeywordTrigger("b", "undecided")], "AND", name="gate"
    ).check(Snapshot(), now)
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
    inner_or = CompositeTrigger([KeywordTrigger("a", "fired"), KeywordTrigger("b", "fired")], "OR")
    single = CompositeTrigger([KeywordTrigger("c", "fired")], "AND")
    assert CompositeTrigger([inner_or, KeywordTrigger("d", "fired")], "OR").expression() == "a OR b OR d"
    assert CompositeTrigger([single, KeywordTrigger("d", "fired")], "OR").expression() == "c OR d"


def test_logic_is_case_insensitive_and_validated() -> None:
    assert CompositeTrigger([KeywordTrigger("a", "fired")], "and").logic == "AND"
    with pytest.raises(ValueError, match="logic"):
        CompositeTrigger([KeywordTrigger("a", "fired")], "XOR")
    with pytest.raises(ValueError, match="at least one"):
        CompositeTrigger([])
    with pytest.raises(ValueError, match="severity"):
        CompositeTrigger([KeywordTrigger("a", "fired")], severity="loud")


def test_repr_lists_children() -> None:
    assert repr(CompositeTrigger([KeywordTrigger("a", "fired")], "AND")) == "CompositeTrigger(AND, ['a'])"
