"""``retrain-sentinel run`` as a real process (issue 6, "Acceptance (the daemon as a real process)").

One replica here; replicas sharing a lease are in ``test_daemon_replicas.py``. Every test starts the daemon (the console script beside the interpreter running the tests) with a
config watching models every second under a 3 s lease (so the lease loop ticks every second), talks
to it over HTTP and signals, and reads its history database and JSON log. Nothing is mocked: SQLite
or PostgreSQL history, a real experiment DB and registry (SQLite files, or PostgreSQL where a test
must hold a batch inside its read), a real webhook receiver, real SIGTERM / SIGINT / SIGHUP /
SIGKILL / SIGSTOP.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from retrain_sentinel.delivery.signature import SIGNATURE_HEADER, verify_signature

from .conftest import (
    CYCLES,
    DEGRADED,
    HEALTHY,
    METRIC,
    POLL,
    SOON,
    SPARE,
    START,
    History,
    Row,
    StartDaemon,
    config,
    evaluation_metrics,
    wait_evaluations,
    write_config,
)
from .daemon_process import DaemonProcess, Lab, utcnow, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

SECRET = "hook-secret-value"


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

    return wait_until(agreeing, SOON, "the evaluations counters never matched the history", interval=0.1)


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
    ready = daemon.wait_ready(START)
    assert time.monotonic() - started <= START
    assert ready.json() == {"status": "ready", "role": "leader", "reason": "ready"}
    assert daemon.get("/healthz").status == 200

    # three cycles and more: one firing for the degraded model, nothing for the healthy one
    wait_evaluations(sqlite_history, {DEGRADED: 3, HEALTHY: 3}, CYCLES, daemon)
    wait_until(lambda: transitions(receiver), SOON, "no webhook arrived")
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
    wait_until(lambda: sqlite_history.sent("hook") == 1, SOON, "the firing is not marked sent")
    assert len({(r.model, r.slot_at) for r in rows}) == len(rows)  # every slot at most once

    # the pipeline logged a better model: exactly one resolved
    lab.evaluate(DEGRADED, METRIC, 0.93, utcnow())
    wait_until(lambda: len(transitions(receiver)) >= 2, CYCLES, "no resolved webhook")
    before = sqlite_history.per_model()[DEGRADED]
    wait_evaluations(sqlite_history, {DEGRADED: before + 2}, CYCLES, daemon)
    time.sleep(POLL)
    assert transitions(receiver) == [(DEGRADED, "firing"), (DEGRADED, "resolved")]
    assert daemon.metric("retrain_sentinel_model_triggered", model=DEGRADED) == 0

    # SIGTERM: a graceful stop (shutdown_grace 5 s), exit 0, the lease released
    stopping = time.monotonic()
    daemon.send(signal.SIGTERM)
    assert daemon.wait_exit(SOON) == 0
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
    daemon.wait_ready(START)
    wait_evaluations(sqlite_history, {DEGRADED: 1, HEALTHY: 1}, CYCLES, daemon)

    # a broken config that would also add a model: nothing of it may take effect
    broken = config(sqlite_history.url, lab, models=(DEGRADED, HEALTHY, SPARE))
    broken["models"][2]["policy"] = {"performance": {"threshold": -1}}
    write_config(path, broken)
    daemon.send(signal.SIGHUP)
    wait_until(
        lambda: daemon.metric("retrain_sentinel_config_last_reload_successful") == 0,
        SOON,
        "the reload did not fail",
    )
    failed = daemon.wait_event("daemon.reload_failed", SOON)
    assert "models[spare].policy" in failed["error"]
    counts = sqlite_history.per_model()
    wait_evaluations(
        sqlite_history, {DEGRADED: counts[DEGRADED] + 2, HEALTHY: counts[HEALTHY] + 2}, CYCLES, daemon
    )
    assert SPARE not in sqlite_history.per_model()
    assert daemon.get("/readyz").status == 200

    # an unparseable file is refused the same way
    write_config(path, "models: [unclosed\n")
    daemon.send(signal.SIGHUP)
    wait_until(
        lambda: len(daemon.events("daemon.reload_failed")) >= 2, SOON, "the second reload did not fail"
    )
    assert daemon.metric("retrain_sentinel_config_last_reload_successful") == 0

    # a good config again: the gauge is back to 1 and the new model is watched
    write_config(path, config(sqlite_history.url, lab, models=(DEGRADED, HEALTHY, SPARE)))
    daemon.send(signal.SIGHUP)
    wait_until(
        lambda: daemon.metric("retrain_sentinel_config_last_reload_successful") == 1,
        SOON,
        "the good reload failed",
    )
    daemon.wait_event("daemon.reloaded", SOON)
    wait_evaluations(sqlite_history, {SPARE: 2}, CYCLES, daemon)

    daemon.send(signal.SIGTERM)
    assert daemon.wait_exit(SOON) == 0


# --- stop signals while a batch runs (PostgreSQL lab: the batch is held inside its read) ------------


@pytest.mark.postgres
def test_the_first_stop_signal_waits_for_the_running_batch_and_a_second_exits_at_once(
    tmp_path: Path, postgres_lab: Lab, postgres_history: History, start_daemon: StartDaemon
) -> None:
    document = config(postgres_history.url, postgres_lab)
    document["service"]["shutdown_grace"] = "120s"  # a graceful stop would wait this long for the batch
    daemon = start_daemon(write_config(tmp_path / "sentinel.yaml", document))
    daemon.wait_role("leader", START)

    with postgres_lab.locked():  # the next batch waits inside its read
        wait_until(lambda: postgres_lab.waiting_readers() > 0, SOON, "the leader's batch never read the lab")
        daemon.send(signal.SIGTERM)
        daemon.wait_event("daemon.stopping", SOON)
        daemon.check_alive()  # still waiting for the batch
        daemon.send(signal.SIGINT)
        assert daemon.wait_exit(SOON) == 130
    assert daemon.events("daemon.stopped") == []


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
    daemon.wait_event("daemon.started", START)
    wait_until(lambda: len(daemon.events("daemon.database_not_ready")) >= 3, SOON, "fewer than 3 attempts")
    daemon.check_alive()
    assert daemon.get("/healthz").status == 200
    ready = daemon.get("/readyz")
    assert ready.status == 503
    assert ready.json()["status"] == "not ready"
    assert ready.json()["reason"].startswith("database not ready")
    assert daemon.metric("retrain_sentinel_leader") == 0
    assert "db-password-value" not in daemon.log_text() + ready.body

    daemon.send(signal.SIGTERM)
    assert daemon.wait_exit(SOON) == 0


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

            wait_until(lambda: "READY=1" in hear(), START, f"no READY=1 in {heard}", interval=0)
            assert daemon.get("/readyz").status == 200
            wait_until(
                lambda: hear().count("WATCHDOG=1") >= 3, SOON, f"fewer than 3 WATCHDOG=1: {heard}", interval=0
            )
            daemon.send(signal.SIGTERM)
            wait_until(lambda: "STOPPING=1" in hear(), SOON, f"no STOPPING=1 in {heard}", interval=0)
            assert daemon.wait_exit(SOON) == 0
    assert heard.index("READY=1") < heard.index("STOPPING=1")
    assert heard[-1] == "STOPPING=1"
