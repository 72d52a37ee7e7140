"""Profiles: small, mergeable summaries of a table, so a reference is read once and reused.

A numeric column keeps the reference's quantile *edges* and the counts of values between them,
with two open bins on the outside (below the reference minimum, and from its maximum up) so
values outside the reference range are counted, not lost; plus the missing count and the moments
(min, max, mean, variance with ddof 0). A categorical column keeps the counts of its ``top_k``
most frequent labels and lumps the rest into ``other``.

Two profiles with the same edges merge by adding counts (and combining moments exactly), so a
file larger than memory can be profiled chunk by chunk. Category lists add up while they stay
within ``top_k``; beyond, the least frequent fold into ``other`` (the merge is then approximate).

Profiles are stored as JSON with a ``format_version``; a newer version is refused, not guessed at.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .columns import (
    KINDS,
    MAX_DISTINCT_FOR_CATEGORICAL,
    CategoryCounts,
    FloatArray,
    IntArray,
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
from .errors import DriftInputError, ProfileFormatError, ProfileMismatchError

FORMAT_VERSION = 1
DEFAULT_BINS = 10
DEFAULT_TOP_K = 1000


@dataclass(frozen=True, eq=False)
class NumericProfile:
    """A numeric column: counts on ``edges`` (``len(edges) + 1`` bins, the outer two open).

    Bin ``i`` holds values in ``[edges[i-1], edges[i])``; the first holds values below
    ``edges[0]`` and the last values from ``edges[-1]`` up — exactly ``np.histogram`` on
    ``[-inf, *edges, inf]``.
    """

    kind: ClassVar[Kind] = "numeric"
    edges: FloatArray
    counts: IntArray
    missing: int
    minimum: float
    maximum: float
    mean: float
    variance: float

    @property
    def count(self) -> int:
        """Values counted (missing ones excluded)."""
        return int(self.counts.sum())

    @property
    def std(self) -> float:
        return math.sqrt(self.variance) if self.variance >= 0 else math.nan

    def merge(self, other: ColumnProfile) -> NumericProfile:
        """The profile of both samples together: same edges required, moments combined exactly."""
        if not isinstance(other, NumericProfile):
            raise ProfileMismatchError("cannot merge a numeric column with a categorical one")
        if self.edges.shape != other.edges.shape or not np.array_equal(self.edges, other.edges):
            raise ProfileMismatchError(
                "cannot merge numeric profiles binned on different edges; profile the second "
                "sample with the first one's edges"
            )
        n_a, n_b = self.count, other.count
        if n_b == 0 or n_a == 0:
            moments = self if n_b == 0 else other
            return NumericProfile(
                self.edges,
                self.counts + other.counts,
                self.missing + other.missing,
                moments.minimum,
                moments.maximum,
                moments.mean,
                moments.variance,
            )
        n = n_a + n_b
        delta = other.mean - self.mean
        mean = self.mean + delta * n_b / n
        squares = self.variance * n_a + other.variance * n_b + delta * delta * n_a * n_b / n
        return NumericProfile(
            self.edges,
            self.counts + other.counts,
            self.missing + other.missing,
            min(self.minimum, other.minimum),
            max(self.maximum, other.maximum),
            mean,
            squares / n,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "edges": [_encode_float(v) for v in self.edges.tolist()],
            "counts": [int(c) for c in self.counts],
            "missing": self.missing,
            "min": _encode_float(self.minimum),
            "max": _encode_float(self.maximum),
            "mean": _encode_float(self.mean),
            "variance": _encode_float(self.variance),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumericProfile:
        edges = np.array([_decode_float(v) for v in _listed(data["edges"], "edges")], dtype=np.float64)
        counts = _counts(data["counts"], "counts")
        if counts.shape != (edges.size + 1,):
            raise ProfileFormatError(f"{edges.size} edges need {edges.size + 1} counts, got {counts.size}")
        missing = _count(data["missing"], "missing")
        _check_total(counts, missing)
        return cls(
            edges,
            counts,
            missing,
            _decode_float(data["min"]),
            _decode_float(data["max"]),
            _decode_float(data["mean"]),
            _decode_float(data["variance"]),
        )


@dataclass(frozen=True, eq=False)
class CategoricalProfile:
    """A categorical column: counts per label (most frequent first), and the rest as ``other``."""

    kind: ClassVar[Kind] = "categorical"
    categories: tuple[str, ...]
    counts: IntArray
    other: int
    missing: int
    top_k: int = DEFAULT_TOP_K

    @property
    def count(self) -> int:
        """Values counted (missing ones excluded)."""
        return int(self.counts.sum()) + self.other

    def as_dict(self) -> dict[str, int]:
        return dict(zip(self.categories, (int(c) for c in self.counts), strict=True))

    def merge(self, other: ColumnProfile) -> CategoricalProfile:
        """Counts added label by label; beyond ``top_k`` labels the least frequent fold into other."""
        if not isinstance(other, CategoricalProfile):
            raise ProfileMismatchError("cannot merge a categorical column with a numeric one")
        totals = self.as_dict()
        for label, count in other.as_dict().items():
            totals[label] = totals.get(label, 0) + count
        top_k = max(self.top_k, other.top_k)
        return _top_categories(totals, self.other + other.other, self.missing + other.missing, top_k)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "categories": list(self.categories),
            "counts": [int(c) for c in self.counts],
            "other": self.other,
            "missing": self.missing,
            "top_k": self.top_k,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalProfile:
        categories = tuple(_label(c) for c in _listed(data["categories"], "categories"))
        counts = _counts(data["counts"], "counts")
        if counts.shape != (len(categories),):
            raise ProfileFormatError(f"{len(categories)} categories need as many counts, got {counts.size}")
        other, missing, top_k = (_count(data[key], key) for key in ("other", "missing", "top_k"))
        if top_k < 1:
            raise ProfileFormatError("top_k must be at least 1")
        _check_total(counts, other + missing)
        return cls(categories, counts, other, missing, top_k)


ColumnProfile = NumericProfile | CategoricalProfile


@dataclass(frozen=True, eq=False)
class Profile:
    """Per-column summaries of one table: what a reference needs to be compared with later data."""

    columns: Mapping[str, ColumnProfile]
    rows: int
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ColumnProfile:
        return self.columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    @classmethod
    def from_data(
        cls,
        table: object,
        *,
        columns: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
        kinds: Mapping[str, Kind] | None = None,
        bins: int = DEFAULT_BINS,
        top_k: int = DEFAULT_TOP_K,
        like: Profile | None = None,
    ) -> Profile:
        """Profile a table. With ``like``, reuse its columns, kinds and edges (to merge with it later)."""
        if like is not None:
            excluded = set(exclude)
            names = [n for n in (columns if columns is not None else like.names) if n not in excluded]
            unknown = [n for n in names if n not in like]
            if unknown:
                raise DriftInputError(f"column(s) not in the profile to follow: {', '.join(unknown)}")
        else:
            names = select_columns(column_names(table), columns, exclude)
        present = set(column_names(table))
        missing = [n for n in names if n not in present]
        if missing:
            raise DriftInputError(f"column(s) not in the data: {', '.join(missing)}")
        profiles: dict[str, ColumnProfile] = {}
        for name in names:
            column = get_column(table, name)
            try:
                if like is not None:
                    profiles[name] = profile_like(column, like[name])
                else:
                    given = (kinds or {}).get(name)
                    profiles[name] = profile_column(column, kind=given, bins=bins, top_k=top_k)
            except DriftInputError as exc:
                raise DriftInputError(f"column {name!r}: {exc}") from exc
        return cls(profiles, _rows(table, profiles))

    def merge(self, other: Profile) -> Profile:
        """The profile of both tables stacked (columns must match)."""
        if set(self.columns) != set(other.columns):
            raise ProfileMismatchError(
                f"cannot merge profiles of different columns: {sorted(set(self.columns) ^ set(other.columns))}"
            )
        merged = {name: self.columns[name].merge(other.columns[name]) for name in self.columns}
        return Profile(merged, self.rows + other.rows, dict(self.metadata))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "rows": self.rows,
            "metadata": dict(self.metadata),
            "columns": {name: col.to_dict() for name, col in self.columns.items()},
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        if not isinstance(data, Mapping) or "format_version" not in data:
            raise ProfileFormatError("not a drift profile: no format_version")
        version = data["format_version"]
        if not isinstance(version, int) or version < 1:
            raise ProfileFormatError(f"not a drift profile: format_version {version!r}")
        if version > FORMAT_VERSION:
            raise ProfileFormatError(
                f"profile format version {version} is newer than this version of retrain-sentinel "
                f"reads ({FORMAT_VERSION}); upgrade retrain-sentinel or rebuild the profile"
            )
        try:
            stored, metadata = data["columns"], data.get("metadata", {})
            if not isinstance(stored, Mapping) or not isinstance(metadata, Mapping):
                raise ProfileFormatError("malformed drift profile: columns and metadata must be objects")
            columns: dict[str, ColumnProfile] = {}
            for name, col in stored.items():
                columns[str(name)] = _column_from_dict(name, col)
            return cls(columns, _count(data["rows"], "rows"), dict(metadata))
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            if isinstance(exc, ProfileFormatError):
                raise
            raise ProfileFormatError(f"malformed drift profile: {_brief(exc)}") from exc

    @classmethod
    def from_json(cls, text: str | bytes) -> Profile:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProfileFormatError(f"not a drift profile: invalid JSON ({exc})") from exc
        except RecursionError:  # a profile is three levels deep; this is something else
            raise ProfileFormatError("not a drift profile: JSON nested too deeply") from None
        except UnicodeDecodeError as exc:
            raise ProfileFormatError(f"not a drift profile: not UTF-8 text ({exc.reason})") from None
        return cls.from_dict(data)


def select_columns(
    available: Iterable[str], columns: Iterable[str] | None, exclude: Iterable[str]
) -> list[str]:
    """The columns to use: those asked for (in that order) or all, minus the excluded ones."""
    names = list(available) if columns is None else list(columns)
    excluded = set(exclude)
    return [n for n in names if n not in excluded]


def infer_kind(column: Any, given: Kind | None = None) -> Kind:
    """Numeric when the values are numbers (the distinct-count rule is applied on the sorted values)."""
    if given is not None:
        if given not in KINDS:
            raise DriftInputError(f"unknown column kind {given!r}; use one of {', '.join(KINDS)}")
        return given
    return "numeric" if is_numeric(column) else "categorical"


def profile_column(
    column: Any, *, kind: Kind | None = None, bins: int = DEFAULT_BINS, top_k: int = DEFAULT_TOP_K
) -> ColumnProfile:
    """Profile one column; a numeric one with few distinct values is profiled as categories."""
    if infer_kind(column, kind) == "categorical":
        return categorical_profile(category_counts(column), top_k)
    values = _numeric_or_error(column).sorted()
    if kind is None and distinct_at_most(values.values, MAX_DISTINCT_FOR_CATEGORICAL):
        return categorical_profile(category_counts(column), top_k)
    return numeric_profile(values, quantile_edges(values.values, bins))


def profile_like(column: Any, reference: ColumnProfile) -> ColumnProfile:
    """Profile a column the way ``reference`` was: same kind, edges, and category limit."""
    if isinstance(reference, NumericProfile):
        return numeric_profile(_numeric_or_error(column), reference.edges)
    return categorical_profile(category_counts(column), reference.top_k)


def quantile_edges(sorted_values: FloatArray, bins: int = DEFAULT_BINS) -> FloatArray:
    """``np.quantile(values, linspace(0, 1, bins + 1))`` (linear), read straight off sorted values."""
    if bins < 1:
        raise DriftInputError(f"bins must be at least 1, got {bins}")
    n = sorted_values.size
    if n == 0:
        return np.full(bins + 1, np.nan)
    # numpy's "linear" method: index (n-1)·q, then lerp written the way numpy writes it.
    position = (n - 1) * np.linspace(0.0, 1.0, bins + 1)
    below = np.floor(position)
    gamma = position - below
    lo = sorted_values[below.astype(np.intp)]
    hi = sorted_values[np.minimum(below.astype(np.intp) + 1, n - 1)]
    diff = hi - lo
    edges = lo + diff * gamma
    upper = gamma >= 0.5
    edges[upper] = hi[upper] - diff[upper] * (1 - gamma[upper])
    return np.asarray(edges, dtype=np.float64)


def bin_counts(values: NumericValues, edges: FloatArray) -> IntArray:
    """Counts of ``values`` on ``[-inf, *edges, inf]`` as ``np.histogram`` bins them."""
    if values.is_sorted:
        inner = np.searchsorted(values.values, edges, side="left")
        positions = np.concatenate(([0], inner, [values.values.size]))
        return np.diff(positions).astype(np.int64)
    if values.values.size == 0:
        return np.zeros(edges.size + 1, dtype=np.int64)
    counts, _ = np.histogram(values.values, bins=np.concatenate(([-np.inf], edges, [np.inf])))
    return counts.astype(np.int64)


def numeric_profile(values: NumericValues, edges: FloatArray) -> NumericProfile:
    """Counts and moments of finite values on the given edges."""
    data = values.values
    if data.size == 0:
        return NumericProfile(
            edges,
            np.zeros(edges.size + 1, dtype=np.int64),
            values.missing,
            math.nan,
            math.nan,
            math.nan,
            math.nan,
        )
    if values.is_sorted:
        low, high = float(data[0]), float(data[-1])
    else:
        low, high = float(data.min()), float(data.max())
    return NumericProfile(
        edges, bin_counts(values, edges), values.missing, low, high, float(data.mean()), float(data.var())
    )


def categorical_profile(counts: CategoryCounts, top_k: int = DEFAULT_TOP_K) -> CategoricalProfile:
    if top_k < 1:
        raise DriftInputError(f"top_k must be at least 1, got {top_k}")
    return _top_categories(counts.as_dict(), 0, counts.missing, top_k)


def _top_categories(totals: Mapping[str, int], other: int, missing: int, top_k: int) -> CategoricalProfile:
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    kept = ranked[:top_k]
    folded = sum(count for _, count in ranked[top_k:])
    return CategoricalProfile(
        tuple(label for label, _ in kept),
        np.array([count for _, count in kept], dtype=np.int64),
        other + folded,
        missing,
        top_k,
    )


def _numeric_or_error(column: Any) -> NumericValues:
    try:
        return numeric_values(column)
    except (ValueError, TypeError) as exc:
        raise DriftInputError(f"a numeric column holds values that are not numbers: {exc}") from exc


def _rows(table: object, profiles: Mapping[str, ColumnProfile]) -> int:
    try:
        return row_count(table)
    except TypeError:
        return max((p.count + p.missing for p in profiles.values()), default=0)


def _encode_float(value: float) -> float | str:
    """JSON carries no NaN or infinity: they are written as the strings "nan", "inf", "-inf"."""
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


#: Counts are added up in int64: a stored count beyond this is no real data (and would overflow).
MAX_COUNT = 2**62


def _column_from_dict(name: object, data: object) -> ColumnProfile:
    try:
        if not isinstance(data, Mapping):
            raise ProfileFormatError("not an object")
        if data["kind"] == "numeric":
            return NumericProfile.from_dict(data)
        if data["kind"] == "categorical":
            return CategoricalProfile.from_dict(data)
        raise ProfileFormatError(f"unknown kind {data['kind']!r}")
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        message = str(exc) if isinstance(exc, ProfileFormatError) else f"malformed: {_brief(exc)}"
        raise ProfileFormatError(f"column {name!r}: {message}") from exc


def _listed(value: object, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ProfileFormatError(f"{what} must be a list")
    return value


def _count(value: object, what: str) -> int:
    """A stored count: a whole number (not a float, not a bool) from 0 to ``MAX_COUNT``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ProfileFormatError(f"{what} must be whole numbers from 0 to 2**62")
    return value


def _counts(values: object, what: str) -> IntArray:
    return np.array([_count(v, what) for v in _listed(values, what)], dtype=np.int64)


def _check_total(counts: IntArray, extra: int) -> None:
    if sum(int(c) for c in counts) + extra > MAX_COUNT:
        raise ProfileFormatError("the counts add up to more than 2**62")


def _label(value: object) -> str:
    if not isinstance(value, str | int | float | bool):
        raise ProfileFormatError("categories must be strings")
    return str(value)


def _brief(exc: BaseException) -> str:
    """An exception as ``Type: first line``, short: it may quote a value of any size."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _decode_float(value: float | int | str) -> float:
    if isinstance(value, str):
        if value not in ("nan", "inf", "-inf"):
            raise ProfileFormatError(f"not a number: {value!r}")
        return float(value)
    return float(value)
