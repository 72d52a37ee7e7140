"""The small HTTP server: ``/healthz``, ``/readyz``, ``/metrics``.

The standard library's threading server is enough for three read-only endpoints scraped every few
seconds, and it keeps the daemon free of a web framework.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from retrain_sentinel.errors import ConfigError
from retrain_sentinel.service.health import HealthState
from retrain_sentinel.service.metrics import SentinelMetrics

__all__ = ["StatusServer"]


class StatusServer:
    """Serves health, readiness and metrics from a daemon thread."""

    def __init__(self, host: str, port: int, health: HealthState, metrics: SentinelMetrics) -> None:
        state, registry = health, metrics.registry

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                self._send(status, json.dumps(payload).encode(), "application/json")

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/healthz":
                    alive = state.live()
                    self._json(200 if alive else 503, {"status": "ok" if alive else "stalled"})
                elif path == "/readyz":
                    ready = state.readiness()
                    self._json(
                        200 if ready.ready else 503,
                        {"status": "ready" if ready.ready else "not ready", "role": ready.role, "reason": ready.reason},
                    )
                elif path == "/metrics":
                    self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
                else:
                    self._json(404, {"error": "not found"})

            def log_message(self, format: str, *args: Any) -> None:
                pass  # scrapes every few seconds would drown the real log

        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:  # port taken, address not local: the operator fixes `http`, not the code
            raise ConfigError([("http", f"cannot listen on {host}:{port}: {exc.strerror or exc}")]) from exc
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="status-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
