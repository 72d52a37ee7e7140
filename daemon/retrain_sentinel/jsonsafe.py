"""JSON that PostgreSQL, browsers and strict parsers all accept.

Python's ``json`` writes ``NaN`` and ``Infinity``, which are not JSON; reports carry such values
(a degradation against a zero baseline is infinite), so they are written as strings instead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

__all__ = ["dumps", "jsonable"]


def jsonable(value: Any) -> Any:
    """Turn ``value`` into plain JSON values; non-finite floats become ``"inf"``, ``"-inf"``, ``"nan"``."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return jsonable(to_dict())
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays (``item()`` fails on arrays)
    if callable(tolist):
        return jsonable(tolist())
    return str(value)


def dumps(value: Any, *, indent: int | None = None) -> str:
    """Serialise to strict JSON (``allow_nan=False`` proves no NaN slipped through)."""
    return json.dumps(jsonable(value), indent=indent, allow_nan=False, ensure_ascii=False)
