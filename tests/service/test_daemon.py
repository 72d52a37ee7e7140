"""``retrain-sentinel run`` as a real process (issue 6, "Acceptance (the daemon as a real process)").

Every test starts the daemon from the project's virtualenv with a config watching models every
second under a 3 s lease (so the lease loop ticks every second), talks to it over HTTP and signals,
and reads its history database and JSON log. Nothing is mocked: SQLite or PostgreSQL history, a
real experiment DB and registry, a real webhook receiver, real SIGTERM / SIGHUP / SIGKILL / SIGSTOP.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from retrain_sentinel.delivery.signature import SIGNATURE_HEADER, verify_signature

from .conftest import DEGRADED, HEALTHY, METRIC, SPARE, History, Row, StartDaemon, config, write_config
from .daemon_process import DaemonProcess, Lab, utcnow, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

LEASE_TTL = 3.0
POLL = LEASE_TTL / 3
SECRET = "hook-secret-value"
Metrics = dict[tuple[str, tuple[tuple[str, str], ...]], float]


# --- helpers --------------------------------------------------------------------------------------


def hooks(httpserver: HTTPServer) -> list[dict[str, Any]]:
    """The webhook bodies received so far, each checked against its signature."""
    bodies = []
    for request, _response in list(httpserver.log):
        assert verify_signature(request.get_data(), request.headers[SIGNATURE_HEADER], [SECRET])
        bodies.append(request.get_json())
    return bodies


def transitions(httpserver: HTTPServer) -> list[tuple[str, str]]:
    return [(body["model"], body["transition"]) for body in hooks(httpserver)]


def wait_evaluations(
    history: History, at_least: dict[str, int], timeout: float, daemon: DaemonProcess
) -> None:
    def enough() -> bool:
        daemon.check_alive()
        totals = history.per_model()
        return all(totals.get(model, 0) >= n for model, n in at_least.items())

    wait_until(enough, timeout, f"fewer evaluations than {at_least} in {history.per_model()}", interval=0.2)


def evaluation_metrics(daemon: DaemonProcess, metrics: Metrics | None = None) -> dict[tuple[str, str], int]:
    """``retrain_sentinel_evaluations_total`` as {(model, outcome): count}."""
    found = {}
    for (name, labels), value in (metrics if metrics is not None else daemon.metrics()).items():
        if name == "retrain_sentinel_evaluations_total":
            found[(dict(labels)["model"], dict(labels)["outcome"])] = int(value)
    return found


def consistent_metrics(daemon: DaemonProcess, history: History) -> tuple[dict[Any, float], list[Row]]:
    """``/metrics`` and the history rows read at a moment no batch was between commit and count.

    The daemon commits a batch and then counts it, so a read can fall between the two; reading the
    metrics before and after the history and retrying until all three agree gives a consistent pair.
    """

    def agreeing() -> tuple[dict[Any, float], list[Row]] | None:
        before = daemon.metrics()
        rows = history.rows()
        after = daemon.metrics()
        counts = Counter((r.model, r.outcome) for r in rows)
        agree = before == after and evaluation_metrics(daemon, after) == counts
        return (after, rows) if agree else None

    return wait_until(agreeing, 10, "the evaluations counters never matched the history", interval=0.1)


def attributed(daemon: DaemonProcess) -> set[tuple[str, datetime]]:
    """The (model, slot) of every evaluation this process recorded, from its own log."""
    return {
        (event["model"], datetime.fromisoformat(event["slot"]))
        for event in daemon.events("evaluation")
        if event.get("slot") is not None
    }


# --- SQLite history: one daemon, a real webhook receiver ------------------------------------------


@pytest.fixture
def receiver(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return httpserver


def test_daemon_fires_once_resolves_once_and_its_metrics_match_the_history(
    tmp_path: Path, lab: Lab, sqlite_history: History, receiver: HTTPServer, start_daemon: StartDaemon
) -> None:
    path = write_config(
        tmp_path / "sentinel.yaml", config(sqlite_history.url, lab, hook_url=receiver.url_for("/hook"))
    )
    started = time.monotonic()
    daemon = start_daemon(path)
    ready = daemon.wait_ready(5)
    assert time.monotonic() - started <= 5
    assert ready.json() == {"status": "ready", "role": "leader", "reason": "ready"}
    assert daemon.get("/healthz").status == 200

    # three cycles and more: one firing for the degraded model, nothing for the healthy one
    wait_evaluations(sqlite_history, {DEGRADED: 3, HEALTHY: 3}, 15, daemon)
    wait_until(lambda: transitions(receiver), 5, "no webhook arrived")
    time.sleep(2 * POLL)  # two more dispatcher rounds and evaluations: a duplicate would show now
    assert sqlite_history.per_model()[DEGRADED] >= 4
    assert transitions(receiver) == [(DEGRADED, "firing")]
    firing = hooks(receiver)[0]
    assert firing["fired_triggers"] == ["performance"]
    assert receiver.log[0][0].headers["Idempotency-Key"] == firing["idempotency_key"]

    # /metrics tells what the history holds
    metrics, rows = consistent_metrics(daemon, sqlite_history)
    counts = Counter((r.model, r.outcome) for r in rows)
    assert {model for model, _ in counts} == {DEGRADED, HEALTHY}
    assert {outcome for (model, outcome) in counts if model == DEGRADED} == {"triggered"}
    assert {outcome for (model, outcome) in counts if model == HEALTHY} == {"ok"}
    assert metrics[("retrain_sentinel_model_triggered", (("model", DEGRADED),))] == 1
    assert metrics[("retrain_sentinel_model_triggered", (("model", HEALTHY),))] == 0
    assert metrics[("retrain_sentinel_leader", ())] == 1
    assert metrics[("retrain_sentinel_config_last_reload_successful", ())] == 1
    for model in (DEGRADED, HEALTHY):
        latest = max(r.evaluated_at for r in rows if r.model == model)
        last = metrics[("retrain_sentinel_last_evaluation_timestamp_seconds", (("model", model),))]
        assert last == pytest.approx(latest.timestamp(), abs=1e-3)
    durations = metrics[("retrain_sentinel_evaluation_duration_seconds_count", ())]
    assert durations == len(rows)
    sent = metrics[("retrain_sentinel_notifications_total", (("channel", "hook"), ("outcome", "sent")))]
    assert sent == 1
    wait_until(lambda: sqlite_history.sent("hook") == 1, 5, "the firing is not marked sent")
    assert len({(r.model, r.slot_at) for r in rows}) == len(rows)  # every slot at most once

    # the pipeline logged a better model: exactly one resolved
    lab.evaluate(DEGRADED, METRIC, 0.93, utcnow())
    wait_until(lambda: len(transitions(receiver)) >= 2, 10, "no resolved webhook")
    before = sqlite_history.per_model()[DEGRADED]
    wait_evaluations(sqlite_history, {DEGRADED: before + 2}, 10, daemon)
    time.sleep(POLL)
    assert transitions(receiver) == [(DEGRADED, "firing"), (DEGRADED, "resolved")]
    assert daemon.metric("retrain_sentinel_model_triggered", model=DEGRADED) == 0

    # SIGTERM: a graceful stop, exit 0 within 10 s, the lease released
    stopping = time.monotonic()
    daemon.send(signal.SIGTERM)
    assert daemon.wait_exit(10) == 0
    print(f"SIGTERM to exit: {time.monotonic() - stopping:.2f}s")
    assert daemon.events("daemon.stopped")[-1]["graceful"] is True
    assert SECRET not in daemon.log_text()
    assert "/hook" not in daemon.log_text()  # the URL is secret: at most its scheme and host are logged


def test_sighup_with_a_broken_config_keeps_the_old_one_until_a_good_one_comes(
    tmp_path: Path, lab: Lab, sqlite_history: History, start_daemon: StartDaemon
) -> None:
    good = config(sqlite_history.url, lab)
    path = write_config(tmp_path / "sentinel.yaml", good)
    daemon = start_daemon(path)
    daemon.wait_ready(10)
    wait_evaluations(sqlite_history, {DEGRADED: 1, HEALTHY: 1}, 10, daemon)

    # a broken config that would also add a model: nothing of it may take effect
    broken = config(sqlite_history.url, lab, models=(DEGRADED, HEALTHY, SPARE))
    broken["models"][2]["policy"] = {"performance": {"threshold": -1}}
    write_config(path, broken)
    daemon.send(signal.SIGHUP)
    wait_until(
        lambda: daemon.metric("retrain_sentinel_config_last_reload_successful") == 0,
        5,
        "the reload did not fail",
    )
    failed = daemon.wait_event("daemon.reload_failed", 5)
    assert "models[spare].policy" in failed["error"]
    counts = sqlite_history.per_model()
    wait_evaluations(
        sqlite_history, {DEGRADED: counts[DEGRADED] + 2, HEALTHY: counts[HEALTHY] + 2}, 10, daemon
    )
    assert SPARE not in sqlite_history.per_model()
    assert daemon.get("/readyz").status == 200

    # an unparseable file is refused the same way
    write_config(path, "models: [unclosed\n")
    daemon.send(signal.SIGHUP)
    wait_until(lambda: len(daemon.events("daemon.reload_failed")) >= 2, 5, "the second reload did not fail")
    assert daemon.metric("retrain_sentinel_config_last_reload_successful") == 0

    # a good config again: the gauge is back to 1 and the new model is watched
    write_config(path, config(sqlite_history.url, lab, models=(DEGRADED, HEALTHY, SPARE)))
    daemon.send(signal.SIGHUP)
    wait_until(
        lambda: daemon.metric("retrain_sentinel_config_last_reload_successful") == 1,
        5,
        "the good reload failed",
    )
    daemon.wait_event("daemon.reloaded", 5)
    wait_evaluations(sqlite_history, {SPARE: 2}, 10, daemon)

    daemon.send(signal.SIGTERM)
    assert daemon.wait_exit(10) == 0


# --- PostgreSQL history: two daemons, one lease ---------------------------------------------------


def _pair(
    tmp_path: Path, lab: Lab, history: History, start_daemon: StartDaemon
) -> tuple[DaemonProcess, DaemonProcess]:
    """Two replicas on one history database; ``first`` is the leader when this returns."""
    path = write_config(tmp_path / "sentinel.yaml", config(history.url, lab))
    first = start_daemon(path, "first")
    first.wait_role("leader", 15)
    second = start_daemon(path, "second")
    second.wait_ready(15)
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

    sets = wait_until(logged, 5, "a history row no daemon logged")
    for i, mine in enumerate(sets):
        for theirs in sets[i + 1 :]:
            assert not mine & theirs, "two daemons claim one evaluation"
    return sets


def _slot_coverage(slots: list[datetime]) -> float:
    span = (max(slots) - min(slots)).total_seconds() / POLL + 1  # slots are every second
    return len(slots) / span


@pytest.mark.postgres
def test_two_daemons_only_the_leader_evaluates_and_the_standby_takes_over_after_sigkill(
    tmp_path: Path, lab: Lab, postgres_history: History, start_daemon: StartDaemon
) -> None:
    leader, standby = _pair(tmp_path, lab, postgres_history, start_daemon)
    wait_evaluations(postgres_history, {DEGRADED: 4, HEALTHY: 4}, 15, leader)
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
    wait_evaluations(postgres_history, {DEGRADED: 7, HEALTHY: 7}, 10, standby)

    by_leader, by_standby = _assert_every_row_attributed(postgres_history, leader, standby)
    assert by_standby
    assert max(slot for _, slot in by_leader) < min(slot for _, slot in by_standby)  # no slot replayed
    standby.send(signal.SIGTERM)
    assert standby.wait_exit(10) == 0


@pytest.mark.postgres
def test_a_leader_paused_past_its_lease_writes_nothing_after_it_resumes(
    tmp_path: Path, lab: Lab, postgres_history: History, start_daemon: StartDaemon
) -> None:
    paused, other = _pair(tmp_path, lab, postgres_history, start_daemon)
    wait_evaluations(postgres_history, {DEGRADED: 2, HEALTHY: 2}, 10, paused)

    stopped = datetime.now(UTC)
    paused.send(signal.SIGSTOP)
    other.wait_role("leader", LEASE_TTL + POLL + 3)
    wait_evaluations(postgres_history, {DEGRADED: 4, HEALTHY: 4}, 10, other)
    wait_until(lambda: (datetime.now(UTC) - stopped).total_seconds() > LEASE_TTL + 1, 10, "clock")

    resumed_at = paused.log_size()
    paused.send(signal.SIGCONT)
    paused.wait_role("standby", 5)
    paused.wait_event("daemon.lost_leadership", 5)
    count = postgres_history.per_model()
    wait_evaluations(
        postgres_history, {DEGRADED: count[DEGRADED] + 2, HEALTHY: count[HEALTHY] + 2}, 10, other
    )

    by_paused, by_other = _assert_every_row_attributed(postgres_history, paused, other)
    assert all(slot <= stopped for _, slot in by_paused), "the paused leader wrote a slot after its pause"
    assert all(
        r.slot_at is None or r.slot_at <= stopped or (r.model, r.slot_at) in by_other
        for r in postgres_history.rows()
    )
    after_resume = paused.events("evaluation", since=resumed_at)
    assert all(datetime.fromisoformat(e["slot"]) <= stopped for e in after_resume)
    assert paused.metric("retrain_sentinel_leader") == 0
    fenced = paused.events("daemon.write_fenced", since=resumed_at)
    print(
        f"paused leader: {len(fenced)} write(s) fenced after resuming, {len(after_resume)} evaluation(s) logged"
    )

    for daemon in (paused, other):
        daemon.send(signal.SIGTERM)
    assert paused.wait_exit(10) == 0
    assert other.wait_exit(10) == 0


# --- start without a database, and systemd ---------------------------------------------------------


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A TCP port bound but not listening: connections to it are refused, and nobody else gets it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def test_unreachable_database_at_start_waits_alive_but_not_ready(
    tmp_path: Path, lab: Lab, closed_port: int, start_daemon: StartDaemon
) -> None:
    url = f"postgresql+psycopg://sentinel:db-password-value@127.0.0.1:{closed_port}/history"
    daemon = start_daemon(write_config(tmp_path / "sentinel.yaml", config(url, lab)))
    daemon.wait_event("daemon.started", 15)
    wait_until(lambda: len(daemon.events("daemon.database_not_ready")) >= 3, 10, "fewer than 3 attempts")
    daemon.check_alive()
    assert daemon.get("/healthz").status == 200
    ready = daemon.get("/readyz")
    assert ready.status == 503
    assert ready.json()["status"] == "not ready"
    assert ready.json()["reason"].startswith("database not ready")
    assert daemon.metric("retrain_sentinel_leader") == 0
    assert "db-password-value" not in daemon.log_text() + ready.body

    daemon.send(signal.SIGTERM)
    assert daemon.wait_exit(10) == 0


def test_systemd_hears_ready_watchdog_and_stopping(
    tmp_path: Path, lab: Lab, sqlite_history: History, start_daemon: StartDaemon
) -> None:
    with tempfile.TemporaryDirectory(prefix="rs-") as short:  # a socket path must fit in 108 bytes
        address = str(Path(short) / "notify")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(address)
            sock.settimeout(0.2)
            daemon = start_daemon(
                write_config(tmp_path / "sentinel.yaml", config(sqlite_history.url, lab)),
                env={"NOTIFY_SOCKET": address},
            )
            heard: list[str] = []

            def hear() -> list[str]:
                with contextlib.suppress(TimeoutError):
                    heard.append(sock.recv(4096).decode())
                return heard

            wait_until(lambda: "READY=1" in hear(), 15, f"no READY=1 in {heard}", interval=0)
            assert daemon.get("/readyz").status == 200
            wait_until(
                lambda: hear().count("WATCHDOG=1") >= 3, 10, f"fewer than 3 WATCHDOG=1: {heard}", interval=0
            )
            daemon.send(signal.SIGTERM)
            wait_until(lambda: "STOPPING=1" in hear(), 10, f"no STOPPING=1 in {heard}", interval=0)
            assert daemon.wait_exit(10) == 0
    assert heard.index("READY=1") < heard.index("STOPPING=1")
    assert heard[-1] == "STOPPING=1"
