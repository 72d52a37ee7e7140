"""The send stage against a real HTTP receiver: the channel's answer becomes the ruling."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import SecretStr
from pytest_httpserver import HTTPServer

from retrain_sentinel.alerts.notification import Message
from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.delivery.channels.webhook import WebhookChannel
from retrain_sentinel.delivery.stages import Delivery, Reason, Send
from retrain_sentinel.store import OutboxRow
from retrain_sentinel.store.testing import T0


def _to(channel: Channel | None, row: Callable[..., OutboxRow]) -> Delivery:
    """A delivery of one row to ``channel`` (``None``: no channel of its name is configured)."""
    return Delivery.of([row()], {"hook": channel} if channel is not None else {}, T0)


def test_send_rules_sent_when_the_receiver_accepts_under_the_messages_id(
    httpserver: HTTPServer, webhook: Callable[..., Channel], row: Callable[..., OutboxRow]
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok", status=200)
    delivery, attempts = _to(webhook(), row), list[Channel]()
    ruling = Send(attempts.append)(delivery)
    assert ruling.reason is Reason.SENT
    ((request, _),) = httpserver.log
    assert request.headers["Idempotency-Key"] == delivery.message.id
    assert attempts == [delivery.channel]


def test_send_rules_retry_with_the_receivers_retry_after_on_429(
    httpserver: HTTPServer, webhook: Callable[..., Channel], row: Callable[..., OutboxRow]
) -> None:
    httpserver.expect_request("/hook").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7"}
    )
    ruling = Send()(_to(webhook(), row))
    assert (ruling.reason, ruling.retry_after) == (Reason.RETRY, 7)
    assert "429" in ruling.detail


def test_send_rules_retry_on_a_server_error(
    httpserver: HTTPServer, webhook: Callable[..., Channel], row: Callable[..., OutboxRow]
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=503)
    ruling = Send()(_to(webhook(), row))
    assert (ruling.reason, ruling.retry_after) == (Reason.RETRY, None)


def test_send_rules_another_4xx_rejected_as_a_permanent_failure(
    httpserver: HTTPServer, webhook: Callable[..., Channel], row: Callable[..., OutboxRow]
) -> None:
    httpserver.expect_request("/hook").respond_with_data("invalid_payload", status=400)
    ruling = Send()(_to(webhook(), row))
    assert ruling.reason is Reason.REJECTED
    assert ruling.detail.startswith("permanent failure: ") and "400" in ruling.detail


def test_send_rules_no_channel_without_trying_when_none_is_configured(
    httpserver: HTTPServer, row: Callable[..., OutboxRow]
) -> None:
    delivery, attempts = _to(None, row), list[Channel]()
    ruling = Send(attempts.append)(delivery)
    assert ruling.reason is Reason.NO_CHANNEL
    assert ruling.detail == "no channel named 'hook' is configured"
    assert attempts == [] and httpserver.log == []


def test_send_tells_of_a_failed_attempt_too(
    httpserver: HTTPServer, webhook: Callable[..., Channel], row: Callable[..., OutboxRow]
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=500)
    delivery, attempts = _to(webhook(), row), list[Channel]()
    Send(attempts.append)(delivery)
    assert attempts == [delivery.channel]


class _Broken:
    """A channel with a bug: it raises something other than ``DeliveryError``, secret and all."""

    name, kind = "hook", "webhook"

    def send(self, message: Message) -> None:
        raise RuntimeError("https://hooks.example.com/services/s3cr3t-t0ken broke")

    def check(self) -> None: ...


def test_a_channel_bug_is_retried_and_named_by_its_class_alone(row: Callable[..., OutboxRow]) -> None:
    ruling = Send()(_to(_Broken(), row))
    assert ruling.reason is Reason.RETRY
    assert ruling.detail == "webhook channel 'hook' failed: RuntimeError"


def test_no_byte_of_the_receivers_secret_url_reaches_the_ruling(
    httpserver: HTTPServer, row: Callable[..., OutboxRow]
) -> None:
    secret_path = "/services/T000/B000/s3cr3t-t0ken"
    httpserver.expect_request(secret_path).respond_with_data("", status=404)
    channel = WebhookChannel("hook", SecretStr(httpserver.url_for(secret_path)), timeout=5)
    ruling = Send()(_to(channel, row))
    assert ruling.reason is Reason.REJECTED and "s3cr3t-t0ken" not in ruling.detail
