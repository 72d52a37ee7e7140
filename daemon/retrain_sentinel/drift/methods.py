"""The drift statistics, each computed for all features at once where the data allow.

Binned methods take two count matrices, one row per feature and one column per bin (numeric:
the shared reference-quantile bins; categorical: one cell per category), and return one score
per row. Rows of zeros in both matrices are allowed: a zero cell on both sides contributes
nothing. Scores follow the definitions Evidently uses, so its users' thresholds keep their
meaning:

- ``jensenshannon``: Jensen–Shannon *distance*, natural log, in [0, √ln 2] — as
  ``scipy.spatial.distance.jensenshannon`` computes it.
- ``psi``: Σ (p − q)·ln(p/q), with empty bins' proportions replaced by ``EPSILON`` (1e-4) so a
  bin empty on one side gives a large but finite contribution.
- ``kl_div``: KL(reference ‖ current) on the same smoothed proportions, renormalised
  (``scipy.stats.entropy``).
- ``hellinger``: √(Σ(√p − √q)²) / √2, in [0, 1]. ``tvd``: ½ Σ|p − q|. ``linf``: max |p − q|.
- ``chisquare``: Pearson's test of the 2 × C contingency table without continuity correction
  (``scipy.stats.chi2_contingency(table, correction=False)``); cells empty on both sides dropped.
- ``z``: two-proportion z-test for a binary column, pooled variance, two-sided.

Exact methods read the data, sorted once: ``ks`` (two-sample Kolmogorov–Smirnov, its p-value as
``scipy.stats.ks_2samp`` gives it by default: exact up to 10,000 values a side, else Smirnov's
asymptotic distribution) and ``wasserstein`` (W1 over the reference standard deviation, floored at
0.001). From profiles alone they are computed on the bins and reported as approximate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import special, stats

from .columns import FloatArray, IntArray, Kind

if TYPE_CHECKING:
    from .profile import NumericProfile

#: Proportion given to an empty bin by ``psi`` and ``kl_div`` (Evidently's value).
EPSILON = 1e-4
#: Floor of the reference standard deviation that normalises ``wasserstein``.
MIN_STD = 0.001
#: Up to this many values a side, the KS p-value is exact (scipy's ``ks_2samp`` default).
KS_EXACT_MAX = 10_000

CountMatrix = IntArray | FloatArray


@dataclass(frozen=True)
class Method:
    """What a method applies to and how its result becomes a verdict."""

    name: str
    kinds: frozenset[Kind]
    #: Drift when the p-value is below the threshold; otherwise when the score reaches it.
    uses_p_value: bool
    default_threshold: float
    #: Computed from the data themselves; from a profile only an approximation on the bins.
    needs_data: bool = False
    binary_only: bool = False


_BOTH: frozenset[Kind] = frozenset(("numeric", "categorical"))
_NUMERIC: frozenset[Kind] = frozenset(("numeric",))
_CATEGORICAL: frozenset[Kind] = frozenset(("categorical",))

METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("ks", _NUMERIC, True, 0.05, needs_data=True),
        Method("wasserstein", _NUMERIC, False, 0.1, needs_data=True),
        Method("jensenshannon", _BOTH, False, 0.1),
        Method("psi", _BOTH, False, 0.1),
        Method("kl_div", _BOTH, False, 0.1),
        Method("hellinger", _BOTH, False, 0.1),
        Method("tvd", _BOTH, False, 0.1),
        Method("linf", _BOTH, False, 0.1),
        Method("chisquare", _CATEGORICAL, True, 0.05),
        Method("z", _CATEGORICAL, True, 0.05, binary_only=True),
    )
}


def proportions(counts: CountMatrix) -> FloatArray:
    """Each row divided by its sum (a row summing to zero becomes NaN)."""
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(counts / totals, dtype=np.float64)


def jensenshannon(reference: CountMatrix, current: CountMatrix) -> FloatArray:
    p, q = proportions(reference), proportions(current)
    m = (p + q) / 2.0
    divergence = special.rel_entr(p, m).sum(axis=1) + special.rel_entr(q, m).sum(axis=1)
    return np.asarray(np.sqrt(np.maximum(divergence / 2.0, 0.0)), dtype=np.float64)


def psi(reference: CountMatrix, current: CountMatrix) -> FloatArray:
    p, q = _smoothed(reference), _smoothed(current)
    return np.asarray(((p - q) * np.log(p / q)).sum(axis=1), dtype=np.float64)


def kl_div(reference: CountMatrix, current: CountMatrix) -> FloatArray:
    p, q = _smoothed(reference), _smoothed(current)
    p = p / p.sum(axis=1, keepdims=True)
    q = q / q.sum(axis=1, keepdims=True)
    return np.asarray(special.rel_entr(p, q).sum(axis=1), dtype=np.float64)


def hellinger(reference: CountMatrix, current: CountMatrix) -> FloatArray:
    p, q = proportions(reference), proportions(current)
    return np.asarray(
        np.sqrt(np.square(np.sqrt(p) - np.sqrt(q)).sum(axis=1)) / math.sqrt(2), dtype=np.float64
    )


def tvd(reference: CountMatrix, current: CountMatrix) -> FloatArray:
    return np.asarray(
        0.5 * np.abs(proportions(reference) - proportions(current)).sum(axis=1), dtype=np.float64
    )


def linf(reference: CountMatrix, current: CountMatrix) -> FloatArray:
    return np.asarray(np.abs(proportions(reference) - proportions(current)).max(axis=1), dtype=np.float64)


BINNED: dict[str, Callable[[CountMatrix, CountMatrix], FloatArray]] = {
    "jensenshannon": jensenshannon,
    "psi": psi,
    "kl_div": kl_div,
    "hellinger": hellinger,
    "tvd": tvd,
    "linf": linf,
}


def chisquare(reference: CountMatrix, current: CountMatrix) -> tuple[FloatArray, FloatArray]:
    """Pearson's χ² of each feature's 2 × C table: (statistics, p-values)."""
    observed = np.stack([np.asarray(reference, np.float64), np.asarray(current, np.float64)], axis=1)
    rows = observed.sum(axis=2, keepdims=True)
    cells = observed.sum(axis=1, keepdims=True)
    total = observed.sum(axis=(1, 2), keepdims=True)
    expected = rows * cells / total
    used = np.broadcast_to(cells > 0, observed.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where(used, np.square(observed - expected) / np.where(used, expected, 1.0), 0.0)
    statistic = terms.sum(axis=(1, 2))
    dof = np.count_nonzero(cells[:, 0, :] > 0, axis=1) - 1
    p_value = np.where(dof > 0, stats.chi2.sf(statistic, np.maximum(dof, 1)), 1.0)
    statistic = np.where(dof > 0, statistic, 0.0)
    return np.asarray(statistic, dtype=np.float64), np.asarray(p_value, dtype=np.float64)


def z_test(reference: CountMatrix, current: CountMatrix) -> tuple[FloatArray, FloatArray]:
    """Two-proportion z-test on the first category of each binary feature: (z, p-values)."""
    ref = np.asarray(reference, np.float64)
    cur = np.asarray(current, np.float64)
    n1, n2 = ref.sum(axis=1), cur.sum(axis=1)
    p1, p2 = ref[:, 0] / n1, cur[:, 0] / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    spread = np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(spread > 0, (p1 - p2) / np.where(spread > 0, spread, 1.0), 0.0)
    return np.asarray(z, dtype=np.float64), np.asarray(2 * stats.norm.sf(np.abs(z)), dtype=np.float64)


def ks(reference: FloatArray, current: FloatArray) -> tuple[float, float]:
    """KS statistic and p-value of two *sorted* finite samples, as ``scipy.stats.ks_2samp`` gives them.

    Small samples take scipy's exact path itself (that cost is the exact distribution, not the
    statistic); large ones compute the statistic from one merge of the sorted samples.
    """
    n, m = reference.size, current.size
    if max(n, m) <= KS_EXACT_MAX:
        result = stats.ks_2samp(reference, current)
        return float(result.statistic), float(result.pvalue)
    statistic = ks_statistic(reference, current)
    return statistic, ks_asymptotic_p_value(statistic, n, m)


def ks_statistic(reference: FloatArray, current: FloatArray) -> float:
    """max |F − G| over the pooled values, from one stable merge of two sorted samples."""
    n, m = reference.size, current.size
    pooled = np.concatenate((reference, current))
    order = np.argsort(pooled, kind="stable")  # two sorted runs: a linear merge
    values = pooled[order]
    group_end = np.empty(values.size, dtype=bool)
    np.not_equal(values[1:], values[:-1], out=group_end[:-1])
    group_end[-1] = True
    below_ref = np.cumsum(order < n)[group_end]
    below_cur = np.flatnonzero(group_end) + 1 - below_ref
    differences = below_ref / n - below_cur / m
    return float(max(np.clip(-differences.min(), 0, 1), differences.max()))


def ks_asymptotic_p_value(statistic: float, n: int, m: int) -> float:
    """Smirnov's two-sided asymptotic p-value, computed the way ``ks_2samp`` computes it."""
    big, small = sorted([float(n), float(m)], reverse=True)
    effective = big * small / (big + small)
    return float(np.clip(stats.kstwo.sf(statistic, np.round(effective)), 0, 1))


def wasserstein(reference: FloatArray, current: FloatArray, reference_std: float) -> float:
    """W1 of two *sorted* samples over the reference standard deviation (floored at ``MIN_STD``)."""
    return wasserstein_distance(reference, current) / max(reference_std, MIN_STD)


def wasserstein_distance(reference: FloatArray, current: FloatArray) -> float:
    """W1 = ∫₀¹ |F⁻¹(t) − G⁻¹(t)| dt on sorted samples, in linear time (no pooled sort).

    The quantile functions are steps at t = i/n and j/m; on the common grid 1/lcm(n, m) the
    break points of both are integers, so they are merged by arithmetic instead of sorting.
    """
    n, m = reference.size, current.size
    if n == m:
        return float(np.mean(np.abs(reference - current)))
    g = math.gcd(n, m)
    step_ref, step_cur = m // g, n // g  # i/n = i·step_ref / lcm, j/m = j·step_cur / lcm
    lcm = n * step_ref
    i = np.arange(1, n + 1, dtype=np.int64)
    j = np.arange(1, m + 1, dtype=np.int64)
    ref_breaks, cur_breaks = i * step_ref, j * step_cur
    breaks = np.empty(n + m, dtype=np.int64)
    # Each break's place = breaks before it on its own side + those strictly before it on the other.
    breaks[(i - 1) + (ref_breaks + step_cur - 1) // step_cur - 1] = ref_breaks
    breaks[(j - 1) + cur_breaks // step_ref] = cur_breaks
    widths = np.diff(breaks, prepend=0) / lcm
    ref_at = reference[(breaks + step_ref - 1) // step_ref - 1]
    cur_at = current[(breaks + step_cur - 1) // step_cur - 1]
    return float(np.dot(np.abs(ref_at - cur_at), widths))


def binned_ks(reference: CountMatrix, current: CountMatrix) -> tuple[FloatArray, FloatArray]:
    """KS on the bins (an approximation: only the bin edges are compared), asymptotic p-values."""
    ref = np.asarray(reference, np.float64)
    cur = np.asarray(current, np.float64)
    n, m = ref.sum(axis=1), cur.sum(axis=1)
    statistic = np.abs(np.cumsum(ref, axis=1) / n[:, None] - np.cumsum(cur, axis=1) / m[:, None]).max(axis=1)
    p_values = [
        ks_asymptotic_p_value(float(d), int(a), int(b)) for d, a, b in zip(statistic, n, m, strict=True)
    ]
    return np.asarray(statistic, dtype=np.float64), np.asarray(p_values, dtype=np.float64)


def binned_wasserstein(reference: NumericProfile, current: NumericProfile) -> float:
    """W1 / std from two profiles on the same edges (an approximation).

    The CDF difference is known exactly at each edge; between edges it is taken as linear, and the
    open outer bins end at the smallest and largest value either side has seen.
    """
    edges = reference.edges
    low = min(reference.minimum, current.minimum, float(edges[0]))
    high = max(reference.maximum, current.maximum, float(edges[-1]))
    points = np.concatenate(([low], edges, [high]))
    ref_cdf = np.cumsum(reference.counts[:-1]) / reference.count
    cur_cdf = np.cumsum(current.counts[:-1]) / current.count
    gaps = np.abs(np.concatenate(([0.0], ref_cdf - cur_cdf, [0.0])))
    area = float(np.sum((gaps[1:] + gaps[:-1]) / 2 * np.diff(points)))
    return area / max(reference.std, MIN_STD)


def _smoothed(counts: CountMatrix) -> FloatArray:
    p = proportions(counts)
    return np.where(p == 0, EPSILON, p)
