"""Notifications and messages as the alert rules would make them, for the channel and render tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from retrain_sentinel.alerts.notification import Message, Notification, TransitionKind

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def drift_report(
    model: str = "churn", score: float = 0.18, features: Mapping[str, float] | None = None
) -> dict[str, Any]:
    metrics: dict[str, Any] = {"js_divergence": score}
    for name, value in (features or {"age": 0.42, "income": 0.21, "tenure": 0.05}).items():
        metrics[f"{name}/psi"] = value
        metrics[f"{name}/psi_p_value"] = 0.001
    return {
        "triggered": True,
        "severity": "critical",
        "timestamp": NOW.isoformat(),
        "trigger_details": [
            {
                "trigger_name": "drift_trigger",
                "triggered": True,
                "severity": "critical",
                "reason": f"Drift js_divergence = {score:.4g} exceeds threshold 0.15",
                "metrics": metrics,
                "threshold": 0.15,
                "actual_value": score,
                "undecided": False,
                "kind": "drift",
            },
            {
                "trigger_name": "time_trigger",
                "triggered": False,
                "severity": "info",
                "reason": "12 h since training < 720 h",
                "metrics": {},
                "threshold": 720.0,
                "actual_value": 12.0,
                "undecided": False,
                "kind": "time",
            },
        ],
        "recommendations": [
            f"Data drift detected (js_divergence {score:.4g} > 0.15): retrain on recent data."
        ],
        "metadata": {"model": model, "decision": "fired", "model_version": "3"},
    }


def notification(
    model: str = "churn",
    *,
    kind: TransitionKind = "firing",
    severity: str = "critical",
    id: str | None = None,
    channel: str = "team",
    reason: str = "fired for 2 consecutive evaluations",
    report: Mapping[str, Any] | None = None,
    **extra: Any,
) -> Notification:
    return Notification(
        id=id or f"n-{model}-{kind}",
        watch=model,
        channel=channel,
        kind=kind,
        severity=severity,
        created_at=NOW,
        reason=reason,
        report=drift_report(model) if report is None else report,
        **extra,
    )


def message(*notifications: Notification, id: str = "msg-1") -> Message:
    items: Sequence[Notification] = notifications or (notification(),)
    return Message(id=id, channel=items[0].channel, notifications=tuple(items))
