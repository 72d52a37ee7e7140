"""The lease loop, in-process on a real SQLite history: connect, take or renew the fenced lease, report.

Two ``LeaseLoop`` objects on one database play two replicas; a recording ``LeaderWork`` stands in
for the jobs, so each test reads what the loop told the rest of the daemon and when.
"""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from retrain_sentinel.clock import Clock, system_clock
from retrain_sentinel.service.health import HealthState, Readiness
from retrain_sentinel.service.lease_loop import LEASE_NAME, LeaseLoop
from retrain_sentinel.service.metrics import SentinelMetrics
from retrain_sentinel.settings import Settings, parse_settings
from retrain_sentinel.store import HistoryStore, open_store
from retrain_sentinel.store.testing import evaluation, routes


class Work:
    """Records what the lease loop told the leader's work."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def connected(self, store: HistoryStore) -> None:
        self.calls.append("connected")

    def lead(self) -> None:
        self.calls.append("lead")

    def step_down(self) -> None:
        self.calls.append("step_down")


def settings(database: str, lease_ttl: str = "3s") -> Settings:
    return parse_settings({"database": database, "service": {"lease_ttl": lease_ttl}}, environ={})


class Replica:
    """One lease loop with its work, health and metrics; ``config`` may be swapped as a reload does."""

    def __init__(
        self,
        config: Settings,
        holder: str,
        environ: dict[str, str] | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.config = config
        self.work = Work()
        self.health = HealthState(1.0)
        self.health.config_loaded = True
        self.metrics = SentinelMetrics()
        self.loop = LeaseLoop(
            lambda: self.config,
            self.work,
            holder=holder,
            health=self.health,
            metrics=self.metrics,
            environ=environ or {},
            clock=clock,
        )

    def gauge(self, name: str) -> float | None:
        return self.metrics.registry.get_sample_value(f"retrain_sentinel_{name}")

    def close(self) -> None:
        self.loop.close()


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'history.db'}"


@pytest.fixture
def replicas(database: str) -> Iterator[list[Replica]]:
    made = [Replica(settings(database), holder) for holder in ("a", "b")]
    yield made
    for replica in made:
        replica.close()


def test_the_first_tick_connects_takes_the_lease_and_starts_the_leaders_work(replicas: list[Replica]) -> None:
    a = replicas[0]
    a.loop.tick()
    assert a.work.calls == ["connected", "lead"]
    assert a.loop.lease is not None and (a.loop.lease.name, a.loop.lease.holder) == (LEASE_NAME, "a")
    assert a.health.readiness() == Readiness(True, "leader", "ready")
    assert a.health.live()
    assert a.gauge("leader") == 1


def test_renewing_keeps_the_fencing_token_and_starts_the_work_once(replicas: list[Replica]) -> None:
    a = replicas[0]
    a.loop.tick()
    first = a.loop.lease
    a.loop.tick()
    a.loop.tick()
    assert a.loop.lease is not None and first is not None
    assert a.loop.lease.token == first.token
    assert a.loop.lease.expires_at >= first.expires_at
    assert a.work.calls == ["connected", "lead"]


def test_a_second_replica_is_a_ready_standby_and_starts_nothing(replicas: list[Replica]) -> None:
    a, b = replicas
    a.loop.tick()
    b.loop.tick()
    b.loop.tick()
    assert b.work.calls == ["connected"]
    assert b.loop.lease is None
    assert b.health.readiness() == Readiness(True, "standby", "ready")
    assert b.gauge("leader") == 0


def test_losing_the_lease_steps_down_once_and_stays_ready_as_a_standby(replicas: list[Replica]) -> None:
    a, b = replicas
    a.loop.tick()
    b.loop.tick()
    assert a.loop.store is not None and a.loop.lease is not None
    a.loop.store.release_lease(a.loop.lease)  # as if it had expired while "a" was paused
    b.loop.tick()
    assert b.work.calls == ["connected", "lead"]
    assert b.loop.lease is not None and b.loop.lease.token == a.loop.lease.token + 1

    with capture_logs() as logs:
        a.loop.tick()
        a.loop.tick()
    assert a.work.calls == ["connected", "lead", "step_down"]
    assert [e["event"] for e in logs] == ["daemon.lost_leadership"]
    assert a.loop.lease is None
    assert a.health.readiness() == Readiness(True, "standby", "ready")
    assert a.gauge("leader") == 0


def test_release_hands_the_lease_to_a_standby_at_its_next_tick(replicas: list[Replica]) -> None:
    a, b = replicas
    a.loop.tick()
    b.loop.tick()
    a.loop.release()
    assert a.loop.lease is None and a.gauge("leader") == 0
    b.loop.tick()
    assert b.loop.lease is not None and b.loop.lease.holder == "b"


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A PostgreSQL URL with a password whose port refuses connections (bound, not listening)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"postgresql+psycopg://sentinel:db-password-value@127.0.0.1:{sock.getsockname()[1]}/history"


def test_an_unreachable_database_keeps_the_loop_alive_but_not_ready(refused_url: str, database: str) -> None:
    replica = Replica(settings(refused_url), "a")
    with capture_logs() as logs:
        replica.loop.tick()
        replica.loop.tick()
    assert replica.work.calls == []
    assert replica.health.live()
    readiness = replica.health.readiness()
    assert not readiness.ready and readiness.reason.startswith("database not ready")
    assert [e["event"] for e in logs] == ["daemon.database_not_ready"] * 2
    assert "db-password-value" not in repr(logs) + readiness.reason

    replica.config = settings(database)  # the database comes up (here: a reload names a reachable one)
    replica.loop.tick()
    assert replica.work.calls == ["connected", "lead"]
    assert replica.health.readiness().ready
    replica.close()


def test_the_period_is_a_third_of_the_ttl_read_at_every_tick(database: str) -> None:
    replica = Replica(settings(database, "3s"), "a")
    assert replica.loop.period == pytest.approx(1.0)
    replica.config = settings(database, "30s")
    assert replica.loop.period == pytest.approx(10.0)


def test_systemd_hears_watchdog_at_every_tick_and_ready_once(database: str) -> None:
    with tempfile.TemporaryDirectory(prefix="rs-") as short:  # a socket path must fit in 108 bytes
        address = str(Path(short) / "notify")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(address)
            sock.settimeout(1)
            replica = Replica(settings(database), "a", environ={"NOTIFY_SOCKET": address})
            for _ in range(3):
                replica.loop.tick()
            heard = [sock.recv(64).decode() for _ in range(4)]
            replica.close()
    assert heard == ["WATCHDOG=1", "READY=1", "WATCHDOG=1", "WATCHDOG=1"]


def test_each_tick_sets_the_outbox_gauges(database: str) -> None:
    queued_at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    with open_store(database, migrate=True) as store:
        store.record(
            [evaluation("triggered", queued_at)],
            now=queued_at,
            routes={"churn": routes("ops", kinds={"ops": "webhook"})},
        )
    replica = Replica(settings(database), "a", clock=lambda: queued_at + timedelta(seconds=90))
    replica.loop.tick()
    assert replica.gauge("outbox_pending") == 1
    assert replica.gauge("outbox_oldest_pending_age_seconds") == pytest.approx(90)
    replica.close()
