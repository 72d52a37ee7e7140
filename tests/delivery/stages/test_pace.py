"""The pace stage, with an injected sleep and clock: one message per second per Slack webhook."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import SecretStr

from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.delivery.channels.slack import SlackChannel
from retrain_sentinel.delivery.channels.webhook import WebhookChannel
from retrain_sentinel.delivery.stages import SLACK_INTERVAL, Delivery, Pace
from retrain_sentinel.store import OutboxRow
from retrain_sentinel.store.testing import T0


class Clock:
    """A monotonic clock that only moves when told; ``sleep`` moves it and is recorded."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _slack(name: str = "team") -> Channel:
    return SlackChannel(name, SecretStr("https://hooks.slack.invalid/x"))


def _to(channel: Channel, row: Callable[..., OutboxRow]) -> Delivery:
    return Delivery.of([row(channel=channel.name)], {channel.name: channel}, T0)


def test_pace_waits_between_two_slack_messages_with_an_injected_sleep(
    clock: Clock, row: Callable[..., OutboxRow]
) -> None:
    pace, team = Pace(clock.sleep, clock), _slack()
    pace.attempted(team)
    clock.now += 0.3
    assert pace(_to(team, row)) is None  # pacing waits, it never ends a delivery
    assert clock.sleeps == [pytest.approx(SLACK_INTERVAL - 0.3)]


def test_pace_does_not_wait_for_a_webhooks_first_message(clock: Clock, row: Callable[..., OutboxRow]) -> None:
    Pace(clock.sleep, clock)(_to(_slack(), row))
    assert clock.sleeps == []


def test_pace_does_not_wait_once_the_interval_has_passed(clock: Clock, row: Callable[..., OutboxRow]) -> None:
    pace, team = Pace(clock.sleep, clock), _slack()
    pace.attempted(team)
    clock.now += SLACK_INTERVAL
    pace(_to(team, row))
    assert clock.sleeps == []


def test_pace_counts_each_slack_webhook_on_its_own(clock: Clock, row: Callable[..., OutboxRow]) -> None:
    pace = Pace(clock.sleep, clock)
    pace.attempted(_slack("team"))
    pace(_to(_slack("ops"), row))
    assert clock.sleeps == []


def test_pace_never_waits_for_other_kinds_of_channel(clock: Clock, row: Callable[..., OutboxRow]) -> None:
    pace, hook = Pace(clock.sleep, clock), WebhookChannel("hook", SecretStr("https://hooks.invalid/x"))
    pace.attempted(hook)
    pace(_to(hook, row))
    assert clock.sleeps == []


def test_pace_lets_a_delivery_without_a_channel_through(clock: Clock, row: Callable[..., OutboxRow]) -> None:
    assert Pace(clock.sleep, clock)(Delivery.of([row(channel="gone")], {}, T0)) is None
    assert clock.sleeps == []
