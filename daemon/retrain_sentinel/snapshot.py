"""The value every trigger reads.

A snapshot is what a source could learn about one model at one moment. Missing parts stay ``None``:
a trigger that needs them reports that it could not decide instead of guessing, so a gap in the
user's data never looks like a healthy model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

__all__ = ["Provenance", "Snapshot"]


@dataclass(frozen=True)
class Provenance:
    """Where each part of a snapshot came from, so a report can be traced back to its inputs."""

    source: str | None = None
    registry_model: str | None = None
    model_version: str | None = None
    baseline_rule: str | None = None
    baseline_run_id: str | None = None
    current_run_id: str | None = None
    data_window: str | None = None
    drift_source: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "model": self.registry_model,  # the stored key keeps its name
            "model_version": self.model_version,
            "baseline_rule": self.baseline_rule,
            "baseline_run_id": self.baseline_run_id,
            "current_run_id": self.current_run_id,
            "data_window": self.data_window,
            "drift_source": self.drift_source,
            "extra": dict(self.extra),
        }


def _aware_utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware; convert naive times at the source boundary")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Snapshot:
    """Metrics, counts and times for one model, as read by a source.

    Times are aware UTC (naive times are rejected, because the source alone knows which timezone its
    naive values mean). Counts are kept as given, negative or not: judging them is the triggers' job.

    Two kinds of count, never mixed: ``baseline_count``, ``current_count`` and ``new_count`` are the
    data-volume trigger's inputs (cumulative sizes as in the original API: ``current`` is the
    baseline's samples plus the new ones, or ``new`` directly); ``window_count`` is the number of
    samples behind the current metrics, which ``min_samples`` reads. Reading one as the other made
    a healthy model with 5,000 evaluation rows against 100,000 training rows undecided.
    """

    current_metrics: Mapping[str, float] | None = None
    baseline_metrics: Mapping[str, float] | None = None
    drift_metrics: Mapping[str, float] | None = None
    last_trained_at: datetime | None = None
    baseline_count: float | None = None
    current_count: float | None = None
    new_count: float | None = None
    observed_at: datetime | None = None
    provenance: Provenance = field(default_factory=Provenance)
    window_count: float | None = None  # last, so the older fields keep their positions

    def __post_init__(self) -> None:
        object.__setattr__(self, "last_trained_at", _aware_utc(self.last_trained_at, "last_trained_at"))
        object.__setattr__(self, "observed_at", _aware_utc(self.observed_at, "observed_at"))

    @property
    def sample_count(self) -> float | None:
        """Samples behind the current metrics (what ``min_samples`` reads): ``window_count`` only,
        never a cumulative count standing in for it."""
        return self.window_count

    def replace(self, **changes: Any) -> Snapshot:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        def metrics(value: Mapping[str, float] | None) -> dict[str, float] | None:
            return dict(value) if value is not None else None

        return {
            "current_metrics": metrics(self.current_metrics),
            "baseline_metrics": metrics(self.baseline_metrics),
            "drift_metrics": metrics(self.drift_metrics),
            "last_trained_at": iso(self.last_trained_at),
            "baseline_count": self.baseline_count,
            "current_count": self.current_count,
            "new_count": self.new_count,
            "window_count": self.window_count,
            "observed_at": iso(self.observed_at),
            "provenance": self.provenance.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        def when(value: Any) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        prov = dict(data.get("provenance") or {})
        if "model" in prov:  # the stored key keeps the name it had before the field was renamed
            prov["registry_model"] = prov.pop("model")
        return cls(
            current_metrics=data.get("current_metrics"),
            baseline_metrics=data.get("baseline_metrics"),
            drift_metrics=data.get("drift_metrics"),
            last_trained_at=when(data.get("last_trained_at")),
            baseline_count=data.get("baseline_count"),
            current_count=data.get("current_count"),
            new_count=data.get("new_count"),
            window_count=data.get("window_count"),  # absent in snapshots stored before it existed
            observed_at=when(data.get("observed_at")),
            provenance=Provenance(**prov),
        )
