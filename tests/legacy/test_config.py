"""The original API's trigger configs and preset getters (DESIGN §4 values, §5 names)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrain_sentinel import (
    DataVolumeTrigger,
    DataVolumeTriggerConfig,
    DriftTrigger,
    DriftTriggerConfig,
    PerformanceTrigger,
    PerformanceTriggerConfig,
    TimeTrigger,
    TimeTriggerConfig,
    TriggerConfig,
    get_aggressive_config,
    get_balanced_config,
    get_conservative_config,
)


def test_base_config_fields_and_defaults() -> None:
    config = TriggerConfig("custom")
    assert (config.name, config.enabled, config.severity, config.description, config.metadata) == (
        "custom",
        True,
        "warning",
        "",
        {},
    )
    assert config.to_dict() == {
        "trigger_type": "base",
        "name": "custom",
        "enabled": True,
        "severity": "warning",
        "description": "",
        "metadata": {},
    }


def test_subclass_defaults_match_the_original() -> None:
    drift = DriftTriggerConfig(name="d")
    perf = PerformanceTriggerConfig(name="p")
    age = TimeTriggerConfig(name="t")
    volume = DataVolumeTriggerConfig(name="v")
    assert (drift.threshold, drift.metric_name, drift.window_size) == (0.15, "js_divergence", 1000)
    assert (perf.threshold, perf.metric_name, perf.mode, perf.lookback_epochs) == (0.05, "val_loss", "min", 5)
    assert (age.interval_hours, age.last_training_time) == (168.0, None)
    assert (volume.threshold_samples, volume.threshold_percentage, volume.baseline_count) == (None, 0.2, None)


def test_subclasses_need_no_name() -> None:
    assert DriftTriggerConfig(threshold=0.2).name == "drift_trigger"
    assert PerformanceTriggerConfig().create_trigger().name == "performance_trigger"
    assert TimeTriggerConfig().name == "time_trigger"
    assert DataVolumeTriggerConfig().name == "data_volume_trigger"


@pytest.mark.parametrize(
    "config",
    [
        DriftTriggerConfig(
            name="d", threshold=0.3, metric_name="psi", severity="critical", metadata={"a": 1}
        ),
        PerformanceTriggerConfig(name="p", threshold=0.1, metric_name="acc", mode="max", lookback_epochs=3),
        TimeTriggerConfig(name="t", interval_hours=24, last_training_time="2024-01-01T00:00:00Z"),
        DataVolumeTriggerConfig(
            name="v", threshold_samples=100, threshold_percentage=None, baseline_count=10
        ),
        TriggerConfig(name="base", enabled=False, description="x"),
    ],
)
def test_dict_and_json_round_trip(config: TriggerConfig, tmp_path: Path) -> None:
    assert type(config).from_dict(config.to_dict()) == config
    assert TriggerConfig.from_dict(config.to_dict()) == config  # the type tag picks the class
    path = tmp_path / "config.json"
    config.to_json(path)
    assert json.loads(path.read_text())["name"] == config.name
    assert type(config).from_json(path) == config
    assert TriggerConfig.from_json(str(path)) == config


def test_from_dict_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError, match="unknown field"):
        DriftTriggerConfig.from_dict({"name": "d", "thresold": 0.1})


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: DriftTriggerConfig(name="d", threshold=-0.1), "threshold"),
        (lambda: DriftTriggerConfig(name="d", window_size=-1), "window_size"),
        (lambda: PerformanceTriggerConfig(name="p", threshold=-1), "threshold"),
        (lambda: PerformanceTriggerConfig(name="p", mode="up"), "mode"),
        (lambda: PerformanceTriggerConfig(name="p", lookback_epochs=-1), "lookback_epochs"),
        (lambda: TimeTriggerConfig(name="t", interval_hours=-1), "interval_hours"),
        (lambda: DataVolumeTriggerConfig(name="v", threshold_samples=-1), "threshold_samples"),
        (lambda: DataVolumeTriggerConfig(name="v", threshold_percentage=-0.5), "threshold_percentage"),
        (lambda: DataVolumeTriggerConfig(name="v", baseline_count=-1), "baseline_count"),
        (lambda: TriggerConfig(name="x", severity="fatal"), "severity"),
        (lambda: DriftTriggerConfig(name="d", severity="urgent"), "severity"),
        (lambda: DriftTriggerConfig(name="d", threshold=True), "threshold"),
    ],
)
def test_invalid_values_raise_value_error_naming_the_field(build: object, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        build()  # type: ignore[operator]


def test_volume_config_needs_at_least_one_threshold() -> None:
    with pytest.raises(ValueError, match="at least one"):
        DataVolumeTriggerConfig(name="v", threshold_samples=None, threshold_percentage=None)


def test_configs_build_their_triggers() -> None:
    drift = DriftTriggerConfig(
        name="d", threshold=0.3, metric_name="psi", severity="critical"
    ).create_trigger()
    assert isinstance(drift, DriftTrigger)
    assert (drift.name, drift.threshold, drift.metric_name, drift.severity) == ("d", 0.3, "psi", "critical")
    perf = PerformanceTriggerConfig(name="p", threshold=0.1, metric_name="acc", mode="max").create_trigger()
    assert isinstance(perf, PerformanceTrigger) and (perf.metric_name, perf.mode, perf.threshold) == (
        "acc",
        "max",
        0.1,
    )
    age = TimeTriggerConfig(name="t", interval_hours=24, severity="info").create_trigger()
    assert isinstance(age, TimeTrigger) and age.interval_hours == 24
    volume = DataVolumeTriggerConfig(
        name="v", threshold_samples=5, threshold_percentage=None
    ).create_trigger()
    assert isinstance(volume, DataVolumeTrigger) and (
        volume.threshold_samples,
        volume.threshold_percentage,
    ) == (5, None)


def test_base_config_describes_no_trigger() -> None:
    with pytest.raises(NotImplementedError):
        TriggerConfig(name="x").create_trigger()


@pytest.mark.parametrize(
    ("getter", "expected"),
    [
        (get_conservative_config, (0.20, 0.10, 336.0, 0.30, "critical")),
        (get_balanced_config, (0.15, 0.05, 168.0, 0.20, "warning")),
        (get_aggressive_config, (0.10, 0.03, 48.0, 0.10, "warning")),
    ],
)
def test_preset_configs_have_design_values(
    getter: object, expected: tuple[float, float, float, float, str]
) -> None:
    drift, perf, hours, volume, severity = expected
    configs = getter()  # type: ignore[operator]
    assert set(configs) == {"drift", "performance", "time", "data_volume"}
    assert isinstance(configs["drift"], DriftTriggerConfig)
    assert (configs["drift"].threshold, configs["drift"].severity, configs["drift"].metric_name) == (
        drift,
        severity,
        "js_divergence",
    )
    assert (configs["performance"].threshold, configs["performance"].severity) == (perf, severity)
    assert (configs["time"].interval_hours, configs["time"].severity) == (hours, "info")
    assert (configs["data_volume"].threshold_percentage, configs["data_volume"].severity) == (volume, "info")
    triggers = {key: config.create_trigger() for key, config in configs.items()}
    assert [t.name for t in triggers.values()] == [
        "drift_trigger",
        "performance_trigger",
        "time_trigger",
        "data_volume_trigger",
    ]


def test_preset_getters_return_fresh_objects() -> None:
    first = get_balanced_config()
    first["drift"].threshold = 0.9  # type: ignore[attr-defined]
    assert get_balanced_config()["drift"].threshold == 0.15  # type: ignore[attr-defined]


def test_to_json_writes_strict_json(tmp_path: Path) -> None:
    config = DriftTriggerConfig(name="d", metadata={"ratio": float("nan")})
    path = tmp_path / "drift.json"
    config.to_json(path)
    loaded = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    assert loaded["metadata"] == {"ratio": "nan"}
