"""What every trigger shares: severities, the detail it returns, the protocols, the legacy wrapper.

A trigger is a pure decision: ``check(snapshot, now)`` reads values and returns a ``TriggerDetail``
that is *fired*, *not fired* or *undecided* — never an exception, because one bad metric must not
stop the daemon from judging the other models. The keyword ``evaluate(...)`` of the original API is
a thin wrapper that turns its dictionaries into a ``Snapshot``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, runtime_checkable

from retrain_sentinel.snapshot import Snapshot

__all__ = [
    "SEVERITIES",
    "Clock",
    "LeafTrigger",
    "RetrainingTrigger",
    "Severity",
    "Trigger",
    "TriggerDetail",
    "failed_detail",
    "max_severity",
    "parse_training_time",
    "severity_rank",
    "system_clock",
    "validate_severity",
]

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
DecisionState = Literal["fired", "not_fired", "undecided"]
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(validate_severity(severity))


def validate_severity(severity: str, field_name: str = "severity") -> Severity:
    if severity not in SEVERITIES:
        raise ValueError(f"{field_name} must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    return severity


def max_severity(severities: Iterable[str], default: Severity = "info") -> Severity:
    ranked = [validate_severity(s) for s in severities]
    return max(ranked, key=SEVERITIES.index) if ranked else default


@dataclass
class TriggerDetail:
    """One trigger's verdict with the numbers behind it.

    Field order is the original API's, so positional callers keep working; ``undecided`` and ``kind``
    came later and have defaults.
    """

    trigger_name: str
    triggered: bool
    severity: str
    reason: str
    metrics: dict[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    actual_value: float | None = None
    undecided: bool = False
    kind: str | None = None

    @property
    def state(self) -> DecisionState:
        if self.undecided:
            return "undecided"
        return "fired" if self.triggered else "not_fired"

    def to_dict(self) -> dict[str, Any]:
        return {
            "trigger_name": self.trigger_name,
            "triggered": self.triggered,
            "severity": self.severity,
            "reason": self.reason,
            "metrics": dict(self.metrics),
            "threshold": self.threshold,
            "actual_value": self.actual_value,
            "undecided": self.undecided,
            "kind": self.kind,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TriggerDetail:
        def number(value: Any) -> float | None:
            return float(value) if value is not None else None  # "inf"/"nan" strings parse too

        return cls(
            trigger_name=data["trigger_name"],
            triggered=bool(data["triggered"]),
            severity=data["severity"],
            reason=data["reason"],
            metrics=dict(data.get("metrics") or {}),
            threshold=number(data.get("threshold")),
            actual_value=number(data.get("actual_value")),
            undecided=bool(data.get("undecided", False)),
            kind=data.get("kind"),
        )


def failed_detail(name: str, exc: Exception) -> TriggerDetail:
    """The verdict of a user's trigger that raised: undecided, saying why, never an exception."""
    return TriggerDetail(
        trigger_name=name,
        triggered=False,
        severity="info",
        reason=f"Trigger raised {type(exc).__name__}: {exc}",
        undecided=True,
    )


@runtime_checkable
class RetrainingTrigger(Protocol):
    """The original API: anything with this ``evaluate`` works in a composite and in the manager."""

    def evaluate(
        self,
        drift_metrics: Mapping[str, Any] | None = None,
        current_metrics: Mapping[str, Any] | None = None,
        baseline_metrics: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> TriggerDetail: ...


@runtime_checkable
class Trigger(Protocol):
    """The pure decision every built-in trigger makes."""

    name: str

    def check(self, snapshot: Snapshot, now: datetime) -> TriggerDetail: ...


def finite_number(value: Any) -> float | None:
    """``value`` as a float when it is a real, finite number; ``None`` otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def parse_training_time(value: Any) -> datetime:
    """An ISO string or datetime as aware UTC; naive values are local time, as ``datetime.now()`` gives."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    else:
        raise ValueError(f"expected an ISO 8601 string or datetime, got {type(value).__name__}")
    if moment.tzinfo is None:
        moment = moment.astimezone()  # interpret as local time
    return moment.astimezone(UTC)


def legacy_snapshot(
    drift_metrics: Mapping[str, Any] | None,
    current_metrics: Mapping[str, Any] | None,
    baseline_metrics: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
) -> tuple[Snapshot, str | None]:
    """The original keyword arguments as a snapshot, plus why the training time could not be read."""
    meta = dict(metadata or {})
    trained_at: datetime | None = None
    time_problem: str | None = None
    raw_time = meta.get("last_training_time")
    if raw_time is not None:
        try:
            trained_at = parse_training_time(raw_time)
        except (ValueError, TypeError) as exc:
            time_problem = f"Invalid timestamp for last training time {raw_time!r}: {exc}"
    snapshot = Snapshot(
        current_metrics=current_metrics,
        baseline_metrics=baseline_metrics,
        drift_metrics=drift_metrics,
        last_trained_at=trained_at,
        baseline_count=meta.get("baseline_count"),
        current_count=meta.get("current_count"),
        new_count=meta.get("new_count"),
    )
    return snapshot, time_problem


class LeafTrigger:
    """Shared plumbing of the built-in leaf triggers.

    ``stale_after`` and ``min_samples`` are watch-level guards: data older than ``stale_after`` or
    backed by fewer than ``min_samples`` samples cannot support a decision, so triggers that read
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
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.severity: Severity = validate_severity(severity)
        if min_samples is not None and min_samples < 0:
            raise ValueError(f"min_samples must be >= 0, not {min_samples}")
        self.stale_after = stale_after
        self.min_samples = min_samples
        self.clock: Clock = clock or system_clock

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
                return f"Sample count unknown (min_samples {self.min_samples})"
            number = finite_number(samples)
            if number is None or number < self.min_samples:
                return f"Too few samples: {samples} < min_samples {self.min_samples}"
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

    def evaluate(
        self,
        drift_metrics: Mapping[str, Any] | None = None,
        current_metrics: Mapping[str, Any] | None = None,
        baseline_metrics: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> TriggerDetail:
        """The original API: dictionaries in, a detail out (``now`` from the trigger's clock)."""
        snapshot, _ = legacy_snapshot(drift_metrics, current_metrics, baseline_metrics, metadata)
        return self.check(snapshot, self.clock())
