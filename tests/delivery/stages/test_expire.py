"""The expire stage: a message older than max_age is given up before any attempt."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from retrain_sentinel.delivery.stages import Delivery, Expire, Reason
from retrain_sentinel.store import OutboxRow
from retrain_sentinel.store.testing import T0

MAX_AGE = timedelta(hours=24)


def test_expire_rules_a_message_older_than_max_age_too_old_saying_what_was_tried(
    row: Callable[..., OutboxRow],
) -> None:
    old = row(created_at=T0 - MAX_AGE - timedelta(seconds=1), attempts=4, last_error="HTTP 503")
    ruling = Expire(MAX_AGE)(Delivery.of([old], {}, T0))
    assert ruling is not None and ruling.reason is Reason.TOO_OLD
    assert ruling.detail == "not delivered within max_age (4 attempts; last error: HTTP 503)"


def test_expire_hands_on_a_message_exactly_max_age_old(row: Callable[..., OutboxRow]) -> None:
    assert Expire(MAX_AGE)(Delivery.of([row(created_at=T0 - MAX_AGE)], {}, T0)) is None


def test_expire_measures_the_age_at_the_runs_now_not_at_the_rows_creation(
    row: Callable[..., OutboxRow],
) -> None:
    fresh = [row(created_at=T0)]
    assert Expire(MAX_AGE)(Delivery.of(fresh, {}, T0 + MAX_AGE)) is None
    ruling = Expire(MAX_AGE)(Delivery.of(fresh, {}, T0 + MAX_AGE + timedelta(seconds=1)))
    assert ruling is not None and ruling.detail.endswith("(0 attempts; last error: none)")
