"""How a source fails: a short retry for transient errors, and causes told without secrets.

Every message that may reach a log, a report or the history database passes through
``Redactor``, which replaces each secret the source knows (passwords in URLs, tokens) with ``***``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["Redactor", "mask_db_url", "mask_http_url", "retry"]

T = TypeVar("T")


def retry(
    call: Callable[[], T],
    *,
    attempts: int,
    delay: float,
    transient: Callable[[BaseException], bool],
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call``; after a transient failure wait ``delay`` (doubling) and try again, at most
    ``attempts`` extra times. Other failures, and the last transient one, propagate."""
    for attempt in range(attempts + 1):
        try:
            return call()
        except Exception as exc:
            if attempt >= attempts or not transient(exc):
                raise
            sleep(delay * (2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def mask_db_url(url: str) -> str:
    """A database URL with its password hidden (``postgresql://user:***@host/db``)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<invalid database URL>"


def mask_http_url(url: str) -> str:
    """Scheme and host only: paths and queries of tracking servers may carry tokens."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


@dataclass(frozen=True)
class Redactor:
    """Replaces known secret strings in a message; built once per source from its settings."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str | None]) -> Redactor:
        # Longest first, so a secret containing another is replaced whole.
        found = sorted({v for v in values if v and len(v) >= 3}, key=len, reverse=True)
        return cls(tuple(found))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def db_url_secrets(url: str) -> list[str | None]:
    """The parts of a database URL that must never be shown."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return [url]
    return [parsed.password if isinstance(parsed.password, str) else None, *parsed.query.get("password", ())]
