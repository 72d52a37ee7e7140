"""Crash safety with a real dispatcher subprocess killed by SIGKILL at the worst moments."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from retrain_sentinel.store import HistoryStore
from retrain_sentinel.store.testing import evaluation, routes

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).with_name("dispatcher_process.py")


def _start(database_url: str, url: str, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(SCRIPT), "--database", database_url, "--url", url, *extra])


def _queue_one(store: HistoryStore) -> str:
    now = datetime.now(UTC)
    result = store.record(
        [evaluation("triggered", now)], now=now, routes={"churn": routes("hook", kinds={"hook": "webhook"})}
    )
    return result.notifications[0].id


def test_killed_while_the_receiver_answers_the_row_is_sent_again_with_the_same_key(
    store: HistoryStore, database_url: str, httpserver: HTTPServer
) -> None:
    notification_id = _queue_one(store)
    keys: list[str] = []
    process: list[subprocess.Popen[bytes]] = []

    def handler(request: Request) -> Response:
        keys.append(request.headers["Idempotency-Key"])
        if len(keys) == 1:
            os.kill(process[0].pid, signal.SIGKILL)  # the dispatcher dies before it hears the answer
            process[0].wait(10)
        return Response("", status=200)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    process.append(_start(database_url, httpserver.url_for("/hook")))
    assert process[0].wait(30) == -signal.SIGKILL
    assert store.outbox()[0].status == "pending"
    again = _start(database_url, httpserver.url_for("/hook"))
    assert again.wait(30) == 0
    assert keys == [notification_id, notification_id]  # one duplicate, under the same idempotency key
    assert store.outbox()[0].status == "sent"


def test_killed_after_claiming_and_before_sending_the_row_is_delivered_once_after_restart(
    store: HistoryStore, database_url: str, httpserver: HTTPServer, tmp_path: Path
) -> None:
    notification_id = _queue_one(store)
    keys: list[str] = []

    def handler(request: Request) -> Response:
        keys.append(request.headers["Idempotency-Key"])
        return Response("", status=200)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    paused = tmp_path / "claimed"
    first = _start(database_url, httpserver.url_for("/hook"), "--pause-file", str(paused))
    deadline = time.monotonic() + 30
    while not paused.exists():
        assert time.monotonic() < deadline and first.poll() is None, "the dispatcher never claimed"
        time.sleep(0.05)
    assert paused.read_text() == notification_id
    first.send_signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL
    assert store.outbox()[0].claimed_by is not None and keys == []
    again = _start(database_url, httpserver.url_for("/hook"))
    assert again.wait(30) == 0
    assert keys == [notification_id]
    assert store.outbox()[0].status == "sent"
