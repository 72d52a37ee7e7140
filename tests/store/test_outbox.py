"""Claiming and superseding in the outbox: order per (model, channel), and no row sent twice at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from retrain_sentinel.store import HistoryStore, OutboxRow
from retrain_sentinel.store.testing import T0, evaluation, routes

H = timedelta(hours=1)
CLAIM = timedelta(minutes=2)
SLACK = {"churn": routes("ml-team")}


def _fire_and_resolve(store: HistoryStore) -> None:
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    store.record([evaluation("ok", T0 + H)], now=T0 + H, routes=SLACK)


def test_two_claimers_never_get_the_same_row(store: HistoryStore) -> None:
    models = [f"m{i}" for i in range(6)]
    store.record(
        [evaluation("triggered", T0, model=m) for m in models],
        now=T0,
        routes={m: routes("hook", kinds={"hook": "webhook"}) for m in models},
    )
    first = store.claim_due(T0, "a", claim_for=CLAIM, limit=4).rows
    second = store.claim_due(T0, "b", claim_for=CLAIM).rows
    assert len(first) == 4 and len(second) == 2
    assert not {r.id for r in first} & {r.id for r in second}
    assert store.claim_due(T0, "c", claim_for=CLAIM).rows == ()


def test_an_expired_claim_is_claimed_again(store: HistoryStore) -> None:
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    (row,) = store.claim_due(T0, "a", claim_for=CLAIM).rows
    assert store.claim_due(T0 + timedelta(minutes=1), "b", claim_for=CLAIM).rows == ()
    (again,) = store.claim_due(T0 + timedelta(minutes=3), "b", claim_for=CLAIM).rows
    assert again.id == row.id and again.claimed_by == "b"


def test_a_resolved_whose_firing_was_never_sent_is_superseded_with_it(store: HistoryStore) -> None:
    _fire_and_resolve(store)
    claim = store.claim_due(T0 + H, "a", claim_for=CLAIM)
    assert claim.rows == ()
    assert sorted(r.kind for r in store.outbox(status="superseded")) == ["firing", "resolved"]


def test_a_resolved_after_a_delivered_firing_is_sent(store: HistoryStore) -> None:
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    (firing,) = store.claim_due(T0, "a", claim_for=CLAIM).rows
    store.mark_sent([firing.id], T0)
    store.record([evaluation("ok", T0 + H)], now=T0 + H, routes=SLACK)
    (resolved,) = store.claim_due(T0 + H, "a", claim_for=CLAIM).rows
    assert resolved.kind == "resolved"


def test_a_newer_transition_supersedes_an_undelivered_older_one(store: HistoryStore) -> None:
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    (firing,) = store.claim_due(T0, "a", claim_for=CLAIM).rows
    store.mark_failed([firing.id], "a", T0 + 10 * H, "HTTP 500")
    escalated = evaluation("triggered", T0 + H, triggers=("drift", "performance"), severity="critical")
    store.record([escalated], now=T0 + H, routes=SLACK)
    (changed,) = store.claim_due(T0 + H, "a", claim_for=CLAIM).rows
    assert changed.kind == "changed"
    assert [r.id for r in store.outbox(status="superseded")] == [firing.id]


def test_a_row_in_flight_is_not_overtaken(store: HistoryStore) -> None:
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    store.claim_due(T0, "a", claim_for=CLAIM)
    store.record([evaluation("ok", T0 + timedelta(seconds=1))], now=T0 + timedelta(seconds=1), routes=SLACK)
    assert store.claim_due(T0 + timedelta(seconds=1), "b", claim_for=CLAIM).rows == ()
    assert store.outbox(status="superseded") == []


def test_failed_rows_wait_for_their_next_attempt(store: HistoryStore) -> None:
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    (row,) = store.claim_due(T0, "a", claim_for=CLAIM).rows
    store.mark_failed(
        [row.id], "a", T0 + timedelta(seconds=30), "HTTP 503 from https://hooks.slack.com/services/T/B/SECRET"
    )
    assert store.claim_due(T0 + timedelta(seconds=29), "a", claim_for=CLAIM).rows == ()
    (again,) = store.claim_due(T0 + timedelta(seconds=30), "a", claim_for=CLAIM).rows
    assert again.attempts == 1
    assert again.last_error == "HTTP 503 from https://hooks.slack.com"


def test_mark_failed_leaves_rows_another_dispatcher_claimed(store: HistoryStore) -> None:
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    (row,) = store.claim_due(T0, "a", claim_for=CLAIM).rows
    assert store.mark_failed([row.id], "b", T0 + H, "HTTP 500") == 0
    (untouched,) = store.outbox()
    assert untouched.claimed_by == "a" and untouched.attempts == 0 and untouched.last_error is None
    assert store.mark_failed([row.id], "a", T0 + H, "HTTP 500") == 1
    (failed,) = store.outbox()
    assert failed.claimed_by is None and failed.claimed_until is None and failed.status == "pending"
    assert failed.attempts == 1 and failed.next_attempt_at == T0 + H and failed.last_error == "HTTP 500"


def test_mark_failed_leaves_rows_no_longer_pending(store: HistoryStore) -> None:
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    (row,) = store.claim_due(T0, "a", claim_for=CLAIM).rows
    store.mark_sent([row.id], T0)
    assert store.mark_failed([row.id], "a", T0 + H, "HTTP 500") == 0
    (sent,) = store.outbox()
    assert sent.status == "sent" and sent.attempts == 0 and sent.last_error is None


def test_pending_summary_counts_waiting_notifications_and_dates_the_oldest(store: HistoryStore) -> None:
    assert store.pending_summary() == (0, None)
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    store.record([evaluation("ok", T0 + H)], now=T0 + H, routes=SLACK)
    count, oldest = store.pending_summary()
    assert count == 2 and oldest == T0 and oldest.tzinfo == UTC
    store.mark_sent([store.outbox()[0].id], T0 + H)
    assert store.pending_summary() == (1, T0 + H)


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


# --- the receiver's last word; abandoned claims; the claim window (issue 11) ----------------------


def _sent(store: HistoryStore, when: datetime) -> OutboxRow:
    (row,) = store.claim_due(when, "a", claim_for=CLAIM).rows
    store.mark_sent([row.id], when)
    return row


def test_after_an_outage_the_final_resolved_reaches_a_receiver_told_of_an_earlier_firing(
    store: HistoryStore,
) -> None:
    """firing (sent) → resolved, firing, resolved (all queued while the receiver was down): the
    receiver believes firing, so the last resolved must go, though its own episode was never sent."""
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    _sent(store, T0)
    for step, outcome in enumerate(("ok", "triggered", "ok"), start=1):
        store.record([evaluation(outcome, T0 + step * H)], now=T0 + step * H, routes=SLACK)
    claim = store.claim_due(T0 + 4 * H, "a", claim_for=CLAIM)
    assert [r.kind for r in claim.rows] == ["resolved"]
    assert claim.rows[0].episode != store.outbox(status="sent")[0].episode  # the second episode's
    assert len(claim.superseded) == 2


def test_after_an_outage_nothing_is_sent_to_a_receiver_that_already_heard_the_end(store: HistoryStore) -> None:
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    _sent(store, T0)
    store.record([evaluation("ok", T0 + H)], now=T0 + H, routes=SLACK)
    _sent(store, T0 + H)
    for step, outcome in enumerate(("triggered", "ok"), start=2):
        store.record([evaluation(outcome, T0 + step * H)], now=T0 + step * H, routes=SLACK)
    claim = store.claim_due(T0 + 4 * H, "a", claim_for=CLAIM)
    assert claim.rows == () and len(claim.superseded) == 2


def test_a_claim_taken_under_an_older_lease_is_taken_over_at_once(store: HistoryStore) -> None:
    old = store.acquire_or_renew_lease("leader", "old", timedelta(seconds=1))
    assert old is not None
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    (row,) = store.claim_due(T0, "dispatcher-old", claim_for=CLAIM, lease=old).rows
    assert row.claim_token == old.token
    store.release_lease(old)  # as the lease expiring after a kill -9 would
    new = store.acquire_or_renew_lease("leader", "new", timedelta(seconds=30))
    assert new is not None and new.token > old.token
    (again,) = store.claim_due(T0, "dispatcher-new", claim_for=CLAIM, lease=new).rows
    assert again.id == row.id and again.claimed_by == "dispatcher-new" and again.claim_token == new.token


def test_a_lease_less_claim_still_waits_out_its_claim(store: HistoryStore) -> None:
    lease = store.acquire_or_renew_lease("leader", "daemon", timedelta(seconds=30))
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    assert len(store.claim_due(T0, "check", claim_for=CLAIM).rows) == 1  # `check` holds no lease
    assert store.claim_due(T0, "daemon", claim_for=CLAIM, lease=lease).rows == ()


def test_rows_a_dispatcher_could_not_mark_are_its_own_to_claim_again(store: HistoryStore) -> None:
    store.record([evaluation("triggered", T0)], now=T0, routes=SLACK)
    (row,) = store.claim_due(T0, "a", claim_for=CLAIM).rows
    assert store.claim_due(T0, "a", claim_for=CLAIM).rows == ()
    (again,) = store.claim_due(T0, "a", claim_for=CLAIM, reclaim=[row.id]).rows
    assert again.id == row.id


def test_watches_stuck_behind_live_claims_do_not_fill_the_claim_window(store: HistoryStore) -> None:
    """Newer rows of watches whose send is in flight used to take every place of the oldest-first
    window, and no other watch was claimed until the claims timed out."""
    stuck = [f"stuck{i}" for i in range(5)]
    hook = {m: routes("hook", kinds={"hook": "webhook"}) for m in [*stuck, "other"]}
    store.record([evaluation("triggered", T0, model=m) for m in stuck], now=T0, routes=hook)
    assert len(store.claim_due(T0, "a", claim_for=CLAIM).rows) == 5  # in flight
    soon = T0 + timedelta(seconds=30)  # the claims still stand
    store.record([evaluation("ok", soon, model=m) for m in stuck], now=soon, routes=hook)
    later = soon + timedelta(seconds=1)
    store.record([evaluation("triggered", later, model="other")], now=later, routes=hook)
    (claimed,) = store.claim_due(later, "b", claim_for=CLAIM, limit=5).rows
    assert claimed.watch == "other"


def test_a_channel_filter_claims_only_that_channel(store: HistoryStore) -> None:
    both = {"churn": routes("hook", "ml-team", kinds={"hook": "webhook"})}
    store.record([evaluation("triggered", T0)], now=T0, routes=both)
    (hook,) = store.claim_due(T0, "a", claim_for=CLAIM, channels=["hook"]).rows
    (slack,) = store.claim_due(T0, "a", claim_for=CLAIM, other_than=["hook"]).rows
    assert (hook.channel, slack.channel) == ("hook", "ml-team")
