"""Logging goes to the stderr of the moment, as JSON lines off a TTY."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import structlog
from pytest_httpserver import HTTPServer

from retrain_sentinel.service.logs import configure_logging

from .conftest import config, write_config
from .daemon_process import Lab, wait_until


def test_events_follow_stderr_when_it_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging(json_lines=True)
    first.close()  # e.g. a test's capture stream, gone after its test
    monkeypatch.setattr(sys, "stderr", second)
    structlog.get_logger("t").info("after_swap", model="churn")
    event = json.loads(second.getvalue().strip().splitlines()[-1])
    assert event["event"] == "after_swap" and event["model"] == "churn" and event["level"] == "info"


# --- issue 11, item 12: one event, one whole JSON line, whoever logs it ---------------------------


def _json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` as one JSON object; fails naming the first line that is not."""
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            event = json.loads(line)
        except ValueError:
            pytest.fail(f"line {number} is not one JSON object: {line[:300]!r}")
        assert isinstance(event, dict), f"line {number} is JSON but not an object: {line[:300]!r}"
        events.append(event)
    return events


@pytest.fixture
def switch_often() -> Iterator[None]:
    """Let the interpreter switch threads as often as it can, so interleavings show up in a test."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """``sys.stderr`` as the daemon has it: a write-through TextIOWrapper over a file.

    Write-through (Python's stderr always is) hands every ``write`` to the buffered file at once,
    which lets another thread run between two writes. Entered in the test's body: pytest sets its
    own capture stream again between setup and call.
    """
    with (
        io.TextIOWrapper(path.open("wb"), encoding="utf-8", write_through=True) as stream,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(sys, "stderr", stream)
        yield


def _hammer(threads: int, each: Callable[[int, int], None], per_thread: int) -> None:
    start = threading.Barrier(threads)

    def work(n: int) -> None:
        start.wait()
        for i in range(per_thread):
            each(n, i)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def test_many_threads_logging_at_once_write_one_json_object_per_line(
    tmp_path: Path, switch_often: None
) -> None:
    with stderr_to(tmp_path / "stderr.log"):
        configure_logging(json_lines=True)
        log = structlog.get_logger("hammer")
        _hammer(16, lambda n, i: log.info("hammered", thread=n, i=i, padding="x" * (i % 50)), 400)
    events = _json_lines((tmp_path / "stderr.log").read_text(encoding="utf-8"))
    assert len(events) == 16 * 400
    assert {(e["thread"], e["i"]) for e in events} == {(n, i) for n in range(16) for i in range(400)}


def test_stdlib_loggers_and_warnings_from_many_threads_are_json_lines_too(
    tmp_path: Path, switch_often: None
) -> None:
    log = structlog.get_logger("ours")
    scheduler = logging.getLogger("apscheduler.scheduler")

    def each(n: int, i: int) -> None:
        log.info("ours", thread=n, i=i)
        scheduler.warning("Run time of job %r was missed by %s", f"job-{n}", i)
        warnings.warn(f"third party warns {n}/{i}", UserWarning, stacklevel=1)

    # catch_warnings restores how warnings are shown, for the tests after this one
    with stderr_to(tmp_path / "stderr.log"), warnings.catch_warnings():
        warnings.simplefilter("always")
        configure_logging(json_lines=True)
        _hammer(8, each, 150)
    events = _json_lines((tmp_path / "stderr.log").read_text(encoding="utf-8"))
    by_logger: dict[str, int] = {}
    for event in events:
        by_logger[str(event.get("logger"))] = by_logger.get(str(event.get("logger")), 0) + 1
    assert sum(1 for e in events if e["event"] == "ours") == 8 * 150
    assert by_logger.get("apscheduler.scheduler") == 8 * 150
    assert by_logger.get("py.warnings") == 8 * 150
    missed = next(e for e in events if e.get("logger") == "apscheduler.scheduler")
    assert missed["level"] == "warning" and "was missed by" in missed["event"] and "timestamp" in missed
    warned = next(e for e in events if e.get("logger") == "py.warnings")
    assert "UserWarning: third party warns" in warned["event"]


def test_a_stdlib_exception_is_one_json_line_with_its_traceback(tmp_path: Path) -> None:
    with stderr_to(tmp_path / "stderr.log"):
        configure_logging(json_lines=True)
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("sqlalchemy.pool").exception("connection failed")
    (event,) = _json_lines((tmp_path / "stderr.log").read_text(encoding="utf-8"))
    assert event["event"] == "connection failed" and event["level"] == "error"
    assert "RuntimeError: boom" in event["exception"]


def test_a_third_party_logger_set_to_a_lower_level_still_shows_only_warnings(tmp_path: Path) -> None:
    """A receiver library that sets its own logger to INFO (werkzeug does) or DEBUG (urllib3's
    request lines name the URL, a credential) does not get its chatter into the daemon's log."""
    chatty = logging.getLogger("chatty.library")
    chatty.setLevel(logging.DEBUG)
    try:
        with stderr_to(tmp_path / "stderr.log"):
            configure_logging(json_lines=True)
            chatty.debug("POST /services/T000/B000/token")
            chatty.info("request served")
            chatty.warning("retrying")
    finally:
        chatty.setLevel(logging.NOTSET)
    events = _json_lines((tmp_path / "stderr.log").read_text(encoding="utf-8"))
    assert [(e["event"], e["logger"]) for e in events] == [("retrying", "chatty.library")]


def test_configuring_twice_installs_one_handler(tmp_path: Path) -> None:
    with stderr_to(tmp_path / "stderr.log"):
        configure_logging(json_lines=True)
        configure_logging(json_lines=True)  # ``run`` loads the config (configures), then configures again
        logging.getLogger("apscheduler.scheduler").warning("once")
    assert [e["event"] for e in _json_lines((tmp_path / "stderr.log").read_text(encoding="utf-8"))] == [
        "once"
    ]


# --- the same, in a real daemon process -------------------------------------------------------------

_NOISY_LAUNCHER = """
import logging, sys, threading, time, warnings
import structlog
from retrain_sentinel.cli import run

CONFIG, SECONDS = sys.argv[1], float(sys.argv[2])

def noise(n):
    while not logging.getLogger().handlers:  # until ``run`` has configured logging
        time.sleep(0.01)
    scheduler, ours = logging.getLogger("apscheduler.scheduler"), structlog.get_logger("noise")
    deadline = time.monotonic() + SECONDS
    i = 0
    while time.monotonic() < deadline:
        scheduler.warning("Run time of job %r was missed by %s", "batch:every:1s", i)
        warnings.warn(f"noise {n}/{i}", UserWarning, stacklevel=1)
        ours.info("noise", thread=n, i=i)
        i += 1
        time.sleep(0.001)
    ours.info("noise.done", thread=n, count=i)

for n in range(6):
    threading.Thread(target=noise, args=(n,), daemon=True).start()
sys.argv = ["retrain-sentinel", "run", "-c", CONFIG]
run()
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_daemon_under_json_logging_writes_only_json_lines(
    tmp_path: Path, lab: Lab, httpserver: HTTPServer
) -> None:
    """The real ``run`` with its own threads (scheduler, lease loop, dispatcher, HTTP) plus six
    threads logging through structlog, a stdlib logger and ``warnings.warn`` at once."""
    httpserver.expect_request("/hook").respond_with_data("ok")
    document = config(f"sqlite:///{tmp_path / 'history.db'}", lab, hook_url=httpserver.url_for("/hook"))
    path = write_config(tmp_path / "sentinel.yaml", document)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RETRAIN_SENTINEL_")}
    environ.pop("NOTIFY_SOCKET", None)
    environ.update({"HOOK_SECRET": "hook-secret-value", "PYTHONWARNINGS": "always"})
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", _NOISY_LAUNCHER, str(path), "4"],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=environ,
            start_new_session=True,
        )
    try:
        wait_until(
            lambda: (
                err.read_text(encoding="utf-8", errors="replace").count('"noise.done"') == 6
                and len(httpserver.log) > 0
            ),
            60,
            "the noise threads did not finish or nothing was delivered",
            interval=0.2,
        )
        child.send_signal(signal.SIGTERM)
        assert child.wait(30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    events = _json_lines(err.read_text(encoding="utf-8"))
    assert _json_lines(out.read_text(encoding="utf-8")) == []
    names = {str(e.get("logger") or e["event"]) for e in events}
    assert {"apscheduler.scheduler", "py.warnings", "noise", "daemon.started", "evaluation"} <= names


_SIGNALLED_LOGGER = """
import os, signal, sys, threading, time
import structlog
from retrain_sentinel.service.logs import configure_logging

configure_logging(json_lines=True)
log = structlog.get_logger("t")
signal.signal(signal.SIGUSR1, lambda *_: log.info("signalled"))  # as the daemon's stop handler logs
done = threading.Event()

def signaller():
    while not done.is_set():
        os.kill(os.getpid(), signal.SIGUSR1)
        time.sleep(0.0005)

threading.Thread(target=signaller, daemon=True).start()
for i in range(20000):
    log.info("main", i=i)
done.set()
"""


@pytest.mark.slow
def test_a_signal_handler_that_logs_while_the_main_thread_writes_does_not_deadlock(tmp_path: Path) -> None:
    err = tmp_path / "stderr.log"
    with err.open("wb") as stderr:
        try:
            subprocess.run(
                [sys.executable, "-c", _SIGNALLED_LOGGER], stderr=stderr, timeout=60, check=True
            )
        except subprocess.TimeoutExpired:
            pytest.fail("logging from a signal handler deadlocked the main thread")
    events = _json_lines(err.read_text(encoding="utf-8"))
    assert sum(1 for e in events if e["event"] == "main") == 20000
    assert any(e["event"] == "signalled" for e in events)
