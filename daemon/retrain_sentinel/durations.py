"""Durations as people write them in a config: ``30s``, ``15m``, ``1h``, ``7d``, ``never``, or ISO 8601."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = ["Duration", "OptionalDuration", "format_duration", "parse_duration"]

_SIMPLE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_ISO = re.compile(
    r"^P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any, *, allow_never: bool = False) -> timedelta | None:
    """Parse a duration; ``never`` gives ``None`` where allowed. Raises ``ValueError`` saying why."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, bool):
        raise ValueError("must be a duration like 30s, 15m, 1h, 7d")
    elif isinstance(value, int | float):  # `window: 7` — seconds or days? Make the writer say.
        raise ValueError(f"a bare number is ambiguous: add a unit, e.g. {value}s, {value}m, {value}h or {value}d")
    elif isinstance(value, str):
        text = value.strip()
        if text.lower() == "never":
            if allow_never:
                return None
            raise ValueError("'never' is not allowed here")
        match = _SIMPLE.match(text)
        iso = _ISO.match(text.upper()) if text.upper().startswith("P") and len(text) > 1 else None
        if match:
            result = timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
        elif iso and any(iso.groupdict().values()):
            parts = {k: float(v) for k, v in iso.groupdict().items() if v}
            result = timedelta(**parts)
        else:
            raise ValueError(f"invalid duration {value!r}: use e.g. 30s, 15m, 1h, 7d, never or ISO 8601")
    else:
        raise ValueError("must be a duration like 30s, 15m, 1h, 7d")
    if result < timedelta(0):
        raise ValueError("must not be negative")
    return result


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
