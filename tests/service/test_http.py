"""The status server under slow and idle connections (issue 11, item 15), with real sockets.

A slowloris client opens many connections and sends its request a byte at a time, or never; the
server must not spend a thread on each, must close them after the request timeout, and must keep
answering ``/healthz`` — a liveness probe that times out gets the pod killed.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from retrain_sentinel.service.health import HealthState
from retrain_sentinel.service.http import StatusServer
from retrain_sentinel.service.metrics import SentinelMetrics

from .daemon_process import wait_until

PARTIAL = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # no blank line: the request never ends

MakeServer = Callable[..., StatusServer]


@pytest.fixture
def make_server() -> Iterator[MakeServer]:
    """``make_server(**options)``: a started status server on a free port, live; stopped after."""
    servers: list[StatusServer] = []

    def make(**options: Any) -> StatusServer:
        health = HealthState(60)
        health.tick()
        server = StatusServer("127.0.0.1", 0, health, SentinelMetrics(), **options)
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.stop()


def _healthz(port: int, timeout: float = 5) -> tuple[int, dict[str, str], float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout) as answer:
            return answer.status, json.loads(answer.read()), time.monotonic() - started
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), time.monotonic() - started


def _idle_connections(stack: ExitStack, port: int, count: int, head: bytes = PARTIAL) -> list[socket.socket]:
    """``count`` connections that each sent ``head`` and then nothing (closed when ``stack`` ends)."""
    sockets = []
    for _ in range(count):
        client = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        client.sendall(head)
        sockets.append(client)
    return sockets


def _closed_by_server(client: socket.socket, within: float) -> bool:
    """Whether the server closed ``client`` (EOF or reset) within ``within`` seconds."""
    client.settimeout(within)
    try:
        return client.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_two_hundred_idle_connections_hold_no_thread_each_and_healthz_answers(
    make_server: MakeServer,
) -> None:
    server = make_server()
    before = threading.active_count()
    assert _healthz(server.port)[:2] == (200, {"status": "ok"})
    with ExitStack() as stack:
        _idle_connections(stack, server.port, 200)
        time.sleep(0.5)  # give a thread-per-connection server the time to start them all
        during = threading.active_count()
        status, body, took = _healthz(server.port)
        assert (status, body) == (200, {"status": "ok"})
        assert took < 1.0, f"/healthz took {took:.2f}s under 200 idle connections"
    assert during - before <= 8, f"{during - before} more threads under 200 idle connections"


def test_idle_and_trickling_connections_are_closed_after_the_request_timeout(make_server: MakeServer) -> None:
    server = make_server(request_timeout=1.0)
    with ExitStack() as stack:
        idle = _idle_connections(stack, server.port, 20)
        trickler = stack.enter_context(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        stop = threading.Event()

        def trickle() -> None:  # one byte every 0.2 s: never idle, never done
            for byte in PARTIAL:
                if stop.wait(0.2):
                    return
                try:
                    trickler.send(bytes([byte]))
                except OSError:
                    return

        sender = threading.Thread(target=trickle, daemon=True)
        sender.start()
        started = time.monotonic()
        assert all(_closed_by_server(client, within=5) for client in idle)
        sender.join(5)
        stop.set()
        assert _closed_by_server(trickler, within=5)
        took = time.monotonic() - started
        assert 0.8 <= took < 4, f"closed after {took:.2f}s, the timeout is 1s"
        assert _healthz(server.port)[0] == 200


def test_past_the_bound_the_oldest_waiting_connections_are_closed(make_server: MakeServer) -> None:
    server = make_server(max_pending=50)
    with ExitStack() as stack:
        oldest = _idle_connections(stack, server.port, 50)
        _idle_connections(stack, server.port, 150)
        assert all(_closed_by_server(client, within=5) for client in oldest)
        status, _, took = _healthz(server.port)
        assert status == 200 and took < 1.0


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200),
        (b"GET /healthz?x=1 HTTP/1.0\r\n\r\n", 200),
        (b"GET /nothing HTTP/1.1\r\n\r\n", 404),
        (b"POST /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405),
        (b"nonsense\r\n\r\n", 400),
    ],
)
def test_raw_requests_get_one_answer_and_the_connection_closes(
    make_server: MakeServer, request_bytes: bytes, status: int
) -> None:
    server = make_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as client:
        client.sendall(request_bytes)
        answer = b""
        while chunk := client.recv(4096):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ", 2)[1] == str(status).encode()
    assert f"Content-Length: {len(body)}".encode() in head
    assert b"Connection: close" in head


def test_an_oversized_request_head_is_refused(make_server: MakeServer) -> None:
    server = make_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as client:
        client.sendall(b"GET /healthz HTTP/1.1\r\nX-Long: " + b"a" * 40_000)
        assert _closed_by_server(client, within=5) or client.recv(4096).startswith(b"HTTP/1.1 431")


def test_stop_closes_waiting_connections_and_frees_the_port(make_server: MakeServer) -> None:
    server = make_server()
    with ExitStack() as stack:
        idle = _idle_connections(stack, server.port, 5)
        server.stop()
        assert all(_closed_by_server(client, within=5) for client in idle)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
    wait_until(
        lambda: not any(t.name.startswith("status-http") for t in threading.enumerate()), 5, "threads left"
    )
