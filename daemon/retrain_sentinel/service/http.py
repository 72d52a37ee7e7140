"""The small HTTP server: ``/healthz``, ``/readyz``, ``/metrics``.

Three read-only endpoints scraped every few seconds need no web framework, but they must keep
answering while something holds connections open and idle (a slowloris client, a half-open load
balancer): a liveness probe that times out gets the daemon killed. So no thread waits on a
connection that has not finished its request:

- one thread accepts connections and reads their request heads without blocking (``selectors``);
  a connection that has not sent its whole head within ``request_timeout`` (10 s) is closed, and
  past ``max_pending`` waiting connections the oldest is closed — a flood evicts itself, and a
  probe that sends its request at once gets through;
- a complete request goes to a few worker threads, which answer and close (one request per
  connection, ``Connection: close``); a client that will not read its answer holds a worker for at
  most ``request_timeout``.

The threads stay ``workers + 1`` whatever the clients do. Parsing and answering are pure functions
of the request head (``parse_request``, ``answer``).
"""

from __future__ import annotations

import json
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from http import HTTPStatus

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from retrain_sentinel.errors import ConfigError
from retrain_sentinel.service.health import HealthState
from retrain_sentinel.service.metrics import SentinelMetrics

__all__ = [
    "MAX_HEAD",
    "MAX_PENDING",
    "REQUEST_TIMEOUT",
    "WORKERS",
    "StatusServer",
    "answer",
    "parse_request",
]

REQUEST_TIMEOUT = 10.0
"""Seconds a connection has to send its whole request head, and a worker to send the answer."""
MAX_PENDING = 256
"""Connections still sending their request head; past it the oldest is closed."""
WORKERS = 4
"""Threads answering complete requests (the endpoints take milliseconds)."""
MAX_HEAD = 16 * 1024
"""A request head larger than this is no probe or scrape: the connection is closed."""
_MAX_QUEUED = 64  # complete requests waiting for a worker; past it a new one is closed unanswered
_JSON = "application/json"


def parse_request(head: bytes) -> tuple[str, str] | None:
    """``(method, path)`` from a request head (query string dropped), ``None`` if it is not HTTP."""
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    parts = line.split()
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/") or not parts[1].startswith(b"/"):
        return None
    try:
        method, target = parts[0].decode("ascii"), parts[1].decode("ascii")
    except UnicodeDecodeError:
        return None
    return method, target.split("?", 1)[0]


def _json(status: int, payload: dict[str, str]) -> tuple[int, str, bytes]:
    return status, _JSON, json.dumps(payload).encode()


def _route(path: str, health: HealthState, registry: CollectorRegistry) -> tuple[int, str, bytes]:
    if path == "/healthz":
        alive = health.live()
        return _json(200 if alive else 503, {"status": "ok" if alive else "stalled"})
    if path == "/readyz":
        ready = health.readiness()
        return _json(
            200 if ready.ready else 503,
            {"status": "ready" if ready.ready else "not ready", "role": ready.role, "reason": ready.reason},
        )
    if path == "/metrics":
        return 200, CONTENT_TYPE_LATEST, generate_latest(registry)
    return _json(404, {"error": "not found"})


def _response(
    status: int, content_type: str, body: bytes, *, with_body: bool = True, extra: str = ""
) -> bytes:
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + (body if with_body else b"")


def answer(head: bytes, health: HealthState, registry: CollectorRegistry) -> bytes:
    """The whole HTTP response to a request head: GET (or HEAD) of the three endpoints."""
    request = parse_request(head)
    if request is None:
        return _response(*_json(400, {"error": "bad request"}))
    method, path = request
    if method not in ("GET", "HEAD"):
        return _response(*_json(405, {"error": "method not allowed"}), extra="Allow: GET, HEAD\r\n")
    return _response(*_route(path, health, registry), with_body=method == "GET")


@dataclass
class _Waiting:
    """A connection still sending its request head."""

    deadline: float
    head: bytearray = field(default_factory=bytearray)


def _close(connection: socket.socket) -> None:
    with suppress(OSError):
        connection.close()


class StatusServer:
    """Serves health, readiness and metrics from ``workers + 1`` daemon threads, whatever the clients do."""

    def __init__(
        self,
        host: str,
        port: int,
        health: HealthState,
        metrics: SentinelMetrics,
        *,
        request_timeout: float = REQUEST_TIMEOUT,
        max_pending: int = MAX_PENDING,
        workers: int = WORKERS,
    ) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self._listener = socket.create_server((host, port), family=family, backlog=128)
        except OSError as exc:  # port taken, address not local: the operator fixes `http`, not the code
            raise ConfigError([("http", f"cannot listen on {host}:{port}: {exc.strerror or exc}")]) from exc
        self._listener.setblocking(False)
        self._respond: Callable[[bytes], bytes] = lambda head: answer(head, health, metrics.registry)
        self._timeout = request_timeout
        self._max_pending = max_pending
        self._waiting: dict[socket.socket, _Waiting] = {}  # insertion order is deadline order
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._requests: queue.Queue[tuple[socket.socket, bytes] | None] = queue.Queue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="status-http", daemon=True)
        self._workers = [
            threading.Thread(target=self._work, name=f"status-http-{n}", daemon=True) for n in range(workers)
        ]

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def start(self) -> None:
        for worker in self._workers:
            worker.start()
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, close every waiting connection and the port; the workers finish their answer."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._thread.is_alive():
            self._wake_write.send(b"x")
            self._thread.join(5)
        else:
            self._close_all()
        for _ in self._workers:
            self._requests.put(None)
        self._wake_write.close()

    # --- the accepting and reading thread ---------------------------------------------------------

    def _serve(self) -> None:
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        try:
            while not self._stopping.is_set():
                for key, _ in self._selector.select(self._wait_for()):
                    if key.fileobj is self._listener:
                        self._accept()
                    elif key.fileobj is not self._wake_read:
                        self._read(key.fileobj)  # type: ignore[arg-type]
                self._expire(time.monotonic())
        finally:
            self._close_all()

    def _wait_for(self) -> float | None:
        """Seconds until the oldest waiting connection times out; ``None`` when none waits."""
        oldest = next(iter(self._waiting.values()), None)
        return None if oldest is None else max(0.0, min(oldest.deadline - time.monotonic(), 1.0))

    def _accept(self) -> None:
        for _ in range(64):  # then read what the others sent: a flood of connects starves no one
            try:
                connection, _address = self._listener.accept()
            except BlockingIOError:
                return
            except OSError:  # out of file descriptors, say: make room, try at the next event
                self._drop_oldest()
                return
            try:
                connection.setblocking(False)
                self._selector.register(connection, selectors.EVENT_READ)
            except (OSError, ValueError):
                _close(connection)
                continue
            self._waiting[connection] = _Waiting(time.monotonic() + self._timeout)
            if len(self._waiting) > self._max_pending:
                self._drop_oldest()

    def _read(self, connection: socket.socket) -> None:
        waiting = self._waiting.get(connection)
        if waiting is None:
            return
        try:
            data = connection.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(connection)
            return
        searched_from = max(len(waiting.head) - 3, 0)
        waiting.head += data
        ended = any(waiting.head.find(end, searched_from) != -1 for end in (b"\r\n\r\n", b"\n\n"))
        if ended:
            self._forget(connection)
            if self._requests.qsize() >= _MAX_QUEUED:
                _close(connection)
            else:
                self._requests.put((connection, bytes(waiting.head)))
        elif len(waiting.head) > MAX_HEAD:
            self._drop(connection)

    def _expire(self, now: float) -> None:
        while self._waiting:
            connection, waiting = next(iter(self._waiting.items()))
            if waiting.deadline > now:
                return
            self._drop(connection)

    def _drop_oldest(self) -> None:
        if self._waiting:
            self._drop(next(iter(self._waiting)))

    def _forget(self, connection: socket.socket) -> None:
        self._waiting.pop(connection, None)
        with suppress(KeyError, ValueError):  # not registered, or already closed
            self._selector.unregister(connection)

    def _drop(self, connection: socket.socket) -> None:
        self._forget(connection)
        _close(connection)

    def _close_all(self) -> None:
        for connection in list(self._waiting):
            self._drop(connection)
        self._selector.close()
        _close(self._listener)
        _close(self._wake_read)

    # --- the workers ------------------------------------------------------------------------------

    def _work(self) -> None:
        while (item := self._requests.get()) is not None:
            connection, head = item
            try:
                response = self._respond(head)
            except Exception:  # a failing endpoint answers 500, the server lives on
                response = _response(*_json(500, {"error": "internal error"}))
            try:
                connection.settimeout(self._timeout)  # bounds the whole sendall (Python 3.5+)
                connection.sendall(response)
                connection.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            finally:
                _close(connection)
