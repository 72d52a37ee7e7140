"""``test-alert``: the sample goes through the real channel."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr
from pytest_httpserver import HTTPServer

from alerts.factories import NOW
from retrain_sentinel.delivery.channels import ConsoleChannel, WebhookChannel
from retrain_sentinel.delivery.sample import SAMPLE_MODEL, sample_message, send_test_alert
from retrain_sentinel.delivery.signature import verify_signature


def test_test_alert_goes_through_a_signed_webhook(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    channel = WebhookChannel(
        "retrain", SecretStr(httpserver.url_for("/hook")), secrets=[SecretStr("k")], clock=lambda: NOW
    )

    send_test_alert(channel, NOW)

    request, _ = httpserver.log[0]
    body = json.loads(request.get_data())
    assert body["model"] == SAMPLE_MODEL
    assert body["metadata"] == {"test": True}
    assert verify_signature(request.get_data(), request.headers["X-Sentinel-Signature"], ["k"], now=NOW)


def test_test_alert_on_the_console_says_it_is_a_test(capsys: pytest.CaptureFixture[str]) -> None:
    send_test_alert(ConsoleChannel("stdout"), NOW)

    err = capsys.readouterr().err
    assert SAMPLE_MODEL in err
    assert "test alert" in err


def test_sample_ids_differ_per_channel_and_time() -> None:
    assert sample_message("a", NOW).id != sample_message("b", NOW).id
    assert sample_message("a", NOW).notifications[0].channel == "a"
