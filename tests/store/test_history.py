"""The history store's contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from retrain_sentinel.alerts.rules import AlertRuleSettings
from retrain_sentinel.errors import StoreError
from retrain_sentinel.evaluation import Evaluation
from retrain_sentinel.snapshot import Provenance, Snapshot
from retrain_sentinel.store import HistoryStore, engine, upgrade
from retrain_sentinel.store.testing import T0, evaluation, routes

H = timedelta(hours=1)
SLACK = {"churn": routes("ml-team")}


def test_record_writes_the_evaluation_and_history_reads_it_back(store: HistoryStore) -> None:
    snapshot = Snapshot(
        drift_metrics={"js_divergence": 0.31},
        current_count=1200,
        observed_at=T0,
        provenance=Provenance(source="lab", registry_model="churn", model_version="3"),
    )
    record = Evaluation(**{**evaluation("triggered", T0).__dict__, "snapshot": snapshot})
    result = store.record([record], now=T0)
    (stored,) = store.history()
    assert result.evaluation_ids == (stored.id,)
    assert stored.watch == "churn" and stored.outcome == "triggered" and stored.severity == "warning"
    assert stored.evaluated_at == T0 and stored.evaluated_at.tzinfo is not None
    assert stored.report is not None and stored.report.fired_triggers == ["drift"]
    assert stored.snapshot == snapshot
    assert stored.fingerprint == "churn|drift"
    assert stored.baseline_version == "3"
    assert stored.duration == pytest.approx(0.01)


def test_history_is_newest_first_and_filters_by_model_and_time(store: HistoryStore) -> None:
    store.record(
        [evaluation("ok", T0 + i * H, model=m) for i in range(3) for m in ("a", "b")], now=T0 + 3 * H
    )
    assert [e.evaluated_at for e in store.history("a")] == [T0 + 2 * H, T0 + H, T0]
    assert len(store.history(since=T0 + H)) == 4
    assert len(store.history(limit=1)) == 1
    latest = store.latest("b")
    assert latest is not None and latest.evaluated_at == T0 + 2 * H
    assert store.latest("nobody") is None


def test_non_finite_numbers_are_stored_as_strict_json(store: HistoryStore) -> None:
    record = evaluation("triggered", T0)
    assert record.report is not None
    record.report.trigger_details[0].actual_value = float("inf")
    store.record([record], now=T0)
    stored = store.latest("churn")
    assert stored is not None and stored.report is not None
    assert stored.report.to_dict()["trigger_details"][0]["actual_value"] in ("inf", float("inf"))


def test_an_already_recorded_slot_is_skipped_without_failing_the_batch(store: HistoryStore) -> None:
    slot = T0
    store.record([evaluation("triggered", T0, slot_at=slot)], now=T0, routes=SLACK)
    again = store.record(
        [
            evaluation("triggered", T0 + H, slot_at=slot),
            evaluation("ok", T0 + H, model="other", slot_at=slot),
        ],
        now=T0 + H,
        routes=SLACK,
    )
    assert again.skipped == (("churn", slot),)
    assert len(again.evaluation_ids) == 1
    assert len(store.history("churn")) == 1
    assert [r.kind for r in store.outbox("churn")] == ["firing"]  # the skipped one changed no state


def test_checks_without_a_slot_are_all_recorded(store: HistoryStore) -> None:
    store.record([evaluation("ok", T0), evaluation("ok", T0)], now=T0)
    assert len(store.history()) == 2


def test_record_applies_the_rules_and_queues_notifications_in_the_same_transaction(
    store: HistoryStore,
) -> None:
    rules = {"churn": AlertRuleSettings.model_validate({"for": 2})}
    first = store.record([evaluation("triggered", T0)], now=T0, rules=rules, routes=SLACK)
    assert first.notifications == ()
    second = store.record([evaluation("triggered", T0 + H)], now=T0 + H, rules=rules, routes=SLACK)
    assert [(c.kind, c.rule) for c in second.changes["churn"]] == [("firing", "for")]
    state = store.alert_state("churn")
    assert state is not None and state.alert_state == "firing" and state.version == 2
    assert state.notified == {"ml-team": T0 + H}
    (row,) = store.outbox()
    assert row.id == second.notifications[0].id and row.status == "pending" and row.channel == "ml-team"
    assert row.notification == second.notifications[0]
    assert row.episode == state.episode


def test_many_notifications_for_one_channel_in_a_batch_share_a_group(store: HistoryStore) -> None:
    models = [f"m{i}" for i in range(4)]
    route_map = {m: routes("ml-team", "hook", kinds={"hook": "webhook"}) for m in models}
    store.record([evaluation("triggered", T0, model=m) for m in models], now=T0, routes=route_map)
    slack = [r for r in store.outbox() if r.channel == "ml-team"]
    hooks = [r for r in store.outbox() if r.channel == "hook"]
    assert len({r.group_id for r in slack}) == 1 and slack[0].group_id is not None
    assert all(r.group_id is None for r in hooks)  # webhooks are never grouped


def test_up_to_the_threshold_notifications_are_not_grouped(store: HistoryStore) -> None:
    models = ["a", "b", "c"]
    store.record(
        [evaluation("triggered", T0, model=m) for m in models],
        now=T0,
        routes={m: routes("ml-team") for m in models},
    )
    assert all(r.group_id is None for r in store.outbox())


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


def test_purge_removes_old_history_and_finished_notifications_only(store: HistoryStore) -> None:
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    store.record([evaluation("ok", T0 + 100 * 24 * H)], now=T0 + 100 * 24 * H, routes=SLACK)
    (firing, resolved) = store.outbox()
    store.mark_sent([firing.id], T0)
    store.silence("churn", T0 + H, "old", now=T0)
    result = store.purge(T0 + 10 * 24 * H)
    assert (result.evaluations, result.notifications, result.silences) == (1, 1, 1)
    assert [e.outcome for e in store.history()] == ["ok"]
    assert [r.id for r in store.outbox()] == [resolved.id]


def test_purge_keeps_the_delivered_firing_of_an_alert_still_firing(store: HistoryStore) -> None:
    hook = {"churn": routes("hook", kinds={"hook": "webhook"})}  # webhooks never repeat by default
    store.record([evaluation("triggered", T0)], now=T0, routes=hook)
    (firing,) = store.claim_due(T0, "a", claim_for=timedelta(minutes=2)).rows
    store.mark_sent([firing.id], T0)
    later = T0 + 100 * 24 * H
    store.purge(later - 90 * 24 * H)
    store.record([evaluation("ok", later)], now=later, routes=hook)
    (resolved,) = store.claim_due(later, "a", claim_for=timedelta(minutes=2)).rows
    assert resolved.kind == "resolved"


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


def test_times_come_back_aware_utc_whatever_zone_they_went_in_with(store: HistoryStore) -> None:
    from zoneinfo import ZoneInfo

    local = T0.astimezone(ZoneInfo("America/New_York"))
    store.record([evaluation("ok", local)], now=T0)
    stored = store.latest("churn")
    assert stored is not None and stored.evaluated_at == T0 and stored.evaluated_at.tzinfo == UTC


def test_naive_times_are_refused(store: HistoryStore) -> None:
    with pytest.raises((StoreError, ValueError), match="naive"):
        store.record([evaluation("ok", T0.replace(tzinfo=None))], now=T0)


def test_database_errors_become_store_errors(database_url: str) -> None:
    with HistoryStore(database_url) as history:
        engine = create_engine(database_url)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE evaluations"))
        engine.dispose()
        with pytest.raises(StoreError, match="reading the history failed"):
            history.history()


def test_pending_summary_counts_waiting_notifications_and_dates_the_oldest(store: HistoryStore) -> None:
    assert store.pending_summary() == (0, None)
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    store.record([evaluation("ok", T0 + H)], now=T0 + H, routes=SLACK)
    count, oldest = store.pending_summary()
    assert count == 2 and oldest == T0 and oldest.tzinfo == UTC
    store.mark_sent([store.outbox()[0].id], T0 + H)
    assert store.pending_summary() == (1, T0 + H)
