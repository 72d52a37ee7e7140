"""Durations as configs write them: 30s, 15m, 1h, 7d, never, ISO 8601."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel, ValidationError

from retrain_sentinel.durations import (
    MAX_DURATION,
    Duration,
    OptionalDuration,
    format_duration,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("1.5h", timedelta(minutes=90)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("250ms", timedelta(milliseconds=250)),
        (" 48 h ", timedelta(hours=48)),
        ("PT12H", timedelta(hours=12)),
        ("P1DT30M", timedelta(days=1, minutes=30)),
        ("p1w", timedelta(weeks=1)),
        (timedelta(hours=3), timedelta(hours=3)),
    ],
)
def test_parse(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["soon", "-1h", "P", "PT", "P1M", "1y", True, None, [1]])
def test_invalid_durations_say_how_to_write_one(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_negative_timedelta_is_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        parse_duration(timedelta(seconds=-1))


def test_never_only_where_allowed() -> None:
    assert parse_duration("never", allow_never=True) is None
    assert parse_duration("NEVER", allow_never=True) is None
    with pytest.raises(ValueError, match="'never' is not allowed"):
        parse_duration("never")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "never"),
        (timedelta(weeks=2), "2w"),
        (timedelta(days=3), "3d"),
        (timedelta(hours=36), "36h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=45), "45s"),
        (timedelta(milliseconds=1500), "1.5s"),
        (timedelta(0), "0s"),
    ],
)
def test_format_is_the_shortest_exact_spelling(value: timedelta | None, text: str) -> None:
    assert format_duration(value) == text
    if value is not None:
        assert parse_duration(text) == value


class Model(BaseModel):
    every: Duration
    until: OptionalDuration = None


def test_pydantic_types_parse_and_serialise() -> None:
    model = Model(every="1h", until="never")  # type: ignore[arg-type]
    assert model.every == timedelta(hours=1) and model.until is None
    assert model.model_dump(mode="json") == {"every": "1h", "until": "never"}
    assert Model(every="2d", until="30m").model_dump(mode="json") == {"every": "2d", "until": "30m"}  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Model(every="never")  # type: ignore[arg-type]
    schema = Model.model_json_schema()
    assert schema["properties"]["every"]["type"] == "string"


@pytest.mark.parametrize("value", [7, 2.5])
def test_a_bare_number_is_refused_as_ambiguous(value: float) -> None:
    with pytest.raises(ValueError, match="add a unit"):
        parse_duration(value)


# --- bounds and echo (issue 11, items 7 and 14) --------------------------------------------------


def test_the_longest_duration_is_100_years() -> None:
    assert parse_duration("36500d") == MAX_DURATION == timedelta(days=36500)
    assert parse_duration("P5214W") == timedelta(weeks=5214)


@pytest.mark.parametrize(
    "huge",
    ["36501d", "99999999999999999d", "P99999999999W", "PT99999999999999999999H", "9" * 60 + "s", "9" * 400 + "s"],
)
def test_a_duration_beyond_100_years_is_a_value_error_not_an_overflow(huge: str) -> None:
    with pytest.raises(ValueError, match=r"36500d|invalid duration") as caught:
        parse_duration(huge)
    assert not isinstance(caught.value, OverflowError)
    with pytest.raises(ValueError):
        parse_duration(timedelta(days=36501))


def test_now_plus_or_minus_the_longest_duration_is_a_datetime() -> None:
    now = datetime.now(UTC)
    assert now - MAX_DURATION < now < now + MAX_DURATION


@pytest.mark.parametrize("bad", ["s3cr3t-value", "s3cr3t 1h", "PTs3cr3tH", 737373, "1h " * 30])
def test_an_invalid_duration_is_not_quoted(bad: object) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(bad)
    assert "s3cr3t" not in str(caught.value) and "737373" not in str(caught.value)
