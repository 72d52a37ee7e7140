"""What ``/healthz`` and ``/readyz`` report, kept as plain state the lease loop and startup update.

Liveness is "the lease loop ticked recently" (a wedged process stops ticking); readiness is
"config loaded, database reachable and migrated, and recording" — a standby is ready too, it just
is not leading. "Recording" fails when the latest evaluation of every watch the leader evaluated
could not be written (the database refusing every write, or every watch's data): reaching the
database is not enough if nothing gets into it. One watch the database refuses beside others it
takes is that watch's error (its outcome, a log event, ``record_failures_total``), not the service's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["HealthState", "Readiness"]


@dataclass(frozen=True)
class Readiness:
    ready: bool
    role: str
    reason: str


class HealthState:
    """Thread-safe flags shared by the lease loop, the scheduler and the HTTP server."""

    def __init__(self, tick_period: float) -> None:
        self._lock = threading.Lock()
        self.tick_period = tick_period
        self._last_tick: float | None = None
        self.config_loaded = False
        self.database_ok = False
        self.database_reason = "not connected yet"
        self._leader = False
        self._latest: dict[str, str | None] = {}  # per watch: None when its latest write was recorded
        self._last_refusal = ""

    @property
    def leader(self) -> bool:
        return self._leader

    @leader.setter
    def leader(self, value: bool) -> None:
        with self._lock:
            if not value:  # a standby records nothing: what it recorded while leading is moot
                self._latest.clear()
            self._leader = value

    def recorded(self, watches: Iterable[str], refused: Mapping[str, str]) -> None:
        """The outcome of one batch's write: ``watches`` recorded (or already recorded), ``refused``
        not, with why. Each watch's latest outcome is kept, so batches of other schedules count."""
        with self._lock:
            self._latest.update(dict.fromkeys(watches))
            self._latest.update(refused)
            if refused:
                self._last_refusal = list(refused.values())[-1]

    def watching(self, watches: Iterable[str]) -> None:
        """The config now watches ``watches`` (a reload): what removed watches recorded is moot."""
        keep = set(watches)
        with self._lock:
            self._latest = {name: reason for name, reason in self._latest.items() if name in keep}

    def tick(self) -> None:
        with self._lock:
            self._last_tick = time.monotonic()

    def live(self) -> bool:
        """Alive while the lease loop ticked within three periods."""
        with self._lock:
            last = self._last_tick
        return last is not None and time.monotonic() - last <= 3 * self.tick_period

    def set_database(self, ok: bool, reason: str = "") -> None:
        with self._lock:
            self.database_ok, self.database_reason = ok, reason

    def readiness(self) -> Readiness:
        with self._lock:
            role = "leader" if self.leader else "standby"
            if not self.config_loaded:
                return Readiness(False, role, "config not loaded")
            if not self.database_ok:
                return Readiness(False, role, f"database not ready: {self.database_reason}")
            if self._latest and all(reason is not None for reason in self._latest.values()):
                return Readiness(
                    False,
                    role,
                    f"recording failing: the latest evaluation of each of {len(self._latest)} watch(es) "
                    f"could not be recorded: {self._last_refusal}",
                )
            return Readiness(True, role, "ready")
