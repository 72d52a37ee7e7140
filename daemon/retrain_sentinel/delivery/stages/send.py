"""Stage 3, send: hand the message to its channel once; the channel's answer becomes the ruling.

The channel classifies its own failures (``DeliveryError.retryable``, ``retry_after`` for a 429),
so this stage knows nothing of HTTP or SMTP. Any other exception is a channel bug: it must not stop
the other deliveries, and its class alone says enough (its text might hold a URL or a secret). Every
detail is redacted here, so no secret travels further down the chain.
"""

from __future__ import annotations

from collections.abc import Callable

from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.delivery.stages.base import Delivery, Reason, Ruling
from retrain_sentinel.errors import DeliveryError
from retrain_sentinel.redaction import redact

__all__ = ["Send"]


def _ruling_for(error: DeliveryError) -> Ruling:
    """``RETRY`` (with the receiver's ``Retry-After``) when trying later may help, else ``REJECTED``."""
    text = redact(str(error))
    if error.retryable:
        return Ruling(Reason.RETRY, text, retry_after=error.retry_after)
    return Ruling(Reason.REJECTED, f"permanent failure: {text}")


class Send:
    """Sends ``delivery.message``; rules ``SENT``, ``RETRY``, ``REJECTED`` or, without a channel,
    ``NO_CHANNEL``. ``attempted`` is told of every try (the pace stage counts from it)."""

    def __init__(self, attempted: Callable[[Channel], None] = lambda channel: None) -> None:
        self._attempted = attempted

    def __call__(self, delivery: Delivery) -> Ruling:
        channel = delivery.channel
        if channel is None:
            return Ruling(Reason.NO_CHANNEL, f"no channel named {delivery.message.channel!r} is configured")
        try:
            channel.send(delivery.message)
        except DeliveryError as error:
            return _ruling_for(error)
        except Exception as error:  # a channel bug must not stop the others; the class says enough
            name = delivery.message.channel
            return _ruling_for(
                DeliveryError(f"{channel.kind} channel {name!r} failed: {type(error).__name__}")
            )
        finally:
            self._attempted(channel)
        return Ruling(Reason.SENT)
