"""Shared values for the trigger tests: one fixed moment, so no test reads the real clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest


@pytest.fixture
def now() -> datetime:
    return datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
