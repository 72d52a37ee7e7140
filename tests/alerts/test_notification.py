"""Notifications carry the typed report; their stored form is the outbox JSON earlier versions wrote."""

from __future__ import annotations

import json
import math
from dataclasses import replace

from retrain_sentinel.alerts.notification import Message, Notification
from retrain_sentinel.alerts.render import render_text
from retrain_sentinel.report import RetrainingReport

from .factories import NOW, QUEUED_PAYLOAD, drift_firing, drift_report, message, notification


def test_the_stored_form_is_byte_for_byte_what_the_previous_version_wrote() -> None:
    stored = json.dumps(drift_firing().to_payload(), indent=4, ensure_ascii=False, allow_nan=False)

    assert stored == QUEUED_PAYLOAD.strip()


def test_a_payload_queued_by_the_previous_version_loads_with_a_typed_report() -> None:
    loaded = Notification.from_payload(json.loads(QUEUED_PAYLOAD))

    assert isinstance(loaded.report, RetrainingReport)
    assert loaded.report.decision == "fired"
    assert loaded.watch == "churn" and loaded.model_version == "3"
    assert loaded.fired_triggers == ["drift", "performance"]
    assert math.isinf(loaded.report.trigger_details[1].actual_value or 0.0)
    assert loaded.report.trigger_details[0].metrics["tenure/ks"] == "nan"


def test_a_payload_queued_by_the_previous_version_renders_as_a_fresh_notification() -> None:
    loaded = Notification.from_payload(json.loads(QUEUED_PAYLOAD))

    assert render_text(message(loaded)) == render_text(message(drift_firing()))
    assert "Top drifted features:\n  - age (psi) 0.42\n" in render_text(message(loaded))


def test_the_stored_form_survives_a_round_trip() -> None:
    for item in (
        drift_firing(),
        replace(notification(kind="broken"), report=None, error="timed out"),
        notification(link="https://runbooks.example/{model}?v={version}"),
    ):
        payload = json.loads(json.dumps(item.to_payload(), allow_nan=False))

        assert Notification.from_payload(payload).to_payload() == item.to_payload()


def test_the_stored_form_names_the_watch_model_and_holds_no_objects() -> None:
    payload = notification("churn", link="https://m.example/churn").to_payload()

    assert payload["model"] == "churn" and "watch" not in payload
    assert payload["report"] == json.loads(json.dumps(payload["report"], allow_nan=False))


def test_a_message_has_the_highest_severity_of_its_notifications() -> None:
    def group(*severities: str) -> Message:
        return message(*(notification(f"m{i}", id=str(i), severity=s) for i, s in enumerate(severities)))

    assert group("info", "critical", "warning").severity == "critical"
    assert group("warning", "info").severity == "warning"
    assert group("unknown", "info").severity == "unknown"  # one it does not know ranks with info
    assert group("unknown", "warning").severity == "warning"


def test_a_notification_read_back_equals_the_one_queued() -> None:
    for stamp in (NOW, "yesterday"):  # a datetime comes back a datetime, other text as it was
        queued = notification(report=replace(drift_report(), timestamp=stamp))

        assert Notification.from_payload(queued.to_payload()) == queued


def test_a_stored_report_that_cannot_be_read_leaves_the_notification_deliverable() -> None:
    payload = json.loads(QUEUED_PAYLOAD)
    payload["report"] = {"trigger_details": "not a list"}  # a row edited by hand

    loaded = Notification.from_payload(payload)

    assert loaded.report is None and loaded.watch == "churn" and loaded.kind == "firing"
    assert loaded.error is not None and "stored report could not be read" in loaded.error
    assert "churn" in render_text(message(loaded))
