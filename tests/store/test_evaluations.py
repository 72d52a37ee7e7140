"""Recording evaluations and reading the history back, run on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta

import pytest

from retrain_sentinel.alerts.rules import AlertRuleSettings
from retrain_sentinel.errors import LeaseLost
from retrain_sentinel.evaluation import Evaluation
from retrain_sentinel.snapshot import Provenance, Snapshot
from retrain_sentinel.store import HistoryStore
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


def test_times_come_back_aware_utc_whatever_zone_they_went_in_with(store: HistoryStore) -> None:
    from zoneinfo import ZoneInfo

    local = T0.astimezone(ZoneInfo("America/New_York"))
    store.record([evaluation("ok", local)], now=T0)
    stored = store.latest("churn")
    assert stored is not None and stored.evaluated_at == T0 and stored.evaluated_at.tzinfo == UTC


def test_naive_times_are_refused(store: HistoryStore) -> None:
    result = store.record([evaluation("ok", T0.replace(tzinfo=None))], now=T0)
    assert list(result.failed) == ["churn"] and "naive" in result.failed["churn"]
    assert store.history() == [] and store.alert_state("churn") is None


# --- one watch the database refuses (issue 11, item 5) -----------------------------------------------


def _refused(model: str) -> Evaluation:
    """An evaluation the store refuses on every backend: its time carries no zone."""
    return replace(evaluation("triggered", T0, model=model), evaluated_at=T0.replace(tzinfo=None))


def test_a_watch_the_database_refuses_is_reported_and_the_others_are_recorded(store: HistoryStore) -> None:
    batch = [evaluation("triggered", T0, model="a-good"), _refused("m-bad"), evaluation("ok", T0, model="z-good")]
    result = store.record(batch, now=T0, routes={m: routes("ml-team") for m in ("a-good", "m-bad", "z-good")})
    assert list(result.failed) == ["m-bad"] and "naive datetime" in result.failed["m-bad"]
    assert "INSERT" not in result.failed["m-bad"]  # the cause, never the statement or its values
    assert sorted(e.watch for e in store.history()) == ["a-good", "z-good"]
    assert len(result.evaluation_ids) == 2
    assert store.alert_state("m-bad") is None
    firing = store.alert_state("a-good")
    assert firing is not None and firing.alert_state == "firing"
    # the transactional outbox holds: the good watch's notification was queued with its evaluation
    assert [(r.watch, r.kind) for r in store.outbox()] == [("a-good", "firing")]
    assert [n.watch for n in result.notifications] == ["a-good"]


def test_the_batch_recorded_around_a_refused_watch_still_groups_its_notifications(store: HistoryStore) -> None:
    good = [f"m{i}" for i in range(4)]
    batch = [*(evaluation("triggered", T0, model=m) for m in good), _refused("bad")]
    result = store.record(batch, now=T0, routes={m: routes("ml-team") for m in [*good, "bad"]})
    assert list(result.failed) == ["bad"]
    rows = store.outbox()
    assert sorted(r.watch for r in rows) == good
    assert len({r.group_id for r in rows}) == 1 and rows[0].group_id is not None


def test_a_stale_lease_still_fences_a_batch_with_a_refused_watch(store: HistoryStore) -> None:
    old = store.acquire_or_renew_lease("scheduler", "a", timedelta(seconds=30))
    assert old is not None and store.release_lease(old)
    new = store.acquire_or_renew_lease("scheduler", "b", timedelta(seconds=30))
    assert new is not None
    batch = [evaluation("triggered", T0), _refused("bad")]
    with pytest.raises(LeaseLost):
        store.record(batch, now=T0, routes=SLACK, lease=old)
    assert store.history() == [] and store.outbox() == []
    result = store.record(batch, now=T0, routes=SLACK, lease=new)
    assert list(result.failed) == ["bad"] and [e.watch for e in store.history()] == ["churn"]


def test_an_already_recorded_slot_is_still_skipped_beside_a_refused_watch(store: HistoryStore) -> None:
    store.record([evaluation("ok", T0, slot_at=T0)], now=T0)
    result = store.record([evaluation("ok", T0 + H, slot_at=T0), _refused("bad")], now=T0 + H)
    assert result.skipped == (("churn", T0),) and list(result.failed) == ["bad"]
    assert len(store.history()) == 1
