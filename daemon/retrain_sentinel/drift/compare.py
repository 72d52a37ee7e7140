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

import numpy as np

from .columns import (
    FloatArray,
    Kind,
    column_names,
    get_column,
    row_count,
)
from .corrections import CORRECTIONS, Correction, adjust
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
    NumericProfile,
    Profile,
    select_columns,
)
from .result import DriftResult, FeatureDrift
from .sides import Side, align_categories, current_categories, current_numeric

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
    known = set(reference_names)
    unknown = [n for n in names if n not in known]
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

    def _reference_side(self) -> Side:
        given = self.options.kinds.get(self.name)
        try:
            if isinstance(self.reference, Profile):
                return Side.of_profile(self.reference[self.name], given)
            return Side.of_column(
                get_column(self.reference, self.name), given, bins=self.options.bins, top_k=self.options.top_k
            )
        except DriftInputError as exc:  # the reference cannot be read: no verdict, for any column
            raise DriftInputError(f"column {self.name!r}: {exc}") from exc

    def _resolve_method(self, kind: Kind, reference: Side) -> str:
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

    def _numeric(self, reference: Side, outcome: _Outcome) -> None:
        assert isinstance(reference.profile, NumericProfile)  # noqa: S101 - Side guarantees it
        exact = METHODS[outcome.method].needs_data and reference.values is not None
        moments = outcome.method == "wasserstein" and not exact  # binned W1 needs the current range
        current_profile, current_values = current_numeric(
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

    def _categorical(self, reference: Side, outcome: _Outcome) -> None:
        assert isinstance(reference.profile, CategoricalProfile)  # noqa: S101 - Side guarantees it
        counts = current_categories(self.current, self.name)
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
    tested = {
        o.name: o.p_value
        for o in outcomes
        if o.reason is None and o.p_value is not None and math.isfinite(o.p_value)
    }
    return adjust(tested, correction)


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
