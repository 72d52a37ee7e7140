"""``retrain-sentinel run``: the long-running process (DESIGN §9).

The main thread owns the lifecycle — signals, the lease loop (``service.lease_loop``), reloads,
shutdown — and APScheduler's background scheduler runs the jobs (``service.jobs``), which exist
only while this process holds the lease. (DESIGN names ``BlockingScheduler``; a background scheduler
keeps the same job semantics while leaving the main thread free for the lease loop, which must tick
on standbys too.)

Signals only set flags; the main loop acts on them between ticks. The first SIGTERM / SIGINT stops
gracefully (the running batch may finish within ``shutdown_grace``, the lease is released), a second
one exits at once. SIGHUP reloads the config at the next tick and keeps the old one if the new one
is bad.

Every write the leader makes carries its fencing token, so a leader paused past its lease (a long
GC, SIGSTOP, a frozen VM) finds its writes refused when it resumes instead of doubling the work of
the replica that took over.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import structlog

from retrain_sentinel.clock import Clock, system_clock
from retrain_sentinel.errors import SentinelError
from retrain_sentinel.service.health import HealthState
from retrain_sentinel.service.http import StatusServer
from retrain_sentinel.service.jobs import Jobs
from retrain_sentinel.service.lease_loop import LeaseLoop, tick_period
from retrain_sentinel.service.metrics import SentinelMetrics
from retrain_sentinel.service.runtime import Runtime
from retrain_sentinel.service.systemd import notify
from retrain_sentinel.settings import Settings, load_settings

__all__ = ["Daemon", "run_daemon"]

log = structlog.get_logger("retrain_sentinel.daemon")


class Daemon:
    """One replica: a lease loop in the main thread, jobs on the scheduler while leading."""

    def __init__(
        self,
        config_path: Path,
        *,
        clock: Clock = system_clock,
        environ: Mapping[str, str] | None = None,
        holder: str | None = None,
    ) -> None:
        self.config_path = config_path
        self.environ = os.environ if environ is None else environ
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.metrics = SentinelMetrics()
        self.settings: Settings = load_settings(config_path, self.environ)
        runtime = Runtime.build(self.settings)
        self.metrics.config_reload_ok.set(1)
        self.health = HealthState(tick_period(self.settings))
        self.health.config_loaded = True
        self.jobs = Jobs(
            runtime, lease=lambda: self.lease_loop.lease, metrics=self.metrics, clock=clock, health=self.health
        )
        self.lease_loop = LeaseLoop(
            lambda: self.settings,
            self.jobs,
            holder=self.holder,
            health=self.health,
            metrics=self.metrics,
            environ=self.environ,
            clock=clock,
        )
        self._stop = threading.Event()
        self._stop_signal: str | None = None
        self._reload = threading.Event()
        self.abandoned_jobs = False

    # --- signals --------------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)
        signal.signal(signal.SIGHUP, lambda *_: self._reload.set())

    def _on_stop_signal(self, signum: int, _frame: FrameType | None) -> None:
        """Only sets flags: logging from a signal handler could interrupt a log write of the main
        thread, so the main loop says ``daemon.stopping`` when it sees the flag."""
        if self._stop.is_set():  # a second signal: the operator means it
            os._exit(130)
        self._stop_signal = signal.Signals(signum).name
        self._stop.set()

    # --- the main loop --------------------------------------------------------------------------

    def run(self) -> int:
        """Serve until stopped; returns the exit code (0 after a graceful stop)."""
        server = StatusServer(self.settings.http.host, self.settings.http.port, self.health, self.metrics)
        server.start()
        log.info("daemon.started", holder=self.holder, http=f"{self.settings.http.host}:{server.port}")
        self.jobs.start()
        try:
            while not self._stop.is_set():
                self.tick()
                self._stop.wait(self.lease_loop.period)
            log.info("daemon.stopping", signal=self._stop_signal)
        finally:
            self._shutdown(server)
        return 0

    def tick(self) -> None:
        """One lease-loop period: reload if asked, tick the lease loop, close runtimes no job uses."""
        if self._reload.is_set():
            self._reload.clear()
            self.reload()
        self.lease_loop.tick()
        self.jobs.close_retired()

    # --- reload and shutdown --------------------------------------------------------------------

    def reload(self) -> bool:
        """Load and validate the config again; a bad one is logged and the old one kept."""
        try:
            settings = load_settings(self.config_path, self.environ)
            runtime = Runtime.build(settings)
        except SentinelError as exc:
            self.metrics.config_reload_ok.set(0)
            log.error("daemon.reload_failed", error=str(exc), kept="the previous config")
            return False
        for key in ("database", "http"):
            if getattr(settings, key) != getattr(self.settings, key):
                log.warning("daemon.reload_needs_restart", key=key)
        self.settings = settings
        self.jobs.replace_runtime(runtime)
        if self.lease_loop.lease is not None:
            self.jobs.schedule()
        self.metrics.config_reload_ok.set(1)
        log.info("daemon.reloaded", models=len(runtime.watches))
        return True

    def _shutdown(self, server: StatusServer) -> None:
        notify("STOPPING=1", self.environ)
        self.jobs.stop_taking_work()
        finished = self.jobs.wait(self.settings.service.shutdown_grace.total_seconds())
        if not finished:
            log.warning("daemon.batch_abandoned", detail="shutdown_grace passed; its writes will be fenced")
        self.jobs.stop_scheduler()
        self.lease_loop.release()
        server.stop()
        if finished:
            self.jobs.close()
            self.lease_loop.close()
        log.info("daemon.stopped", graceful=finished)
        self.abandoned_jobs = not finished


def run_daemon(config_path: Path, **options: Any) -> int:
    """Build, install signal handlers, serve; exits the process at once if a job outlived the grace."""
    daemon = Daemon(config_path, **options)
    daemon.install_signal_handlers()
    code = daemon.run()
    if daemon.abandoned_jobs:
        os._exit(code)  # worker threads are still inside a batch whose writes are fenced anyway
    return code
