"""The lease loop: one tick every ``lease_ttl / 3``, on the leader and on standbys alike (DESIGN §9).

Each tick reaches the history database (opening it on the first tick that can), takes or renews
the fenced scheduler lease, and then reports: ``/healthz`` liveness, the systemd watchdog, and
``READY=1`` once the process is ready. Gaining or losing the lease starts or stops the leader's work
(``service.jobs``); the lease token it holds is what fences every write of that work.

A database that cannot be reached (or is newer than the code) is not an error here: the loop keeps
ticking, alive but not ready, until it can.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

import structlog

from retrain_sentinel.clock import Clock
from retrain_sentinel.errors import StoreError
from retrain_sentinel.service.health import HealthState
from retrain_sentinel.service.metrics import SentinelMetrics
from retrain_sentinel.service.systemd import notify
from retrain_sentinel.settings import Settings
from retrain_sentinel.store import HistoryStore, LeaseToken, mask_url, open_store

__all__ = ["LEASE_NAME", "LeaderWork", "LeaseLoop", "tick_period"]

LEASE_NAME = "scheduler"

log = structlog.get_logger("retrain_sentinel.daemon")


def tick_period(settings: Settings) -> float:
    """Seconds between ticks: a third of the lease TTL, so two renewals may fail before it expires."""
    return settings.service.lease_ttl.total_seconds() / 3


class LeaderWork(Protocol):
    """What the lease loop starts and stops with the lease (``service.jobs.Jobs``)."""

    def connected(self, store: HistoryStore) -> None:
        """The history database was opened: build what needs it."""

    def lead(self) -> None:
        """This process just took the lease: start the leader's work."""

    def step_down(self) -> None:
        """This process just lost the lease: stop the leader's work."""


class LeaseLoop:
    """Holds the store and the lease of one replica; ``tick()`` once per period.

    ``settings`` is read at every tick, so a reloaded ``lease_ttl`` applies from the next renewal.
    """

    def __init__(
        self,
        settings: Callable[[], Settings],
        work: LeaderWork,
        *,
        holder: str,
        health: HealthState,
        metrics: SentinelMetrics,
        environ: Mapping[str, str],
        clock: Clock,
    ) -> None:
        self._settings = settings
        self.work = work
        self.holder = holder
        self.health = health
        self.metrics = metrics
        self.environ = environ
        self.clock = clock
        self.store: HistoryStore | None = None
        self.lease: LeaseToken | None = None
        self._announced_ready = False

    @property
    def period(self) -> float:
        return tick_period(self._settings())

    def tick(self) -> None:
        """Reach the database, renew or take the lease, then tell health, watchdog and systemd."""
        if self.store is None and not self._connect():
            self._set_leader(None)
        else:
            self._renew()
        self.health.tick()
        notify("WATCHDOG=1", self.environ)
        if not self._announced_ready and self.health.readiness().ready:
            self._announced_ready = True
            notify("READY=1", self.environ)
            log.info("daemon.ready", role="leader" if self.lease else "standby")

    def _connect(self) -> bool:
        settings = self._settings()
        url = settings.database
        try:
            store = open_store(url, migrate=settings.service.auto_migrate)
        except StoreError as exc:  # unreachable, or newer than this code: wait, not ready
            self.health.set_database(False, str(exc))
            log.warning("daemon.database_not_ready", database=mask_url(url), error=str(exc))
            return False
        self.store = store  # ready only after the first lease attempt, see _renew
        self.work.connected(store)
        return True

    def _renew(self) -> None:
        assert self.store is not None  # noqa: S101 - _connect succeeded
        try:
            token = self.store.acquire_or_renew_lease(
                LEASE_NAME, self.holder, self._settings().service.lease_ttl
            )
            self._update_outbox_gauges(self.store)
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
            self.work.lead()
        elif token is None and was_leader:
            log.warning("daemon.lost_leadership")
            self.work.step_down()

    def _update_outbox_gauges(self, store: HistoryStore) -> None:
        count, oldest = store.pending_summary()
        self.metrics.outbox_pending.set(count)
        age = (self.clock() - oldest).total_seconds() if oldest is not None else 0.0
        self.metrics.outbox_oldest_age.set(max(age, 0.0))

    def release(self) -> None:
        """Give the lease up at once (graceful stop), so a standby takes over without waiting."""
        if self.store is not None and self.lease is not None:
            try:
                self.store.release_lease(self.lease)
            except StoreError as exc:
                log.warning("daemon.release_failed", error=str(exc))
        self.lease = None
        self.metrics.leader.set(0)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
