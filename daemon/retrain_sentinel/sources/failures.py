"""How a source fails: a short retry for transient errors.

Every message that may reach a log, a report or the history database passes through a
``redaction.Redactor`` holding the secrets the source knows (passwords in URLs, tokens).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["retry"]

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
