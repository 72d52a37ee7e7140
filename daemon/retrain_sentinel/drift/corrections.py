"""Multiple-testing corrections for the per-feature p-values of one comparison.

Testing 50 features at p < 0.05 flags two or three of them on identical data; the dataset verdict
counts drifted features, so ``compare(..., correction=...)`` can adjust the p-values first:
Bonferroni bounds the chance of any false flag, Benjamini–Hochberg the share of false flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np

from .columns import FloatArray

__all__ = ["CORRECTIONS", "Correction", "adjust", "benjamini_hochberg", "bonferroni"]

Correction = Literal["bonferroni", "benjamini-hochberg"]
CORRECTIONS: tuple[str, ...] = ("bonferroni", "benjamini-hochberg")


def adjust(p_values: Mapping[str, float], correction: str | None) -> dict[str, float]:
    """Each feature's adjusted p-value (none without a correction or without p-values)."""
    if correction is None or not p_values:
        return {}
    p = np.array(list(p_values.values()), dtype=np.float64)
    adjusted = bonferroni(p) if correction == "bonferroni" else benjamini_hochberg(p)
    return {name: float(a) for name, a in zip(p_values, adjusted, strict=True)}


def bonferroni(p_values: FloatArray) -> FloatArray:
    return np.asarray(np.minimum(p_values * p_values.size, 1.0), dtype=np.float64)


def benjamini_hochberg(p_values: FloatArray) -> FloatArray:
    """Step-up adjusted p-values (as ``scipy.stats.false_discovery_control`` gives them)."""
    m = p_values.size
    order = np.argsort(p_values)
    scaled = p_values[order] * m / np.arange(1, m + 1)
    monotone = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = np.minimum(monotone, 1.0)
    return adjusted
