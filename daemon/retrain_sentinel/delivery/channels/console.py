"""Human-readable alerts on stderr: the demo's channel, and a dead-letter channel of last resort.

stderr, not stdout, so ``check --format json`` keeps stdout parseable. The stream is looked up at
send time (not import time), so a redirected ``sys.stderr`` is honoured.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from retrain_sentinel.alerts.notification import Message
from retrain_sentinel.alerts.render import render_text
from retrain_sentinel.errors import DeliveryError

__all__ = ["ConsoleChannel"]


def _stderr() -> TextIO:
    return sys.stderr


class ConsoleChannel:
    """Writes each message as plain text, separated by a rule."""

    kind = "console"

    def __init__(
        self, name: str, *, link_template: str | None = None, stream: Callable[[], TextIO] = _stderr
    ) -> None:
        self.name = name
        self._link_template = link_template
        self._stream = stream

    def __repr__(self) -> str:
        return f"ConsoleChannel(name={self.name!r})"

    @property
    def destination(self) -> str:
        """``"console"``: every console channel writes to the same stderr.

        The key under which a rate limit would hold every message to the same place, as for the
        other channels (whose destinations are secrets, never logged or rendered).
        """
        return "console"

    def send(self, message: Message) -> None:
        text = render_text(message, link_template=self._link_template)
        stream = self._stream()
        try:
            stream.write(f"── retrain-sentinel · {self.name} " + "─" * 20 + "\n" + text)
            stream.flush()
        except (OSError, ValueError) as exc:  # a closed stream raises ValueError
            raise DeliveryError(
                f"console channel {self.name!r}: {type(exc).__name__}", retryable=True
            ) from exc

    def check(self) -> None:
        """Nothing to reach: stderr is always there."""
