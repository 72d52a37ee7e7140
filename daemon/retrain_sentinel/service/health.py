"""What ``/healthz`` and ``/readyz`` report, kept as plain state the lease loop and startup update.

Liveness is "the lease loop ticked recently" (a wedged process stops ticking); readiness is
"config loaded, database reachable and migrated" — a standby is ready too, it just is not leading.
"""

from __future__ import annotations

import threading
import time
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
        self.leader = False

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
            return Readiness(True, role, "ready")
