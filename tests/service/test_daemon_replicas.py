"""Replicas sharing one history database and one lease, as real processes on PostgreSQL (DESIGN §9).

Only the leader evaluates; a standby takes over within the lease TTL plus one poll when the leader
dies; and a leader paused past its lease (SIGSTOP) finds the write it was about to make refused by
its fencing token when it resumes. Each test reads both replicas' logs to attribute every history
row to exactly one of them.
"""

from __future__ import annotations

import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    CYCLES,
    DEGRADED,
    HEALTHY,
    LEASE_TTL,
    POLL,
    SOON,
    START,
    History,
    StartDaemon,
    attributed,
    config,
    evaluation_metrics,
    wait_evaluations,
    write_config,
)
from .daemon_process import DaemonProcess, Lab, utcnow, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(240)]


def _pair(
    tmp_path: Path, lab: Lab, history: History, start_daemon: StartDaemon
) -> tuple[DaemonProcess, DaemonProcess]:
    """Two replicas on one history database; ``first`` is the leader when this returns."""
    path = write_config(tmp_path / "sentinel.yaml", config(history.url, lab))
    first = start_daemon(path, "first")
    first.wait_role("leader", START)
    second = start_daemon(path, "second")
    second.wait_ready(START)
    assert second.get("/readyz").json()["role"] == "standby"
    return first, second


def _assert_every_row_attributed(
    history: History, *daemons: DaemonProcess
) -> list[set[tuple[str, datetime]]]:
    """Each history row was logged by exactly one of ``daemons``; returns each one's rows."""
    rows = history.rows()
    keys = {(r.model, r.slot_at) for r in rows}
    assert len(keys) == len(rows), "a (model, slot) twice"

    def logged() -> list[set[tuple[str, datetime]]] | None:
        sets = [attributed(d) & keys for d in daemons]
        return sets if set().union(*sets) == keys else None  # a commit is logged a moment later

    sets = wait_until(logged, SOON, "a history row no daemon logged")
    for i, mine in enumerate(sets):
        for theirs in sets[i + 1 :]:
            assert not mine & theirs, "two daemons claim one evaluation"
    return sets


def _slot_coverage(slots: list[datetime]) -> float:
    span = (max(slots) - min(slots)).total_seconds() / POLL + 1  # slots are every second
    return len(slots) / span


def test_two_daemons_only_the_leader_evaluates_and_the_standby_takes_over_after_sigkill(
    tmp_path: Path, lab: Lab, postgres_history: History, start_daemon: StartDaemon
) -> None:
    leader, standby = _pair(tmp_path, lab, postgres_history, start_daemon)
    wait_evaluations(postgres_history, {DEGRADED: 4, HEALTHY: 4}, CYCLES, leader)
    time.sleep(POLL)  # the standby had time to (wrongly) run a slot of its own

    assert leader.metric("retrain_sentinel_leader") == 1
    assert standby.metric("retrain_sentinel_leader") == 0
    assert evaluation_metrics(standby) == {}
    assert standby.events("evaluation") == []
    by_leader, by_standby = _assert_every_row_attributed(postgres_history, leader, standby)
    assert not by_standby
    for model in (DEGRADED, HEALTHY):
        slots = sorted(slot for m, slot in by_leader if m == model)
        assert _slot_coverage(slots) >= 0.5, slots  # one writer, slot after slot

    # SIGKILL the leader: the standby evaluates within the lease TTL plus one poll
    killed = time.time()
    leader.send(signal.SIGKILL)
    assert leader.wait_exit(5) == -signal.SIGKILL

    def taken_over() -> datetime | None:
        later = [r.evaluated_at for r in postgres_history.rows() if r.evaluated_at.timestamp() > killed]
        return min(later) if later else None

    first = wait_until(taken_over, LEASE_TTL + POLL + 5, "the standby never evaluated", interval=0.1)
    took = first.timestamp() - killed
    print(f"takeover after SIGKILL: {took:.2f}s (lease TTL {LEASE_TTL:.0f}s + poll {POLL:.0f}s)")
    assert took <= LEASE_TTL + POLL + 1.5
    assert standby.metric("retrain_sentinel_leader") == 1
    wait_evaluations(postgres_history, {DEGRADED: 7, HEALTHY: 7}, CYCLES, standby)

    by_leader, by_standby = _assert_every_row_attributed(postgres_history, leader, standby)
    assert by_standby
    assert max(slot for _, slot in by_leader) < min(slot for _, slot in by_standby)  # no slot replayed
    standby.send(signal.SIGTERM)
    assert standby.wait_exit(SOON) == 0


def _stop_outside_a_transaction(daemon: DaemonProcess, history: History) -> datetime:
    """SIGSTOP ``daemon`` at a moment it holds no lock on the lease row; returns when it was stopped.

    Stopped inside a transaction that locked the lease row (a renewal, a fenced write's check), it
    would keep every other replica from taking the lease over until it resumed: then it is resumed
    and stopped again a moment later.
    """
    for _ in range(20):
        stopped = utcnow()
        daemon.send(signal.SIGSTOP)
        wait_until(daemon.stopped, SOON, "SIGSTOP did not stop every thread", interval=0.01)
        if not history.lease_row_locked():
            return stopped
        daemon.send(signal.SIGCONT)
        time.sleep(0.1)
    raise AssertionError("the daemon held the lease row locked at every attempt")


def test_a_leader_paused_past_its_lease_has_its_pending_batch_refused_by_the_fencing_token(
    tmp_path: Path, postgres_lab: Lab, postgres_history: History, start_daemon: StartDaemon
) -> None:
    """A leader frozen in the middle of a batch resumes after another replica took the lease over.

    The batch is held inside its source read (the lab's tables are locked), so when the leader is
    stopped a write is certainly pending, for a slot nobody else will write (missed slots are not
    replayed): without fencing it would land in the history after the resume. With fencing the
    store refuses it by the token, and the replica steps down.
    """
    paused, other = _pair(tmp_path, postgres_lab, postgres_history, start_daemon)
    wait_evaluations(postgres_history, {DEGRADED: 2, HEALTHY: 2}, CYCLES, paused)
    paused_token = paused.events("daemon.leader")[0]["token"]

    with postgres_lab.locked():  # the leader's next batch waits inside its read, before its write
        wait_until(lambda: postgres_lab.waiting_readers() > 0, SOON, "the leader's batch never read the lab")
        stopped = _stop_outside_a_transaction(paused, postgres_history)
        other.wait_role("leader", LEASE_TTL + POLL + SOON)
    other_token = other.events("daemon.leader")[0]["token"]
    assert other_token > paused_token
    wait_until(lambda: len(attributed(other)) >= 4, CYCLES, "the new leader recorded fewer than two slots")
    wait_until(lambda: (utcnow() - stopped).total_seconds() > LEASE_TTL + 1, SOON, "clock")
    before_resume = {r.id for r in postgres_history.rows()}

    resumed_at = paused.log_size()
    paused.send(signal.SIGCONT)

    def fenced_batch() -> list[dict[str, Any]]:
        events = paused.events("daemon.write_fenced", since=resumed_at)
        return [e for e in events if str(e["job"]).startswith("schedule:")]

    (refused, *_) = wait_until(
        fenced_batch, SOON, f"the pending batch was not fenced; log:\n{paused.log_text()[-3000:]}"
    )
    assert f"token {other_token}" in refused["error"] and f"ours {paused_token}" in refused["error"], refused
    paused.wait_role("standby", SOON)
    paused.wait_event("daemon.lost_leadership", SOON)
    assert paused.events("evaluation", since=resumed_at) == [], "the paused leader recorded after resuming"
    count = {model: len([1 for m, _ in attributed(other) if m == model]) for model in (DEGRADED, HEALTHY)}
    wait_until(
        lambda: all(
            len([1 for m, _ in attributed(other) if m == model]) >= count[model] + 2 for model in count
        ),
        CYCLES,
        "the new leader stopped evaluating",
    )

    late = [r for r in postgres_history.rows() if r.id not in before_resume and r.evaluated_at <= stopped]
    assert late == [], "the paused leader's batch reached the history after it resumed"
    by_paused, by_other = _assert_every_row_attributed(
        postgres_history, paused, other
    )  # no (model, slot) twice
    assert all(slot <= stopped for _, slot in by_paused), "the paused leader wrote a slot after its pause"
    assert all(
        r.slot_at is None or r.slot_at <= stopped or (r.model, r.slot_at) in by_other
        for r in postgres_history.rows()
    )
    assert paused.metric("retrain_sentinel_leader") == 0

    for daemon in (paused, other):
        daemon.send(signal.SIGTERM)
    assert paused.wait_exit(SOON) == 0
    assert other.wait_exit(SOON) == 0
