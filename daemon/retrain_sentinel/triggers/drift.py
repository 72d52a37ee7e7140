"""Drift trigger: fires when a logged or computed drift score exceeds its threshold."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.triggers.base import LeafTrigger
from retrain_sentinel.verdict import TriggerDetail, finite_number

__all__ = ["DriftTrigger"]


def _non_negative(value: float | None, field_name: str) -> None:
    if value is not None and not value >= 0:
        raise ValueError(f"{field_name} must be >= 0, not {value}")


class DriftTrigger(LeafTrigger):
    """``drift_metrics[metric_name] > threshold`` fires; ``critical_threshold`` escalates."""

    kind = "drift"

    def __init__(
        self,
        threshold: float = 0.15,
        metric_name: str = "js_divergence",
        severity: str = "warning",
        name: str = "drift_trigger",
        *,
        critical_threshold: float | None = None,
        **guards: Any,
    ) -> None:
        super().__init__(name=name, severity=severity, **guards)
        _non_negative(threshold, "threshold")
        _non_negative(critical_threshold, "critical_threshold")
        self.threshold = float(threshold)
        self.metric_name = metric_name
        self.critical_threshold = critical_threshold

    def applies_to(self, snapshot: Snapshot) -> bool:
        return snapshot.drift_metrics is not None and self.metric_name in snapshot.drift_metrics

    def decide(self, snapshot: Snapshot, now: datetime) -> TriggerDetail:
        drift = snapshot.drift_metrics
        if not drift:
            return self.undecided("No drift metrics provided")
        if self.metric_name not in drift:
            return self.undecided(f"Drift metric '{self.metric_name}' not found in drift metrics")
        raw = drift[self.metric_name]
        value = finite_number(raw)
        metrics: dict[str, Any] = {self.metric_name: raw}
        if value is None or value < 0:
            return self.undecided(f"Drift metric '{self.metric_name}' is not a valid score: {raw!r}", metrics)
        fired = value > self.threshold
        critical = fired and self.critical_threshold is not None and value > self.critical_threshold
        if fired:
            reason = f"Drift {self.metric_name} = {value:.4g} exceeds threshold {self.threshold:g}"
            if critical:
                reason += f" (critical above {self.critical_threshold:g})"
        else:
            reason = f"Drift {self.metric_name} = {value:.4g} within threshold {self.threshold:g}"
        return self.detail(
            triggered=fired,
            reason=reason,
            metrics=metrics,
            threshold=self.threshold,
            actual_value=value,
            severity="critical" if critical else None,
        )
