"""Logging goes to the stderr of the moment, as JSON lines off a TTY."""

from __future__ import annotations

import io
import json
import sys

import pytest
import structlog

from retrain_sentinel.service.logs import configure_logging


def test_events_follow_stderr_when_it_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging(json_lines=True)
    first.close()  # e.g. a test's capture stream, gone after its test
    monkeypatch.setattr(sys, "stderr", second)
    structlog.get_logger("t").info("after_swap", model="churn")
    event = json.loads(second.getvalue().strip().splitlines()[-1])
    assert event["event"] == "after_swap" and event["model"] == "churn" and event["level"] == "info"
