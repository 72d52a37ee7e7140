"""Notifications and messages as the alert rules would make them, for the channel and render tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from retrain_sentinel.alerts.notification import Message, Notification, TransitionKind
from retrain_sentinel.report import RetrainingReport, build_report
from retrain_sentinel.verdict import TriggerDetail

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def drift_report(
    model: str = "churn", score: float = 0.18, features: Mapping[str, float] | None = None
) -> RetrainingReport:
    metrics: dict[str, Any] = {"js_divergence": score}
    for name, value in (features or {"age": 0.42, "income": 0.21, "tenure": 0.05}).items():
        metrics[f"{name}/psi"] = value
        metrics[f"{name}/psi_p_value"] = 0.001
    return RetrainingReport(
        triggered=True,
        severity="critical",
        timestamp=NOW.isoformat(),
        trigger_details=[
            TriggerDetail(
                trigger_name="drift_trigger",
                triggered=True,
                severity="critical",
                reason=f"Drift js_divergence = {score:.4g} exceeds threshold 0.15",
                metrics=metrics,
                threshold=0.15,
                actual_value=score,
                kind="drift",
            ),
            TriggerDetail(
                trigger_name="time_trigger",
                triggered=False,
                severity="info",
                reason="12 h since training < 720 h",
                threshold=720.0,
                actual_value=12.0,
                kind="time",
            ),
        ],
        recommendations=[f"Data drift detected (js_divergence {score:.4g} > 0.15): retrain on recent data."],
        metadata={"model": model, "decision": "fired", "model_version": "3"},
    )


def notification(
    model: str = "churn",
    *,
    kind: TransitionKind = "firing",
    severity: str = "critical",
    id: str | None = None,
    channel: str = "team",
    reason: str = "fired for 2 consecutive evaluations",
    report: RetrainingReport | None = None,
    **extra: Any,
) -> Notification:
    """A notification carrying ``report`` (a drift report when not given)."""
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


def drift_firing() -> Notification:
    """A drift and performance firing with infinite and NaN numbers, as the alert rules make it now.

    ``QUEUED_PAYLOAD`` is its stored form, written by the version before the notification carried
    the typed report.
    """
    drift = TriggerDetail(
        "drift",
        True,
        "critical",
        "Drift js_divergence = 0.31 exceeds threshold 0.15",
        {
            "js_divergence": 0.31,
            "age/psi": 0.42,
            "age/psi_p_value": 0.001,
            "income/psi": float("inf"),
            "tenure/ks": float("nan"),
        },
        0.15,
        0.31,
        kind="drift",
    )
    performance = TriggerDetail(
        "performance",
        True,
        "warning",
        "Performance degradation: auc 0 → 0.71",
        {"metric": "auc", "baseline": 0.0, "current": 0.71},
        0.05,
        float("inf"),
        kind="performance",
    )
    time = TriggerDetail(
        "time",
        False,
        "info",
        "Trained 12.0 hours ago: 708.0 hours remaining",
        {"elapsed_hours": 12.0},
        720.0,
        12.0,
        kind="time",
    )
    volume = TriggerDetail(
        "data_volume",
        False,
        "info",
        "Missing current or baseline sample count",
        actual_value=float("nan"),
        undecided=True,
        kind="data_volume",
    )
    root = TriggerDetail("policy", True, "critical", "any of 2 fired", kind="composite")
    report = build_report(root, [drift, performance, time, volume], NOW, model="churn", policy="balanced")
    return Notification(
        id="5f0c2a9e4b1d4e7f8a6b3c2d1e0f9a8b",
        watch="churn",
        channel="ml-team",
        kind="firing",
        severity="critical",
        created_at=NOW,
        reason="triggered for 1 consecutive evaluation (for: 1): drift, performance, critical",
        report=report,
        model_version="3",
        metadata={"rule": "for", "track": "alert", "episode": "0a1b2c3d4e5f60718293a4b5c6d7e8f9"},
    )


#: ``drift_firing()`` as the outbox stored it before issue 10 (``store.outbox.notification_to_payload``
#: of a notification holding the report's ``to_dict()``): copied from that code's output, never
#: regenerated, so rows queued by that version are proven to still deliver.
QUEUED_PAYLOAD = """
{
    "id": "5f0c2a9e4b1d4e7f8a6b3c2d1e0f9a8b",
    "model": "churn",
    "channel": "ml-team",
    "kind": "firing",
    "severity": "critical",
    "created_at": "2026-03-01T12:00:00+00:00",
    "reason": "triggered for 1 consecutive evaluation (for: 1): drift, performance, critical",
    "report": {
        "triggered": true,
        "trigger_details": [
            {
                "trigger_name": "drift",
                "triggered": true,
                "severity": "critical",
                "reason": "Drift js_divergence = 0.31 exceeds threshold 0.15",
                "metrics": {
                    "js_divergence": 0.31,
                    "age/psi": 0.42,
                    "age/psi_p_value": 0.001,
                    "income/psi": "inf",
                    "tenure/ks": "nan"
                },
                "threshold": 0.15,
                "actual_value": 0.31,
                "undecided": false,
                "kind": "drift"
            },
            {
                "trigger_name": "performance",
                "triggered": true,
                "severity": "warning",
                "reason": "Performance degradation: auc 0 → 0.71",
                "metrics": {
                    "metric": "auc",
                    "baseline": 0.0,
                    "current": 0.71
                },
                "threshold": 0.05,
                "actual_value": "inf",
                "undecided": false,
                "kind": "performance"
            },
            {
                "trigger_name": "time",
                "triggered": false,
                "severity": "info",
                "reason": "Trained 12.0 hours ago: 708.0 hours remaining",
                "metrics": {
                    "elapsed_hours": 12.0
                },
                "threshold": 720.0,
                "actual_value": 12.0,
                "undecided": false,
                "kind": "time"
            },
            {
                "trigger_name": "data_volume",
                "triggered": false,
                "severity": "info",
                "reason": "Missing current or baseline sample count",
                "metrics": {},
                "threshold": null,
                "actual_value": "nan",
                "undecided": true,
                "kind": "data_volume"
            }
        ],
        "recommendations": [
            "Data drift detected (js_divergence 0.31 > 0.15): review the drifted features and retrain on recent data.",
            "Performance degraded (auc 0 → 0.71, degradation inf% > 5.0%): retrain, or roll back to the previous version."
        ],
        "severity": "critical",
        "timestamp": "2026-03-01T12:00:00+00:00",
        "metadata": {
            "model": "churn",
            "policy": "balanced",
            "decision": "fired",
            "undecided": [
                "data_volume"
            ],
            "not_applicable": []
        }
    },
    "model_version": "3",
    "error": null,
    "link": null,
    "metadata": {
        "rule": "for",
        "track": "alert",
        "episode": "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    }
}
"""
