"""The one place HTTP answers are classified."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest

from alerts.factories import NOW
from retrain_sentinel.delivery.channels.http import HttpAnswer, classify_answer, retry_after_seconds


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (200, None),
        (204, None),
        (301, False),
        (400, False),
        (401, False),
        (404, False),
        (429, True),
        (500, True),
        (599, True),
    ],
)
def test_status_classes(status: int, retryable: bool | None) -> None:
    error = classify_answer(HttpAnswer(status, {}, ""), target="x: https://h", now=NOW)

    assert (error.retryable if error else None) is retryable
    if error:
        assert str(error).startswith(f"x: https://h answered HTTP {status}")


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_seconds("2", NOW) == 2.0
    assert retry_after_seconds(format_datetime(NOW + timedelta(seconds=30), usegmt=True), NOW) == 30.0
    assert retry_after_seconds(format_datetime(NOW - timedelta(seconds=30), usegmt=True), NOW) == 0.0
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(None, NOW) is None
    assert retry_after_seconds("nan", NOW) is None
