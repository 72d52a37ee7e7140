"""A sample alert, for ``retrain-sentinel test-alert --channel NAME``.

It goes through the real channel (real URL, real SMTP login, real signature), so a successful test
alert proves the whole path; the sample is plainly labelled as a test so nobody acts on it.
"""

from __future__ import annotations

from datetime import datetime

from retrain_sentinel.alerts.notification import Message, Notification
from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.report import RetrainingReport
from retrain_sentinel.verdict import TriggerDetail

__all__ = ["SAMPLE_MODEL", "sample_message", "send_test_alert"]

SAMPLE_MODEL = "retrain-sentinel-test"


def sample_message(channel: str, now: datetime) -> Message:
    """A one-notification message with a realistic report; its id is new at each second."""
    message_id = f"test-alert-{channel}-{int(now.timestamp())}"
    report = RetrainingReport(
        triggered=True,
        trigger_details=[
            TriggerDetail(
                trigger_name="drift_trigger",
                triggered=True,
                severity="warning",
                reason="Drift js_divergence = 0.18 exceeds threshold 0.15",
                metrics={"js_divergence": 0.18, "age/psi": 0.31, "income/psi": 0.22},
                threshold=0.15,
                actual_value=0.18,
                kind="drift",
            )
        ],
        recommendations=["This is a test alert sent by `retrain-sentinel test-alert`: no action needed."],
        severity="warning",
        timestamp=now,
        metadata={"model": SAMPLE_MODEL, "decision": "fired", "test": True},
    )
    notification = Notification(
        id=message_id,
        watch=SAMPLE_MODEL,
        channel=channel,
        kind="firing",
        severity="warning",
        created_at=now,
        reason="test alert (retrain-sentinel test-alert)",
        report=report,
        model_version="0",
        metadata={"test": True},
    )
    return Message(id=message_id, channel=channel, notifications=(notification,))


def send_test_alert(channel: Channel, now: datetime) -> None:
    """Send the sample through ``channel``; raises ``DeliveryError`` exactly as a real alert would."""
    channel.send(sample_message(channel.name, now))
