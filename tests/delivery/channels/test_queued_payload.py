"""A row queued by the version before the typed report still delivers, saying what a fresh one says.

``QUEUED_PAYLOAD`` is that version's stored JSON (infinite and NaN numbers as strings); each channel
must send it exactly as it sends the same notification made now.
"""

from __future__ import annotations

import io
import json

from pydantic import SecretStr
from pytest_httpserver import HTTPServer

from alerts.factories import NOW, QUEUED_PAYLOAD, drift_firing, message
from retrain_sentinel.alerts.notification import Message, Notification
from retrain_sentinel.delivery.channels import ConsoleChannel, WebhookChannel
from retrain_sentinel.delivery.channels.email import compose_email
from retrain_sentinel.delivery.channels.slack import slack_payload

LINK = "https://m.example/{model}/{version}"


def queued() -> Message:
    return message(Notification.from_payload(json.loads(QUEUED_PAYLOAD)), id="msg-q")


def fresh() -> Message:
    return message(drift_firing(), id="msg-q")


def console_text(item: Message) -> str:
    stream = io.StringIO()
    ConsoleChannel("stdout", link_template=LINK, stream=lambda: stream).send(item)
    return stream.getvalue()


def test_the_console_prints_a_queued_row_as_a_fresh_one() -> None:
    text = console_text(queued())

    assert text == console_text(fresh())
    assert "🔴 FIRING [critical] churn (version 3): retraining recommended" in text
    assert "  - performance: Performance degradation: auc 0 → 0.71" in text
    assert "Link: https://m.example/churn/3" in text


def test_the_webhook_posts_a_queued_row_as_a_fresh_one(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    channel = WebhookChannel(
        "retrain", SecretStr(httpserver.url_for("/hook")), secrets=[SecretStr("k")], clock=lambda: NOW
    )

    channel.send(queued())
    channel.send(fresh())

    (old, _), (new, _) = httpserver.log
    assert old.get_data() == new.get_data()
    assert old.headers["X-Sentinel-Signature"] == new.headers["X-Sentinel-Signature"]
    body = json.loads(old.get_data())
    assert body["report"] == json.loads(QUEUED_PAYLOAD)["report"]  # the report dict, "inf" / "nan" kept
    assert body["fired_triggers"] == ["drift", "performance"]


def test_slack_and_email_show_a_queued_row_as_a_fresh_one() -> None:
    assert slack_payload(queued(), link_template=LINK) == slack_payload(fresh(), link_template=LINK)
    mails = [
        compose_email(m, sender="s@example.com", recipients=["a@example.com"], subject_prefix="[rs]", now=NOW)
        for m in (queued(), fresh())
    ]
    old, new = ([part.get_content() for part in mail.iter_parts()] for mail in mails)
    assert old == new
    assert (
        mails[0]["Subject"]
        == mails[1]["Subject"]
        == "[rs] [CRITICAL] Retraining recommended: churn (version 3)"
    )
