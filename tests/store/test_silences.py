"""Silences suppress a model's notifications, never its history or state (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from retrain_sentinel.store import HistoryStore
from retrain_sentinel.store.testing import T0, evaluation, routes

H = timedelta(hours=1)
SLACK = {"churn": routes("ml-team")}


def test_a_silence_suppresses_notifications_but_not_history_or_state(store: HistoryStore) -> None:
    silence = store.silence("churn", T0 + 2 * H, "maintenance", now=T0)
    assert silence.until == T0 + 2 * H
    store.record([evaluation("triggered", T0 + H)], now=T0 + H, routes=SLACK)
    assert store.outbox() == []
    assert len(store.history()) == 1
    state = store.alert_state("churn")
    assert state is not None and state.alert_state == "firing"
    assert [s.watch for s in store.silences(T0 + H)] == ["churn"]
    assert store.silences(T0 + 3 * H) == []


def test_unsilence_lifts_the_silence(store: HistoryStore) -> None:
    store.silence("churn", T0 + 10 * H, "maintenance", now=T0)
    assert store.unsilence("churn") == 1
    store.record([evaluation("triggered", T0 + H)], now=T0 + H, routes=SLACK)
    assert [r.kind for r in store.outbox()] == ["firing"]


def test_silences_without_a_time_lists_expired_ones_too_soonest_end_first(store: HistoryStore) -> None:
    later = store.silence("churn", T0 + 2 * H, "maintenance", now=T0)
    ended = store.silence("fraud", T0 + H, "noisy", now=T0)
    assert store.silences() == [ended, later]
    assert store.silences(T0 + H) == [later]


def test_a_silence_of_another_model_lets_notifications_through(store: HistoryStore) -> None:
    store.silence("fraud", T0 + 10 * H, "maintenance", now=T0)
    store.record([evaluation("triggered", T0 + H)], now=T0 + H, routes=SLACK)
    assert [r.kind for r in store.outbox()] == ["firing"]
