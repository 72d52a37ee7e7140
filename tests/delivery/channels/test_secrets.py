"""The shared check: no channel's failure leaks a byte of its secrets — not in the error message,
its repr, its traceback, the logs (DEBUG included, urllib3's too) or stderr."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from pytest_httpserver import HTTPServer

from alerts.factories import message
from retrain_sentinel.delivery.channels import Channel, build_channels
from retrain_sentinel.delivery.settings import (
    EmailChannelSettings,
    SlackChannelSettings,
    WebhookChannelSettings,
)
from retrain_sentinel.errors import DeliveryError

from .conftest import SMTP_USER, SmtpServer

SLACK_TOKEN = "T0SLACK/B0SLACK/slackpathtoken123"
URL_TOKEN = "urlquerytoken456"
HMAC_SECRET = "hmac-secret-789"
HMAC_OLD = "hmac-old-secret-012"
HEADER_SECRET = "Bearer headersecret345"
WRONG_PASSWORD = "wrong-smtp-password-678"
USERINFO = "userinfopw901"


@dataclass
class Case:
    channel: Channel
    secrets: tuple[str, ...]


def slack_case(httpserver: HTTPServer, base: str | None, status: int) -> Case:
    httpserver.expect_request(f"/services/{SLACK_TOKEN}").respond_with_data("invalid_token", status=status)
    url = (base or httpserver.url_for("")).rstrip("/") + f"/services/{SLACK_TOKEN}"
    settings = SlackChannelSettings.model_validate(
        {"kind": "slack", "webhook_url": url.replace("://", f"://user:{USERINFO}@")}
    )
    return Case(build_channels({"team": settings})["team"], (SLACK_TOKEN, "slackpathtoken123", USERINFO))


def webhook_case(httpserver: HTTPServer, base: str | None, status: int) -> Case:
    httpserver.expect_request("/hook").respond_with_data(f"echo {HMAC_SECRET}?", status=status)
    url = (base or httpserver.url_for("")).rstrip("/") + f"/hook?token={URL_TOKEN}"
    settings = WebhookChannelSettings.model_validate(
        {
            "kind": "webhook",
            "url": url,
            "secret": [HMAC_OLD, HMAC_SECRET],
            "headers": {"Authorization": HEADER_SECRET},
        }
    )
    return Case(
        build_channels({"retrain": settings})["retrain"],
        (URL_TOKEN, HMAC_SECRET, HMAC_OLD, "headersecret345"),
    )


def email_case(server: SmtpServer) -> Case:
    settings = EmailChannelSettings.model_validate(
        {
            "kind": "email",
            "smtp": {
                "host": server.host,
                "port": server.port,
                "username": SMTP_USER,
                "password": WRONG_PASSWORD,
                "ca_file": str(server.ca_file),
                "timeout": "5s",
            },
            "from": "a@example.com",
            "to": ["b@example.com"],
        }
    )
    return Case(build_channels({"oncall": settings})["oncall"], (WRONG_PASSWORD,))


#: (builder, reachable, status); unreachable cases point at a port nothing listens on.
HTTP_CASES: dict[str, tuple[Callable[[HTTPServer, str | None, int], Case], bool, int]] = {
    "slack-500": (slack_case, True, 500),
    "slack-403": (slack_case, True, 403),
    "webhook-500": (webhook_case, True, 500),
    "webhook-401": (webhook_case, True, 401),
    "slack-unreachable": (slack_case, False, 500),
    "webhook-unreachable": (webhook_case, False, 500),
}

#: Loggers of the stand-in receivers: they know their own URL; the sender's logs must not.
RECEIVER_LOGGERS = ("werkzeug", "mail.log")


def assert_no_secret(
    case: Case, error: DeliveryError, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    out, err = capsys.readouterr()
    seen = "\n".join(
        [
            str(error),
            repr(error),
            "".join(traceback.format_exception(error)),
            repr(case.channel),
            "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(RECEIVER_LOGGERS)),
            out,
            err,
        ]
    )
    for secret in case.secrets:
        assert secret not in seen


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.mark.parametrize("name", list(HTTP_CASES))
def test_failing_http_send_leaks_no_secret(
    name: str,
    httpserver: HTTPServer,
    closed_port: int,
    debug_logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    build, reachable, status = HTTP_CASES[name]
    case = build(httpserver, None if reachable else f"http://127.0.0.1:{closed_port}", status)

    with pytest.raises(DeliveryError) as caught:
        case.channel.send(message())

    assert_no_secret(case, caught.value, debug_logs, capsys)


def test_failing_email_send_leaks_no_secret(
    starttls_server: SmtpServer, debug_logs: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    case = email_case(starttls_server)

    with pytest.raises(DeliveryError) as caught:
        case.channel.send(message())

    assert_no_secret(case, caught.value, debug_logs, capsys)


def test_unreachable_email_server_leaks_no_secret(
    starttls_server: SmtpServer,
    closed_port: int,
    debug_logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    starttls_server.port = closed_port
    case = email_case(starttls_server)

    with pytest.raises(DeliveryError) as caught:
        case.channel.send(message())

    assert_no_secret(case, caught.value, debug_logs, capsys)
