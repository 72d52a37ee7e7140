"""Time trigger: fires when the model has gone ``interval`` without retraining."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.triggers.base import LeafTrigger
from retrain_sentinel.verdict import TriggerDetail

__all__ = ["TimeTrigger"]

_HOUR = 3600.0
_CLOCK_SKEW_HOURS = 5 / 60  # clocks of the registry and this host may differ by this much


class TimeTrigger(LeafTrigger):
    """``now - last_trained_at >= interval`` fires; ``critical_interval`` escalates.

    Age does not depend on fresh data, so the stale-data and sample guards do not apply.
    """

    kind = "time"
    reads_current_data = False

    def __init__(
        self,
        interval_hours: float = 168.0,
        severity: str = "info",
        name: str = "time_trigger",
        *,
        critical_interval_hours: float | None = None,
        **guards: Any,
    ) -> None:
        super().__init__(name=name, severity=severity, **guards)
        for field_name, value in (
            ("interval_hours", interval_hours),
            ("critical_interval_hours", critical_interval_hours),
        ):
            if value is not None and not value >= 0:
                raise ValueError(f"{field_name} must be >= 0, not {value}")
        self.interval_hours = float(interval_hours)
        self.critical_interval_hours = critical_interval_hours

    @property
    def interval(self) -> timedelta:
        return timedelta(hours=self.interval_hours)

    def applies_to(self, snapshot: Snapshot) -> bool:
        return snapshot.last_trained_at is not None

    def decide(self, snapshot: Snapshot, now: datetime) -> TriggerDetail:
        trained = snapshot.last_trained_at
        if trained is None:
            return self.undecided("No last training time provided")
        elapsed_hours = (now - trained).total_seconds() / _HOUR
        if elapsed_hours < -_CLOCK_SKEW_HOURS:  # a clock or timezone mistake, not a fresh model
            return self.undecided(
                f"Last training time {trained.isoformat()} is {-elapsed_hours:.1f} hours in the future"
            )
        metrics = {"last_training_time": trained.isoformat(), "elapsed_hours": elapsed_hours}
        fired = elapsed_hours >= self.interval_hours
        critical = (
            fired
            and self.critical_interval_hours is not None
            and elapsed_hours >= self.critical_interval_hours
        )
        if fired:
            reason = (
                f"{elapsed_hours:.1f} hours elapsed since last training (interval {self.interval_hours:g} h)"
            )
            if critical:
                reason += f", past the critical {self.critical_interval_hours:g} h"
        else:
            remaining = self.interval_hours - elapsed_hours
            reason = f"Trained {elapsed_hours:.1f} hours ago: {remaining:.1f} hours remaining"
        return self.detail(
            triggered=fired,
            reason=reason,
            metrics=metrics,
            threshold=self.interval_hours,
            actual_value=elapsed_hours,
            severity="critical" if critical else None,
        )
