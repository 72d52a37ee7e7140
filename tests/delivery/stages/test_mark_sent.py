"""Marking sent, against a real store: at the answer's time, every member, under the lease."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from retrain_sentinel.delivery.stages import Delivery, MarkSent
from retrain_sentinel.errors import LeaseLost
from retrain_sentinel.store import HistoryStore, OutboxRow
from retrain_sentinel.store.testing import T0, routes

ANSWERED = T0 + timedelta(seconds=3)


def test_mark_sent_marks_the_rows_sent_at_the_time_of_the_answer(
    store: HistoryStore, claim: Callable[..., tuple[OutboxRow, ...]]
) -> None:
    MarkSent(store, lambda: ANSWERED)(Delivery.of(claim(), {}, T0))
    (row,) = store.outbox()
    assert (row.status, row.sent_at, row.claimed_by, row.attempts) == ("sent", ANSWERED, None, 0)


def test_mark_sent_marks_every_member_of_a_group(
    store: HistoryStore, claim: Callable[..., tuple[OutboxRow, ...]]
) -> None:
    rows = claim(*[f"m{i}" for i in range(5)], route=routes("team"))
    MarkSent(store, lambda: ANSWERED)(Delivery.of(rows, {}, T0))
    assert [r.status for r in store.outbox()] == ["sent"] * 5


def test_mark_sent_under_a_lost_lease_is_refused_and_the_row_stays_pending(
    store: HistoryStore, claim: Callable[..., tuple[OutboxRow, ...]]
) -> None:
    short = timedelta(milliseconds=400)
    old = store.acquire_or_renew_lease("dispatcher", "a", short)
    assert old is not None
    rows = claim(lease=old)
    time.sleep(short.total_seconds() + 0.2)
    assert store.acquire_or_renew_lease("dispatcher", "b", timedelta(seconds=30)) is not None
    with pytest.raises(LeaseLost):
        MarkSent(store, lambda: ANSWERED)(Delivery.of(rows, {}, T0, old))
    assert store.outbox()[0].status == "pending"
