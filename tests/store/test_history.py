"""The history store's facade: transactions, retries on conflict, retention (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

from retrain_sentinel.alerts.rules import AlertRuleSettings, AlertState
from retrain_sentinel.errors import StoreError
from retrain_sentinel.store import HistoryStore, alert_states, engine, upgrade
from retrain_sentinel.store.testing import T0, evaluation, routes

H = timedelta(hours=1)
SLACK = {"churn": routes("ml-team")}


def test_record_retries_from_fresh_reads_after_a_conflict(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    read_many = alert_states.read_many
    reads: list[int] = []

    def stale_first(connection: Connection, models: Sequence[str]) -> dict[str, AlertState]:
        found = read_many(connection, models)
        reads.append(len(reads))
        if len(reads) == 1:  # as if another writer had moved the state after we read it
            return {m: replace(s, version=s.version - 1) for m, s in found.items()}
        return found

    monkeypatch.setattr(alert_states, "read_many", stale_first)
    result = store.record([evaluation("triggered", T0 + H)], now=T0 + H, routes=SLACK)
    assert result.attempts == 2
    state = store.alert_state("churn")
    assert state is not None and state.version == 2 and state.consecutive_triggered == 2
    assert len(store.history()) == 2  # the first attempt's insert was rolled back
    assert [r.kind for r in store.outbox()] == ["firing"]


def test_record_gives_up_after_its_attempts(store: HistoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    read_many = alert_states.read_many

    def always_stale(connection: Connection, models: Sequence[str]) -> dict[str, AlertState]:
        return {m: replace(s, version=s.version - 1) for m, s in read_many(connection, models).items()}

    monkeypatch.setattr(alert_states, "read_many", always_stale)
    with pytest.raises(StoreError, match="5 conflicting concurrent writes"):
        store.record([evaluation("triggered", T0 + H)], now=T0 + H, routes=SLACK)
    assert len(store.history()) == 1


def test_concurrent_writers_neither_lose_nor_double_a_transition(database_url: str) -> None:
    rules = {"churn": AlertRuleSettings.model_validate({"for": 2})}
    stores = [HistoryStore(database_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(history: HistoryStore, offset: int) -> None:
        try:
            for i in range(10):
                barrier.wait()
                at = T0 + (2 * i + offset) * H
                history.record([evaluation("triggered", at)], now=at, rules=rules, routes=SLACK)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(s, n)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for history in stores:
        history.close()
    assert errors == []
    with HistoryStore(database_url) as history:
        state = history.alert_state("churn")
        assert state is not None
        assert state.consecutive_triggered == 20 and state.version == 20
        assert [r.kind for r in history.outbox()] == ["firing"]


def test_purge_removes_old_history_and_finished_notifications_only(store: HistoryStore) -> None:
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    store.record([evaluation("ok", T0 + 100 * 24 * H)], now=T0 + 100 * 24 * H, routes=SLACK)
    (firing, resolved) = store.outbox()
    store.mark_sent([firing.id], T0)
    store.record([evaluation("triggered", T0 + 101 * 24 * H)], now=T0 + 101 * 24 * H, routes=SLACK)
    refiring = store.outbox(status="pending")[-1]
    store.mark_sent([resolved.id], T0 + 100 * 24 * H)
    store.mark_sent([refiring.id], T0 + 101 * 24 * H)
    store.silence("churn", T0 + H, "old", now=T0)
    result = store.purge(T0 + 10 * 24 * H)
    assert (result.evaluations, result.notifications, result.silences) == (1, 1, 1)
    assert [e.outcome for e in store.history()] == ["triggered", "ok"]
    assert [r.id for r in store.outbox()] == [resolved.id, refiring.id]


def test_purge_keeps_what_the_receiver_was_last_told_however_old(store: HistoryStore) -> None:
    """The firing was delivered and its resolved is still queued (a long outage): purging the firing
    would let the resolved be dropped as "never announced", and the receiver would see it firing."""
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    store.record([evaluation("ok", T0 + 100 * 24 * H)], now=T0 + 100 * 24 * H, routes=SLACK)
    (firing, resolved) = store.outbox()
    store.mark_sent([firing.id], T0)
    assert store.purge(T0 + 10 * 24 * H).notifications == 0
    later = T0 + 100 * 24 * H
    assert [r.id for r in store.claim_due(later, "d", claim_for=timedelta(minutes=1)).rows] == [resolved.id]


def test_sqlite_readers_do_not_wait_for_a_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 300)  # fail fast instead of waiting 30 s
    url = f"sqlite:///{tmp_path / 'history.db'}"
    upgrade(url)
    with HistoryStore(url) as writer, HistoryStore(url) as reader:
        writer.record([evaluation("ok", T0)], now=T0)
        with writer._engine.begin() as holding:  # a long write transaction holds SQLite's write lock
            holding.exec_driver_sql("DELETE FROM silences")
            assert [e.outcome for e in reader.history()] == ["ok"]
            reader.ping()


def test_database_errors_become_store_errors(database_url: str) -> None:
    with HistoryStore(database_url) as history:
        engine = create_engine(database_url)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE evaluations"))
        engine.dispose()
        with pytest.raises(StoreError, match="reading the history failed"):
            history.history()
