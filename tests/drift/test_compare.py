"""compare(): choosing methods, verdicts per feature and for the dataset, metrics for triggers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from retrain_sentinel.drift import DriftInputError, Profile, compare

rng = np.random.default_rng(20240601)


def table(n: int, shift: float = 0.0, seed: int = 0) -> dict[str, np.ndarray]:
    r = np.random.default_rng(seed)
    return {
        "num": r.normal(shift, 1.0, n),
        "other_num": r.exponential(1.0 + shift, n),
        "cat": r.choice(np.array(["a", "b", "c", "d"], dtype=object), n, p=[0.4, 0.3, 0.2, 0.1]),
        "flag": r.choice(np.array(["yes", "no"], dtype=object), n, p=[0.5 - shift / 4, 0.5 + shift / 4]),
    }


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (500, {"num": "ks", "other_num": "ks", "cat": "chisquare", "flag": "z"}),
        (
            3000,
            {
                "num": "wasserstein",
                "other_num": "wasserstein",
                "cat": "jensenshannon",
                "flag": "jensenshannon",
            },
        ),
    ],
)
def test_auto_picks_by_kind_and_reference_size(rows: int, expected: dict[str, str]) -> None:
    result = compare(table(rows), table(rows, seed=1))
    assert {f.feature: f.method for f in result.features} == expected


def test_auto_against_a_profile_uses_binned_methods() -> None:
    result = compare(Profile.from_data(table(500)), table(500, seed=1))
    assert {f.method for f in result.features} == {"jensenshannon"}
    assert not any(f.approximate for f in result.features)


def test_same_distribution_does_not_drift_and_shifted_one_does() -> None:
    assert not compare(table(2000), table(2000, seed=1)).dataset_drifted
    shifted = compare(table(2000), table(2000, shift=1.0, seed=1))
    assert shifted.dataset_drifted
    assert {f.feature for f in shifted.drifted_features} == {"num", "other_num", "cat", "flag"} - {"cat"}


def test_exact_scores_are_the_scipy_values() -> None:
    reference, current = table(800), table(900, shift=0.2, seed=1)
    result = compare(reference, current, method="ks")
    expected = stats.ks_2samp(reference["num"], current["num"])
    assert result["num"].score == pytest.approx(expected.statistic, abs=1e-12)
    assert result["num"].p_value == pytest.approx(expected.pvalue, rel=1e-9)


def test_an_all_missing_column_is_undecided_not_an_error() -> None:
    reference = {"x": np.full(100, np.nan), "y": rng.normal(size=100)}
    current = {"x": rng.normal(size=100), "y": np.full(100, np.nan)}
    result = compare(reference, current, kinds={"x": "numeric"})
    assert [f.undecided for f in result.features] == [True, True]
    assert [f.drifted for f in result.features] == [False, False]
    assert "reference" in (result["x"].reason or "") and "current" in (result["y"].reason or "")
    assert result.share_drifted is None and not result.dataset_drifted
    assert result.as_metrics() == {}


def test_non_finite_values_are_left_out_and_counted() -> None:
    reference = rng.normal(size=300)
    current = np.concatenate([rng.normal(size=280), [np.nan] * 10, [np.inf] * 5, [-np.inf] * 5])
    result = compare({"x": reference}, {"x": current})
    assert result["x"].current_missing == 20 and result["x"].current_size == 280
    assert result["x"].missing_share_change == pytest.approx(20 / 300)
    assert not result["x"].undecided


def test_a_column_missing_from_the_current_data_is_undecided() -> None:
    result = compare(table(200), {k: v for k, v in table(200).items() if k != "cat"})
    assert result["cat"].undecided and result["cat"].reason == "column missing from the current data"


def test_columns_and_exclude_choose_the_features() -> None:
    result = compare(table(200), table(200, seed=1), columns=["num", "cat", "flag"], exclude=["flag"])
    assert [f.feature for f in result.features] == ["num", "cat"]


def test_an_unknown_column_is_an_input_error() -> None:
    with pytest.raises(DriftInputError, match="nope"):
        compare(table(100), table(100), columns=["nope"])


def test_an_unknown_method_is_an_input_error() -> None:
    with pytest.raises(DriftInputError, match="unknown drift method 'magic'"):
        compare(table(100), table(100), method="magic")


def test_a_method_named_for_all_columns_applies_to_the_kinds_it_fits() -> None:
    result = compare(table(2000), table(2000, seed=1), method="ks")
    assert {f.feature: f.method for f in result.features}["num"] == "ks"
    assert result["cat"].method == "jensenshannon"


def test_a_method_named_for_a_column_must_fit_it() -> None:
    with pytest.raises(DriftInputError, match="'cat' is categorical"):
        compare(table(100), table(100), method={"cat": "ks"})


def test_per_column_methods_and_thresholds_override_the_defaults() -> None:
    result = compare(
        table(500),
        table(500, seed=1),
        method={"num": "psi", "cat": "tvd"},
        thresholds={"num": 0.0, "cat": 0.9},
    )
    assert (result["num"].method, result["num"].threshold, result["num"].drifted) == ("psi", 0.0, True)
    assert (result["cat"].method, result["cat"].threshold, result["cat"].drifted) == ("tvd", 0.9, False)
    assert result["other_num"].threshold == 0.05  # ks, left to its default


def test_as_metrics_gives_what_triggers_read() -> None:
    result = compare(table(500), table(500, shift=0.5, seed=1))
    metrics = result.as_metrics()
    assert metrics["js_divergence"] == max(f.js_distance or 0.0 for f in result.features)
    assert metrics["share_drifted"] == result.share_drifted
    assert metrics["num/ks"] == result["num"].score
    assert metrics["num/ks_p_value"] == result["num"].p_value
    assert metrics["cat/chisquare_p_value"] == result["cat"].p_value
    assert 0.0 <= metrics["js_divergence"] <= math.sqrt(math.log(2))


def test_dataset_drift_follows_the_share_threshold() -> None:
    reference, current = table(500), table(500, seed=1)
    current["num"] = current["num"] + 3.0  # one feature of four drifts
    assert compare(reference, current).share_drifted == 0.25
    assert not compare(reference, current).dataset_drifted
    assert compare(reference, current, share_threshold=0.25).dataset_drifted


def test_bonferroni_multiplies_p_values_by_the_number_of_tests() -> None:
    reference, current = table(300), table(300, shift=0.1, seed=1)
    plain = compare(reference, current)
    corrected = compare(reference, current, correction="bonferroni")
    for feature in ("num", "other_num", "cat", "flag"):
        p_value = plain[feature].p_value
        assert p_value is not None
        assert corrected[feature].adjusted_p_value == pytest.approx(min(1.0, p_value * 4))


def test_benjamini_hochberg_matches_scipy() -> None:
    reference, current = table(300), table(300, shift=0.15, seed=1)
    corrected = compare(reference, current, correction="benjamini-hochberg")
    raw = [f.p_value for f in corrected.features]
    expected = stats.false_discovery_control(raw)
    np.testing.assert_allclose([f.adjusted_p_value for f in corrected.features], expected, rtol=1e-12)
    assert all(
        f.drifted == (f.adjusted_p_value is not None and f.adjusted_p_value < 0.05)
        for f in corrected.features
    )


def test_exact_methods_against_a_profile_are_approximate() -> None:
    reference, current = table(3000), table(3000, shift=0.3, seed=1)
    exact = compare(reference, current, method="wasserstein")
    binned = compare(Profile.from_data(reference), current, method="wasserstein")
    assert binned["num"].approximate and not exact["num"].approximate
    assert binned["num"].score == pytest.approx(exact["num"].score, rel=0.25)  # 10 bins: coarse


def test_binned_scores_against_a_profile_equal_those_against_the_data() -> None:
    reference, current = table(3000), table(3000, shift=0.3, seed=1)
    profile = Profile.from_json(Profile.from_data(reference).to_json())
    for method in ("psi", "jensenshannon", "hellinger"):
        direct = compare(reference, current, method=method)
        stored = compare(profile, current, method=method)
        assert [f.score for f in stored.features] == pytest.approx(
            [f.score for f in direct.features], rel=1e-12
        )


def test_profiles_compare_with_profiles_built_like_them() -> None:
    reference, current = table(1000), table(1000, shift=0.3, seed=1)
    profile = Profile.from_data(reference)
    from_profiles = compare(profile, Profile.from_data(current, like=profile), method="psi")
    from_data = compare(profile, current, method="psi")
    assert [f.score for f in from_profiles.features] == pytest.approx([f.score for f in from_data.features])


def test_a_category_new_in_the_current_data_turns_the_z_test_into_chisquare() -> None:
    reference = {"flag": np.array(["yes", "no"] * 100, dtype=object)}
    current = {"flag": np.array(["yes", "no", "maybe", "no"] * 50, dtype=object)}
    result = compare(reference, current)
    assert result["flag"].method == "chisquare" and result["flag"].drifted


def test_new_categories_get_their_own_cells() -> None:
    reference = {"c": np.array(["a", "b"] * 50, dtype=object)}
    current = {"c": np.array(["a", "b", "c", "d"] * 25, dtype=object)}
    result = compare(reference, current, method="tvd")
    assert result["c"].score == pytest.approx(0.5)


def test_pandas_and_pyarrow_inputs_give_the_same_result_as_arrays() -> None:
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    reference, current = table(700), table(700, shift=0.2, seed=1)
    expected = compare(reference, current).to_dict()
    assert compare(pd.DataFrame(reference), pd.DataFrame(current)).to_dict() == expected
    assert compare(pa.table(reference), pa.table(current)).to_dict() == expected


def test_threads_do_not_change_the_result() -> None:
    reference, current = table(2000), table(2000, shift=0.2, seed=1)
    assert (
        compare(reference, current, workers=1).to_dict() == compare(reference, current, workers=4).to_dict()
    )


def test_result_serialises_to_strict_json() -> None:
    reference = {"x": np.full(10, np.nan), "y": rng.normal(size=10)}
    text = json.dumps(
        compare(
            reference, {"x": rng.normal(size=10), "y": rng.normal(size=10)}, kinds={"x": "numeric"}
        ).to_dict(),
        allow_nan=False,
    )
    assert json.loads(text)["features"][0]["score"] == "nan"


def test_strings_where_numbers_were_make_the_feature_undecided() -> None:
    result = compare({"x": rng.normal(size=50)}, {"x": np.array(["a"] * 50, dtype=object)})
    assert result["x"].undecided and "cannot be compared" in (result["x"].reason or "")


def test_ks_against_a_profile_is_approximate_with_a_p_value() -> None:
    reference, current = table(3000), table(3000, shift=0.5, seed=1)
    result = compare(Profile.from_data(reference), current, method="ks")
    exact = compare(reference, current, method="ks")
    assert result["num"].approximate and result["num"].p_value is not None
    assert result["num"].score == pytest.approx(exact["num"].score, abs=0.05)
    assert result["num"].drifted


@pytest.mark.parametrize("library", ["numpy", "pandas", "pyarrow"])
def test_a_current_column_of_nothing_but_nulls_is_undecided(library: str) -> None:
    empty: object = np.array([None] * 50, dtype=object)
    if library == "pandas":
        empty = pytest.importorskip("pandas").Series([None] * 50, dtype=object)
    elif library == "pyarrow":
        empty = pytest.importorskip("pyarrow").chunked_array([[None] * 50])
    result = compare({"x": rng.normal(size=50)}, {"x": empty})
    assert result["x"].undecided and result["x"].reason == "no values in the current data (all missing)"
    assert result["x"].current_missing == 50


# ---------------------------------------------------------------- inputs the engine cannot read (issue 11)


def test_a_table_naming_two_columns_alike_is_refused_clearly() -> None:
    pa = pytest.importorskip("pyarrow")
    both = pa.Table.from_arrays([pa.array([1.0, 2.0]), pa.array([3.0, 4.0]), pa.array(["x", "y"])], ["a", "a", "b"])

    with pytest.raises(DriftInputError, match=r"duplicate column name.*'a'"):
        compare(both, both)
    with pytest.raises(DriftInputError, match=r"duplicate column name.*'a'"):
        Profile.from_data(both)


@pytest.mark.parametrize("nested", ["struct", "list"])
def test_a_nested_arrow_column_is_refused_naming_it(nested: str) -> None:
    pa = pytest.importorskip("pyarrow")
    values = [{"a": i} for i in range(20)] if nested == "struct" else [[i] for i in range(20)]
    data = pa.table({"x": np.arange(20.0), "n": pa.array(values)})

    with pytest.raises(DriftInputError, match=rf"column 'n': values of type {nested}"):
        compare(data, data)
    with pytest.raises(DriftInputError, match=rf"column 'n': values of type {nested}"):
        Profile.from_data(data)


def test_unhashable_values_in_an_object_column_are_refused_naming_it() -> None:
    lists = np.empty(20, dtype=object)
    lists[:] = [[i] for i in range(20)]
    data = {"x": np.arange(20.0), "d": lists}

    with pytest.raises(DriftInputError, match="column 'd': values that cannot be counted"):
        compare(data, data)
