"""The statistics agree with scipy (and numpy) to 1e-9 — the acceptance tests of the drift issue."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats
from scipy.spatial.distance import jensenshannon as scipy_jensenshannon

from retrain_sentinel.drift import methods
from retrain_sentinel.drift.columns import NumericValues
from retrain_sentinel.drift.profile import bin_counts, quantile_edges

TOLERANCE = 1e-9
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def samples(min_size: int = 1, max_size: int = 60) -> st.SearchStrategy[np.ndarray]:
    # Few distinct values as well as many: ties are where KS and Wasserstein go wrong.
    values = st.one_of(finite, st.integers(-3, 3).map(float))
    return hnp.arrays(np.float64, st.integers(min_size, max_size), elements=values)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


@settings(max_examples=80, deadline=None)
@given(samples(), samples())
def test_ks_matches_scipy_ks_2samp(reference: np.ndarray, current: np.ndarray) -> None:
    statistic, p_value = methods.ks(np.sort(reference), np.sort(current))
    expected = stats.ks_2samp(reference, current)
    assert close(statistic, expected.statistic)
    assert close(p_value, expected.pvalue)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(10_001, 14_000), st.integers(10_001, 14_000), st.booleans())
def test_large_sample_ks_matches_scipy_asymptotic(seed: int, n: int, m: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    reference, current = rng.normal(size=n), rng.normal(0.05, size=m)
    if ties:
        reference, current = np.round(reference, 1), np.round(current, 1)
    statistic, p_value = methods.ks(np.sort(reference), np.sort(current))
    expected = stats.ks_2samp(reference, current)
    assert close(statistic, expected.statistic)
    assert close(p_value, expected.pvalue)


@settings(max_examples=100, deadline=None)
@given(samples(), samples())
def test_wasserstein_matches_scipy_over_reference_std(reference: np.ndarray, current: np.ndarray) -> None:
    score = methods.wasserstein(np.sort(reference), np.sort(current), float(np.std(reference)))
    expected = stats.wasserstein_distance(reference, current) / max(np.std(reference), 0.001)
    assert math.isclose(score, expected, rel_tol=TOLERANCE, abs_tol=1e-6)


def test_wasserstein_of_unequal_large_samples_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    reference, current = rng.normal(size=30_011), rng.gamma(2.0, size=17_003)
    score = methods.wasserstein_distance(np.sort(reference), np.sort(current))
    assert close(score, stats.wasserstein_distance(reference, current))


@settings(max_examples=100, deadline=None)
@given(samples(), samples(min_size=0), st.integers(1, 12))
def test_edges_are_numpy_quantiles_and_counts_are_numpy_histogram(
    reference: np.ndarray, current: np.ndarray, bins: int
) -> None:
    edges = quantile_edges(np.sort(reference), bins)
    np.testing.assert_allclose(
        edges, np.quantile(reference, np.linspace(0, 1, bins + 1)), rtol=TOLERANCE, atol=0
    )
    expected, _ = np.histogram(current, bins=np.concatenate(([-np.inf], edges, [np.inf])))
    assert bin_counts(NumericValues(current, 0), edges).tolist() == expected.tolist()
    assert bin_counts(NumericValues(np.sort(current), 0, is_sorted=True), edges).tolist() == expected.tolist()


count_rows = hnp.arrays(np.int64, st.integers(2, 15), elements=st.integers(0, 1000))


@settings(max_examples=100, deadline=None)
@given(
    count_rows.flatmap(
        lambda p: st.tuples(st.just(p), hnp.arrays(np.int64, p.size, elements=st.integers(0, 1000)))
    )
)
def test_jensenshannon_matches_scipy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    p, q = pair
    if p.sum() == 0 or q.sum() == 0:
        return
    (score,) = methods.jensenshannon(p[None, :], q[None, :])
    expected = scipy_jensenshannon(p, q)
    assert close(float(score), 0.0 if math.isnan(expected) else float(expected))


@settings(max_examples=100, deadline=None)
@given(
    count_rows.flatmap(
        lambda p: st.tuples(st.just(p), hnp.arrays(np.int64, p.size, elements=st.integers(0, 1000)))
    )
)
def test_chisquare_matches_scipy_chi2_contingency(pair: tuple[np.ndarray, np.ndarray]) -> None:
    reference, current = pair
    table = np.stack([reference, current])
    table = table[:, table.sum(axis=0) > 0]
    if reference.sum() == 0 or current.sum() == 0 or table.shape[1] == 0:
        return
    (statistic,), (p_value,) = methods.chisquare(reference[None, :], current[None, :])
    expected = stats.chi2_contingency(table, correction=False)
    assert close(float(statistic), float(expected.statistic))
    assert close(float(p_value), float(expected.pvalue))


def test_binned_scores_are_computed_for_all_features_at_once() -> None:
    rng = np.random.default_rng(3)
    reference, current = rng.integers(1, 100, size=(6, 12)), rng.integers(1, 100, size=(6, 12))
    for score in methods.BINNED.values():
        together = score(reference, current)
        one_by_one = [score(reference[i : i + 1], current[i : i + 1])[0] for i in range(6)]
        np.testing.assert_allclose(together, one_by_one, rtol=1e-12)


def test_jensenshannon_of_disjoint_distributions_is_sqrt_ln_2() -> None:
    (score,) = methods.jensenshannon(np.array([[5, 0]]), np.array([[0, 7]]))
    assert score == pytest.approx(math.sqrt(math.log(2)))


def test_psi_smooths_empty_bins_with_epsilon() -> None:
    (score,) = methods.psi(np.array([[10, 0]]), np.array([[5, 5]]))
    expected = (1 - 0.5) * math.log(1 / 0.5) + (methods.EPSILON - 0.5) * math.log(methods.EPSILON / 0.5)
    assert score == pytest.approx(expected)


def test_kl_div_is_scipy_entropy_of_the_smoothed_proportions() -> None:
    reference, current = np.array([[3, 0, 7]]), np.array([[1, 4, 5]])
    smoothed = [np.where(r == 0, methods.EPSILON, r / r.sum()) for r in (reference[0], current[0])]
    assert methods.kl_div(reference, current)[0] == pytest.approx(stats.entropy(*smoothed))


def test_hellinger_tvd_and_linf_of_known_distributions() -> None:
    reference, current = np.array([[1, 1, 2]]), np.array([[2, 1, 1]])  # (¼, ¼, ½) against (½, ¼, ¼)
    assert methods.tvd(reference, current)[0] == pytest.approx(0.25)
    assert methods.linf(reference, current)[0] == pytest.approx(0.25)
    expected = math.sqrt(2 * (math.sqrt(0.5) - math.sqrt(0.25)) ** 2) / math.sqrt(2)
    assert methods.hellinger(reference, current)[0] == pytest.approx(expected)


def test_z_test_matches_the_pooled_two_proportion_formula() -> None:
    (z,), (p_value,) = methods.z_test(np.array([[30, 70]]), np.array([[50, 50]]))
    pooled = 80 / 200
    expected = (0.3 - 0.5) / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    assert z == pytest.approx(expected)
    assert p_value == pytest.approx(2 * stats.norm.sf(abs(expected)))


def test_z_test_of_a_constant_column_is_no_evidence() -> None:
    (z,), (p_value,) = methods.z_test(np.array([[10, 0]]), np.array([[8, 0]]))
    assert (z, p_value) == (0.0, 1.0)


def test_chisquare_of_a_single_category_is_no_evidence() -> None:
    (statistic,), (p_value,) = methods.chisquare(np.array([[10, 0]]), np.array([[4, 0]]))
    assert (statistic, p_value) == (0.0, 1.0)


def test_binned_ks_is_close_to_the_exact_statistic_on_fine_bins() -> None:
    rng = np.random.default_rng(11)
    reference, current = np.sort(rng.normal(size=5000)), np.sort(rng.normal(0.3, size=5000))
    edges = quantile_edges(reference, 100)
    ref_counts = bin_counts(NumericValues(reference, 0, True), edges)
    cur_counts = bin_counts(NumericValues(current, 0, True), edges)
    (statistic,), _ = methods.binned_ks(ref_counts[None, :], cur_counts[None, :])
    assert statistic == pytest.approx(methods.ks(reference, current)[0], abs=0.02)
