"""The delivery value the stages share, and what its reasons mean."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import SecretStr

from retrain_sentinel.delivery.channels.slack import SlackChannel
from retrain_sentinel.delivery.stages import Delivery, Reason
from retrain_sentinel.store import OutboxRow
from retrain_sentinel.store.testing import T0, routes


def test_a_groups_rows_are_one_delivery_under_the_groups_id(
    claim: Callable[..., tuple[OutboxRow, ...]],
) -> None:
    rows = claim(*[f"m{i}" for i in range(5)], route=routes("team"))
    team = SlackChannel("team", SecretStr("https://hooks.slack.invalid/x"))
    delivery = Delivery.of(rows, {"team": team}, T0)
    assert delivery.message.id == rows[0].group_id and delivery.message.is_group
    assert delivery.ids == [r.id for r in rows] and delivery.channel is team
    assert delivery.watches == [f"m{i}" for i in range(5)]


def test_a_delivery_to_an_unknown_channel_has_no_channel(row: Callable[..., OutboxRow]) -> None:
    assert Delivery.of([row(channel="gone")], {}, T0).channel is None


def test_only_the_reasons_that_tried_the_channel_count_an_attempt() -> None:
    assert {r for r in Reason if r.attempted} == {Reason.SENT, Reason.REJECTED, Reason.RETRY}
