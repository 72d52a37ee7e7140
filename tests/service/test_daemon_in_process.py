"""The daemon's wiring in-process: reloads keep a good config, signals only set flags, a stop is graceful.

``test_daemon.py`` runs the same behaviour as a real child process; these tests reach the parts a
child hides (which runtime the jobs use, which jobs are scheduled) on a real SQLite history.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from retrain_sentinel.service.daemon import Daemon
from retrain_sentinel.service.lease_loop import LEASE_NAME
from retrain_sentinel.store import open_store

from .conftest import DEGRADED, HEALTHY, SPARE, History, config, write_config
from .daemon_process import Lab, wait_until


@pytest.fixture
def path(tmp_path: Path, lab: Lab, sqlite_history: History) -> Path:
    return write_config(tmp_path / "sentinel.yaml", config(sqlite_history.url, lab))


@pytest.fixture
def daemon(path: Path) -> Iterator[Daemon]:
    daemon = Daemon(path, environ={}, holder="in-process")
    yield daemon
    if daemon.jobs.scheduler.running:
        daemon.jobs.stop_scheduler()
    daemon.jobs.close()
    daemon.lease_loop.close()


def reload_gauge(daemon: Daemon) -> float | None:
    return daemon.metrics.registry.get_sample_value("retrain_sentinel_config_last_reload_successful")


def broken(sqlite_history: History, lab: Lab) -> dict[str, Any]:
    document = config(sqlite_history.url, lab, models=(DEGRADED, HEALTHY, SPARE))
    document["models"][2]["policy"] = {"performance": {"threshold": -1}}
    return document


def test_a_bad_config_on_reload_is_refused_whole_and_the_old_one_kept(
    daemon: Daemon, path: Path, sqlite_history: History, lab: Lab
) -> None:
    settings, runtime = daemon.settings, daemon.jobs.runtime
    for bad in (broken(sqlite_history, lab), "models: [unclosed\n"):
        write_config(path, bad)
        with capture_logs() as logs:
            assert daemon.reload() is False
        assert [e["event"] for e in logs] == ["daemon.reload_failed"]
        assert daemon.settings is settings and daemon.jobs.runtime is runtime
        assert reload_gauge(daemon) == 0
    assert set(runtime.watches) == {DEGRADED, HEALTHY}


def test_a_good_config_on_reload_replaces_the_runtime_and_a_leader_reschedules(
    daemon: Daemon, path: Path, sqlite_history: History, lab: Lab
) -> None:
    daemon.jobs.scheduler.start(paused=True)
    daemon.lease_loop.tick()  # connects and leads: the jobs of two watches on one schedule
    assert daemon.lease_loop.lease is not None
    before = {job.id for job in daemon.jobs.scheduler.get_jobs()}

    document = config(sqlite_history.url, lab, models=(DEGRADED, HEALTHY, SPARE))
    document["models"][2]["schedule"] = {"every": "1h"}
    write_config(path, document)
    with capture_logs() as logs:
        assert daemon.reload() is True
    assert [e["event"] for e in logs] == ["daemon.reloaded"]
    assert set(daemon.jobs.runtime.watches) == {DEGRADED, HEALTHY, SPARE}
    assert daemon.settings is daemon.jobs.runtime.settings
    assert reload_gauge(daemon) == 1
    after = {job.id for job in daemon.jobs.scheduler.get_jobs()}
    assert before < after and len(after - before) == 1  # the new schedule's job


def test_a_reload_that_changes_the_database_or_http_says_it_needs_a_restart(
    daemon: Daemon, path: Path, tmp_path: Path, lab: Lab
) -> None:
    document = config(f"sqlite:///{tmp_path / 'elsewhere.db'}", lab)
    document["http"]["port"] = 1
    write_config(path, document)
    with capture_logs() as logs:
        assert daemon.reload() is True
    needs = [e["key"] for e in logs if e["event"] == "daemon.reload_needs_restart"]
    assert needs == ["database", "http"]


@pytest.fixture
def own_signal_handlers() -> Iterator[None]:
    """The daemon installs its handlers in this process: put pytest's back afterwards."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.usefixtures("own_signal_handlers")
def test_sighup_reloads_at_the_next_tick(
    daemon: Daemon, path: Path, sqlite_history: History, lab: Lab
) -> None:
    daemon.install_signal_handlers()
    write_config(path, config(sqlite_history.url, lab, models=(DEGRADED, HEALTHY, SPARE)))
    os.kill(os.getpid(), signal.SIGHUP)
    assert set(daemon.jobs.runtime.watches) == {DEGRADED, HEALTHY}  # the handler only asked
    daemon.tick()
    assert set(daemon.jobs.runtime.watches) == {DEGRADED, HEALTHY, SPARE}


@pytest.mark.timeout(60)
@pytest.mark.usefixtures("own_signal_handlers")
def test_the_first_sigterm_stops_gracefully_and_releases_the_lease(
    daemon: Daemon, sqlite_history: History
) -> None:
    daemon.install_signal_handlers()

    def stop_once_leading() -> None:
        wait_until(lambda: daemon.lease_loop.lease is not None, 30, "never led")
        os.kill(os.getpid(), signal.SIGTERM)

    stopper = threading.Thread(target=stop_once_leading)
    stopper.start()
    with capture_logs() as logs:
        assert daemon.run() == 0
    stopper.join(5)
    events = [e["event"] for e in logs]
    assert events[0] == "daemon.started" and events[-1] == "daemon.stopped"
    assert "daemon.stopping" in events and logs[-1]["graceful"] is True
    assert daemon.abandoned_jobs is False
    with open_store(sqlite_history.url, migrate=False) as store:
        lease = store.lease_holder(LEASE_NAME)
    assert lease is not None and lease.holder == "in-process" and not lease.active
