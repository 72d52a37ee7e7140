"""Strict JSON: no NaN or Infinity tokens, ever; non-finite numbers become strings."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum

import numpy as np

from retrain_sentinel.jsonsafe import dumps, jsonable


class Colour(Enum):
    RED = "red"


@dataclass
class WithToDict:
    value: float

    def to_dict(self) -> dict[str, float]:
        return {"value": self.value}


def test_non_finite_floats_become_strings() -> None:
    assert jsonable([math.inf, -math.inf, math.nan, 1.5]) == ["inf", "-inf", "nan", 1.5]


def test_plain_values_pass_through() -> None:
    assert jsonable({"a": None, "b": True, "c": 3, "d": "x"}) == {"a": None, "b": True, "c": 3, "d": "x"}


def test_richer_values_are_made_plain() -> None:
    value = {
        1: Colour.RED,
        "when": datetime(2024, 1, 1, tzinfo=UTC),
        "day": date(2024, 1, 2),
        "wait": timedelta(minutes=2),
        "set": frozenset({1}),
        "tuple": (1, math.inf),
        "obj": WithToDict(math.nan),
        "other": complex(1, 2),
    }
    assert jsonable(value) == {
        "1": "red",
        "when": "2024-01-01T00:00:00+00:00",
        "day": "2024-01-02",
        "wait": 120.0,
        "set": [1],
        "tuple": [1, "inf"],
        "obj": {"value": "nan"},
        "other": "(1+2j)",
    }


def test_numpy_scalars_and_arrays() -> None:
    value = {"f": np.float32(0.5), "i": np.int64(3), "b": np.bool_(True), "a": np.array([1.0, np.inf])}
    assert jsonable(value) == {"f": 0.5, "i": 3, "b": True, "a": [1.0, "inf"]}


def reject(token: str) -> float:
    raise AssertionError(f"non-standard JSON token {token}")


def test_dumps_is_strict_json() -> None:
    text = dumps({"x": math.nan, "y": [math.inf], "name": "é"}, indent=2)
    assert json.loads(text, parse_constant=reject) == {
        "x": "nan",
        "y": ["inf"],
        "name": "é",
    }
    assert "é" in text
