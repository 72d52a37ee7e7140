"""MLflow's REST API as the source reads it: auth, timeouts, retry and error classification.

Kept apart from ``mlflow.py`` (what a snapshot is made of) because every call shares one
transport: a token or basic auth read once, transient answers (connection, timeout, 429, 5xx)
retried briefly, ``RESOURCE_DOES_NOT_EXIST`` told apart from other failures, and every message
passed through the source's ``Redactor`` before it can reach a log or the history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from retrain_sentinel.errors import ConfigError
from retrain_sentinel.mounted_files import read_secret_file
from retrain_sentinel.redaction import Redactor, redact_url
from retrain_sentinel.sources.base import first_line
from retrain_sentinel.sources.failures import retry
from retrain_sentinel.sources.settings import MlflowSourceSettings

__all__ = ["PAGE_SIZE", "Client", "Failure", "NotFound", "Transient", "millis", "read_secret"]

_API = "/api/2.0/mlflow"
_TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
PAGE_SIZE = 200


class Transient(Exception):
    """A failure worth one more try (connection, timeout, 429, 5xx)."""


class NotFound(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Failure(Exception):
    """Why one watch (or, raised from shared calls, the whole source) cannot be read."""


def millis(value: Any) -> datetime | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


class Client:
    """The REST calls we make, with auth, timeouts, retry and error classification in one place."""

    def __init__(self, settings: MlflowSourceSettings, redact: Redactor) -> None:
        self.settings = settings
        self.base = settings.tracking_uri.rstrip("/")
        self.where = redact_url(settings.tracking_uri)
        self.redact = redact
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=settings.max_workers)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.verify = settings.verify_tls
        self.session.headers["User-Agent"] = "retrain-sentinel"

    def authorize(self) -> None:
        """Set the credentials; ``*_file`` secrets are read again each batch so rotation works."""
        s = self.settings
        self.session.auth = None
        self.session.headers.pop("Authorization", None)
        if s.token is not None or s.token_file is not None:
            token = (
                s.token.get_secret_value()
                if s.token is not None
                else read_secret(s.token_file, "token_file")
            )
            self.redact = Redactor.of([*self.redact.secrets, token])
            self.session.headers["Authorization"] = f"Bearer {token}"
        elif s.username is not None:
            password = (
                s.password.get_secret_value()
                if s.password is not None
                else read_secret(s.password_file, "password_file")
                if s.password_file is not None
                else ""
            )
            self.redact = Redactor.of([*self.redact.secrets, password])
            self.session.auth = (s.username, password)

    def call(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        s = self.settings
        return retry(
            lambda: self._once(method, endpoint, params, body),
            attempts=s.retries,
            delay=s.retry_delay.total_seconds(),
            transient=lambda exc: isinstance(exc, Transient),
        )

    def _once(
        self, method: str, endpoint: str, params: Mapping[str, Any] | None, body: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        try:
            response = self.session.request(
                method,
                f"{self.base}{_API}/{endpoint}",
                params=params,
                json=body,
                timeout=self.settings.timeout.total_seconds(),
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Transient(f"{self.where} unreachable ({type(exc).__name__})") from exc
        except requests.RequestException as exc:
            raise Failure(f"{self.where}: {type(exc).__name__}") from exc
        if response.status_code in _TRANSIENT_STATUS:
            raise Transient(f"{self.where} answered HTTP {response.status_code} to {endpoint}")
        try:
            payload = response.json() if response.content else {}
        except ValueError:
            payload = None
        if response.status_code in (401, 403):
            raise Failure(f"{self.where} refused the credentials (HTTP {response.status_code})")
        if not isinstance(payload, dict):
            raise Failure(f"{self.where} answered {endpoint} with HTTP {response.status_code}, not JSON")
        code = payload.get("error_code")
        # A missing alias is "400 INVALID_PARAMETER_VALUE … not found" on current servers.
        missing = code == "INVALID_PARAMETER_VALUE" and "not found" in str(payload.get("message", "")).lower()
        if (
            response.status_code == 404
            or missing
            or code in ("RESOURCE_DOES_NOT_EXIST", "ENDPOINT_NOT_FOUND")
        ):
            raise NotFound(
                str(payload.get("error_code", "NOT_FOUND")),
                self.redact(first_line(str(payload.get("message", "")))),
            )
        if response.status_code >= 400:
            message = self.redact(first_line(str(payload.get("message", ""))))
            raise Failure(f"{self.where} answered {endpoint} with HTTP {response.status_code}: {message}")
        return payload


def read_secret(path: str | None, what: str) -> str:
    """A ``*_file`` secret, bounded (``mounted_files``); a file that cannot be read fails the batch's reads."""
    try:
        return read_secret_file(str(path), what)
    except ConfigError as exc:
        raise Failure(str(exc)) from None
