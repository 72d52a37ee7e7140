"""The three presets, as one table: DESIGN §4 is the contract for these numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from retrain_sentinel.verdict import Severity

__all__ = ["DEFAULT_PRESET", "PRESETS", "PresetName", "PresetValues", "preset_policy_yaml"]

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


def preset_policy_yaml(name: PresetName) -> str:
    """The preset written out as an explicit ``policy:`` (the text of ``config/presets/<name>.yaml``).

    Users copy it to tune one threshold of a preset; the comment says the one way the copy differs.
    """
    v = PRESETS[name]
    default = " (the default)" if name == DEFAULT_PRESET else ""
    return f"""\
# The `{name}` preset{default} written out as an explicit policy: any of the four triggers fires.
# Generated from the code by `retrain-sentinel presets {name} --format yaml`; do not edit by hand.
#
# Copy it under a model's `policy:` to tune it. One difference: as a preset (`policy: {name}`),
# a trigger whose input is missing from the snapshot (no drift scores, no sample counts, ...) is
# skipped as not applicable; in an explicit tree like this one it is judged, so it is undecided.
any:
  - drift: {{threshold: {v.drift_threshold:g}, severity: {v.drift_severity}}}
  - performance: {{threshold: {v.performance_threshold:g}, severity: {v.performance_severity}}}
  - time: {{interval: {v.time_interval_hours:g}h, severity: {v.time_severity}}}
  - data_volume: {{threshold_percentage: {v.volume_percentage:g}, severity: {v.volume_severity}}}
name: {name}
"""
