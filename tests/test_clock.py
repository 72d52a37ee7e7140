"""clock.py: the one clock the shell reads, aware and in UTC, so ``now`` compares with stored times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from retrain_sentinel.clock import system_clock


def test_system_clock_is_aware_utc_and_current() -> None:
    before = datetime.now(UTC)
    moment = system_clock()
    assert moment.utcoffset() == timedelta(0)
    assert before <= moment <= datetime.now(UTC)


def test_system_clock_follows_a_frozen_time() -> None:
    with freeze_time("2024-03-01T12:00:00Z"):
        assert system_clock() == datetime(2024, 3, 1, 12, tzinfo=UTC)
