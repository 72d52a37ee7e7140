"""Retrying, against a real store: the attempt counted, the claim handed back until the backoff ends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from retrain_sentinel.delivery.settings import DeliverySettings
from retrain_sentinel.delivery.stages import Delivery, Reason, Retry, Ruling
from retrain_sentinel.store import HistoryStore, OutboxRow
from retrain_sentinel.store.testing import T0

SETTINGS = DeliverySettings(base_delay=timedelta(seconds=2), max_delay=timedelta(minutes=10))


def _holder(rows: tuple[OutboxRow, ...]) -> str:
    """Who claimed ``rows`` (the dispatcher whose claim a retry releases)."""
    holder = rows[0].claimed_by
    assert holder is not None
    return holder


def test_retry_hands_the_rows_back_after_a_jittered_backoff(
    store: HistoryStore, claim: Callable[..., tuple[OutboxRow, ...]]
) -> None:
    rows = claim()
    retry = Retry(store, _holder(rows), SETTINGS, lambda: T0, jitter=lambda: 0.5)
    delay = retry(Delivery.of(rows, {}, T0), Ruling(Reason.RETRY, "hook answered HTTP 503"))
    (row,) = store.outbox()
    assert delay == timedelta(seconds=1)  # 2 s · 2^0 · 0.5
    assert (row.status, row.attempts, row.claimed_by) == ("pending", 1, None)
    assert row.next_attempt_at == T0 + delay and row.last_error == "hook answered HTTP 503"


def test_retry_waits_at_least_retry_after_counted_from_the_failed_answer(
    store: HistoryStore, claim: Callable[..., tuple[OutboxRow, ...]]
) -> None:
    answered = T0 + timedelta(seconds=5)  # pacing and earlier sends took a while
    rows = claim()
    retry = Retry(store, _holder(rows), SETTINGS, lambda: answered, jitter=lambda: 0.0)
    retry(Delivery.of(rows, {}, T0), Ruling(Reason.RETRY, "429", retry_after=2))
    assert store.outbox()[0].next_attempt_at == answered + timedelta(seconds=2)


def test_retry_leaves_rows_another_dispatcher_holds_alone(
    store: HistoryStore, claim: Callable[..., tuple[OutboxRow, ...]]
) -> None:
    rows = claim()
    retry = Retry(store, "someone-else", SETTINGS, lambda: T0, jitter=lambda: 0.5)
    retry(Delivery.of(rows, {}, T0), Ruling(Reason.RETRY, "503"))
    (row,) = store.outbox()
    assert (row.attempts, row.claimed_by) == (0, _holder(rows))
