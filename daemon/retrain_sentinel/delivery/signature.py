"""Signing webhook bodies, and checking a signature — for our tests and for users' receivers.

The header is ``X-Sentinel-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`` where each ``v1`` is
``HMAC-SHA256(secret, f"{t}.".encode() + body)``, one per configured secret. While a secret is being
rotated the sender lists both keys, so a receiver that knows either accepts the request; the
timestamp is signed too, so an old request cannot be replayed after ``tolerance`` seconds.

A receiver (Flask, FastAPI, anything) needs only this module and the raw body bytes::

    from retrain_sentinel.delivery.signature import verify_signature

    if not verify_signature(request.get_data(), request.headers["X-Sentinel-Signature"], [SECRET]):
        abort(401)

Verify the bytes as received, before parsing the JSON: re-serialised JSON is not the signed body.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from datetime import datetime

__all__ = ["SIGNATURE_HEADER", "sign", "signature_digest", "verify_signature"]

SIGNATURE_HEADER = "X-Sentinel-Signature"


def signature_digest(body: bytes, secret: str, timestamp: int) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(body: bytes, secrets: Sequence[str], timestamp: int) -> str:
    """The header value: ``t=<timestamp>`` and one ``v1=`` per secret, in the order given."""
    return ",".join([f"t={timestamp}", *(f"v1={signature_digest(body, s, timestamp)}" for s in secrets)])


def _parse(header: str) -> tuple[int | None, list[str]]:
    timestamp: int | None = None
    digests: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return None, []
        elif key == "v1" and value:
            digests.append(value.lower())
    return timestamp, digests


def verify_signature(
    body: bytes,
    header: str,
    secrets: Sequence[str],
    tolerance: float = 300,
    now: datetime | float | None = None,
) -> bool:
    """Whether ``header`` signs ``body`` with any of ``secrets`` at a time within ``tolerance``
    seconds of ``now`` (default: the system clock; a ``datetime`` or Unix seconds).

    Any ``v1`` matching any secret is enough, which is what makes rotation work on both ends: the
    sender lists old and new keys, the receiver may know either. Comparison is constant-time.
    """
    timestamp, digests = _parse(header or "")
    if timestamp is None or not digests or not secrets:
        return False
    current = now.timestamp() if isinstance(now, datetime) else (time.time() if now is None else float(now))
    if abs(current - timestamp) > tolerance:
        return False
    expected = [signature_digest(body, secret, timestamp) for secret in secrets]
    return any(hmac.compare_digest(e, d) for e in expected for d in digests)
