"""Durations as people write them in a config: ``30s``, ``15m``, ``1h``, ``7d``, ``never``, or ISO 8601.

A duration is at most ``MAX_DURATION`` (100 years): every duration ends up added to or taken from
"now" (a lease's expiry, a window's start, a retry's time), and a longer one would overflow
``datetime`` at run time instead of failing validation. Errors say how to write a duration, never
what was written: the value may have come from a ``${VAR}``.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = ["MAX_DURATION", "Duration", "OptionalDuration", "format_duration", "parse_duration"]

MAX_DURATION = timedelta(days=36500)
_MAX_TEXT = 64  # longer than any duration worth writing; keeps the patterns' work small

_SIMPLE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_ISO = re.compile(
    r"^P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ISO_UNITS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
_HOW = "must be a duration like 30s, 15m, 1h, 7d"


def parse_duration(value: Any, *, allow_never: bool = False) -> timedelta | None:
    """Parse a duration; ``never`` gives ``None`` where allowed. Raises ``ValueError`` saying why
    (never quoting ``value``)."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, bool):
        raise ValueError(_HOW)
    elif isinstance(value, int | float):  # `window: 7` — seconds or days? Make the writer say.
        raise ValueError("a bare number is ambiguous: add a unit, e.g. 30s, 15m, 1h or 7d")
    elif isinstance(value, str):
        text = value.strip()
        if text.lower() == "never":
            if allow_never:
                return None
            raise ValueError("'never' is not allowed here")
        result = timedelta(seconds=_seconds(text))
    else:
        raise ValueError(_HOW)
    if result < timedelta(0):
        raise ValueError("must not be negative")
    if result > MAX_DURATION:
        raise ValueError(f"must be at most {MAX_DURATION.days}d (100 years)")
    return result


@lru_cache(maxsize=256)
def _seconds(text: str) -> float:
    """The seconds ``text`` spells, checked against ``MAX_DURATION`` before a ``timedelta`` is built
    (``timedelta`` itself overflows near 2.7 million years, with an ``OverflowError``).

    Cached: a config spells few distinct durations, but a ``defaults.schedule`` is parsed once per
    watch that takes it (errors are not cached: they are raised, not returned)."""
    invalid = ValueError("invalid duration: use e.g. 30s, 15m, 1h, 7d, never or ISO 8601")
    if len(text) > _MAX_TEXT:
        raise invalid
    match = _SIMPLE.match(text)
    iso = _ISO.match(text.upper()) if text.upper().startswith("P") and len(text) > 1 else None
    if match:
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    elif iso and any(iso.groupdict().values()):
        seconds = sum(float(v) * _ISO_UNITS[k] for k, v in iso.groupdict().items() if v)
    else:
        raise invalid
    if not math.isfinite(seconds) or seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"must be at most {MAX_DURATION.days}d (100 years)")
    return seconds


def format_duration(value: timedelta | None) -> str:
    """The shortest exact spelling of a duration, as a config would write it."""
    if value is None:
        return "never"
    seconds = value.total_seconds()
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _required(value: Any) -> timedelta:
    result = parse_duration(value)
    if result is None:  # unreachable: allow_never=False never returns None
        raise ValueError("'never' is not allowed here")
    return result


def _optional(value: Any) -> timedelta | None:
    return parse_duration(value, allow_never=True)


_SCHEMA = {"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|s|m|h|d|w)|P.*)$", "examples": ["30s", "1h", "7d"]}

Duration = Annotated[
    timedelta,
    BeforeValidator(_required),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(_SCHEMA),
]
OptionalDuration = Annotated[
    timedelta | None,
    BeforeValidator(_optional),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"anyOf": [_SCHEMA, {"const": "never"}]}),
]
