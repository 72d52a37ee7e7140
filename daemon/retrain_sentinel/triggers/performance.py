"""Performance trigger: fires when a metric degrades relative to the baseline or crosses a bound."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.triggers.base import LeafTrigger
from retrain_sentinel.verdict import TriggerDetail, finite_number

__all__ = ["PerformanceTrigger", "degradation"]

Mode = Literal["min", "max"]


def degradation(current: float, baseline: float, mode: str) -> float:
    """Signed relative degradation: positive is worse, whatever the metric's direction.

    A zero baseline has no scale: equal values are no change, anything else is infinitely better or
    worse by direction.
    """
    if baseline == 0:
        change = 0.0 if current == 0 else math.copysign(math.inf, current)
    else:
        change = (current - baseline) / abs(baseline)
    return change if mode == "min" else -change


class PerformanceTrigger(LeafTrigger):
    """Relative degradation above ``threshold`` fires; so do the optional absolute bounds."""

    kind = "performance"

    def __init__(
        self,
        threshold: float = 0.05,
        metric_name: str = "val_loss",
        mode: str = "min",
        severity: str = "warning",
        name: str = "performance_trigger",
        *,
        min_value: float | None = None,
        max_value: float | None = None,
        critical_threshold: float | None = None,
        **guards: Any,
    ) -> None:
        super().__init__(name=name, severity=severity, **guards)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', not {mode!r}")
        for field_name, value in (("threshold", threshold), ("critical_threshold", critical_threshold)):
            if value is not None and not value >= 0:
                raise ValueError(f"{field_name} must be >= 0, not {value}")
        self.threshold = float(threshold)
        self.metric_name = metric_name
        self.mode: Mode = mode  # type: ignore[assignment]  # checked above
        self.min_value = min_value
        self.max_value = max_value
        self.critical_threshold = critical_threshold

    def applies_to(self, snapshot: Snapshot) -> bool:
        return all(
            metrics is not None and self.metric_name in metrics
            for metrics in (snapshot.current_metrics, snapshot.baseline_metrics)
        )

    def _bound_breach(self, current: float) -> str | None:
        if self.min_value is not None and current < self.min_value:
            return f"{self.metric_name} = {current:.4g} below min_value {self.min_value:g}"
        if self.max_value is not None and current > self.max_value:
            return f"{self.metric_name} = {current:.4g} above max_value {self.max_value:g}"
        return None

    def decide(self, snapshot: Snapshot, now: datetime) -> TriggerDetail:
        current_metrics, baseline_metrics = snapshot.current_metrics, snapshot.baseline_metrics
        has_bounds = self.min_value is not None or self.max_value is not None
        if current_metrics is None or (baseline_metrics is None and not has_bounds):
            return self.undecided("Missing current or baseline metrics")
        if self.metric_name not in current_metrics:
            return self.undecided(f"Metric '{self.metric_name}' not found in current metrics")
        raw_current = current_metrics[self.metric_name]
        current = finite_number(raw_current)
        metrics: dict[str, Any] = {"current": raw_current, "metric": self.metric_name, "mode": self.mode}
        if current is None:
            return self.undecided(
                f"Metric '{self.metric_name}' is not a finite number: {raw_current!r}", metrics
            )
        breach = self._bound_breach(current)

        relative_problem: str | None = None
        change: float | None = None
        baseline: float | None = None
        if baseline_metrics is None:
            relative_problem = "Missing baseline metrics"
        elif self.metric_name not in baseline_metrics:
            relative_problem = f"Metric '{self.metric_name}' not found in baseline metrics"
        else:
            raw_baseline = baseline_metrics[self.metric_name]
            metrics["baseline"] = raw_baseline
            baseline = finite_number(raw_baseline)
            if baseline is None:
                relative_problem = f"Baseline '{self.metric_name}' is not a finite number: {raw_baseline!r}"
            else:
                change = degradation(current, baseline, self.mode)
                metrics["degradation"] = change

        relative_fired = change is not None and change > self.threshold
        if breach is None and not relative_fired and relative_problem is not None:
            return self.undecided(relative_problem, metrics)

        fired = relative_fired or breach is not None
        critical = (
            relative_fired
            and self.critical_threshold is not None
            and change is not None
            and change > self.critical_threshold
        )
        reason = self._reason(current, baseline, change, breach, fired)
        return self.detail(
            triggered=fired,
            reason=reason + (f" (critical above {self.critical_threshold:.1%})" if critical else ""),
            metrics=metrics,
            threshold=self.threshold,
            actual_value=change,
            severity="critical" if critical else None,
        )

    def _reason(
        self, current: float, baseline: float | None, change: float | None, breach: str | None, fired: bool
    ) -> str:
        # ``baseline`` is the parsed number: a raw value may be a numeric string ("0.40") that
        # cannot be formatted as a float.
        parts: list[str] = []
        if change is not None and baseline is not None:
            move = f"{self.metric_name} {baseline:.4g} → {current:.4g}"
            if change > self.threshold:
                parts.append(
                    f"Performance degradation of {change:.1%} ({move}) exceeds threshold {self.threshold:.1%}"
                )
            elif not fired:
                parts.append(
                    f"Performance stable: degradation {change:.1%} ({move}) within threshold {self.threshold:.1%}"
                )
        if breach is not None:
            parts.append(f"Performance degradation: {breach}")
        # No other case: without a relative change and without a breach the verdict is undecided,
        # returned before the reason is written.
        return "; ".join(parts)
