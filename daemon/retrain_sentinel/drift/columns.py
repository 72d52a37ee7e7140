"""Reading columns out of whatever table the caller holds, without depending on its library.

A table is a mapping of column name → 1-D array, a pandas ``DataFrame`` or a pyarrow ``Table``;
they are told apart by their attributes so that neither pandas nor pyarrow is needed to use the
engine. Each column is turned into one of two plain forms the statistics work on: finite float64
values (numeric) or category labels with their counts (categorical). NaN, ±inf and nulls are
*missing*: counted, then left out of every statistic. What fits neither form (a pyarrow struct or
list column, dicts in a pandas column) and a table naming two columns alike are ``DriftInputError``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .errors import DriftInputError

Kind = Literal["numeric", "categorical"]
KINDS: tuple[Kind, ...] = ("numeric", "categorical")
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: A numeric column with at most this many distinct values is compared as categories (Evidently's rule).
MAX_DISTINCT_FOR_CATEGORICAL = 5


@dataclass(frozen=True)
class NumericValues:
    """A numeric column's finite values, and how many were missing."""

    values: FloatArray
    missing: int
    is_sorted: bool = False

    def sorted(self) -> NumericValues:
        if self.is_sorted:
            return self
        return NumericValues(np.sort(self.values), self.missing, is_sorted=True)


@dataclass(frozen=True)
class CategoryCounts:
    """A categorical column as distinct labels (strings) with their counts, and the missing count."""

    labels: tuple[str, ...]
    counts: IntArray
    missing: int

    def as_dict(self) -> dict[str, int]:
        return dict(zip(self.labels, (int(c) for c in self.counts), strict=True))


def column_names(table: object) -> list[str]:
    """The names of a table's columns, in the table's order; a name used twice is refused, since a
    column is looked up by its name."""
    if _is_arrow_table(table):
        names = [str(n) for n in table.column_names]  # type: ignore[attr-defined]
    elif _is_dataframe(table):
        names = [str(n) for n in table.columns]  # type: ignore[attr-defined]
    elif isinstance(table, Mapping):
        return [str(n) for n in table]
    else:
        raise TypeError(
            f"cannot read columns from {type(table).__name__}: pass a mapping of name → array, "
            "a pandas DataFrame or a pyarrow Table"
        )
    duplicates = duplicated(names)
    if duplicates:
        raise DriftInputError(
            f"duplicate column name(s) {', '.join(map(repr, duplicates))}: every column needs a name of its own"
        )
    return names


def duplicated(names: Sequence[str]) -> list[str]:
    """The names that occur more than once, each once, in order of first occurrence."""
    return [name for name, count in Counter(names).items() if count > 1]


def get_column(table: object, name: str) -> Any:
    """One column of a table, in the table's own representation."""
    if _is_arrow_table(table):
        return table.column(name)  # type: ignore[attr-defined]
    if _is_dataframe(table):
        return table[name]  # type: ignore[index]
    if isinstance(table, Mapping):
        return table[name]
    raise TypeError(f"cannot read columns from {type(table).__name__}")


def row_count(table: object) -> int:
    """The number of rows of a table (the longest column of a mapping)."""
    if _is_arrow_table(table):
        return int(table.num_rows)  # type: ignore[attr-defined]
    if _is_dataframe(table):
        return len(table)  # type: ignore[arg-type]
    if isinstance(table, Mapping):
        return max((len(v) for v in table.values()), default=0)
    raise TypeError(f"cannot read columns from {type(table).__name__}")


def is_numeric(column: Any) -> bool:
    """Whether a column holds numbers (booleans are categories, not numbers)."""
    if _is_arrow_array(column):
        import pyarrow as pa  # noqa: PLC0415 - optional dependency, only for arrow input

        t = column.type
        return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))
    kind = getattr(getattr(column, "dtype", None), "kind", None)
    if kind is None:
        kind = np.asarray(column).dtype.kind
    return kind in ("f", "i", "u")


def numeric_values(column: Any) -> NumericValues:
    """A column's finite values as float64; raises ``ValueError`` when they are not numbers."""
    values = _as_float_array(column)
    finite = np.isfinite(values)
    if finite.all():
        return NumericValues(values, 0)
    kept = values[finite]
    return NumericValues(kept, int(values.size - kept.size))


def category_counts(column: Any) -> CategoryCounts:
    """A column's distinct values as string labels with counts; nulls and NaN counted as missing.

    Values that cannot be counted (nested arrow types, unhashable objects) are ``DriftInputError``.
    """
    if _is_arrow_array(column) and not is_countable(column.type):
        raise DriftInputError(f"values of type {column.type} are neither numbers nor categories")
    try:
        return _category_counts(column)
    except TypeError as exc:  # e.g. dicts or lists in an object column: unhashable
        raise DriftInputError(f"values that cannot be counted as categories: {exc}") from exc


def is_countable(arrow_type: Any) -> bool:
    """Whether an arrow type holds values that are numbers or categories (not structs, lists, maps)."""
    import pyarrow as pa  # noqa: PLC0415 - optional dependency, only for arrow input

    if pa.types.is_dictionary(arrow_type):
        return is_countable(arrow_type.value_type)
    if isinstance(arrow_type, pa.ExtensionType):
        return is_countable(arrow_type.storage_type)
    return not pa.types.is_nested(arrow_type)


def _category_counts(column: Any) -> CategoryCounts:
    if is_numeric(column):
        numbers = numeric_values(column)
        distinct, counts = np.unique(numbers.values, return_counts=True)
        return CategoryCounts(
            tuple(label_of(v) for v in distinct.tolist()), counts.astype(np.int64), numbers.missing
        )
    if _is_arrow_array(column):
        return _arrow_category_counts(column)
    if hasattr(column, "value_counts") and hasattr(column, "isna"):
        return _pandas_category_counts(column)
    return _array_category_counts(np.asarray(column))


def label_of(value: object) -> str:
    """The label a category value is stored under, the same whichever library the value came from.

    Integral floats print as integers, so a column of ints read back as floats (as pandas does
    when a value is missing) keeps its labels.
    """
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def distinct_at_most(sorted_values: FloatArray, limit: int) -> bool:
    """Whether sorted values hold at most ``limit`` distinct values (cheaply, without np.unique)."""
    if sorted_values.size <= limit:
        return True
    return int(np.count_nonzero(sorted_values[1:] != sorted_values[:-1])) + 1 <= limit


def _as_float_array(column: Any) -> FloatArray:
    if _is_arrow_array(column):
        import pyarrow as pa  # noqa: PLC0415 - optional dependency, only for arrow input
        import pyarrow.compute as pc  # noqa: PLC0415

        if pa.types.is_null(column.type):  # a column with no value at all (e.g. an empty CSV column)
            return np.full(len(column), np.nan)
        if not is_numeric(column):
            raise ValueError(f"values of type {column.type} are not numbers")
        floats = pc.cast(column, pa.float64())
        return np.asarray(floats.to_numpy(zero_copy_only=False), dtype=np.float64)
    if hasattr(column, "to_numpy") and hasattr(column, "isna"):  # pandas Series
        if column.isna().all():  # no value at all: nothing says it is not numeric
            return np.full(len(column), np.nan)
        if not is_numeric(column):
            raise ValueError(f"values of type {column.dtype} are not numbers")
        return np.asarray(column.to_numpy(dtype=np.float64, na_value=np.nan))
    array = np.asarray(column)
    if array.ndim != 1:
        raise ValueError(f"a column must be one-dimensional, got shape {array.shape}")
    if array.dtype.kind == "O" and all(
        v is None or (isinstance(v, float) and math.isnan(v)) for v in set(array.tolist())
    ):
        return np.full(array.size, np.nan)
    if array.dtype.kind not in ("f", "i", "u"):
        raise ValueError(f"values of dtype {array.dtype} are not numbers")
    return array.astype(np.float64, copy=False)


def _arrow_category_counts(column: Any) -> CategoryCounts:
    counted = column.value_counts()
    values = counted.field("values").to_pylist()
    counts = counted.field("counts").to_pylist()
    pairs = [(label_of(v), c) for v, c in zip(values, counts, strict=True) if v is not None]
    return _merge_labels(pairs, int(column.null_count))


def _pandas_category_counts(column: Any) -> CategoryCounts:
    counted = column.value_counts(dropna=True, sort=False)
    pairs = [(label_of(v), int(c)) for v, c in zip(counted.index, counted.to_numpy(), strict=True)]
    return _merge_labels(pairs, int(column.isna().sum()))


def _array_category_counts(array: npt.NDArray[Any]) -> CategoryCounts:
    if array.ndim != 1:
        raise ValueError(f"a column must be one-dimensional, got shape {array.shape}")
    if array.dtype.kind in ("U", "S", "b"):
        distinct, counts = np.unique(array, return_counts=True)
        return _merge_labels(
            [(label_of(v), int(c)) for v, c in zip(distinct.tolist(), counts, strict=True)], 0
        )
    # Object arrays may mix None, NaN and strings, which cannot be sorted: count by hashing
    # (Counter's loop runs in C), then sort the few distinct keys out.
    pairs: list[tuple[str, int]] = []
    missing = 0
    for value, count in Counter(array.tolist()).items():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            missing += count
        else:
            pairs.append((label_of(value), count))
    return _merge_labels(pairs, missing)


def _merge_labels(pairs: Sequence[tuple[str, int]], missing: int) -> CategoryCounts:
    """Labels in a stable order; values that print the same (1 and 1.0) share one label."""
    merged: dict[str, int] = {}
    for label, count in pairs:
        merged[label] = merged.get(label, 0) + int(count)
    labels = tuple(sorted(merged))
    return CategoryCounts(labels, np.array([merged[k] for k in labels], dtype=np.int64), missing)


def _is_arrow_table(table: object) -> bool:
    # Asked of the type, not the instance: on a pyarrow Table ``column_names`` is a property that
    # builds the list of every name, so ``hasattr(table, ...)`` per column made wide tables quadratic.
    return _has(table, "column_names", "num_rows", "column")


def _is_dataframe(table: object) -> bool:
    return _has(table, "columns", "iloc", "dtypes")


def _is_arrow_array(column: object) -> bool:
    return _has(column, "type", "null_count", "to_pylist")


def _has(value: object, *names: str) -> bool:
    kind = type(value)
    return all(hasattr(kind, name) for name in names)
