"""Properties of the decision core, checked on generated inputs (bounded: ≤ 100 examples each)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from retrain_sentinel import CompositeTrigger, DataVolumeTrigger, DriftTrigger, PerformanceTrigger, Snapshot
from retrain_sentinel.report import build_report

from .conftest import KeywordTrigger

NOW = datetime(2024, 6, 1, tzinfo=UTC)
BOUNDED = settings(max_examples=100, deadline=None)
scores = st.floats(min_value=0, max_value=1, allow_nan=False)
positive = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False)
severities = st.sampled_from(["info", "warning", "critical"])
states = st.sampled_from(["fired", "not_fired", "undecided"])


def kleene(logic: str, values: list[bool | None]) -> bool | None:
    """Three-valued all()/any(): True, False, or None for unknown."""
    if logic == "AND":
        return False if False in values else (True if all(v is True for v in values) else None)
    return True if True in values else (False if all(v is False for v in values) else None)


TRUTH = {"fired": True, "not_fired": False, "undecided": None}

trees = st.recursive(
    st.tuples(states, severities),
    lambda children: st.tuples(
        st.sampled_from(["AND", "OR"]), st.lists(children, min_size=1, max_size=4), st.none() | severities
    ),
    max_leaves=12,
)


def build(tree: Any, names: list[str]) -> tuple[Any, bool | None]:
    """The composite for ``tree`` and the truth value it must have."""
    if len(tree) == 2:
        state, severity = tree
        names.append(f"t{len(names)}")
        return KeywordTrigger(names[-1], state, severity), TRUTH[state]
    logic, children, severity = tree
    built = [build(child, names) for child in children]
    composite = CompositeTrigger([b for b, _ in built], logic, severity, name=f"c{len(names)}")
    return composite, kleene(logic, [truth for _, truth in built])


@BOUNDED
@given(threshold=scores, low=scores, high=scores)
def test_drift_is_monotone_in_the_score(threshold: float, low: float, high: float) -> None:
    low, high = sorted((low, high))
    trigger = DriftTrigger(threshold)
    fired_low = trigger.check(Snapshot(drift_metrics={"js_divergence": low}), NOW).triggered
    fired_high = trigger.check(Snapshot(drift_metrics={"js_divergence": high}), NOW).triggered
    assert not fired_low or fired_high
    assert fired_high == (high > threshold)


@BOUNDED
@given(threshold=st.floats(min_value=0, max_value=2), current=positive, baseline=positive)
def test_performance_min_and_max_are_symmetric(threshold: float, current: float, baseline: float) -> None:
    loss = PerformanceTrigger(threshold, "m", "min").check(
        Snapshot(current_metrics={"m": current}, baseline_metrics={"m": baseline}), NOW
    )
    accuracy = PerformanceTrigger(threshold, "m", "max").check(
        Snapshot(current_metrics={"m": -current}, baseline_metrics={"m": -baseline}), NOW
    )
    assert loss.actual_value == accuracy.actual_value
    assert loss.triggered == accuracy.triggered


@BOUNDED
@given(
    new=st.integers(min_value=0, max_value=10_000),
    baseline=st.none() | st.integers(min_value=0, max_value=10_000),
    samples=st.none() | st.integers(min_value=0, max_value=10_000),
    share=st.none() | st.floats(min_value=0, max_value=3),
)
def test_volume_is_the_kleene_or_of_its_two_rules(
    new: int, baseline: int | None, samples: int | None, share: float | None
) -> None:
    if samples is None and share is None:
        share = 0.2
    detail = DataVolumeTrigger(samples, share).check(Snapshot(new_count=new, baseline_count=baseline), NOW)
    by_samples: bool | None = None if samples is None else new >= samples
    by_share: bool | None
    if share is None or baseline is None:
        by_share = None
    else:
        ratio = new / baseline if baseline else (float("inf") if new else 0.0)
        by_share = ratio >= share
    rules = [rule for rule, given_ in ((by_samples, samples), (by_share, share)) if given_ is not None]
    expected = kleene("OR", rules)
    assert detail.triggered == (expected is True)
    assert detail.undecided == (expected is None)


@BOUNDED
@given(tree=trees.filter(lambda t: len(t) == 3))
def test_all_and_any_agree_with_three_valued_logic_and_nest(tree: Any) -> None:
    composite, expected = build(tree, [])
    root, leaves = composite.check_tree(Snapshot(), NOW)
    assert root.state == {True: "fired", False: "not_fired", None: "undecided"}[expected]
    assert composite.evaluate().state == root.state  # the original API agrees with check
    assert [leaf.trigger_name for leaf in leaves] == [f"t{i}" for i in range(len(leaves))]


@BOUNDED
@given(tree=trees.filter(lambda t: len(t) == 3))
def test_report_severity_is_the_roots(tree: Any) -> None:
    composite, _ = build(tree, [])
    root, leaves = composite.check_tree(Snapshot(), NOW)
    report = build_report(root, leaves, NOW)
    assert report.triggered == root.triggered
    assert report.severity == (root.severity if root.triggered else "info")
    if root.triggered and composite.severity is not None:
        assert report.severity == composite.severity
