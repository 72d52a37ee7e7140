"""A trigger's verdict: severities, the three decision states, and the detail with its numbers.

These are the values every layer speaks — triggers return them, reports hold them, the alert rules
and the channels read them — so they sit at the bottom, with no behaviour beyond their own shape.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "SEVERITIES",
    "DecisionState",
    "Severity",
    "TriggerDetail",
    "failed_detail",
    "finite_number",
    "max_severity",
    "severity_rank",
    "validate_severity",
]

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
DecisionState = Literal["fired", "not_fired", "undecided"]


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


def finite_number(value: Any) -> float | None:
    """``value`` as a float when it is a real, finite number; ``None`` otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
