"""The three presets, as one table: DESIGN §4 is the contract for these numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from retrain_sentinel.triggers.base import Severity

__all__ = ["DEFAULT_PRESET", "PRESETS", "PresetName", "PresetValues"]

PresetName = Literal["conservative", "balanced", "aggressive"]
DEFAULT_PRESET: PresetName = "balanced"


@dataclass(frozen=True)
class PresetValues:
    drift_threshold: float
    drift_severity: Severity
    performance_threshold: float
    performance_severity: Severity
    time_interval_hours: float
    time_severity: Severity
    volume_percentage: float
    volume_severity: Severity


PRESETS: dict[PresetName, PresetValues] = {
    "conservative": PresetValues(0.20, "critical", 0.10, "critical", 336.0, "info", 0.30, "info"),
    "balanced": PresetValues(0.15, "warning", 0.05, "warning", 168.0, "info", 0.20, "info"),
    "aggressive": PresetValues(0.10, "warning", 0.03, "warning", 48.0, "info", 0.10, "info"),
}
