"""What every built-in trigger shares: the ``Trigger`` protocol and the leaf plumbing.

A trigger is a pure decision: ``check(snapshot, now)`` reads values and returns a ``TriggerDetail``
that is *fired*, *not fired* or *undecided* — never an exception, because one bad metric must not
stop the daemon from judging the other models. Nothing here reads a clock: ``now`` comes in. The
original API's keyword ``evaluate(...)`` and its clock live in ``legacy/``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.verdict import Severity, TriggerDetail, finite_number, validate_severity

__all__ = ["LeafTrigger", "Trigger"]


@runtime_checkable
class Trigger(Protocol):
    """The pure decision every built-in trigger makes."""

    name: str

    def check(self, snapshot: Snapshot, now: datetime) -> TriggerDetail: ...


class LeafTrigger:
    """Shared plumbing of the built-in leaf triggers.

    ``stale_after`` and ``min_samples`` are watch-level guards: data older than ``stale_after`` or
    backed by fewer than ``min_samples`` samples (the snapshot's ``window_count``, never the
    volume trigger's cumulative counts) cannot support a decision, so triggers that read
    current data (``reads_current_data``) report undecided instead. ``min_samples`` guards only the
    triggers whose score needs enough samples to mean anything (``needs_min_samples``): a small
    count is exactly what the data-volume trigger measures, so it judges it instead.
    """

    kind: str = "leaf"
    reads_current_data: bool = True
    needs_min_samples: bool = True

    def __init__(
        self,
        *,
        name: str,
        severity: str,
        stale_after: timedelta | None = None,
        min_samples: int | None = None,
    ) -> None:
        self.name = name
        self.severity: Severity = validate_severity(severity)
        if min_samples is not None and min_samples < 0:
            raise ValueError(f"min_samples must be >= 0, not {min_samples}")
        self.stale_after = stale_after
        self.min_samples = min_samples

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def check(self, snapshot: Snapshot, now: datetime) -> TriggerDetail:
        problem = self.guard(snapshot, now) if self.reads_current_data else None
        if problem is not None:
            return self.undecided(problem)
        return self.decide(snapshot, now)

    def decide(self, snapshot: Snapshot, now: datetime) -> TriggerDetail:
        raise NotImplementedError

    def applies_to(self, snapshot: Snapshot) -> bool:
        """Whether the snapshot has this trigger's input at all (presets skip the others)."""
        raise NotImplementedError

    def guard(self, snapshot: Snapshot, now: datetime) -> str | None:
        if self.stale_after is not None and snapshot.observed_at is not None:
            age = now - snapshot.observed_at
            if age > self.stale_after:
                return (
                    f"Current data is stale: observed {age.total_seconds() / 3600:.1f} h ago "
                    f"(stale after {self.stale_after.total_seconds() / 3600:g} h)"
                )
        if self.min_samples is not None and self.needs_min_samples:
            samples = snapshot.sample_count
            if samples is None:
                return (
                    f"Sample count unknown: min_samples {self.min_samples} reads the snapshot's window_count "
                    "(the samples behind the current metrics), which the source did not give; map it: "
                    "counts.window, or a window_count column in a queries: source"
                )
            number = finite_number(samples)
            if number is None or number < self.min_samples:
                shown = f"{number:g}" if number is not None else repr(samples)
                return f"Too few samples: window_count {shown} < min_samples {self.min_samples}"
        return None

    def detail(
        self,
        *,
        triggered: bool,
        reason: str,
        metrics: dict[str, Any] | None = None,
        threshold: float | None = None,
        actual_value: float | None = None,
        severity: str | None = None,
    ) -> TriggerDetail:
        return TriggerDetail(
            trigger_name=self.name,
            triggered=triggered,
            severity=severity or self.severity,
            reason=reason,
            metrics=metrics or {},
            threshold=threshold,
            actual_value=actual_value,
            kind=self.kind,
        )

    def undecided(self, reason: str, metrics: dict[str, Any] | None = None) -> TriggerDetail:
        detail = self.detail(triggered=False, reason=reason, metrics=metrics)
        detail.undecided = True
        return detail
