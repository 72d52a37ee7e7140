"""Durations as configs write them: 30s, 15m, 1h, 7d, never, ISO 8601."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import BaseModel, ValidationError

from retrain_sentinel.durations import Duration, OptionalDuration, format_duration, parse_duration


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
