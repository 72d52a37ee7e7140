"""Fixtures for the daemon tests: a watched lab, configs, history readers and ``run`` children.

Each test gets its own history database (a SQLite file in ``tmp_path``, or a uniquely named
PostgreSQL database dropped afterwards), so concurrent suites never share state. Every daemon a test
starts is SIGKILLed at teardown if it is still running.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from retrain_sentinel.store.schema import evaluations, leases, notifications
from retrain_sentinel.store.testing import postgres_database

from .daemon_process import DaemonProcess, Lab, ago, wait_until

METRIC = "val_accuracy"
DEGRADED, HEALTHY, SPARE = "degraded", "healthy", "spare"
LEASE_TTL = 3.0  # the configs' lease_ttl: the lease loop ticks every POLL
POLL = LEASE_TTL / 3
# Deadlines for what a loaded 2-core machine may take (imports alone take ~2.5 s there): they bound
# waiting, not speed — start-up time is measured in tests/benchmarks/. What the lease semantics
# promise (takeover within the TTL plus a poll) keeps its own tight bound in its test.
START = 30.0  # spawn to /readyz 200, or to the first log event
SOON = 20.0  # a reaction to a signal, a reload, a delivery, a lease change
CYCLES = 30.0  # a few one-second evaluation cycles


def _fill(lab: Lab) -> Lab:
    """``degraded`` (0.93 → 0.80: performance fires), ``healthy`` and ``spare`` (within 1%)."""
    trained = ago(days=2)
    for name, baseline, current in ((DEGRADED, 0.93, 0.80), (HEALTHY, 0.90, 0.895), (SPARE, 0.88, 0.879)):
        lab.register(name, METRIC, baseline, trained)
        lab.evaluate(name, METRIC, current, ago(hours=1))
    return lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """The three models in SQLite files."""
    lab = _fill(Lab.in_directory(tmp_path))
    yield lab
    lab.dispose()


@pytest.fixture
def postgres_lab() -> Iterator[Lab]:
    """The three models in a PostgreSQL database of this test's own (experiments and registry in one)."""
    with postgres_database(postgres_server_url()) as url:
        lab = _fill(Lab(url, url))
        try:
            yield lab
        finally:
            lab.dispose()


def watch(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "source": "lab",
        "current_run": {"name": f"eval-{name}-*"},
        "performance": {"metric": METRIC, "mode": "max"},
        "policy": {"performance": {"threshold": 0.05}},
    }


def config(
    database: str, lab: Lab, *, hook_url: str | None = None, models: tuple[str, ...] = (DEGRADED, HEALTHY)
) -> dict[str, Any]:
    """A config watching ``models`` every second, lease TTL 3 s, HTTP on a free port."""
    channels: dict[str, Any] = {"log": {"kind": "console"}}
    if hook_url is not None:
        channels = {"hook": {"kind": "webhook", "url": hook_url, "secret": ["${HOOK_SECRET}"]}}
    return {
        "database": database,
        "http": {"host": "127.0.0.1", "port": 0},
        "service": {"lease_ttl": f"{LEASE_TTL:g}s", "shutdown_grace": "5s"},
        "sources": {
            "lab": {
                "kind": "sql",
                "layout": "experiment_db",
                "experiments_url": lab.experiments_url,
                "registry_url": lab.registry_url,
            }
        },
        "channels": channels,
        "defaults": {"schedule": {"every": "1s"}, "channels": list(channels)},
        "models": [watch(name) for name in models],
    }


def write_config(path: Path, document: Mapping[str, Any] | str) -> Path:
    text = document if isinstance(document, str) else yaml.safe_dump(dict(document), sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


@dataclass(frozen=True)
class Row:
    id: int
    model: str
    slot_at: datetime | None
    evaluated_at: datetime
    outcome: str


class History:
    """Reads the daemon's history database behind its back (no pooled connection kept open)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, poolclass=NullPool)

    def rows(self) -> list[Row]:
        query = select(
            evaluations.c.id,
            evaluations.c.model,
            evaluations.c.slot_at,
            evaluations.c.evaluated_at,
            evaluations.c.outcome,
        ).order_by(evaluations.c.id)
        with self.engine.connect() as connection:
            return [Row(*row) for row in connection.execute(query)]

    def counts(self) -> dict[tuple[str, str], int]:
        query = select(evaluations.c.model, evaluations.c.outcome, func.count()).group_by(
            evaluations.c.model, evaluations.c.outcome
        )
        with self.engine.connect() as connection:
            return {(model, outcome): int(n) for model, outcome, n in connection.execute(query)}

    def per_model(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for (model, _), n in self.counts().items():
            totals[model] = totals.get(model, 0) + n
        return totals

    def sent(self, channel: str) -> int:
        query = select(func.count()).where(
            notifications.c.channel == channel, notifications.c.status == "sent"
        )
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def lease_row_locked(self) -> bool:
        """Whether a transaction holds the lease row locked for longer than a renewal takes (PostgreSQL).

        A replica stopped inside a transaction that checked or renewed the lease keeps the row
        locked, and no other replica can take the lease over until it resumes.
        """
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SET lock_timeout = '500ms'")
            try:
                connection.execute(select(leases.c.name).with_for_update()).all()
            except OperationalError:
                return True
            finally:
                connection.rollback()
        return False

    def dispose(self) -> None:
        self.engine.dispose()


@pytest.fixture
def sqlite_history(tmp_path: Path) -> Iterator[History]:
    history = History(f"sqlite:///{tmp_path / 'history.db'}")
    yield history
    history.dispose()


def postgres_server_url() -> str:
    url = os.environ.get("RS_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("RS_TEST_POSTGRES_URL must be set in CI: the two-daemon tests must run")
        pytest.skip("RS_TEST_POSTGRES_URL is not set")
    return url


@pytest.fixture
def postgres_history() -> Iterator[History]:
    """A PostgreSQL database of this test's own, dropped afterwards."""
    with postgres_database(postgres_server_url()) as url:
        history = History(url)
        try:
            yield history
        finally:
            history.dispose()


# --- what a running daemon did ------------------------------------------------------------------

Metrics = dict[tuple[str, tuple[tuple[str, str], ...]], float]


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


def attributed(daemon: DaemonProcess) -> set[tuple[str, datetime]]:
    """The (model, slot) of every evaluation this process recorded, from its own log."""
    return {
        (event["model"], datetime.fromisoformat(event["slot"]))
        for event in daemon.events("evaluation")
        if event.get("slot") is not None
    }


StartDaemon = Callable[..., DaemonProcess]


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[StartDaemon]:
    """``start_daemon(config_path, name="a", env={...})``: a running ``retrain-sentinel run`` child."""
    started: list[DaemonProcess] = []

    def start(config_path: Path, name: str = "daemon", env: Mapping[str, str] | None = None) -> DaemonProcess:
        environ = {"HOOK_SECRET": "hook-secret-value", **(env or {})}
        daemon = DaemonProcess(config_path, tmp_path / f"{name}.log", environ)
        started.append(daemon)
        return daemon.start()

    yield start
    for daemon in started:
        daemon.kill()
