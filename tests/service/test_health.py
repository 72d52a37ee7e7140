"""Liveness and readiness as the lease loop reports them, and as the status server serves them."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from retrain_sentinel.service.health import HealthState, Readiness
from retrain_sentinel.service.http import StatusServer
from retrain_sentinel.service.metrics import SentinelMetrics


def test_not_alive_before_the_first_tick() -> None:
    assert not HealthState(60).live()


def test_alive_while_the_lease_loop_ticks() -> None:
    health = HealthState(60)
    health.tick()
    assert health.live()


def test_a_lease_loop_silent_for_three_periods_is_not_alive() -> None:
    health = HealthState(0.01)
    health.tick()
    time.sleep(0.05)
    assert not health.live()
    health.tick()
    health.tick_period = 60  # the next check is not racing the sleep above
    assert health.live()


def test_not_ready_until_the_config_is_loaded() -> None:
    health = HealthState(1)
    health.set_database(True)
    assert health.readiness() == Readiness(False, "standby", "config not loaded")


def test_not_ready_while_the_database_is_not_reachable_and_says_why() -> None:
    health = HealthState(1)
    health.config_loaded = True
    assert health.readiness() == Readiness(False, "standby", "database not ready: not connected yet")
    health.set_database(False, "connection refused")
    assert health.readiness().reason == "database not ready: connection refused"


@pytest.mark.parametrize(("leader", "role"), [(True, "leader"), (False, "standby")])
def test_leader_and_standby_are_both_ready(leader: bool, role: str) -> None:
    health = HealthState(1)
    health.config_loaded = True
    health.set_database(True)
    health.leader = leader
    assert health.readiness() == Readiness(True, role, "ready")


def _ready() -> HealthState:
    health = HealthState(1)
    health.config_loaded = True
    health.set_database(True)
    health.leader = True
    return health


def test_not_ready_while_the_latest_evaluation_of_every_watch_could_not_be_recorded() -> None:
    health = _ready()
    health.recorded([], {"a": "DataError: value too long", "b": "DataError: value too long"})
    readiness = health.readiness()
    assert not readiness.ready and readiness.role == "leader"
    assert readiness.reason == (
        "recording failing: the latest evaluation of each of 2 watch(es) could not be recorded: "
        "DataError: value too long"
    )
    health.recorded(["a"], {})
    assert health.readiness() == Readiness(True, "leader", "ready")


def test_one_watch_the_history_refuses_beside_others_it_records_leaves_the_service_ready() -> None:
    health = _ready()
    health.recorded(["a", "b"], {"bad": "DataError: NUL"})
    assert health.readiness().ready
    health.recorded([], {"bad": "DataError: NUL"})  # another schedule's batch: a and b still recorded
    assert health.readiness().ready


def test_losing_the_lease_forgets_what_was_recorded_while_leading() -> None:
    health = _ready()
    health.recorded([], {"a": "StoreError: disk full"})
    assert not health.readiness().ready
    health.leader = False  # a standby records nothing: its readiness says nothing about recording
    assert health.readiness() == Readiness(True, "standby", "ready")


def test_a_reload_forgets_watches_no_longer_configured() -> None:
    """A removed watch that recorded fine must not keep a config whose every write fails ready."""
    health = _ready()
    health.recorded(["removed"], {"new": "DataError: value too long"})
    assert health.readiness().ready
    health.watching(["new"])
    assert not health.readiness().ready


@pytest.fixture
def served() -> Iterator[tuple[HealthState, SentinelMetrics, int]]:
    health, metrics = HealthState(60), SentinelMetrics()
    server = StatusServer("127.0.0.1", 0, health, metrics)
    server.start()
    try:
        yield health, metrics, server.port
    finally:
        server.stop()


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_status_server_serves_health_readiness_and_metrics(
    served: tuple[HealthState, SentinelMetrics, int],
) -> None:
    health, metrics, port = served
    assert _get(port, "/healthz") == (503, json.dumps({"status": "stalled"}))
    status, body = _get(port, "/readyz")
    assert (status, json.loads(body)["status"]) == (503, "not ready")

    health.tick()
    health.config_loaded = True
    health.set_database(True)
    health.leader = True
    metrics.leader.set(1)
    metrics.evaluations.labels("churn", "ok").inc()
    assert _get(port, "/healthz")[0] == 200
    status, body = _get(port, "/readyz?verbose=1")
    assert (status, json.loads(body)) == (200, {"status": "ready", "role": "leader", "reason": "ready"})
    status, body = _get(port, "/metrics")
    assert status == 200
    assert "retrain_sentinel_leader 1.0" in body
    assert 'retrain_sentinel_evaluations_total{model="churn",outcome="ok"} 1.0' in body
    assert _get(port, "/nothing")[0] == 404
