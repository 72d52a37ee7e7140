"""Data-volume trigger: fires when enough new data has arrived to be worth training on."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.triggers.base import LeafTrigger
from retrain_sentinel.verdict import TriggerDetail, finite_number

__all__ = ["DataVolumeTrigger"]


class DataVolumeTrigger(LeafTrigger):
    """Fires when ``new >= threshold_samples`` OR ``new / baseline_count >= threshold_percentage``.

    ``new`` is ``new_count`` when the source gives it, else ``current_count - baseline_count``
    (cumulative counts; ``window_count``, the samples behind the current metrics, is no input). The two rules are combined with three-valued OR, so a rule that cannot be
    judged (no baseline count for the percentage) leaves the verdict undecided only when the other
    rule did not fire. ``critical_threshold`` is a share of the baseline, like
    ``threshold_percentage``.
    """

    kind = "data_volume"
    needs_min_samples = False

    def __init__(
        self,
        threshold_samples: int | None = None,
        threshold_percentage: float | None = 0.2,
        severity: str = "info",
        name: str = "data_volume_trigger",
        *,
        critical_threshold: float | None = None,
        **guards: Any,
    ) -> None:
        super().__init__(name=name, severity=severity, **guards)
        if threshold_samples is None and threshold_percentage is None:
            raise ValueError("at least one of threshold_samples or threshold_percentage is required")
        for field_name, value in (
            ("threshold_samples", threshold_samples),
            ("threshold_percentage", threshold_percentage),
            ("critical_threshold", critical_threshold),
        ):
            if value is not None and not value >= 0:
                raise ValueError(f"{field_name} must be >= 0, not {value}")
        self.threshold_samples = threshold_samples
        self.threshold_percentage = threshold_percentage
        self.critical_threshold = critical_threshold

    def applies_to(self, snapshot: Snapshot) -> bool:
        return snapshot.new_count is not None or (
            snapshot.current_count is not None and snapshot.baseline_count is not None
        )

    def _new_samples(self, snapshot: Snapshot) -> tuple[float | None, str | None]:
        if snapshot.new_count is not None:
            new = finite_number(snapshot.new_count)
            if new is None or new < 0:
                return None, f"Invalid new sample count: {snapshot.new_count!r}"
            return new, None
        if snapshot.current_count is None or snapshot.baseline_count is None:
            return None, "Missing current or baseline sample count"
        current, baseline = finite_number(snapshot.current_count), finite_number(snapshot.baseline_count)
        if current is None or baseline is None or current < 0 or baseline < 0:
            return None, (
                f"Invalid sample counts: current {snapshot.current_count!r}, baseline {snapshot.baseline_count!r}"
            )
        if current < baseline:
            return None, (
                f"Current count {current:g} is below the baseline count {baseline:g}: current_count is a "
                "cumulative size (the baseline's samples plus the new ones); if "
                f"{current:g} is the samples behind the current metrics, map it to window_count instead, "
                "and give new_count or a cumulative current_count"
            )
        return current - baseline, None

    def decide(self, snapshot: Snapshot, now: datetime) -> TriggerDetail:
        new, problem = self._new_samples(snapshot)
        if new is None:
            return self.undecided(problem or "Missing sample counts")
        metrics: dict[str, Any] = {"new_samples": new}
        baseline = finite_number(snapshot.baseline_count)
        share: float | None = None
        if baseline is not None and baseline >= 0:
            share = new / baseline if baseline > 0 else (math.inf if new > 0 else 0.0)
            metrics["new_share"] = share
            metrics["baseline_count"] = baseline

        by_samples = self.threshold_samples is not None and new >= self.threshold_samples
        by_share = (
            self.threshold_percentage is not None and share is not None and share >= self.threshold_percentage
        )
        share_unknown = self.threshold_percentage is not None and share is None
        if not (by_samples or by_share) and share_unknown:
            return self.undecided(
                f"{new:g} new samples; baseline count unknown, so the {self.threshold_percentage:.0%} rule cannot be judged",
                metrics,
            )
        fired = by_samples or by_share
        critical = (
            fired
            and self.critical_threshold is not None
            and share is not None
            and share >= self.critical_threshold
        )
        described = f"{new:g} new samples" + (f" ({share:.1%} of baseline)" if share is not None else "")
        rules = []
        if self.threshold_samples is not None:
            rules.append(f"{self.threshold_samples:g} samples")
        if self.threshold_percentage is not None:
            rules.append(f"{self.threshold_percentage:.0%} of baseline")
        reason = f"{described} {'reached' if fired else 'below'} threshold {' or '.join(rules)}"
        return self.detail(
            triggered=fired,
            reason=reason,
            metrics=metrics,
            threshold=float(self.threshold_samples)
            if self.threshold_samples is not None
            else self.threshold_percentage,
            actual_value=new,
            severity="critical" if critical else None,
        )
