"""Composite trigger: ``all`` (AND) / ``any`` (OR) over children, nestable, three-valued.

Kleene logic keeps "could not decide" honest: ``any`` fires as soon as one child fires even if
another lacks data, but only says "not fired" when every child was judged and none fired.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, cast

from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.triggers.base import Trigger
from retrain_sentinel.verdict import DecisionState, TriggerDetail, max_severity, validate_severity

__all__ = ["CompositeTrigger", "combine_states"]

Logic = Literal["AND", "OR"]


def combine_states(logic: str, states: Sequence[DecisionState]) -> DecisionState:
    """Kleene AND / OR of fired / not_fired / undecided."""
    decisive, absorbing = ("not_fired", "fired") if logic == "AND" else ("fired", "not_fired")
    if decisive in states:
        return decisive  # type: ignore[return-value]  # one of the two literals
    if all(state == absorbing for state in states):
        return absorbing  # type: ignore[return-value]
    return "undecided"


class CompositeTrigger:
    """Combines triggers with ``'AND'`` or ``'OR'``; composites nest."""

    kind = "composite"

    def __init__(
        self,
        triggers: Sequence[Any],
        logic: str = "OR",
        severity: str | None = None,
        name: str = "composite_trigger",
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

    def checker(self, child: Any) -> Trigger:
        """The child as a ``Trigger`` (the original API's composite adapts keyword-only children)."""
        if not isinstance(child, Trigger):
            raise TypeError(f"{child!r} has no check(snapshot, now)")
        return child

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
                detail = self.checker(child).check(snapshot, now)
                leaves.append(detail)
            own.append(detail)
        return self.combine(own), leaves

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
