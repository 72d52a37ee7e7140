"""Helpers for the real-process daemon tests: an experiment DB to watch, and a ``run`` child process.

``Lab`` plays the user's training code on the built-in ``experiment_db`` layout (SQLite files or a
PostgreSQL database, the schema from ``retrain_sentinel.sources.sql.schema``): it registers a model
version and logs evaluation runs, so a test can degrade or fix a model while the daemon watches it.
On PostgreSQL it can also lock its tables, holding a daemon's batch inside its source read.

``DaemonProcess`` runs ``retrain-sentinel run -c CONFIG`` — the console script installed beside the
interpreter running the tests, so the package under test is the one this interpreter imports — with
its structlog JSON lines on stderr captured to a file. The HTTP port is 0 (the kernel picks a free
one, no race with concurrent suites) and read back from the ``daemon.started`` event. Every wait has
a deadline, and ``kill`` (the fixtures' cleanup) always leaves no child behind, stopped or not.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from retrain_sentinel.sources.sql.schema import create_schemas

__all__ = ["COMMAND", "DaemonProcess", "HttpAnswer", "Lab", "ago", "utcnow", "wait_until"]

COMMAND = [str(Path(sys.executable).with_name("retrain-sentinel"))]
"""The ``retrain-sentinel`` console script of the virtualenv whose interpreter runs the tests."""

_T = TypeVar("_T")


def wait_until(
    condition: Callable[[], _T | None], timeout: float, message: str, interval: float = 0.05
) -> _T:
    """Poll ``condition`` until it returns something truthy; fail with ``message`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s: {message}")
        time.sleep(interval)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _insert(connection: Connection, sql: str, params: Mapping[str, Any], key: str) -> int:
    """Insert one row and return its generated ``key`` (SQLite 3.35+ and PostgreSQL both return it)."""
    return int(connection.execute(text(f"{sql} RETURNING {key}"), dict(params)).scalar_one())


class Lab:
    """An experiment DB and a model registry in the original project's layout."""

    EXPERIMENT_TABLES = ("runs", "metrics")
    REGISTRY_TABLES = ("models", "model_tags")

    def __init__(self, experiments_url: str, registry_url: str) -> None:
        self.experiments_url = experiments_url
        self.registry_url = registry_url
        self._experiments = create_engine(experiments_url, poolclass=NullPool)
        self._registry = create_engine(registry_url, poolclass=NullPool)
        create_schemas(self._experiments, self._registry)

    @classmethod
    def in_directory(cls, directory: Path) -> Lab:
        """SQLite files ``experiments.db`` and ``model_registry.db`` in ``directory``."""
        return cls(
            f"sqlite:///{directory / 'experiments.db'}", f"sqlite:///{directory / 'model_registry.db'}"
        )

    def dispose(self) -> None:
        self._experiments.dispose()
        self._registry.dispose()

    def register(
        self, name: str, metric: str, value: float, trained_at: datetime, version: str = "v1"
    ) -> None:
        """A trained model version, promoted to ``production``, with its validation metric."""
        with self._experiments.begin() as experiments:
            run_id = _insert(
                experiments,
                "INSERT INTO runs (run_name, config, created_at, status, task_name, updated_at)"
                " VALUES (:run, '{}', :at, 'completed', :task, :at)",
                {"run": f"train-{name}-{version}", "at": _stamp(trained_at), "task": name},
                "run_id",
            )
        with self._registry.begin() as registry:
            model_id = _insert(
                registry,
                "INSERT INTO models (name, version, task_type, training_run_id, created_at, metrics, metadata,"
                " status) VALUES (:name, :version, 'classification', :run, :at, :metrics, '{}', 'active')",
                {
                    "name": name,
                    "version": version,
                    "run": run_id,
                    "at": _stamp(trained_at),
                    "metrics": json.dumps({metric: value}),
                },
                "model_id",
            )
            registry.execute(
                text(
                    "INSERT INTO model_tags (model_id, tag_name, created_at) VALUES (:model, 'production', :at)"
                ),
                {"model": model_id, "at": _stamp(trained_at)},
            )

    def evaluate(self, name: str, metric: str, value: float, at: datetime) -> None:
        """A monitoring run ``eval-<name>-<n>`` logging ``metric``; the newest such run is current."""
        with self._experiments.begin() as experiments:
            run_id = _insert(
                experiments,
                "INSERT INTO runs (run_name, config, created_at, status, task_name, updated_at)"
                " VALUES (:run, '{}', :at, 'completed', :task, :at)",
                {"run": f"eval-{name}-{at:%Y%m%d%H%M%S}", "at": _stamp(at), "task": name},
                "run_id",
            )
            experiments.execute(
                text(
                    "INSERT INTO metrics (run_id, split, metric_name, value, step, epoch, timestamp)"
                    " VALUES (:run, 'val', :metric, :value, 0, 0, :at)"
                ),
                {"run": run_id, "metric": metric, "value": value, "at": _stamp(at)},
            )

    # --- PostgreSQL only: hold a reader inside its read ---------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Every lab table locked ACCESS EXCLUSIVE until the block ends: a source's read waits."""
        with ExitStack() as stack:
            for engine, tables in (
                (self._registry, self.REGISTRY_TABLES),
                (self._experiments, self.EXPERIMENT_TABLES),
            ):
                assert engine.dialect.name == "postgresql", "only PostgreSQL makes readers wait on a lock"
                connection = stack.enter_context(engine.begin())
                connection.execute(text(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE"))
            yield

    def waiting_readers(self) -> int:
        """How many sessions wait for a lock in the lab's databases (PostgreSQL)."""
        query = text(
            "SELECT count(*) FROM pg_locks WHERE NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        total = 0
        for engine in {self.experiments_url: self._experiments, self.registry_url: self._registry}.values():
            with engine.connect() as connection:
                total += int(connection.execute(query).scalar_one())
        return total


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class DaemonProcess:
    """One ``retrain-sentinel run`` child; its stderr (JSON lines) goes to ``log_path``."""

    config: Path
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    _port: int | None = None

    def start(self) -> DaemonProcess:
        assert Path(COMMAND[0]).is_file(), (
            f"no console script beside {sys.executable}: pip install -e . first"
        )
        environ = {k: v for k, v in os.environ.items() if not k.startswith("RETRAIN_SENTINEL_")}
        environ.pop("NOTIFY_SOCKET", None)  # only the systemd test gives one
        environ.update(self.env)
        with self.log_path.open("ab") as stderr:
            self.process = subprocess.Popen(
                [*COMMAND, "run", "-c", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=environ,
                start_new_session=True,  # a Ctrl-C meant for pytest does not reach it
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    # --- its log ----------------------------------------------------------------------------------

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def events(self, name: str | None = None, *, since: int = 0) -> list[dict[str, Any]]:
        """The JSON events logged so far (from byte offset ``since``), optionally only ``name``."""
        found = []
        for line in self.log_text()[since:].splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and (name is None or event.get("event") == name):
                found.append(event)
        return found

    def log_size(self) -> int:
        return len(self.log_text())

    def wait_event(self, name: str, timeout: float) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            self.check_alive()
            events = self.events(name)
            return events[0] if events else None

        return wait_until(found, timeout, f"no {name!r} event; log:\n{self.log_text()[-3000:]}")

    def check_alive(self) -> None:
        assert self.process is not None
        code = self.process.poll()
        if code is not None:
            raise AssertionError(f"the daemon exited with {code}; log:\n{self.log_text()[-3000:]}")

    # --- its HTTP endpoints -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            started = self.wait_event("daemon.started", 20)
            self._port = int(str(started["http"]).rsplit(":", 1)[1])
        return self._port

    def get(self, path: str, timeout: float = 5) -> HttpAnswer:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as answer:
                return HttpAnswer(answer.status, answer.read().decode())
        except urllib.error.HTTPError as exc:
            return HttpAnswer(exc.code, exc.read().decode())

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """``/metrics`` as {(sample name, sorted labels): value}."""
        answer = self.get("/metrics")
        assert answer.status == 200, answer
        samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for family in text_string_to_metric_families(answer.body):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    def metric(self, name: str, **labels: str) -> float | None:
        return self.metrics().get((name, tuple(sorted(labels.items()))))

    def wait_ready(self, timeout: float) -> HttpAnswer:
        def ready() -> HttpAnswer | None:
            self.check_alive()
            answer = self.get("/readyz")
            return answer if answer.status == 200 else None

        return wait_until(ready, timeout, f"/readyz never 200; log:\n{self.log_text()[-3000:]}")

    def wait_role(self, role: str, timeout: float) -> None:
        def has_role() -> bool:
            self.check_alive()
            answer = self.get("/readyz")
            return answer.status == 200 and answer.json()["role"] == role

        wait_until(has_role, timeout, f"never {role}; log:\n{self.log_text()[-3000:]}")

    # --- signals and the end ----------------------------------------------------------------------

    def send(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def stopped(self) -> bool:
        """Whether every thread of the process is stopped (SIGSTOP is delivered asynchronously)."""
        states = []
        for stat in Path(f"/proc/{self.pid}/task").glob("*/stat"):
            with suppress(OSError):  # a thread that just ended
                states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
        return bool(states) and all(state == "T" for state in states)

    def wait_exit(self, timeout: float) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the daemon did not exit within {timeout}s; log:\n{self.log_text()[-3000:]}"
            ) from None

    def kill(self) -> None:
        """Cleanup: SIGKILL (after SIGCONT, in case it is stopped) and reap; idempotent."""
        if self.process is None or self.process.poll() is not None:
            return
        for signum in (signal.SIGCONT, signal.SIGKILL):
            try:
                self.process.send_signal(signum)
            except ProcessLookupError:
                return
        with suppress(subprocess.TimeoutExpired):  # SIGKILL is not ignorable: only a hung kernel waits
            self.process.wait(10)


def utcnow() -> datetime:
    return datetime.now(UTC)


def ago(**delta: float) -> datetime:
    return utcnow() - timedelta(**delta)
