"""Giving up, against a real store and receiver: marked dead, then a copy to the dead-letter channel."""

from __future__ import annotations

import json
from collections.abc import Callable

from pydantic import SecretStr
from pytest_httpserver import HTTPServer

from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.delivery.channels.slack import SlackChannel
from retrain_sentinel.delivery.stages import Dead, Delivery, Forwarding, Pace, Reason, Ruling, Send
from retrain_sentinel.store import HistoryStore, OutboxRow
from retrain_sentinel.store.testing import T0

TOO_OLD = Ruling(Reason.TOO_OLD, "not delivered within max_age (3 attempts; last error: none)")
REJECTED = Ruling(Reason.REJECTED, "permanent failure: hook answered HTTP 400")


def _dead(store: HistoryStore, channels: dict[str, Channel], dead_letter_channel: str | None) -> Dead:
    pace = Pace()
    return Dead(store, channels, dead_letter_channel, pace, Send(pace.attempted))


def test_dead_marks_a_too_old_message_dead_without_counting_an_attempt(
    store: HistoryStore, claim: Callable[..., tuple[OutboxRow, ...]]
) -> None:
    forwarding = _dead(store, {}, None)(Delivery.of(claim(), {}, T0), TOO_OLD)
    (row,) = store.outbox()
    assert (row.status, row.attempts, row.claimed_by, row.last_error) == ("dead", 0, None, TOO_OLD.detail)
    assert forwarding is Forwarding.NOT_CONFIGURED


def test_dead_counts_the_attempt_of_a_rejected_message(
    store: HistoryStore, claim: Callable[..., tuple[OutboxRow, ...]]
) -> None:
    _dead(store, {}, None)(Delivery.of(claim(), {}, T0), REJECTED)
    (row,) = store.outbox()
    assert (row.status, row.attempts) == ("dead", 1)


def test_dead_forwards_a_copy_to_the_dead_letter_channel_saying_where_and_why(
    store: HistoryStore,
    claim: Callable[..., tuple[OutboxRow, ...]],
    httpserver: HTTPServer,
    webhook: Callable[..., Channel],
) -> None:
    httpserver.expect_request("/dead", method="POST").respond_with_data("", status=200)
    (row,) = claim()
    channels = {"dead": webhook("dead", "/dead")}
    forwarding = _dead(store, channels, "dead")(Delivery.of([row], channels, T0), REJECTED)
    assert forwarding is Forwarding.FORWARDED
    ((request, _),) = httpserver.log
    assert request.headers["Idempotency-Key"] == f"{row.id}-dead"
    (notification,) = json.loads(request.get_data())["notifications"]
    assert notification["metadata"]["dead_letter"] == {"channel": "hook", "reason": REJECTED.detail}


def test_dead_does_not_forward_a_message_that_died_on_the_dead_letter_channel(
    store: HistoryStore,
    claim: Callable[..., tuple[OutboxRow, ...]],
    httpserver: HTTPServer,
    webhook: Callable[..., Channel],
) -> None:
    channels = {"hook": webhook()}
    forwarding = _dead(store, channels, "hook")(Delivery.of(claim(), channels, T0), REJECTED)
    assert forwarding is Forwarding.OWN_CHANNEL and httpserver.log == []


def test_dead_names_a_dead_letter_channel_that_is_not_configured(
    store: HistoryStore, claim: Callable[..., tuple[OutboxRow, ...]]
) -> None:
    forwarding = _dead(store, {}, "ops")(Delivery.of(claim(), {}, T0), TOO_OLD)
    assert forwarding is Forwarding.MISSING and store.outbox()[0].status == "dead"


def test_a_failed_forward_is_not_retried_and_the_rows_stay_dead(
    store: HistoryStore,
    claim: Callable[..., tuple[OutboxRow, ...]],
    httpserver: HTTPServer,
    webhook: Callable[..., Channel],
) -> None:
    httpserver.expect_request("/dead").respond_with_data("", status=503)
    channels = {"dead": webhook("dead", "/dead")}
    forwarding = _dead(store, channels, "dead")(Delivery.of(claim(), channels, T0), TOO_OLD)
    assert forwarding is Forwarding.FAILED and len(httpserver.log) == 1
    assert store.outbox()[0].status == "dead"


def test_a_dead_letter_to_slack_waits_its_turn(
    store: HistoryStore, claim: Callable[..., tuple[OutboxRow, ...]], httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/slack").respond_with_data("ok", status=200)
    ops = SlackChannel("ops", SecretStr(httpserver.url_for("/slack")))
    sleeps: list[float] = []
    pace = Pace(sleeps.append)
    pace.attempted(ops)  # ops was just sent to
    Dead(store, {"ops": ops}, "ops", pace, Send(pace.attempted))(Delivery.of(claim(), {}, T0), TOO_OLD)
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 1
    assert len(httpserver.log) == 1


def test_no_byte_of_a_secret_in_the_reason_reaches_the_store_or_the_dead_letter(
    store: HistoryStore,
    claim: Callable[..., tuple[OutboxRow, ...]],
    httpserver: HTTPServer,
    webhook: Callable[..., Channel],
) -> None:
    httpserver.expect_request("/dead").respond_with_data("", status=200)
    leaky = Ruling(Reason.REJECTED, "permanent failure: https://hooks.slack.com/services/T0/B0/s3cr3t-t0ken")
    channels = {"dead": webhook("dead", "/dead")}
    _dead(store, channels, "dead")(Delivery.of(claim(), channels, T0), leaky)
    ((request, _),) = httpserver.log
    assert "s3cr3t-t0ken" not in request.get_data(as_text=True)
    assert "s3cr3t-t0ken" not in (store.outbox()[0].last_error or "")
