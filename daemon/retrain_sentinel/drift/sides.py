"""The two sides of one column, as ``compare`` reads them: the reference and the current data.

Either side may be raw data or a saved profile. The reference decides the column's kind and its
bins (quantile edges, or the kept categories); the current side is read onto them, so both count
vectors have the same cells and every method compares like with like.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .columns import (
    MAX_DISTINCT_FOR_CATEGORICAL,
    CategoryCounts,
    FloatArray,
    Kind,
    NumericValues,
    category_counts,
    distinct_at_most,
    get_column,
    is_numeric,
    numeric_values,
)
from .errors import DriftInputError
from .profile import (
    DEFAULT_TOP_K,
    CategoricalProfile,
    ColumnProfile,
    NumericProfile,
    Profile,
    bin_counts,
    categorical_profile,
    numeric_profile,
    quantile_edges,
)

__all__ = ["Side", "align_categories", "current_categories", "current_numeric"]


@dataclass(frozen=True)
class Side:
    """The reference side of one column: its profile, and its sorted values when they are at hand."""

    kind: Kind
    profile: ColumnProfile
    values: NumericValues | None = None
    profile_only: bool = False

    @property
    def size(self) -> int:
        return self.profile.count

    @property
    def missing(self) -> int:
        return self.profile.missing

    @property
    def category_count(self) -> int:
        if isinstance(self.profile, CategoricalProfile):
            return len(self.profile.categories) + (1 if self.profile.other else 0)
        return 0

    @classmethod
    def of_profile(cls, profile: ColumnProfile, given: Kind | None) -> Side:
        if given is not None and given != profile.kind:
            raise DriftInputError(f"the reference profile holds this column as {profile.kind}, not {given}")
        return cls(profile.kind, profile, profile_only=True)

    @classmethod
    def of_column(cls, column: Any, given: Kind | None, *, bins: int, top_k: int) -> Side:
        if given == "categorical" or (given is None and not is_numeric(column)):
            return cls("categorical", categorical_profile(category_counts(column), top_k))
        try:
            values = numeric_values(column).sorted()
        except (ValueError, TypeError) as exc:
            raise DriftInputError(f"reference column holds values that are not numbers: {exc}") from exc
        if given is None and distinct_at_most(values.values, MAX_DISTINCT_FOR_CATEGORICAL):
            return cls("categorical", categorical_profile(category_counts(column), top_k))
        profile = numeric_profile(values, quantile_edges(values.values, bins))
        return cls("numeric", profile, values)


def current_numeric(
    current: object, name: str, reference: NumericProfile, *, exact: bool, moments: bool
) -> tuple[NumericProfile, NumericValues | None]:
    """The current column binned on the reference's edges (and its sorted values for exact methods).

    Moments cost a pass each over the data, so they are computed only when a method reads them;
    otherwise they are left NaN in this internal profile, which is never returned to callers.
    """
    if isinstance(current, Profile):
        profile = current[name]
        if not isinstance(profile, NumericProfile) or not np.array_equal(profile.edges, reference.edges):
            raise ValueError("the current profile was not binned on the reference's edges")
        return profile, None
    values = numeric_values(get_column(current, name))
    if exact:
        values = values.sorted()
    if exact or moments:
        return numeric_profile(values, reference.edges), values if exact else None
    counts = bin_counts(values, reference.edges)
    nan = math.nan
    return NumericProfile(reference.edges, counts, values.missing, nan, nan, nan, nan), None


def current_categories(current: object, name: str) -> CategoryCounts:
    if isinstance(current, Profile):
        profile = current[name]
        if not isinstance(profile, CategoricalProfile):
            raise ValueError("the current profile holds this column as numeric")
        labels = (*profile.categories, "\x00other")
        counts = np.append(profile.counts, profile.other) if profile.other else profile.counts
        return CategoryCounts(labels[: counts.size], counts.astype(np.int64), profile.missing)
    return category_counts(get_column(current, name))


def align_categories(
    reference: CategoricalProfile, current: CategoryCounts, top_k: int = DEFAULT_TOP_K
) -> tuple[FloatArray, FloatArray]:
    """Both sides' counts on the same cells: the reference's categories, then ``other``.

    When the reference kept all its categories, a category new in the current data gets its own
    cell (up to ``top_k`` cells); otherwise it may hide in the reference's ``other``, so it goes there.
    """
    seen = current.as_dict()
    ref_cells = [int(c) for c in reference.counts]
    cur_cells = [seen.pop(label, 0) for label in reference.categories]
    new = sorted(seen.items(), key=lambda item: (-item[1], item[0]))
    if reference.other == 0:
        room = max(top_k - len(ref_cells), 0)
        for _, count in new[:room]:
            ref_cells.append(0)
            cur_cells.append(count)
        new = new[room:]
    ref_cells.append(reference.other)
    cur_cells.append(sum(count for _, count in new))
    return np.array(ref_cells, dtype=np.float64), np.array(cur_cells, dtype=np.float64)
