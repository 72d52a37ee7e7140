"""The leader lease and fencing: a stale token's writes are refused in the writing transaction."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from retrain_sentinel.errors import LeaseLost
from retrain_sentinel.store import HistoryStore
from retrain_sentinel.store.testing import T0, evaluation, routes

TTL = timedelta(seconds=30)
SHORT = timedelta(milliseconds=400)


def test_the_first_holder_gets_the_lease_and_others_are_refused(store: HistoryStore) -> None:
    token = store.acquire_or_renew_lease("scheduler", "a", TTL)
    assert token is not None and token.token == 1 and token.holder == "a"
    assert store.acquire_or_renew_lease("scheduler", "b", TTL) is None
    info = store.lease_holder("scheduler")
    assert info is not None and info.holder == "a" and info.active


def test_renewing_keeps_the_fencing_token(store: HistoryStore) -> None:
    first = store.acquire_or_renew_lease("scheduler", "a", TTL)
    renewed = store.acquire_or_renew_lease("scheduler", "a", TTL)
    assert first is not None and renewed is not None
    assert renewed.token == first.token and renewed.expires_at >= first.expires_at


def test_a_takeover_after_expiry_increments_the_token(store: HistoryStore) -> None:
    old = store.acquire_or_renew_lease("scheduler", "a", SHORT)
    time.sleep(SHORT.total_seconds() + 0.2)
    new = store.acquire_or_renew_lease("scheduler", "b", TTL)
    assert old is not None and new is not None
    assert new.token == old.token + 1 and new.holder == "b"


def test_release_lets_a_standby_take_over_at_once(store: HistoryStore) -> None:
    token = store.acquire_or_renew_lease("scheduler", "a", TTL)
    assert token is not None and store.release_lease(token)
    assert store.acquire_or_renew_lease("scheduler", "b", TTL) is not None
    assert not store.release_lease(token)


def test_a_stale_token_cannot_record_and_nothing_is_written(store: HistoryStore) -> None:
    old = store.acquire_or_renew_lease("scheduler", "a", SHORT)
    time.sleep(SHORT.total_seconds() + 0.2)
    new = store.acquire_or_renew_lease("scheduler", "b", TTL)
    assert old is not None and new is not None
    with pytest.raises(LeaseLost, match="taken over"):
        store.record([evaluation("triggered", T0)], now=T0, routes={"churn": routes("ml-team")}, lease=old)
    assert store.history() == [] and store.outbox() == [] and store.alert_state("churn") is None
    store.record([evaluation("triggered", T0)], now=T0, routes={"churn": routes("ml-team")}, lease=new)
    assert len(store.outbox()) == 1


def test_an_expired_token_cannot_write_even_before_a_takeover(store: HistoryStore) -> None:
    old = store.acquire_or_renew_lease("scheduler", "a", SHORT)
    time.sleep(SHORT.total_seconds() + 0.2)
    assert old is not None
    with pytest.raises(LeaseLost, match="expired"):
        store.record([evaluation("ok", T0)], now=T0, lease=old)


def test_a_stale_token_cannot_claim_or_mark_notifications(store: HistoryStore) -> None:
    store.record([evaluation("triggered", T0)], now=T0, routes={"churn": routes("ml-team")})
    old = store.acquire_or_renew_lease("dispatcher", "a", SHORT)
    assert old is not None
    (row,) = store.claim_due(T0, "a", claim_for=TTL, lease=old).rows
    time.sleep(SHORT.total_seconds() + 0.2)
    assert store.acquire_or_renew_lease("dispatcher", "b", TTL) is not None
    with pytest.raises(LeaseLost):
        store.mark_sent([row.id], T0, lease=old)
    with pytest.raises(LeaseLost):
        store.mark_failed([row.id], "a", T0, "boom", lease=old)
    with pytest.raises(LeaseLost):
        store.claim_due(T0 + timedelta(hours=1), "a", claim_for=TTL, lease=old)
    assert store.outbox()[0].status == "pending"
