"""Shared values for the trigger tests: one fixed moment, so no test reads the real clock, and the one
fake of a user's trigger written against the original API (the legacy tests import it too)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from retrain_sentinel.verdict import TriggerDetail


@pytest.fixture
def now() -> datetime:
    return datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


class KeywordTrigger:
    """A user's trigger of the original API: only the keyword ``evaluate``, its verdict fixed.

    ``state`` is ``fired``, ``not_fired`` or ``undecided``. It records the arguments it was given in
    ``seen``, sets ``started`` when called, may take ``delay`` seconds, and raises ``raises`` when set,
    as a broken user trigger would.
    """

    def __init__(
        self,
        name: str = "custom",
        state: str = "fired",
        severity: str = "warning",
        *,
        reason: str = "",
        actual_value: float | None = None,
        threshold: float | None = None,
        delay: float = 0.0,
        raises: Exception | None = None,
    ) -> None:
        self.name = name
        self.state = state
        self.severity = severity
        self.reason = reason
        self.actual_value = actual_value
        self.threshold = threshold
        self.delay = delay
        self.raises = raises
        self.seen: list[dict[str, Any]] = []
        self.started = threading.Event()

    def evaluate(
        self,
        drift_metrics: Mapping[str, Any] | None = None,
        current_metrics: Mapping[str, Any] | None = None,
        baseline_metrics: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> TriggerDetail:
        self.started.set()
        self.seen.append({"drift": drift_metrics, "current": current_metrics, "metadata": metadata})
        if self.raises is not None:
            raise self.raises
        if self.delay:
            time.sleep(self.delay)
        return TriggerDetail(
            self.name,
            self.state == "fired",
            self.severity,
            self.reason,
            {},
            self.threshold,
            self.actual_value,
            undecided=self.state == "undecided",
        )
