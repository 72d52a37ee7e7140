"""The leader's work on APScheduler's background scheduler (DESIGN §9): it exists only while leading.

One job per distinct schedule evaluates that schedule's watches as one batch for the current slot;
one dispatch job per channel delivers that channel's outbox rows (a receiver hanging to its timeout
delays only its own channel), and one more gives up the rows of channels no longer configured; the
retention job purges old history. A new leader runs the
schedule and retention jobs at once (``next_run_time=now``): overdue watches are evaluated for the
current slot, and a slot the previous leader already recorded is skipped by the store, so missed
slots are never replayed.

Every job reads the runtime, the store and the lease at its start and writes with that lease: a job
that outlives its leadership has its writes refused (``LeaseLost``), never doubled. Running jobs are
counted so that shutdown can wait for them and a runtime replaced by a reload is closed only when no
job still uses it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from retrain_sentinel.alerts.notification import Message
from retrain_sentinel.clock import Clock
from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.delivery.dispatcher import Dispatcher
from retrain_sentinel.errors import DeliveryError, LeaseLost, SentinelError
from retrain_sentinel.service.batch import evaluate_batch
from retrain_sentinel.service.health import HealthState
from retrain_sentinel.service.metrics import SentinelMetrics
from retrain_sentinel.service.runtime import Runtime
from retrain_sentinel.service.schedule import aps_trigger, current_slot
from retrain_sentinel.settings import ScheduleSettings
from retrain_sentinel.store import HistoryStore, LeaseToken

__all__ = ["DISPATCH_EVERY", "RETENTION_EVERY", "CountingChannel", "Jobs"]

DISPATCH_EVERY = 1.0
RETENTION_EVERY = 6 * 3600.0

log = structlog.get_logger("retrain_sentinel.daemon")

JobContext = tuple[Runtime, HistoryStore, LeaseToken]


class CountingChannel:
    """A channel that counts its deliveries into ``notifications_total{channel,outcome}``."""

    def __init__(self, inner: Channel, metrics: SentinelMetrics) -> None:
        self.inner = inner
        self.metrics = metrics
        self.name = inner.name
        self.kind = inner.kind

    @property
    def destination(self) -> str | None:
        """The inner channel's destination (a secret), so holds key on the receiver, not on us."""
        destination = getattr(self.inner, "destination", None)
        return destination if isinstance(destination, str) else None

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


def _new_scheduler() -> BackgroundScheduler:
    """A missed run is run once, late, never twice at once (``coalesce``, ``max_instances=1``)."""
    return BackgroundScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(8), "delivery": ThreadPoolExecutor(32)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )


class Jobs:
    """The scheduled jobs of one replica; the lease loop calls ``lead`` and ``step_down``.

    ``lease`` returns the lease this replica holds right now (``None`` on a standby); ``health``
    hears how each batch's write went (``/readyz`` fails while nothing can be recorded).
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        lease: Callable[[], LeaseToken | None],
        metrics: SentinelMetrics,
        clock: Clock,
        health: HealthState | None = None,
    ) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.clock = clock
        self.health = health
        self._lease = lease
        self.store: HistoryStore | None = None
        self.dispatcher: Dispatcher | None = None
        self.scheduler = _new_scheduler()
        self._running = 0
        self._running_lock = threading.Lock()
        self._retired: list[Runtime] = []

    # --- driven by the lease loop -----------------------------------------------------------------

    def connected(self, store: HistoryStore) -> None:
        self.store = store
        self.dispatcher = self._dispatcher(store)

    def lead(self) -> None:
        self.schedule()

    def step_down(self) -> None:
        self.scheduler.remove_all_jobs()

    # --- scheduling -------------------------------------------------------------------------------

    def start(self) -> None:
        self.scheduler.start(paused=False)

    def schedule(self) -> None:
        """One job per distinct schedule, plus dispatch and retention; overdue ones run at once."""
        self.scheduler.remove_all_jobs()
        now = self.clock()
        schedules: dict[str, ScheduleSettings] = {}
        for watch in self.runtime.watches.values():
            schedules.setdefault(watch.settings.schedule.key, watch.settings.schedule)
        for key, schedule in schedules.items():
            self.scheduler.add_job(
                self.run_schedule,
                aps_trigger(schedule, self.runtime.settings.timezone),
                args=[key],
                id=f"schedule:{key}",
                next_run_time=now,  # a new leader evaluates the current slot now; the store skips done ones
            )
        for channel in self.runtime.channels:
            self.scheduler.add_job(
                self.dispatch,
                IntervalTrigger(seconds=DISPATCH_EVERY),
                args=[channel],
                id=f"dispatch:{channel}",
                executor="delivery",
            )
        self.scheduler.add_job(
            self.dispatch, IntervalTrigger(seconds=DISPATCH_EVERY), id="dispatch", executor="delivery"
        )
        self.scheduler.add_job(
            self.purge, IntervalTrigger(seconds=RETENTION_EVERY), id="retention", next_run_time=now
        )

    # --- the jobs ---------------------------------------------------------------------------------

    @contextmanager
    def _job(self, name: str) -> Iterator[JobContext | None]:
        """Run a job with the current runtime and lease, counted so shutdown can wait for it."""
        with self._running_lock:
            self._running += 1
            runtime, store, lease = self.runtime, self.store, self._lease()
        try:
            yield (runtime, store, lease) if store is not None and lease is not None else None
        except LeaseLost as exc:
            log.warning(
                "daemon.write_fenced", job=name, detail="another replica holds the lease", error=str(exc)
            )
        except SentinelError as exc:
            log.error("daemon.job_failed", job=name, error=str(exc))
        except Exception as exc:  # a job must never kill the scheduler thread
            log.exception("daemon.job_crashed", job=name, error=f"{type(exc).__name__}: {exc}")
        finally:
            with self._running_lock:
                self._running -= 1

    def run_schedule(self, key: str) -> None:
        """Evaluate the watches of schedule ``key`` for the slot that holds now, as one batch."""
        with self._job(f"schedule:{key}") as context:
            if context is None:
                return
            runtime, store, lease = context
            watches = [w for w in runtime.watches.values() if w.settings.schedule.key == key]
            if not watches:
                return
            now = self.clock()
            slot = current_slot(watches[0].settings.schedule, now, runtime.settings.timezone)
            evaluate_batch(
                runtime,
                watches,
                now,
                store=store,
                slot_at=slot,
                lease=lease,
                metrics=self.metrics,
                health=self.health,
            )

    def dispatch(self, channel: str | None = None) -> None:
        """Deliver what the outbox holds due for ``channel`` (``None``: for channels not configured,
        which are given up)."""
        with self._job(f"dispatch:{channel}" if channel else "dispatch") as context:
            if context is None or self.dispatcher is None:
                return
            runtime = context[0]
            if channel is None:
                stats = self.dispatcher.run_once(self.clock(), other_than=list(runtime.channels))
            else:
                stats = self.dispatcher.run_once(self.clock(), channels=[channel])
            if stats.dead:
                self.metrics.dead_letters.inc(stats.dead)

    def purge(self) -> None:
        """Delete history older than the retention settings allow."""
        with self._job("retention") as context:
            if context is None:
                return
            runtime, store, lease = context
            now = self.clock()
            result = store.purge(runtime.settings.retention.cutoff(now), lease=lease)
            log.info("daemon.retention", result=str(result))

    def _dispatcher(self, store: HistoryStore) -> Dispatcher:
        channels = {name: CountingChannel(ch, self.metrics) for name, ch in self.runtime.channels.items()}
        return Dispatcher(
            store, channels, self.runtime.settings.delivery, self.clock, lease_provider=self._lease
        )

    # --- reload and shutdown ----------------------------------------------------------------------

    def replace_runtime(self, runtime: Runtime) -> None:
        """Use ``runtime`` from the next job on; the old one is closed once no job uses it."""
        with self._running_lock:
            self._retired.append(self.runtime)
            self.runtime = runtime
        if self.health is not None:
            self.health.watching(runtime.watches)
        if self.store is not None:
            if self.dispatcher is not None:
                self.dispatcher.stop()
            self.dispatcher = self._dispatcher(self.store)

    def close_retired(self) -> None:
        with self._running_lock:
            if self._running or not self._retired:
                return
            retired, self._retired = self._retired, []
        for runtime in retired:
            runtime.close()

    def stop_taking_work(self) -> None:
        """No new runs; the dispatcher hands back what it claimed but has not sent."""
        self.scheduler.remove_all_jobs()
        if self.dispatcher is not None:
            self.dispatcher.stop()

    def wait(self, grace: float) -> bool:
        """Wait up to ``grace`` seconds for running jobs; ``False`` if one is still running."""
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            with self._running_lock:
                if self._running == 0:
                    return True
            time.sleep(0.05)
        return False

    def stop_scheduler(self) -> None:
        """Stop the scheduler's thread without waiting for jobs (``wait`` did, within the grace)."""
        self.scheduler.shutdown(wait=False)

    def close(self) -> None:
        """Release every runtime's sources (call only once no job runs)."""
        self.runtime.close()
        for runtime in self._retired:
            runtime.close()
