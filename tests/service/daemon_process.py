"""Helpers for the real-process daemon tests: an experiment DB to watch, and a ``run`` child process.

``Lab`` plays the user's training code on the built-in ``experiment_db`` layout (SQLite files, the
schema from ``retrain_sentinel.demo``): it registers a model version and logs evaluation runs, so a
test can degrade or fix a model while the daemon watches it.

``DaemonProcess`` runs ``retrain-sentinel run -c CONFIG`` from the project's virtualenv with its
structlog JSON lines on stderr captured to a file. The HTTP port is 0 (the kernel picks a free one,
no race with concurrent suites) and read back from the ``daemon.started`` event. Every wait has a
deadline, and ``kill`` (the fixtures' cleanup) always leaves no child behind, stopped or not.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

from retrain_sentinel.sources.experiment_db_schema import create_schemas

__all__ = ["EXECUTABLE", "DaemonProcess", "HttpAnswer", "Lab", "ago", "utcnow", "wait_until"]

EXECUTABLE = Path("/work/main/.venv/bin/retrain-sentinel")
if not EXECUTABLE.exists():  # another checkout: the console script beside this interpreter
    EXECUTABLE = Path(sys.executable).with_name("retrain-sentinel")

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


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    """One committed transaction on a SQLite file, then closed."""
    with closing(sqlite3.connect(path)) as connection, connection:
        yield connection


class Lab:
    """An experiment DB and a model registry (SQLite files) in the original project's layout."""

    def __init__(self, directory: Path) -> None:
        self.experiments_path = directory / "experiments.db"
        self.registry_path = directory / "model_registry.db"
        engines = [create_engine(f"sqlite:///{path}") for path in (self.experiments_path, self.registry_path)]
        create_schemas(*engines)
        for engine in engines:
            engine.dispose()

    @property
    def experiments_url(self) -> str:
        return f"sqlite:///{self.experiments_path}"

    @property
    def registry_url(self) -> str:
        return f"sqlite:///{self.registry_path}"

    def register(
        self, name: str, metric: str, value: float, trained_at: datetime, version: str = "v1"
    ) -> None:
        """A trained model version, promoted to ``production``, with its validation metric."""
        with _connect(self.experiments_path) as experiments:
            run_id = experiments.execute(
                "INSERT INTO runs (run_name, config, created_at, status, task_name, updated_at)"
                " VALUES (?, '{}', ?, 'completed', ?, ?)",
                (f"train-{name}-{version}", _stamp(trained_at), name, _stamp(trained_at)),
            ).lastrowid
        with _connect(self.registry_path) as registry:
            model_id = registry.execute(
                "INSERT INTO models (name, version, task_type, training_run_id, created_at, metrics, metadata,"
                " status) VALUES (?, ?, 'classification', ?, ?, ?, '{}', 'active')",
                (name, version, run_id, _stamp(trained_at), json.dumps({metric: value})),
            ).lastrowid
            registry.execute(
                "INSERT INTO model_tags (model_id, tag_name, created_at) VALUES (?, 'production', ?)",
                (model_id, _stamp(trained_at)),
            )

    def evaluate(self, name: str, metric: str, value: float, at: datetime) -> None:
        """A monitoring run ``eval-<name>-<n>`` logging ``metric``; the newest such run is current."""
        with _connect(self.experiments_path) as experiments:
            run_id = experiments.execute(
                "INSERT INTO runs (run_name, config, created_at, status, task_name, updated_at)"
                " VALUES (?, '{}', ?, 'completed', ?, ?)",
                (f"eval-{name}-{at:%Y%m%d%H%M%S}", _stamp(at), name, _stamp(at)),
            ).lastrowid
            experiments.execute(
                "INSERT INTO metrics (run_id, split, metric_name, value, step, epoch, timestamp)"
                " VALUES (?, 'val', ?, ?, 0, 0, ?)",
                (run_id, metric, value, _stamp(at)),
            )


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
        environ = {k: v for k, v in os.environ.items() if not k.startswith("RETRAIN_SENTINEL_")}
        environ.pop("NOTIFY_SOCKET", None)  # only the systemd test gives one
        environ.update(self.env)
        with self.log_path.open("ab") as stderr:
            self.process = subprocess.Popen(
                [str(EXECUTABLE), "run", "-c", str(self.config)],
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
