"""The helpers every source shares: numbers from rows, and the cause of a failure nobody foresaw."""

from __future__ import annotations

import pytest

from retrain_sentinel.sources.base import to_number, unexpected


@pytest.mark.parametrize(
    ("value", "shown"),
    [({"a": {"b": 1}}, "a JSON object"), ([1, [2]], "a JSON array"), ("n/a", "'n/a'")],
)
def test_a_value_that_is_not_a_number_is_named_without_printing_nested_json(value: object, shown: str) -> None:
    with pytest.raises(ValueError, match=f"^accuracy is not a number: {shown}$"):
        to_number(value, "accuracy")


def test_a_json_value_nested_past_the_recursion_limit_is_refused_without_recursing() -> None:
    nested: object = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(ValueError, match="a JSON array"):
        to_number(nested, "accuracy")


def test_an_unforeseen_failure_names_its_type_and_the_first_line_of_its_message() -> None:
    assert unexpected(TypeError("'>' not supported\nsecond line")) == "unexpected TypeError: '>' not supported"
