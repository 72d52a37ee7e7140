"""Composite trigger: ``all`` (AND) / ``any`` (OR) over children, nestable, three-valued.

Kleene logic keeps "could not decide" honest: ``any`` fires as soon as one child fires even if
another lacks data, but only says "not fired" when every child was judged and none fired.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, cast

from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.triggers.base import (
    Clock,
    DecisionState,
    RetrainingTrigger,
    Trigger,
    TriggerDetail,
    failed_detail,
    max_severity,
    system_clock,
    validate_severity,
)

__all__ = ["CompositeTrigger", "LegacyTriggerAdapter", "as_trigger", "combine_states"]

Logic = Literal["AND", "OR"]


def combine_states(logic: str, states: Sequence[DecisionState]) -> DecisionState:
    """Kleene AND / OR of fired / not_fired / undecided."""
    decisive, absorbing = ("not_fired", "fired") if logic == "AND" else ("fired", "not_fired")
    if decisive in states:
        return decisive  # type: ignore[return-value]  # one of the two literals
    if all(state == absorbing for state in states):
        return absorbing  # type: ignore[return-value]
    return "undecided"


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


def _evaluate_child(child: Any, arguments: Mapping[str, Any]) -> TriggerDetail:
    """A child's own ``evaluate``; a user's trigger that raises is undecided, as in ``check``."""
    try:
        detail: TriggerDetail = child.evaluate(**arguments)
    except Exception as exc:  # a user's trigger must not take the evaluation down
        return failed_detail(str(getattr(child, "name", type(child).__name__)), exc)
    return detail


def as_trigger(obj: Any) -> Trigger:
    """Built-in triggers pass through; original-API objects get an adapter."""
    if isinstance(obj, Trigger):
        return obj
    if isinstance(obj, RetrainingTrigger):
        return LegacyTriggerAdapter(obj)
    raise TypeError(f"{obj!r} has neither check(snapshot, now) nor evaluate(...)")


class CompositeTrigger:
    """Combines triggers with ``'AND'`` or ``'OR'``; composites nest."""

    kind = "composite"

    def __init__(
        self,
        triggers: Sequence[Any],
        logic: str = "OR",
        severity: str | None = None,
        name: str = "composite_trigger",
        *,
        clock: Clock | None = None,
    ) -> None:
        normalized = logic.upper() if isinstance(logic, str) else logic
        if normalized not in ("AND", "OR"):
            raise ValueError(f"logic must be 'AND' or 'OR', not {logic!r}")
        self.logic = cast(Logic, normalized)
        if not triggers:
            raise ValueError("triggers must contain at least one trigger")
        self.triggers = list(triggers)
        self.severity = validate_severity(severity) if severity is not None else None
        self.name = name
        self.clock: Clock = clock or system_clock

    def __repr__(self) -> str:
        return f"CompositeTrigger({self.logic}, {[getattr(t, 'name', t) for t in self.triggers]})"

    def combine(self, details: Sequence[TriggerDetail]) -> TriggerDetail:
        state = combine_states(self.logic, [d.state for d in details])
        fired = state == "fired"
        if fired:
            causes = details if self.logic == "AND" else [d for d in details if d.state == "fired"]
            severity = self.severity or max_severity(d.severity for d in causes)
        else:
            severity = self.severity or "info"
        by_state: dict[str, list[str]] = {}
        for detail in details:
            by_state.setdefault(detail.state.replace("_", " "), []).append(detail.trigger_name)
        listed = "; ".join(f"{label}: {', '.join(names)}" for label, names in by_state.items())
        return TriggerDetail(
            trigger_name=self.name,
            triggered=fired,
            severity=severity,
            reason=f"{self.logic} of {len(details)} triggers is {state.replace('_', ' ')} ({listed})",
            metrics={"logic": self.logic, "children": {d.trigger_name: d.state for d in details}},
            undecided=state == "undecided",
            kind=self.kind,
        )

    def check(self, snapshot: Snapshot, now: datetime) -> TriggerDetail:
        return self.check_tree(snapshot, now)[0]

    def check_tree(self, snapshot: Snapshot, now: datetime) -> tuple[TriggerDetail, list[TriggerDetail]]:
        """The composite's own detail and its leaves' details, in order."""
        own: list[TriggerDetail] = []
        leaves: list[TriggerDetail] = []
        for child in self.triggers:
            if isinstance(child, CompositeTrigger):
                detail, child_leaves = child.check_tree(snapshot, now)
                leaves.extend(child_leaves)
            else:
                detail = as_trigger(child).check(snapshot, now)
                leaves.append(detail)
            own.append(detail)
        return self.combine(own), leaves

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

    def expression(self) -> str:
        """The tree as text, e.g. ``(drift OR performance) AND time``."""
        parts = []
        for child in self.triggers:
            if isinstance(child, CompositeTrigger):
                text = child.expression()
                parts.append(f"({text})" if len(child.triggers) > 1 and child.logic != self.logic else text)
            else:
                parts.append(str(getattr(child, "name", type(child).__name__)))
        return f" {self.logic} ".join(parts)
