"""The policy builder: presets, overrides, nested all/any, paths in errors, watch defaults (DESIGN §4, §10)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from retrain_sentinel import Snapshot
from retrain_sentinel.errors import ConfigError
from retrain_sentinel.report import build_report
from retrain_sentinel.triggers import (
    CompositeTrigger,
    DataVolumeTrigger,
    DriftTrigger,
    PerformanceTrigger,
    TimeTrigger,
)
from retrain_sentinel.triggers.policy import PolicyDefaults, PolicyError, build_policy, parse_policy

EVERYTHING_OK = dict(
    drift_metrics={"js_divergence": 0.01},
    current_metrics={"val_loss": 0.40},
    baseline_metrics={"val_loss": 0.40},
    current_count=1010,
    baseline_count=1000,
)


def test_preset_is_any_over_the_four_triggers_with_its_values() -> None:
    policy = build_policy("aggressive")
    assert policy.preset == "aggressive"
    assert policy.expression == "drift OR performance OR time OR data_volume"
    drift, perf, age, volume = policy.leaves
    assert isinstance(drift, DriftTrigger) and (drift.threshold, drift.severity) == (0.10, "warning")
    assert isinstance(perf, PerformanceTrigger) and (perf.threshold, perf.severity) == (0.03, "warning")
    assert isinstance(age, TimeTrigger) and (age.interval_hours, age.severity) == (48.0, "info")
    assert isinstance(volume, DataVolumeTrigger)
    assert (volume.threshold_percentage, volume.severity) == (0.10, "info")


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("conservative", (0.20, 0.10, 336.0, 0.30, "critical")),
        ("balanced", (0.15, 0.05, 168.0, 0.20, "warning")),
        ("aggressive", (0.10, 0.03, 48.0, 0.10, "warning")),
    ],
)
def test_preset_values_match_design(preset: str, expected: tuple[float, float, float, float, str]) -> None:
    drift, perf, hours, volume, severity = expected
    leaves: list[Any] = build_policy(preset).leaves
    assert [leaf.severity for leaf in leaves] == [severity, severity, "info", "info"]
    assert (leaves[0].threshold, leaves[1].threshold, leaves[2].interval_hours) == (drift, perf, hours)
    assert leaves[3].threshold_percentage == volume


def test_preset_keeps_only_applicable_triggers(now: datetime) -> None:
    policy = build_policy("balanced")
    report = policy.evaluate(Snapshot(drift_metrics={"js_divergence": 0.2}), now, model="churn")
    assert report.triggered and report.severity == "warning"
    assert [d.trigger_name for d in report.trigger_details] == ["drift"]
    assert report.metadata == {
        "model": "churn",
        "policy": "drift OR performance OR time OR data_volume",
        "decision": "fired",
        "undecided": [],
        "not_applicable": ["performance", "time", "data_volume"],
    }


def test_preset_with_nothing_applicable_is_undecided(now: datetime) -> None:
    report = build_policy("balanced").evaluate(Snapshot(), now)
    assert not report.triggered and report.severity == "info"
    assert report.metadata is not None
    assert report.metadata["decision"] == "undecided"
    assert report.metadata["not_applicable"] == ["drift", "performance", "time", "data_volume"]
    assert report.trigger_details == []
    assert len(report.recommendations) == 1 and report.recommendations[0].startswith("Undecided, no verdict:")


def test_preset_with_everything_fine_is_not_fired(now: datetime) -> None:
    snapshot = Snapshot(**EVERYTHING_OK, last_trained_at=now - timedelta(hours=1))  # type: ignore[arg-type]
    report = build_policy("balanced").evaluate(snapshot, now)
    assert not report.triggered and report.metadata is not None
    assert report.metadata["decision"] == "not_fired" and report.metadata["not_applicable"] == []
    assert report.recommendations == ["No action needed: all triggers within acceptable thresholds."]


def test_explicit_tree_makes_missing_input_undecided(now: datetime) -> None:
    policy = build_policy({"any": [{"drift": {}}, {"time": {}}]})
    report = policy.evaluate(Snapshot(drift_metrics={"js_divergence": 0.0}), now)
    assert report.metadata is not None
    assert report.metadata["decision"] == "undecided"
    assert report.metadata["undecided"] == ["time"]
    assert report.metadata["not_applicable"] == []
    assert "could not decide" in report.recommendations[0]


def test_preset_override_merges_and_switches_off(now: datetime) -> None:
    policy = build_policy(
        {"preset": "aggressive", "override": {"time": {"interval": "30d"}, "data_volume": False}}
    )
    assert policy.expression == "drift OR performance OR time"
    age = policy.leaves[2]
    assert isinstance(age, TimeTrigger) and age.interval_hours == 720.0 and age.severity == "info"
    drift = policy.leaves[0]
    assert isinstance(drift, DriftTrigger) and drift.threshold == 0.10


def test_preset_override_without_preset_uses_balanced() -> None:
    policy = build_policy({"override": {"drift": {"critical_threshold": 0.4}}})
    drift = policy.leaves[0]
    assert policy.preset == "balanced"
    assert isinstance(drift, DriftTrigger) and drift.threshold == 0.15 and drift.critical_threshold == 0.4


def test_nested_all_any_with_severity_and_name(now: datetime) -> None:
    policy = build_policy(
        {
            "all": [
                {
                    "any": [
                        {"drift": {"threshold": 0.15, "critical_threshold": 0.3}},
                        {"performance": {"min_value": 0.8}},
                    ]
                },
                {"time": {"interval": "48h"}},
            ],
            "severity": "critical",
            "name": "gate",
        },
        PolicyDefaults(performance_metric="auc", performance_mode="max"),
    )
    assert policy.preset is None
    assert policy.expression == "(drift OR performance) AND time"
    root = policy.root
    assert isinstance(root, CompositeTrigger) and root.name == "gate" and root.severity == "critical"
    assert isinstance(root.triggers[0], CompositeTrigger) and root.triggers[0].name == "any"
    snapshot = Snapshot(
        current_metrics={"auc": 0.75},
        baseline_metrics={"auc": 0.76},
        drift_metrics={"js_divergence": 0.01},
        last_trained_at=now - timedelta(hours=49),
    )
    report = policy.evaluate(snapshot, now, model="fraud")
    assert report.triggered and report.severity == "critical"
    assert [d.trigger_name for d in report.trigger_details] == ["drift", "performance", "time"]
    assert report.metadata is not None and report.metadata["policy"] == "(drift OR performance) AND time"


def test_a_single_leaf_is_a_policy(now: datetime) -> None:
    policy = build_policy({"drift": {"threshold": 0.1, "name": "js"}})
    assert policy.expression == "js" and isinstance(policy.root, DriftTrigger)
    report = policy.evaluate(Snapshot(drift_metrics={"js_divergence": 0.5}), now)
    assert report.triggered and [d.trigger_name for d in report.trigger_details] == ["js"]


def test_leaves_default_to_their_kind_name_and_can_be_renamed() -> None:
    policy = build_policy({"any": [{"drift": {}}, {"drift": {"metric": "psi", "name": "psi"}}]})
    assert [leaf.name for leaf in policy.leaves] == ["drift", "psi"]
    assert policy.expression == "drift OR psi"


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ({"any": [{"drift": {}}, {"drift": {"threshold": 0.3}}]}, "any[1]"),
        (
            {"any": [{"drift": {"name": "x"}}, {"all": [{"time": {}}, {"performance": {"name": "x"}}]}]},
            "any[1].all[1]",
        ),
    ],
)
def test_duplicate_leaf_names_are_rejected_with_the_path(spec: Any, path: str) -> None:
    with pytest.raises(PolicyError) as caught:
        build_policy(spec)
    assert caught.value.path == path
    assert "already used at any[0]" in str(caught.value) and "unique `name`" in str(caught.value)


@pytest.mark.parametrize(
    ("spec", "path", "message"),
    [
        (
            {"all": [{"any": [{"drift": {}}, {"performance": {"threshold": -1}}]}, {"time": {}}]},
            "all[0].any[1].performance.threshold",
            "must be ≥ 0",
        ),
        ({"all": [{"any": [{"drift": {}}, {"bogus": {}}]}]}, "all[0].any[1]", "expected one of"),
        ({"all": [{"preset": "balanced"}]}, "all[0]", "expected one of"),
        ({"all": []}, "all", "must not be empty"),
        ({"drift": {"threshold": 0.1, "colour": 1}}, "drift.colour", "unknown key"),
        ({"drift": {}, "time": {}}, "time", "unknown key"),
        ({"performance": {"mode": "up"}}, "performance.mode", "'min' or 'max'"),
        ({"time": {"interval": "never"}}, "time.interval", "'never' is not allowed"),
        ({"any": [{"drift": {}}], "severity": "loud"}, "severity", "'info', 'warning' or 'critical'"),
        (
            {"data_volume": {"threshold_samples": None, "threshold_percentage": None}},
            "data_volume",
            "at least one",
        ),
        (
            {"preset": "balanced", "override": {"time": {"interval": "soon"}}},
            "override.time.interval",
            "invalid duration",
        ),
        ({"preset": "balanced", "override": {"drift": {"threshold": -1}}}, "override.drift.threshold", "≥ 0"),
        ({"preset": "balanced", "override": {"speed": {}}}, "override.speed", "'drift'"),
        (
            {"override": dict.fromkeys(["drift", "performance", "time", "data_volume"], False)},
            "override",
            "switched off",
        ),
        ("medium", "", "'conservative', 'balanced' or 'aggressive'"),
        (42, "", "expected a preset name"),
    ],
)
def test_invalid_shapes_raise_policy_error_naming_the_path(spec: Any, path: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        build_policy(spec)
    assert caught.value.path == path
    assert message in caught.value.message
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, ValueError)
    assert caught.value.problems == [(path, caught.value.message)]


def test_watch_defaults_apply_to_leaves(now: datetime) -> None:
    defaults = PolicyDefaults(
        performance_metric="auc", performance_mode="max", stale_after=timedelta(days=2), min_samples=500
    )
    policy = build_policy("balanced", defaults)
    drift, perf, age, volume = policy.leaves
    assert isinstance(perf, PerformanceTrigger) and (perf.metric_name, perf.mode) == ("auc", "max")
    assert (drift.stale_after, drift.min_samples) == (timedelta(days=2), 500)
    assert (perf.stale_after, perf.min_samples) == (timedelta(days=2), 500)
    assert (volume.stale_after, volume.min_samples) == (timedelta(days=2), 500)
    assert (age.stale_after, age.min_samples) == (None, None)  # age does not depend on fresh data
    few = Snapshot(drift_metrics={"js_divergence": 0.9}, window_count=10)
    report = policy.evaluate(few, now)
    assert not report.triggered and report.metadata is not None
    assert report.metadata["decision"] == "undecided" and report.metadata["undecided"] == ["drift"]


def test_leaf_metric_and_mode_beat_the_watch_defaults() -> None:
    policy = build_policy(
        {"performance": {"metric": "f1", "mode": "max"}}, PolicyDefaults(performance_metric="loss")
    )
    perf = policy.root
    assert isinstance(perf, PerformanceTrigger) and (perf.metric_name, perf.mode) == ("f1", "max")


def test_default_performance_leaf_and_volume_threshold() -> None:
    policy = build_policy(
        {"all": [{"performance": {}}, {"data_volume": {}}, {"time": {"interval": "PT12H"}}]}
    )
    perf, volume, age = policy.leaves
    assert isinstance(perf, PerformanceTrigger) and (perf.metric_name, perf.mode, perf.threshold) == (
        "val_loss",
        "min",
        0.05,
    )
    assert isinstance(volume, DataVolumeTrigger) and volume.threshold_percentage == 0.2
    assert isinstance(age, TimeTrigger) and age.interval_hours == 12.0


def test_time_leaf_critical_interval() -> None:
    age = build_policy({"time": {"interval": "1d", "critical_interval": "7d"}}).root
    assert isinstance(age, TimeTrigger) and age.critical_interval_hours == 168.0


def test_volume_samples_only() -> None:
    volume = build_policy({"data_volume": {"threshold_samples": 100}}).root
    assert isinstance(volume, DataVolumeTrigger)
    assert (volume.threshold_samples, volume.threshold_percentage) == (100, None)


def test_parsed_spec_is_accepted_as_is() -> None:
    spec = parse_policy({"any": [{"drift": {}}, {"time": {}}]})
    assert build_policy(spec).expression == "drift OR time"


def test_build_report_severity_is_the_roots_and_info_when_not_fired(now: datetime) -> None:
    fired_root = CompositeTrigger([DriftTrigger()], severity="critical").check(
        Snapshot(drift_metrics={"js_divergence": 0.5}), now
    )
    report = build_report(fired_root, [], now)
    assert report.triggered and report.severity == "critical"
    quiet_root = CompositeTrigger([DriftTrigger()], severity="critical").check(
        Snapshot(drift_metrics={"js_divergence": 0.0}), now
    )
    assert build_report(quiet_root, [], now).severity == "info"


def test_already_validated_nodes_are_accepted_inside_a_raw_policy() -> None:
    from retrain_sentinel.triggers.policy import (
        AllNode,
        DataVolumeLeaf,
        DataVolumeSpec,
        DriftLeaf,
        DriftSpec,
        PresetOverride,
        TimeLeaf,
    )

    policy = build_policy(
        {
            "any": [
                DriftLeaf(drift=DriftSpec(threshold=0.3)),
                DataVolumeLeaf(data_volume=DataVolumeSpec(threshold_samples=5)),
                AllNode(all=[TimeLeaf()]),  # every value left at its default
            ]
        }
    )
    drift, volume, age = policy.leaves
    assert isinstance(drift, DriftTrigger) and drift.threshold == 0.3
    assert isinstance(volume, DataVolumeTrigger) and volume.threshold_samples == 5
    assert isinstance(age, TimeTrigger) and age.interval_hours == 168.0
    assert parse_policy(PresetOverride()) == PresetOverride()


def test_duplicate_name_from_a_preset_override_names_the_override() -> None:
    with pytest.raises(PolicyError) as caught:
        build_policy({"preset": "balanced", "override": {"performance": {"name": "drift"}}})
    assert caught.value.path == "override.performance.name"
    assert "already used by the drift trigger" in caught.value.message
    assert build_policy({"override": {"performance": {"name": "perf"}}}).expression == (
        "drift OR perf OR time OR data_volume"
    )


def test_a_healthy_model_with_a_small_evaluation_set_is_not_undecided(now: datetime) -> None:
    # issue 12, item 3: 5,000 evaluation rows against 100,000 training rows, min_samples 500
    defaults = PolicyDefaults(performance_metric="accuracy", performance_mode="max", min_samples=500)
    policy = build_policy("aggressive", defaults)
    metrics = {
        "current_metrics": {"accuracy": 0.905},
        "baseline_metrics": {"accuracy": 0.91},
        "last_trained_at": now - timedelta(hours=1),
        "baseline_count": 100_000,
    }
    fixed = policy.evaluate(Snapshot(**metrics, window_count=5000), now)  # type: ignore[arg-type]
    assert fixed.metadata is not None and fixed.metadata["decision"] == "not_fired"
    assert "data_volume" in fixed.metadata["not_applicable"]
    # the evaluation set's size mapped as a cumulative count: undecided, and told which field to set
    misread = policy.evaluate(Snapshot(**metrics, current_count=5000), now)  # type: ignore[arg-type]
    assert misread.metadata is not None and misread.metadata["decision"] == "undecided"
    (volume,) = [d for d in misread.trigger_details if d.trigger_name == "data_volume"]
    assert "map it to window_count" in volume.reason
