"""How every HTTP channel posts and reads the answer, in one place.

The dispatcher only needs to know whether a failure is worth retrying and when: 2xx delivered;
429 retryable after ``Retry-After`` (seconds or an HTTP date); 5xx, timeouts and connection errors
retryable; redirects and every other 4xx permanent (the request itself is wrong and will stay wrong).

Secrets: a requests exception names the full URL, so it is never chained nor quoted — the error says
the status (or the failure's class) and the receiver's scheme and host only. urllib3 logs request
lines (with the URL path, i.e. the Slack token) at DEBUG; a filter drops those records.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

from retrain_sentinel.errors import DeliveryError
from retrain_sentinel.redaction import redact_url

__all__ = ["HttpAnswer", "classify_answer", "post", "retry_after_seconds"]


class _DropRequestLines(logging.Filter):
    """urllib3's DEBUG records quote the request path; our paths are credentials."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


for _logger_name in ("urllib3.connectionpool", "urllib3.connection"):
    _logger = logging.getLogger(_logger_name)
    if not any(isinstance(f, _DropRequestLines) for f in _logger.filters):
        _logger.addFilter(_DropRequestLines())


#: Failures that no retry can fix: the URL or a header itself is wrong.
_MALFORMED = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)
_BODY_LIMIT = 2000


@dataclass(frozen=True)
class HttpAnswer:
    """What a receiver answered: enough to classify it, nothing that could hold a secret we sent."""

    status: int
    headers: Mapping[str, str]
    body: str


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date; ``None`` if absent or bad."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def classify_answer(answer: HttpAnswer, *, target: str, now: datetime) -> DeliveryError | None:
    """``None`` for 2xx, else the ``DeliveryError`` to raise; ``target`` is already redacted."""
    status = answer.status
    if 200 <= status < 300:
        return None
    if status == 429:
        retry_after = retry_after_seconds(answer.headers.get("Retry-After"), now)
        return DeliveryError(
            f"{target} answered HTTP 429 (rate limited)", retryable=True, retry_after=retry_after
        )
    if status >= 500:
        return DeliveryError(f"{target} answered HTTP {status}", retryable=True)
    if 300 <= status < 400:
        return DeliveryError(f"{target} answered HTTP {status} (redirects are not followed)", retryable=False)
    return DeliveryError(f"{target} answered HTTP {status}", retryable=False)


def post(
    session: requests.Session,
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
    label: str,
) -> HttpAnswer:
    """POST ``body`` once (no redirects); translate every transport failure to a retryable
    ``DeliveryError`` naming ``label`` and the redacted host only."""
    target = f"{label}: {redact_url(url)}"
    try:
        response = session.post(url, data=body, headers=dict(headers), timeout=timeout, allow_redirects=False)
        text = response.text
    except requests.Timeout:
        # ``from None``: the requests exception's text holds the full URL (the credential).
        raise DeliveryError(f"{target} timed out after {timeout:g}s", retryable=True) from None
    except requests.ConnectionError as exc:
        raise DeliveryError(f"{target} could not be reached ({type(exc).__name__})", retryable=True) from None
    except _MALFORMED as exc:
        raise DeliveryError(
            f"{target} request is malformed ({type(exc).__name__})", retryable=False
        ) from None
    except requests.RequestException as exc:
        raise DeliveryError(f"{target} request failed ({type(exc).__name__})", retryable=True) from None
    return HttpAnswer(status=response.status_code, headers=response.headers, body=text[:_BODY_LIMIT])
