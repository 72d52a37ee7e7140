"""The original API's trigger configs: plain values that validate themselves and build a trigger.

Kept for code written against the system this project grew from; new code configures policies in
YAML (``policy.py``). Each config round-trips through ``to_dict`` / ``from_dict`` and JSON files.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Self

from retrain_sentinel.jsonsafe import dumps
from retrain_sentinel.legacy.triggers import DataVolumeTrigger, DriftTrigger, PerformanceTrigger, TimeTrigger
from retrain_sentinel.triggers.base import LeafTrigger
from retrain_sentinel.triggers.presets import PRESETS, PresetName
from retrain_sentinel.verdict import validate_severity

__all__ = [
    "DataVolumeTriggerConfig",
    "DriftTriggerConfig",
    "PerformanceTriggerConfig",
    "TimeTriggerConfig",
    "TriggerConfig",
    "get_aggressive_config",
    "get_balanced_config",
    "get_conservative_config",
]


def _non_negative(config: object, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if value is not None and (isinstance(value, bool) or not value >= 0):
            raise ValueError(f"{name} must be a number >= 0, not {value!r}")


@dataclass
class TriggerConfig:
    """What every trigger config has; ``trigger_type`` in the dict picks the subclass on load."""

    name: str
    enabled: bool = True
    severity: str = "warning"
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    trigger_type: ClassVar[str] = "base"
    _registry: ClassVar[dict[str, type[TriggerConfig]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        TriggerConfig._registry[cls.trigger_type] = cls

    def __post_init__(self) -> None:
        validate_severity(self.severity)

    def to_dict(self) -> dict[str, Any]:
        return {"trigger_type": self.trigger_type, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        values = dict(data)
        kind = values.pop("trigger_type", cls.trigger_type)
        target = TriggerConfig._registry.get(kind, cls) if cls is TriggerConfig else cls
        known = {f.name for f in fields(target)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown field(s) for {target.__name__}: {', '.join(sorted(unknown))}")
        return target(**values)  # type: ignore[return-value]  # a subclass of cls when dispatched

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, path: str | Path) -> Self:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def create_trigger(self) -> LeafTrigger:
        raise NotImplementedError(f"{type(self).__name__} does not describe a concrete trigger")


@dataclass
class DriftTriggerConfig(TriggerConfig):
    name: str = "drift_trigger"  # the trigger's own default name, so ``DriftTriggerConfig()`` works
    threshold: float = 0.15
    metric_name: str = "js_divergence"
    window_size: int = 1000

    trigger_type: ClassVar[str] = "drift"

    def __post_init__(self) -> None:
        super().__post_init__()
        _non_negative(self, "threshold", "window_size")

    def create_trigger(self) -> DriftTrigger:
        return DriftTrigger(self.threshold, self.metric_name, self.severity, self.name)


@dataclass
class PerformanceTriggerConfig(TriggerConfig):
    name: str = "performance_trigger"  # the trigger's own default name, so ``PerformanceTriggerConfig()`` works
    threshold: float = 0.05
    metric_name: str = "val_loss"
    mode: str = "min"
    lookback_epochs: int = 5

    trigger_type: ClassVar[str] = "performance"

    def __post_init__(self) -> None:
        super().__post_init__()
        _non_negative(self, "threshold", "lookback_epochs")
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', not {self.mode!r}")

    def create_trigger(self) -> PerformanceTrigger:
        return PerformanceTrigger(self.threshold, self.metric_name, self.mode, self.severity, self.name)


@dataclass
class TimeTriggerConfig(TriggerConfig):
    name: str = "time_trigger"  # the trigger's own default name, so ``TimeTriggerConfig()`` works
    interval_hours: float = 168.0
    last_training_time: str | None = None

    trigger_type: ClassVar[str] = "time"

    def __post_init__(self) -> None:
        super().__post_init__()
        _non_negative(self, "interval_hours")

    def create_trigger(self) -> TimeTrigger:
        return TimeTrigger(self.interval_hours, self.severity, self.name)


@dataclass
class DataVolumeTriggerConfig(TriggerConfig):
    name: str = "data_volume_trigger"  # the trigger's own default name, so ``DataVolumeTriggerConfig()`` works
    threshold_samples: int | None = None
    threshold_percentage: float | None = 0.2
    baseline_count: int | None = None

    trigger_type: ClassVar[str] = "data_volume"

    def __post_init__(self) -> None:
        super().__post_init__()
        _non_negative(self, "threshold_samples", "threshold_percentage", "baseline_count")
        if self.threshold_samples is None and self.threshold_percentage is None:
            raise ValueError("at least one of threshold_samples or threshold_percentage is required")

    def create_trigger(self) -> DataVolumeTrigger:
        return DataVolumeTrigger(self.threshold_samples, self.threshold_percentage, self.severity, self.name)


def _preset_config(preset: PresetName) -> dict[str, TriggerConfig]:
    values = PRESETS[preset]
    return {
        "drift": DriftTriggerConfig(
            name="drift_trigger",
            severity=values.drift_severity,
            threshold=values.drift_threshold,
            description=f"{preset} preset: data drift",
        ),
        "performance": PerformanceTriggerConfig(
            name="performance_trigger",
            severity=values.performance_severity,
            threshold=values.performance_threshold,
            description=f"{preset} preset: performance degradation",
        ),
        "time": TimeTriggerConfig(
            name="time_trigger",
            severity=values.time_severity,
            interval_hours=values.time_interval_hours,
            description=f"{preset} preset: time since training",
        ),
        "data_volume": DataVolumeTriggerConfig(
            name="data_volume_trigger",
            severity=values.volume_severity,
            threshold_percentage=values.volume_percentage,
            description=f"{preset} preset: new data volume",
        ),
    }


def get_conservative_config() -> dict[str, TriggerConfig]:
    """Retrain rarely: only clear drift or degradation, and then loudly."""
    return _preset_config("conservative")


def get_balanced_config() -> dict[str, TriggerConfig]:
    """The default trade-off between retraining cost and model staleness."""
    return _preset_config("balanced")


def get_aggressive_config() -> dict[str, TriggerConfig]:
    """Retrain early: small drift, small degradation, every two days."""
    return _preset_config("aggressive")
