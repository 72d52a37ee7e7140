"""Profiles: what they hold, how they merge, how they are stored."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from retrain_sentinel.drift import (
    FORMAT_VERSION,
    CategoricalProfile,
    NumericProfile,
    Profile,
    ProfileFormatError,
    ProfileMismatchError,
)

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False)
with_gaps = st.one_of(finite, st.just(math.nan), st.just(math.inf))
labels = st.sampled_from(["a", "b", "c", "d", None])
tables = st.integers(0, 50).flatmap(
    lambda n: st.tuples(
        hnp.arrays(np.float64, n, elements=with_gaps), st.lists(labels, min_size=n, max_size=n)
    )
)


def numeric(profile: Profile, name: str) -> NumericProfile:
    column = profile[name]
    assert isinstance(column, NumericProfile)
    return column


def categorical(profile: Profile, name: str) -> CategoricalProfile:
    column = profile[name]
    assert isinstance(column, CategoricalProfile)
    return column


@settings(max_examples=80, deadline=None)
@given(tables, tables)
def test_merging_two_profiles_equals_profiling_the_concatenation(
    first_table: tuple[np.ndarray, list[str | None]], second_table: tuple[np.ndarray, list[str | None]]
) -> None:
    (first, first_labels), (second, second_labels) = first_table, second_table
    edges_source = {"x": np.linspace(-10.0, 10.0, 11), "c": np.array(["a"] * 3 + ["b"] * 3 + ["c"] * 3)}
    like = Profile.from_data(edges_source, kinds={"c": "categorical"})
    parts = [
        Profile.from_data({"x": x, "c": np.array(c, dtype=object)}, like=like)
        for x, c in ((first, first_labels), (second, second_labels))
    ]
    merged = parts[0].merge(parts[1])
    whole = Profile.from_data(
        {"x": np.concatenate([first, second]), "c": np.array(first_labels + second_labels, dtype=object)},
        like=like,
    )
    got, want = numeric(merged, "x"), numeric(whole, "x")
    assert got.counts.tolist() == want.counts.tolist()
    assert got.missing == want.missing
    for a, b in ((got.minimum, want.minimum), (got.maximum, want.maximum), (got.mean, want.mean)):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    assert (math.isnan(got.variance) and math.isnan(want.variance)) or math.isclose(
        got.variance, want.variance, rel_tol=1e-9, abs_tol=1e-9 * max(1.0, want.mean**2)
    )
    assert categorical(merged, "c").as_dict() == categorical(whole, "c").as_dict()
    assert categorical(merged, "c").missing == categorical(whole, "c").missing
    assert merged.rows == whole.rows


def test_numeric_profile_holds_quantile_edges_counts_and_moments() -> None:
    values = np.arange(1.0, 101.0)
    column = numeric(Profile.from_data({"x": values}, bins=4), "x")
    assert column.edges.tolist() == pytest.approx([1.0, 25.75, 50.5, 75.25, 100.0])
    assert column.counts.tolist() == [0, 25, 25, 25, 24, 1]  # the maximum opens the overflow bin
    assert (column.minimum, column.maximum, column.mean) == (1.0, 100.0, 50.5)
    assert column.variance == pytest.approx(np.var(values))


def test_missing_values_are_counted_and_left_out() -> None:
    values = np.array([1.0, 2.0, np.nan, 3.0, np.inf, 4.0, 5.0, 6.0, -np.inf])
    column = numeric(Profile.from_data({"x": values}), "x")
    assert (column.count, column.missing) == (6, 3)
    assert column.mean == pytest.approx(3.5)


def test_numeric_column_with_few_distinct_values_is_profiled_as_categories() -> None:
    profile = Profile.from_data({"x": np.array([1, 2, 2, 3, 3, 3] * 10)})
    assert categorical(profile, "x").as_dict() == {"3": 30, "2": 20, "1": 10}


def test_given_kind_overrides_inference() -> None:
    profile = Profile.from_data({"x": np.array([1, 2, 2, 3])}, kinds={"x": "numeric"})
    assert isinstance(profile["x"], NumericProfile)


def test_categories_beyond_top_k_fold_into_other() -> None:
    values = np.array(["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 2, dtype=object)
    column = categorical(Profile.from_data({"c": values}, top_k=2), "c")
    assert (column.categories, column.other) == (("a", "b"), 5)


def test_merge_beyond_top_k_keeps_the_most_frequent() -> None:
    like = Profile.from_data({"c": np.array(["a", "b"], dtype=object)}, top_k=2)
    first = Profile.from_data({"c": np.array(["a", "a", "b"], dtype=object)}, like=like)
    second = Profile.from_data({"c": np.array(["c", "c", "c", "b"], dtype=object)}, like=like)
    merged = categorical(first.merge(second), "c")
    assert merged.as_dict() == {"c": 3, "a": 2} or merged.as_dict() == {"c": 3, "b": 2}
    assert merged.count == 7


def test_merging_profiles_on_different_edges_is_refused() -> None:
    first = Profile.from_data({"x": np.arange(10.0)})
    second = Profile.from_data({"x": np.arange(10.0) + 1})
    with pytest.raises(ProfileMismatchError, match="different edges"):
        first.merge(second)


def test_merging_profiles_of_different_columns_is_refused() -> None:
    with pytest.raises(ProfileMismatchError, match="different columns"):
        Profile.from_data({"x": np.arange(10.0)}).merge(Profile.from_data({"y": np.arange(10.0)}))


def test_profile_round_trips_through_json() -> None:
    data = {
        "x": np.array([0.5, 1.5, np.nan, 7.25, 3.0, 9.0, 2.0]),
        "c": np.array(["u", "v", "u", None], dtype=object),
    }
    profile = Profile.from_data(data)
    restored = Profile.from_json(profile.to_json())
    assert restored.to_dict() == profile.to_dict()
    assert json.loads(profile.to_json())["format_version"] == FORMAT_VERSION


def test_profile_of_an_all_missing_column_is_valid_json() -> None:
    profile = Profile.from_data({"x": np.full(4, np.nan)}, kinds={"x": "numeric"})
    text = profile.to_json()
    assert "NaN" not in text
    assert numeric(Profile.from_json(text), "x").missing == 4


def test_a_newer_format_version_is_refused_clearly() -> None:
    stored = Profile.from_data({"x": np.arange(10.0)}).to_dict()
    stored["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(ProfileFormatError, match="newer than this version"):
        Profile.from_dict(stored)


@pytest.mark.parametrize(
    "text", ["{}", "not json", '{"format_version": 1, "rows": 1}', '{"format_version": "x"}']
)
def test_malformed_profiles_are_refused(text: str) -> None:
    with pytest.raises(ProfileFormatError):
        Profile.from_json(text)


def test_profile_reads_pandas_and_pyarrow_tables_alike() -> None:
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    data = {"x": [0.5, 1.5, None, 7.25, 3.0, 9.0, 2.0], "c": ["u", "v", "u", None, "w", "u", "v"]}
    from_pandas = Profile.from_data(pd.DataFrame(data))
    from_arrow = Profile.from_data(pa.table(data))
    from_numpy = Profile.from_data(
        {"x": np.array(data["x"], dtype=np.float64), "c": np.array(data["c"], dtype=object)}
    )
    assert from_pandas.to_dict() == from_arrow.to_dict() == from_numpy.to_dict()


def test_a_profile_nested_deeper_than_the_recursion_limit_is_refused() -> None:
    with pytest.raises(ProfileFormatError, match="nested too deeply"):
        Profile.from_json("[" * 100_000 + "]" * 100_000)


def test_a_profile_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(ProfileFormatError, match="not UTF-8"):
        Profile.from_json(b'{"format_version": 1, "rows": "\xff"}')


_NUMERIC = {"kind": "numeric", "edges": [0, 1], "counts": [0, 1, 0], "missing": 0, "min": 0, "max": 1, "mean": 0.5, "variance": 0.1}
_CATEGORICAL = {"kind": "categorical", "categories": ["a"], "counts": [1], "other": 0, "missing": 0, "top_k": 10}


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({**_NUMERIC, "counts": [0, 10**30, 0]}, "counts must be whole numbers"),
        ({**_NUMERIC, "counts": [0, -1, 0]}, "counts must be whole numbers"),
        ({**_NUMERIC, "counts": [0, 1.5, 0]}, "counts must be whole numbers"),
        ({**_NUMERIC, "counts": [0, True, 0]}, "counts must be whole numbers"),
        ({**_NUMERIC, "counts": [0, 2**62, 2**62]}, "add up to more than"),
        ({**_NUMERIC, "missing": 1e300}, "missing must be whole numbers"),
        ({**_NUMERIC, "edges": {"a": 1}}, "edges must be a list"),
        ({**_NUMERIC, "min": 10**400}, "OverflowError"),
        ({**_CATEGORICAL, "top_k": 0}, "top_k must be at least 1"),
        ({**_CATEGORICAL, "categories": [["a"]]}, "categories must be strings"),
        ({**_CATEGORICAL, "other": -3}, "other must be whole numbers"),
        (["numeric"], "not an object"),
    ],
)
def test_a_profile_with_impossible_values_is_refused_naming_the_column(column: object, message: str) -> None:
    stored = {"format_version": FORMAT_VERSION, "rows": 1, "columns": {"amount": column}}

    with pytest.raises(ProfileFormatError, match=f"column 'amount': .*{message}"):
        Profile.from_dict(stored)


@pytest.mark.parametrize(
    "stored",
    [
        {"format_version": 1, "rows": 1, "columns": [1]},
        {"format_version": 1, "rows": -1, "columns": {}},
        {"format_version": 1, "rows": 1, "columns": {}, "metadata": [1]},
    ],
)
def test_a_profile_with_a_malformed_top_level_is_refused(stored: dict[str, object]) -> None:
    with pytest.raises(ProfileFormatError):
        Profile.from_dict(stored)
