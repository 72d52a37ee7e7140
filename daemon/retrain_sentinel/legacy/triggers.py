"""The original API's triggers: keyword ``evaluate(...)`` over dictionaries, ``now`` from a clock.

Each class here is the pure trigger of ``triggers/`` plus what the original API gave it: a clock it
reads itself and an ``evaluate`` that turns the keyword dictionaries into a ``Snapshot``. The policy
builder never uses these; code written against the original API does, and keeps working.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from retrain_sentinel.clock import Clock, system_clock
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.triggers import composite, drift, performance, time, volume
from retrain_sentinel.triggers.base import LeafTrigger, Trigger
from retrain_sentinel.verdict import TriggerDetail, failed_detail

__all__ = [
    "CompositeTrigger",
    "DataVolumeTrigger",
    "DriftTrigger",
    "LegacyTriggerAdapter",
    "PerformanceTrigger",
    "RetrainingTrigger",
    "TimeTrigger",
    "as_trigger",
    "legacy_snapshot",
    "parse_training_time",
]


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


class _Clocked:
    """The clock the original API's triggers read themselves (``now`` comes from it in ``evaluate``).

    Placed before the pure trigger in each class's bases, so ``clock`` is the one keyword argument
    added to the pure constructor; everything else is passed through unchanged.
    """

    clock: Clock

    def __init__(self, *args: Any, clock: Clock | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # the pure trigger's, next in the MRO
        self.clock = clock or system_clock

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Show each class's real constructor (the pure one plus ``clock``) to ``help()`` and IDEs."""
        super().__init_subclass__(**kwargs)
        pure = next(k for k in cls.__mro__ if "__init__" in vars(k) and not issubclass(k, _Clocked))
        params = list(inspect.signature(pure.__init__).parameters.values())[1:]
        clock = inspect.Parameter("clock", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="Clock | None")
        tail = [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
        head = [p for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD]
        cls.__signature__ = inspect.Signature([*head, clock, *tail])  # type: ignore[attr-defined]


class _Keyword(_Clocked, LeafTrigger):
    """The original API's half of a leaf trigger: its clock and the keyword ``evaluate``."""

    reads_training_time = False  # only the time trigger reports an unreadable training time

    def evaluate(
        self,
        drift_metrics: Mapping[str, Any] | None = None,
        current_metrics: Mapping[str, Any] | None = None,
        baseline_metrics: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> TriggerDetail:
        """The original API: dictionaries in, a detail out (``now`` from the trigger's clock)."""
        snapshot, time_problem = legacy_snapshot(drift_metrics, current_metrics, baseline_metrics, metadata)
        if time_problem is not None and self.reads_training_time:
            return self.undecided(time_problem)
        return self.check(snapshot, self.clock())


class DriftTrigger(_Keyword, drift.DriftTrigger):
    """``drift_metrics[metric_name] > threshold`` fires; ``critical_threshold`` escalates."""


class PerformanceTrigger(_Keyword, performance.PerformanceTrigger):
    """Relative degradation above ``threshold`` fires; so do the optional absolute bounds."""


class TimeTrigger(_Keyword, time.TimeTrigger):
    """``now - last_training_time >= interval_hours`` fires; an unreadable time is undecided."""

    reads_training_time = True


class DataVolumeTrigger(_Keyword, volume.DataVolumeTrigger):
    """``new >= threshold_samples`` OR ``new / baseline_count >= threshold_percentage`` fires."""


class LegacyTriggerAdapter:
    """Runs an object that only has the original ``evaluate(...)`` as a ``Trigger``."""

    def __init__(self, legacy: RetrainingTrigger, name: str | None = None) -> None:
        self.legacy = legacy
        self.name = name or str(getattr(legacy, "name", type(legacy).__name__))

    def check(self, snapshot: Snapshot, now: datetime) -> TriggerDetail:
        metadata: dict[str, Any] = {
            "last_training_time": snapshot.last_trained_at,
            "current_count": snapshot.current_count,
            "baseline_count": snapshot.baseline_count,
            "new_count": snapshot.new_count,
        }
        try:
            return self.legacy.evaluate(
                drift_metrics=snapshot.drift_metrics,
                current_metrics=snapshot.current_metrics,
                baseline_metrics=snapshot.baseline_metrics,
                metadata={k: v for k, v in metadata.items() if v is not None},
            )
        except Exception as exc:  # a user's trigger must not take the daemon down
            return failed_detail(self.name, exc)


def as_trigger(obj: Any) -> Trigger:
    """Built-in triggers pass through; original-API objects get an adapter."""
    if isinstance(obj, Trigger):
        return obj
    if isinstance(obj, RetrainingTrigger):
        return LegacyTriggerAdapter(obj)
    raise TypeError(f"{obj!r} has neither check(snapshot, now) nor evaluate(...)")


def _evaluate_child(child: Any, arguments: Mapping[str, Any]) -> TriggerDetail:
    """A child's own ``evaluate``; a user's trigger that raises is undecided, as in ``check``."""
    try:
        detail: TriggerDetail = child.evaluate(**arguments)
    except Exception as exc:  # a user's trigger must not take the evaluation down
        return failed_detail(str(getattr(child, "name", type(child).__name__)), exc)
    return detail


class CompositeTrigger(_Clocked, composite.CompositeTrigger):
    """Combines triggers with ``'AND'`` or ``'OR'``; composites nest; children may be user triggers."""

    def checker(self, child: Any) -> Trigger:
        return as_trigger(child)

    def evaluate(
        self,
        drift_metrics: Mapping[str, Any] | None = None,
        current_metrics: Mapping[str, Any] | None = None,
        baseline_metrics: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> TriggerDetail:
        """The original API: each child's own ``evaluate`` with the same arguments, then combined."""
        arguments = {
            "drift_metrics": drift_metrics,
            "current_metrics": current_metrics,
            "baseline_metrics": baseline_metrics,
            "metadata": metadata,
        }
        return self.combine([_evaluate_child(child, arguments) for child in self.triggers])
