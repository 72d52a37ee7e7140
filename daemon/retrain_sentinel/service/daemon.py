"""``retrain-sentinel run``: the long-running process (DESIGN §9).

The main thread owns the lifecycle — signals, the lease loop, reloads, shutdown — and APScheduler's
background scheduler runs the jobs, which exist only while this process holds the lease. (DESIGN
names ``BlockingScheduler``; a background scheduler keeps the same job semantics while leaving the
main thread free for the lease loop, which must tick on standbys too.)

Every write the leader makes carries its fencing token, so a leader paused past its lease (a long
GC, SIGSTOP, a frozen VM) finds its writes refused when it resumes instead of doubling the work of
the replica that took over.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from retrain_sentinel.alerts.notification import Message
from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.delivery.dispatcher import Dispatcher
from retrain_sentinel.errors import DeliveryError, LeaseLost, SentinelError, StoreError
from retrain_sentinel.service.batch import evaluate_batch
from retrain_sentinel.service.health import HealthState
from retrain_sentinel.service.http import StatusServer
from retrain_sentinel.service.metrics import SentinelMetrics
from retrain_sentinel.service.runtime import Runtime
from retrain_sentinel.service.schedule import aps_trigger, current_slot
from retrain_sentinel.service.systemd import notify
from retrain_sentinel.settings import ScheduleSettings, Settings, load_settings
from retrain_sentinel.store import HistoryStore, LeaseToken, mask_url, open_store

__all__ = ["LEASE_NAME", "Daemon"]

LEASE_NAME = "scheduler"
DISPATCH_EVERY = 1.0
RETENTION_EVERY = 6 * 3600.0

log = structlog.get_logger("retrain_sentinel.daemon")
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CountingChannel:
    """A channel that counts its deliveries into ``notifications_total{channel,outcome}``."""

    def __init__(self, inner: Channel, metrics: SentinelMetrics) -> None:
        self.inner = inner
        self.metrics = metrics
        self.name = inner.name
        self.kind = inner.kind

    def send(self, message: Message) -> None:
        count = len(message.notifications)
        try:
            self.inner.send(message)
        except DeliveryError as exc:
            outcome = "retry" if exc.retryable else "failed"
            self.metrics.notifications.labels(self.name, outcome).inc(count)
            raise
        self.metrics.notifications.labels(self.name, "sent").inc(count)

    def check(self) -> None:
        self.inner.check()


class Daemon:
    """One replica: a lease loop in the main thread, jobs on the scheduler while leading."""

    def __init__(
        self,
        config_path: Path,
        *,
        clock: Clock = _utcnow,
        environ: Mapping[str, str] | None = None,
        holder: str | None = None,
    ) -> None:
        self.config_path = config_path
        self.clock = clock
        self.environ = os.environ if environ is None else environ
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.metrics = SentinelMetrics()
        self.settings: Settings = load_settings(config_path, self.environ)
        self.runtime = Runtime.build(self.settings)
        self.metrics.config_reload_ok.set(1)
        self.health = HealthState(self._period)
        self.health.config_loaded = True
        self.store: HistoryStore | None = None
        self.lease: LeaseToken | None = None
        self.dispatcher: Dispatcher | None = None
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(8)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._running = 0
        self._running_lock = threading.Lock()
        self._retired: list[Runtime] = []
        self._announced_ready = False
        self.abandoned_jobs = False

    @property
    def _period(self) -> float:
        return self.settings.service.lease_ttl.total_seconds() / 3

    # --- signals --------------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)
        signal.signal(signal.SIGHUP, lambda *_: self._reload.set())

    def _on_stop_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self._stop.is_set():  # a second signal: the operator means it
            os._exit(130)
        log.info("daemon.stopping", signal=signal.Signals(signum).name)
        self._stop.set()

    # --- the main loop --------------------------------------------------------------------------

    def run(self) -> int:
        """Serve until stopped; returns the exit code (0 after a graceful stop)."""
        server = StatusServer(self.settings.http.host, self.settings.http.port, self.health, self.metrics)
        server.start()
        log.info("daemon.started", holder=self.holder, http=f"{self.settings.http.host}:{server.port}")
        self.scheduler.start(paused=False)
        try:
            while not self._stop.is_set():
                self.tick()
                self._stop.wait(self._period)
        finally:
            self._shutdown(server)
        return 0

    def tick(self) -> None:
        """One lease-loop period: reload if asked, reach the database, renew or take the lease."""
        if self._reload.is_set():
            self._reload.clear()
            self.reload()
        if self.store is None and not self._connect():
            self._set_leader(None)
        else:
            self._renew_lease()
        self._close_retired()
        self.health.tick()
        notify("WATCHDOG=1", self.environ)
        if not self._announced_ready and self.health.readiness().ready:
            self._announced_ready = True
            notify("READY=1", self.environ)
            log.info("daemon.ready", role="leader" if self.lease else "standby")

    def _connect(self) -> bool:
        url = self.settings.database
        try:
            store = open_store(url, migrate=self.settings.service.auto_migrate)
        except StoreError as exc:  # unreachable, or newer than this code: wait, not ready
            self.health.set_database(False, str(exc))
            log.warning("daemon.database_not_ready", database=mask_url(url), error=str(exc))
            return False
        self.store = store  # ready only after the first lease attempt, see _renew_lease
        self.dispatcher = self._dispatcher()
        return True

    def _renew_lease(self) -> None:
        assert self.store is not None  # noqa: S101 - _connect succeeded
        try:
            token = self.store.acquire_or_renew_lease(LEASE_NAME, self.holder, self.settings.service.lease_ttl)
            self._update_outbox_gauges()
        except StoreError as exc:
            self.health.set_database(False, str(exc))
            log.warning("daemon.lease_failed", error=str(exc))
            self._set_leader(None)
            return
        self._set_leader(token)
        # only now that the role is known: /readyz never says "standby" on the way to leading
        self.health.set_database(True)

    def _set_leader(self, token: LeaseToken | None) -> None:
        was_leader = self.lease is not None
        self.lease = token
        self.health.leader = token is not None
        self.metrics.leader.set(1 if token is not None else 0)
        if token is not None and not was_leader:
            log.info("daemon.leader", token=token.token)
            self._schedule_jobs()
        elif token is None and was_leader:
            log.warning("daemon.lost_leadership")
            self.scheduler.remove_all_jobs()

    # --- jobs (leader only) ---------------------------------------------------------------------

    def _schedule_jobs(self) -> None:
        """One job per distinct schedule, plus dispatch and retention; overdue ones run at once."""
        self.scheduler.remove_all_jobs()
        now = self.clock()
        schedules: dict[str, ScheduleSettings] = {}
        for watch in self.runtime.watches.values():
            schedules.setdefault(watch.settings.schedule.key, watch.settings.schedule)
        for key, schedule in schedules.items():
            self.scheduler.add_job(
                self._run_schedule,
                aps_trigger(schedule, self.settings.timezone),
                args=[key],
                id=f"schedule:{key}",
                next_run_time=now,  # a new leader evaluates the current slot now; the store skips done ones
            )
        self.scheduler.add_job(self._dispatch, IntervalTrigger(seconds=DISPATCH_EVERY), id="dispatch")
        self.scheduler.add_job(
            self._purge, IntervalTrigger(seconds=RETENTION_EVERY), id="retention", next_run_time=now
        )

    @contextmanager
    def _job(self, name: str) -> Iterator[tuple[Runtime, HistoryStore, LeaseToken] | None]:
        """Run a job with the current runtime and lease, counted so shutdown can wait for it."""
        with self._running_lock:
            self._running += 1
            runtime, store, lease = self.runtime, self.store, self.lease
        try:
            yield (runtime, store, lease) if store is not None and lease is not None else None
        except LeaseLost:
            log.warning("daemon.write_fenced", job=name, detail="another replica holds the lease")
        except SentinelError as exc:
            log.error("daemon.job_failed", job=name, error=str(exc))
        except Exception as exc:  # a job must never kill the scheduler thread
            log.exception("daemon.job_crashed", job=name, error=f"{type(exc).__name__}: {exc}")
        finally:
            with self._running_lock:
                self._running -= 1

    def _run_schedule(self, key: str) -> None:
        with self._job(f"schedule:{key}") as context:
            if context is None:
                return
            runtime, store, lease = context
            watches = [w for w in runtime.watches.values() if w.settings.schedule.key == key]
            if not watches:
                return
            now = self.clock()
            slot = current_slot(watches[0].settings.schedule, now, runtime.settings.timezone)
            evaluate_batch(runtime, watches, now, store=store, slot_at=slot, lease=lease, metrics=self.metrics)

    def _dispatch(self) -> None:
        with self._job("dispatch") as context:
            if context is None or self.dispatcher is None:
                return
            stats = self.dispatcher.run_once(self.clock())
            if stats.dead:
                self.metrics.dead_letters.inc(stats.dead)

    def _purge(self) -> None:
        with self._job("retention") as context:
            if context is None:
                return
            runtime, store, lease = context
            now = self.clock()
            result = store.purge(runtime.settings.retention.cutoff(now), lease=lease)
            log.info("daemon.retention", result=str(result))

    def _dispatcher(self) -> Dispatcher:
        assert self.store is not None  # noqa: S101 - called once connected
        channels = {name: CountingChannel(ch, self.metrics) for name, ch in self.runtime.channels.items()}
        return Dispatcher(
            self.store, channels, self.runtime.settings.delivery, self.clock, lease_provider=lambda: self.lease
        )

    def _update_outbox_gauges(self) -> None:
        if self.store is None:
            return
        count, oldest = self.store.pending_summary()
        self.metrics.outbox_pending.set(count)
        age = (self.clock() - oldest).total_seconds() if oldest is not None else 0.0
        self.metrics.outbox_oldest_age.set(max(age, 0.0))

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
        with self._running_lock:
            self._retired.append(self.runtime)
            self.settings, self.runtime = settings, runtime
        if self.store is not None:
            if self.dispatcher is not None:
                self.dispatcher.stop()
            self.dispatcher = self._dispatcher()
        if self.lease is not None:
            self._schedule_jobs()
        self.metrics.config_reload_ok.set(1)
        log.info("daemon.reloaded", models=len(runtime.watches))
        return True

    def _close_retired(self) -> None:
        with self._running_lock:
            if self._running or not self._retired:
                return
            retired, self._retired = self._retired, []
        for runtime in retired:
            runtime.close()

    def _wait_for_jobs(self, grace: float) -> bool:
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            with self._running_lock:
                if self._running == 0:
                    return True
            time.sleep(0.05)
        return False

    def _shutdown(self, server: StatusServer) -> None:
        notify("STOPPING=1", self.environ)
        self.scheduler.remove_all_jobs()
        if self.dispatcher is not None:
            self.dispatcher.stop()
        finished = self._wait_for_jobs(self.settings.service.shutdown_grace.total_seconds())
        if not finished:
            log.warning("daemon.batch_abandoned", detail="shutdown_grace passed; its writes will be fenced")
        self.scheduler.shutdown(wait=False)
        if self.store is not None and self.lease is not None:
            try:
                self.store.release_lease(self.lease)
            except StoreError as exc:
                log.warning("daemon.release_failed", error=str(exc))
        self.lease = None
        self.metrics.leader.set(0)
        server.stop()
        if finished:
            self.runtime.close()
            for runtime in self._retired:
                runtime.close()
            if self.store is not None:
                self.store.close()
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
