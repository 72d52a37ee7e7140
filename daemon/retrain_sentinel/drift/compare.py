"""``compare``: the reference against the current data, every feature, one verdict.

Work is split in two phases so that the expensive part is done once per column and the rest
once for all columns:

1. per column (in a thread pool for large inputs — numpy releases the GIL while sorting): read
   the values once, sort them when an exact method needs it, bin both sides on the reference's
   quantile edges (or align category counts), and compute ``ks`` / ``wasserstein`` from the data;
2. for all columns at once: the binned scores on the stacked count matrices, the Jensen–Shannon
   distance of every feature (for ``js_divergence``), p-value corrections, verdicts.

``auto`` picks per feature (Evidently's rule): numeric with more than 5 distinct values → ``ks``
when the reference has at most 1,000 values, else ``wasserstein``; categorical → ``chisquare``
(``z`` when binary) up to 1,000, else ``jensenshannon``; against a profile only → the binned
``jensenshannon``. A method named for all columns applies to the columns of the kinds it fits;
the others use ``auto``. A method named for one column must fit it.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .columns import (
    MAX_DISTINCT_FOR_CATEGORICAL,
    CategoryCounts,
    FloatArray,
    Kind,
    NumericValues,
    category_counts,
    column_names,
    distinct_at_most,
    get_column,
    is_numeric,
    numeric_values,
    row_count,
)
from .errors import DriftInputError
from .methods import (
    BINNED,
    METHODS,
    binned_ks,
    binned_wasserstein,
    chisquare,
    jensenshannon,
    ks,
    wasserstein,
    z_test,
)
from .profile import (
    DEFAULT_BINS,
    DEFAULT_TOP_K,
    CategoricalProfile,
    ColumnProfile,
    NumericProfile,
    Profile,
    bin_counts,
    categorical_profile,
    numeric_profile,
    quantile_edges,
    select_columns,
)
from .result import DriftResult, FeatureDrift

Correction = Literal["bonferroni", "benjamini-hochberg"]
CORRECTIONS: tuple[str, ...] = ("bonferroni", "benjamini-hochberg")
#: ``auto`` uses the small-sample tests up to this many reference values (Evidently's rule).
SMALL_REFERENCE = 1000
#: Below this many values in all, threads cost more than they save.
_PARALLEL_MIN_VALUES = 200_000


def compare(
    reference: object,
    current: object,
    method: str | Mapping[str, str] = "auto",
    *,
    columns: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    kinds: Mapping[str, Kind] | None = None,
    thresholds: float | Mapping[str, float] | None = None,
    bins: int = DEFAULT_BINS,
    top_k: int = DEFAULT_TOP_K,
    share_threshold: float = 0.5,
    correction: Correction | None = None,
    workers: int | None = None,
) -> DriftResult:
    """Compare ``current`` with ``reference`` (a table or a ``Profile``), feature by feature.

    Tables are mappings of name → 1-D array, pandas DataFrames or pyarrow Tables; ``current`` may
    also be a ``Profile`` built ``like`` the reference. ``method`` is a method name for every
    column, or a mapping column → method (the others ``auto``). ``thresholds`` overrides the
    methods' defaults, for every column or per column. ``correction`` adjusts the p-values of
    p-value methods across features before their verdicts.
    """
    if correction is not None and correction not in CORRECTIONS:
        raise DriftInputError(f"unknown correction {correction!r}; use one of {', '.join(CORRECTIONS)}")
    if not 0 < share_threshold <= 1:
        raise DriftInputError(f"share_threshold must be in (0, 1], got {share_threshold}")
    _check_methods(method)
    reference_names = reference.names if isinstance(reference, Profile) else column_names(reference)
    names = select_columns(reference_names, columns, exclude)
    unknown = [n for n in names if n not in set(reference_names)]
    if unknown:
        raise DriftInputError(f"column(s) not in the reference: {', '.join(unknown)}")
    current_names = set(current.names if isinstance(current, Profile) else column_names(current))
    options = _Options(method, thresholds, kinds or {}, bins, top_k)
    tasks = [_Column(name, reference, current, name in current_names, options) for name in names]
    outcomes = _run(tasks, _parallelism(workers, reference, current, len(names)))
    _score_binned(outcomes)
    features = _verdicts(outcomes, correction)
    return DriftResult(tuple(features), share_threshold, correction)


@dataclass(frozen=True)
class _Options:
    method: str | Mapping[str, str]
    thresholds: float | Mapping[str, float] | None
    kinds: Mapping[str, Kind]
    bins: int
    top_k: int

    def method_for(self, name: str, kind: Kind) -> str:
        if isinstance(self.method, Mapping):
            chosen = self.method.get(name, "auto")
            if chosen != "auto" and kind not in METHODS[chosen].kinds:
                raise DriftInputError(f"column {name!r} is {kind}; method {chosen!r} does not apply to it")
            return chosen
        if self.method != "auto" and kind in METHODS[self.method].kinds:
            return self.method
        return "auto"

    def threshold_for(self, name: str, method: str) -> float:
        if isinstance(self.thresholds, Mapping):
            if name in self.thresholds:
                return float(self.thresholds[name])
        elif self.thresholds is not None:
            return float(self.thresholds)
        return METHODS[method].default_threshold


@dataclass
class _Outcome:
    """What phase 1 found for one column; phase 2 fills in the binned scores."""

    name: str
    kind: Kind
    method: str
    threshold: float
    reference_size: int = 0
    current_size: int = 0
    reference_missing: int = 0
    current_missing: int = 0
    reference_counts: FloatArray = field(default_factory=lambda: np.zeros(0))
    current_counts: FloatArray = field(default_factory=lambda: np.zeros(0))
    score: float = math.nan
    p_value: float | None = None
    approximate: bool = False
    js_distance: float | None = None
    reason: str | None = None
    chosen_by_auto: bool = False


class _Column:
    """Phase 1 for one column: read both sides once and compute what needs the data."""

    def __init__(self, name: str, reference: object, current: object, in_current: bool, options: _Options):
        self.name = name
        self.reference = reference
        self.current = current
        self.in_current = in_current
        self.options = options

    def __call__(self) -> _Outcome:
        reference = self._reference_side()
        kind = reference.kind
        method = self._resolve_method(kind, reference)
        outcome = _Outcome(self.name, kind, method, self.options.threshold_for(self.name, method))
        outcome.chosen_by_auto = self.options.method_for(self.name, kind) == "auto"
        outcome.reference_size, outcome.reference_missing = reference.size, reference.missing
        if not self.in_current:
            outcome.reason = "column missing from the current data"
            return outcome
        try:
            if kind == "numeric":
                self._numeric(reference, outcome)
            else:
                self._categorical(reference, outcome)
        except (ValueError, TypeError) as exc:
            outcome.reason = f"current values cannot be compared with the reference: {exc}"
        return outcome

    def _reference_side(self) -> _Side:
        given = self.options.kinds.get(self.name)
        if isinstance(self.reference, Profile):
            return _Side.of_profile(self.reference[self.name], given)
        return _Side.of_column(get_column(self.reference, self.name), given, self.options)

    def _resolve_method(self, kind: Kind, reference: _Side) -> str:
        method = self.options.method_for(self.name, kind)
        if method != "auto":
            return method
        if reference.profile_only:
            return "jensenshannon"
        small = reference.size <= SMALL_REFERENCE
        if kind == "numeric":
            return "ks" if small else "wasserstein"
        if small:
            return "z" if reference.category_count == 2 else "chisquare"
        return "jensenshannon"

    def _numeric(self, reference: _Side, outcome: _Outcome) -> None:
        assert isinstance(reference.profile, NumericProfile)  # noqa: S101 - _Side guarantees it
        exact = METHODS[outcome.method].needs_data and reference.values is not None
        moments = outcome.method == "wasserstein" and not exact  # binned W1 needs the current range
        current_profile, current_values = _current_numeric(
            self.current, self.name, reference.profile, exact=exact, moments=moments
        )
        outcome.current_size, outcome.current_missing = current_profile.count, current_profile.missing
        if _undecided_sizes(outcome):
            return
        outcome.reference_counts = reference.profile.counts.astype(np.float64)
        outcome.current_counts = current_profile.counts.astype(np.float64)
        if outcome.method == "ks":
            if exact and current_values is not None and reference.values is not None:
                outcome.score, outcome.p_value = ks(reference.values.values, current_values.values)
            else:
                statistic, p_value = binned_ks(
                    outcome.reference_counts[None, :], outcome.current_counts[None, :]
                )
                outcome.score, outcome.p_value, outcome.approximate = (
                    float(statistic[0]),
                    float(p_value[0]),
                    True,
                )
        elif outcome.method == "wasserstein":
            if exact and current_values is not None and reference.values is not None:
                outcome.score = wasserstein(
                    reference.values.values, current_values.values, reference.profile.std
                )
            else:
                outcome.score, outcome.approximate = (
                    binned_wasserstein(reference.profile, current_profile),
                    True,
                )

    def _categorical(self, reference: _Side, outcome: _Outcome) -> None:
        assert isinstance(reference.profile, CategoricalProfile)  # noqa: S101 - _Side guarantees it
        counts = _current_categories(self.current, self.name)
        outcome.current_size, outcome.current_missing = int(counts.counts.sum()), counts.missing
        if _undecided_sizes(outcome):
            return
        ref_counts, cur_counts = align_categories(reference.profile, counts, self.options.top_k)
        outcome.reference_counts, outcome.current_counts = ref_counts, cur_counts
        binary_only = METHODS[outcome.method].binary_only
        if binary_only and ref_counts.size - (ref_counts[-1] + cur_counts[-1] == 0) > 2:
            if outcome.chosen_by_auto:  # a category new in the current data: no longer binary
                outcome.method = "chisquare"
                outcome.threshold = self.options.threshold_for(self.name, "chisquare")
            else:
                outcome.reason = "the z-test needs a binary column; this one has more than two categories"


@dataclass(frozen=True)
class _Side:
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
    def of_profile(cls, profile: ColumnProfile, given: Kind | None) -> _Side:
        if given is not None and given != profile.kind:
            raise DriftInputError(f"the reference profile holds this column as {profile.kind}, not {given}")
        return cls(profile.kind, profile, profile_only=True)

    @classmethod
    def of_column(cls, column: Any, given: Kind | None, options: _Options) -> _Side:
        if given == "categorical" or (given is None and not is_numeric(column)):
            return cls("categorical", categorical_profile(category_counts(column), options.top_k))
        try:
            values = numeric_values(column).sorted()
        except (ValueError, TypeError) as exc:
            raise DriftInputError(f"reference column holds values that are not numbers: {exc}") from exc
        if given is None and distinct_at_most(values.values, MAX_DISTINCT_FOR_CATEGORICAL):
            return cls("categorical", categorical_profile(category_counts(column), options.top_k))
        profile = numeric_profile(values, quantile_edges(values.values, options.bins))
        return cls("numeric", profile, values)


def _current_numeric(
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


def _current_categories(current: object, name: str) -> CategoryCounts:
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


def _undecided_sizes(outcome: _Outcome) -> bool:
    if outcome.reference_size == 0:
        outcome.reason = "no values in the reference (all missing)"
    elif outcome.current_size == 0:
        outcome.reason = "no values in the current data (all missing)"
    return outcome.reason is not None


def _score_binned(outcomes: Sequence[_Outcome]) -> None:
    """Phase 2: binned scores and JS distances, one matrix operation per group of same-width rows."""
    groups: dict[int, list[_Outcome]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.reason is None and outcome.reference_counts.size:
            groups[outcome.reference_counts.size].append(outcome)
    for rows in groups.values():
        reference = np.stack([o.reference_counts for o in rows])
        current = np.stack([o.current_counts for o in rows])
        for outcome, distance in zip(rows, jensenshannon(reference, current), strict=True):
            outcome.js_distance = float(distance)
        by_method: dict[str, list[int]] = defaultdict(list)
        for index, outcome in enumerate(rows):
            by_method[outcome.method].append(index)
        for method, indices in by_method.items():
            _score_method(method, [rows[i] for i in indices], reference[indices], current[indices])


def _score_method(method: str, rows: Sequence[_Outcome], reference: FloatArray, current: FloatArray) -> None:
    if method in BINNED:
        for outcome, score in zip(rows, BINNED[method](reference, current), strict=True):
            outcome.score = float(score)
    elif method in ("chisquare", "z"):
        statistic, p_value = (chisquare if method == "chisquare" else z_test)(reference, current)
        for outcome, s, p in zip(rows, statistic, p_value, strict=True):
            outcome.score, outcome.p_value = float(s), float(p)


def _verdicts(outcomes: Sequence[_Outcome], correction: str | None) -> list[FeatureDrift]:
    adjusted = _adjusted_p_values(outcomes, correction)
    features = []
    for outcome in outcomes:
        spec = METHODS[outcome.method]
        p_adjusted = adjusted.get(outcome.name)
        reason = outcome.reason
        if reason is None and not math.isfinite(outcome.score):
            reason = f"{outcome.method} is not finite for these values"
        if reason is not None:
            drifted = False
        elif spec.uses_p_value:
            p = p_adjusted if p_adjusted is not None else outcome.p_value
            drifted = p is not None and p < outcome.threshold
        else:
            drifted = outcome.score >= outcome.threshold
        features.append(
            FeatureDrift(
                feature=outcome.name,
                kind=outcome.kind,
                method=outcome.method,
                score=outcome.score,
                p_value=outcome.p_value,
                threshold=outcome.threshold,
                drifted=bool(drifted),
                approximate=outcome.approximate,
                reference_size=outcome.reference_size,
                current_size=outcome.current_size,
                reference_missing=outcome.reference_missing,
                current_missing=outcome.current_missing,
                js_distance=outcome.js_distance,
                adjusted_p_value=p_adjusted,
                reason=reason,
            )
        )
    return features


def _adjusted_p_values(outcomes: Sequence[_Outcome], correction: str | None) -> dict[str, float]:
    tested = [o for o in outcomes if o.reason is None and o.p_value is not None and math.isfinite(o.p_value)]
    if correction is None or not tested:
        return {}
    p = np.array([o.p_value for o in tested], dtype=np.float64)
    adjusted = bonferroni(p) if correction == "bonferroni" else benjamini_hochberg(p)
    return {o.name: float(a) for o, a in zip(tested, adjusted, strict=True)}


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


def _check_methods(method: str | Mapping[str, str]) -> None:
    chosen = method.values() if isinstance(method, Mapping) else [method]
    for name in chosen:
        if name != "auto" and name not in METHODS:
            raise DriftInputError(f"unknown drift method {name!r}; use auto or one of {', '.join(METHODS)}")


def _parallelism(workers: int | None, reference: object, current: object, columns: int) -> int:
    if workers is not None:
        return max(1, workers)
    if columns < 2:
        return 1
    sizes = [0 if isinstance(t, Profile) else row_count(t) for t in (reference, current)]
    if sum(sizes) * columns < _PARALLEL_MIN_VALUES:
        return 1
    return min(columns, os.cpu_count() or 1)


def _run(tasks: Sequence[_Column], workers: int) -> list[_Outcome]:
    if workers <= 1:
        return [task() for task in tasks]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drift") as pool:
        return list(pool.map(lambda task: task(), tasks))
