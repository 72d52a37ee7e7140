"""The webhook channel against a real HTTP receiver; signatures checked as a user's receiver would."""

from __future__ import annotations

import json
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from pytest_httpserver import HTTPServer

from alerts.factories import NOW, message, notification
from retrain_sentinel.delivery.channels import WebhookChannel, build_channels
from retrain_sentinel.delivery.channels.webhook import SCHEMA, verify_signature
from retrain_sentinel.delivery.settings import WebhookChannelSettings
from retrain_sentinel.delivery.signature import sign
from retrain_sentinel.errors import DeliveryError
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.triggers.policy import build_policy

PATH = "/hooks/retrain"
OLD_SECRET = "old-hmac-secret-1"
NEW_SECRET = "new-hmac-secret-2"


def webhook(httpserver: HTTPServer, **settings: object) -> WebhookChannel:
    config: dict[str, object] = {
        "kind": "webhook",
        "url": httpserver.url_for(PATH) + "?token=QUERYTOKEN",
        "secret": [NEW_SECRET],
    }
    config |= settings
    channel = build_channels({"retrain": WebhookChannelSettings.model_validate(config)}, clock=lambda: NOW)[
        "retrain"
    ]
    assert isinstance(channel, WebhookChannel)
    return channel


def test_posts_the_notification_as_json(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_data("", status=204)

    webhook(httpserver).send(message(notification("churn", id="n-1"), id="msg-1"))

    request, _ = httpserver.log[0]
    body = json.loads(request.get_data())
    assert body["schema"] == SCHEMA
    assert body["id"] == body["idempotency_key"] == "msg-1"
    assert body["model"] == "churn" and body["models"] == ["churn"]
    assert body["transition"] == "firing"
    assert body["severity"] == "critical"
    assert body["sent_at"] == NOW.isoformat()
    assert body["report"]["trigger_details"][0]["actual_value"] == 0.18
    assert body["fired_triggers"] == ["drift_trigger"]
    assert [n["id"] for n in body["notifications"]] == ["n-1"]


def test_headers_carry_content_type_idempotency_key_and_extras(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("ok")

    webhook(httpserver, headers={"Authorization": "Bearer HEADERTOKEN"}).send(message(id="msg-7"))

    request, _ = httpserver.log[0]
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == "msg-7"
    assert request.headers["Authorization"] == "Bearer HEADERTOKEN"
    assert request.args["token"] == "QUERYTOKEN"


def test_signature_verifies_with_the_secret(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("ok")

    webhook(httpserver).send(message())

    request, _ = httpserver.log[0]
    header = request.headers["X-Sentinel-Signature"]
    assert header.startswith(f"t={int(NOW.timestamp())},v1=")
    assert verify_signature(request.get_data(), header, [NEW_SECRET], now=NOW)
    assert not verify_signature(request.get_data(), header, ["wrong"], now=NOW)
    assert not verify_signature(request.get_data() + b" ", header, [NEW_SECRET], now=NOW)


def test_signature_verifies_with_either_rotated_secret(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("ok")

    webhook(httpserver, secret=[OLD_SECRET, NEW_SECRET]).send(message())

    request, _ = httpserver.log[0]
    header = request.headers["X-Sentinel-Signature"]
    assert header.count("v1=") == 2
    assert verify_signature(request.get_data(), header, [OLD_SECRET], now=NOW)
    assert verify_signature(request.get_data(), header, [NEW_SECRET], now=NOW)


def test_secret_file_holds_one_secret_per_line(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request(PATH).respond_with_data("ok")
    secrets = tmp_path / "secrets"
    secrets.write_text(f"{OLD_SECRET}\n\n{NEW_SECRET}\n")
    config = {"kind": "webhook", "url": httpserver.url_for(PATH), "secret_file": str(secrets)}
    channel = build_channels({"retrain": WebhookChannelSettings.model_validate(config)}, clock=lambda: NOW)[
        "retrain"
    ]

    channel.send(message())

    request, _ = httpserver.log[0]
    assert verify_signature(
        request.get_data(), request.headers["X-Sentinel-Signature"], [OLD_SECRET], now=NOW
    )


def test_no_secret_means_no_signature_header(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("ok")
    config = {"kind": "webhook", "url": httpserver.url_for(PATH)}

    build_channels({"retrain": WebhookChannelSettings.model_validate(config)})["retrain"].send(message())

    request, _ = httpserver.log[0]
    assert "X-Sentinel-Signature" not in request.headers


def test_a_group_is_sent_as_one_request(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("ok")

    webhook(httpserver).send(
        message(notification("a", id="1"), notification("b", id="2", kind="resolved"), id="g")
    )

    assert len(httpserver.log) == 1
    body = json.loads(httpserver.log[0][0].get_data())
    assert body["models"] == ["a", "b"]
    assert [n["transition"] for n in body["notifications"]] == ["firing", "resolved"]
    assert "model" not in body


def test_verify_rejects_stale_or_malformed_headers() -> None:
    body = b'{"x": 1}'
    header = sign(body, [NEW_SECRET], int(NOW.timestamp()))

    assert verify_signature(body, header, [NEW_SECRET], now=NOW + timedelta(seconds=299))
    assert not verify_signature(body, header, [NEW_SECRET], now=NOW + timedelta(seconds=301))
    assert verify_signature(body, header, [NEW_SECRET], now=NOW.timestamp())
    assert not verify_signature(body, "v1=abc", [NEW_SECRET], now=NOW)
    assert not verify_signature(body, "t=notanumber,v1=abc", [NEW_SECRET], now=NOW)
    assert not verify_signature(body, "", [NEW_SECRET], now=NOW)
    assert not verify_signature(body, header, [], now=NOW)


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (404, False), (400, False), (301, False)]
)
def test_answers_are_classified(httpserver: HTTPServer, status: int, retryable: bool) -> None:
    httpserver.expect_request(PATH).respond_with_data("nope", status=status)

    with pytest.raises(DeliveryError) as caught:
        webhook(httpserver).send(message())

    assert caught.value.retryable is retryable
    assert f"HTTP {status}" in str(caught.value)


def test_retry_after_as_an_http_date(httpserver: HTTPServer) -> None:
    later = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    httpserver.expect_request(PATH).respond_with_data("", status=429, headers={"Retry-After": later})

    with pytest.raises(DeliveryError) as caught:
        webhook(httpserver).send(message())

    assert caught.value.retryable
    assert caught.value.retry_after == 90.0


def test_check_connects_without_posting(httpserver: HTTPServer, closed_port: int) -> None:
    webhook(httpserver).check()

    assert httpserver.log == []
    with pytest.raises(DeliveryError) as caught:
        WebhookChannel("retrain", SecretStr(f"http://127.0.0.1:{closed_port}/x?token=T")).check()
    assert caught.value.retryable


def test_repr_hides_url_and_secrets(httpserver: HTTPServer) -> None:
    text = repr(webhook(httpserver, headers={"Authorization": "Bearer HEADERTOKEN"}))

    assert "QUERYTOKEN" not in text and NEW_SECRET not in text and "HEADERTOKEN" not in text
    assert "http://localhost" in text


def test_destination_is_the_url_and_never_in_repr_or_str(httpserver: HTTPServer) -> None:
    channel = webhook(httpserver)

    assert channel.destination == httpserver.url_for(PATH) + "?token=QUERYTOKEN"
    assert channel.destination not in repr(channel) and channel.destination not in str(channel)
    assert "QUERYTOKEN" not in repr(channel) + str(channel)


def test_the_watch_link_is_in_the_body_and_none_is_null(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("")
    channel = webhook(httpserver)
    channel.send(message(notification("churn", link="https://runbooks.example/{model}?v={version}")))
    channel.send(message(notification("churn"), id="msg-2"))

    bodies = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert bodies[0]["link"] == bodies[0]["notifications"][0]["link"] == "https://runbooks.example/churn?v=3"
    assert bodies[1]["link"] is None and bodies[1]["notifications"][0]["link"] is None


def test_an_undecided_watch_posts_status_undecided_and_what_could_not_decide(httpserver: HTTPServer) -> None:
    """Issue 12 item 2: ``triggered: false`` alone read as healthy; ``status`` says undecided."""
    httpserver.expect_request(PATH, method="POST").respond_with_data("", status=204)
    report = build_policy("balanced").evaluate(Snapshot(), NOW, model="churn")
    broken = notification("churn", kind="broken", severity="warning", report=report)

    webhook(httpserver).send(message(broken))

    body = json.loads(httpserver.log[0][0].get_data())
    assert body["status"] == "undecided" and body["notifications"][0]["status"] == "undecided"
    assert body["not_judged"][0] == "drift skipped (no input: no drift score in drift_metrics)"
    assert len(body["not_judged"]) == 4
    assert not any("No action needed" in line for line in body["recommendations"])


def test_a_firing_watch_posts_status_triggered(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_data("", status=204)

    webhook(httpserver).send(message(notification("churn")))

    assert json.loads(httpserver.log[0][0].get_data())["status"] == "triggered"
