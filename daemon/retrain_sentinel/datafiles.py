"""Reading Parquet and CSV files for drift: whole, sampled, or chunk by chunk into a profile.

The drift engine (``drift/``) does no I/O; this module is the shell around it for data files.
Files are read in batches (Parquet row groups, CSV blocks), so a profile of a file larger than
memory needs memory for one batch plus the edge sample only.

Profiling a reference needs quantile edges before the counts. When the file has at most
``edge_sample`` rows the edges are exact (one pass); otherwise a first pass draws a uniform
random sample of ``edge_sample`` rows (bottom-k reservoir: every row gets a random key, the k
smallest keys are kept; seeded, so reruns agree), the edges are its quantiles, and a second pass
counts every row on them. ``read_table(sample=N)`` draws its rows the same way.

Errors a user can act on (a missing file, an unknown column, an unreadable file, pyarrow not
installed) are raised as ``DataFileError``, naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .drift import DriftResult, Profile, ProfileError, compare
from .drift.columns import Kind
from .drift.profile import DEFAULT_BINS, DEFAULT_TOP_K, select_columns

if TYPE_CHECKING:
    import pyarrow as pa

#: Called after each batch with the rows read so far and the total to read, when it is known.
Progress = Callable[[int, int | None], None]

#: Called with what is being read ("reference", "current"), rows read so far and the total if known.
PhaseProgress = Callable[[str, int, int | None], None]

#: Methods that read the data themselves; from profiles they are only approximate.
_EXACT_METHODS = ("auto", "ks", "wasserstein")

#: Rows of the reference sampled for its quantile edges when the file is larger.
DEFAULT_EDGE_SAMPLE = 1_000_000
#: Rows per batch read from a file.
BATCH_ROWS = 262_144
SAMPLE_SEED = 0
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".tsv")


class DataFileError(Exception):
    """A data file cannot be read as asked; the message names the file and what to do."""

    def __init__(self, path: str | Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = str(path)


def is_profile_file(path: str | Path) -> bool:
    """A saved drift profile (``.json``) rather than data."""
    return str(path).lower().endswith(".json")


def load_profile(path: str | Path) -> Profile:
    try:
        return Profile.from_json(Path(path).read_bytes())
    except FileNotFoundError as exc:
        raise DataFileError(path, "no such file") from exc
    except OSError as exc:
        raise DataFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    except ProfileError as exc:
        raise DataFileError(path, str(exc)) from exc


def save_profile(profile: Profile, path: str | Path) -> None:
    try:
        Path(path).write_text(profile.to_json(indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise DataFileError(path, f"cannot write the profile: {exc.strerror or exc}") from exc


def column_names(path: str | Path) -> list[str]:
    """The columns a Parquet or CSV file holds (reads the schema, or the CSV header)."""
    pa_ = _pyarrow(path)
    if _format(path) == "parquet":
        import pyarrow.parquet as pq  # noqa: PLC0415 - optional dependency

        with _translated(path):
            names = list(pq.ParquetFile(str(path)).schema_arrow.names)
        return names
    with _translated(path):
        names = list(_csv_reader(path, None, pa_).schema.names)
    return names


def count_rows(path: str | Path) -> int | None:
    """Rows of a Parquet file from its footer; ``None`` for CSV (it would need a full read)."""
    if _format(path) != "parquet":
        return None
    _pyarrow(path)
    import pyarrow.parquet as pq  # noqa: PLC0415 - optional dependency

    with _translated(path):
        rows = int(pq.ParquetFile(str(path)).metadata.num_rows)
    return rows


def iter_batches(
    path: str | Path, columns: Sequence[str] | None = None, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.Table]:
    """The file as a sequence of tables of at most about ``batch_rows`` rows."""
    pa_ = _pyarrow(path)
    _check_columns(path, columns)
    with _translated(path):
        if _format(path) == "parquet":
            import pyarrow.parquet as pq  # noqa: PLC0415 - optional dependency

            parquet = pq.ParquetFile(str(path))
            for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
                yield pa_.Table.from_batches([batch])
        else:
            reader = _csv_reader(path, columns, pa_)
            for batch in reader:
                yield pa_.Table.from_batches([batch])


def read_table(
    path: str | Path,
    *,
    columns: Sequence[str] | None = None,
    sample: int | None = None,
    progress: Progress | None = None,
) -> pa.Table:
    """The whole file, or a uniform random sample of ``sample`` rows of it (see the module doc)."""
    if sample is not None and sample < 1:
        raise DataFileError(path, f"the sample must be at least 1 row, got {sample}")
    batches = _with_progress(iter_batches(path, columns), progress, count_rows(path))
    if sample is None:
        pa_ = _pyarrow(path)
        tables = list(batches)
        return pa_.concat_tables(tables) if tables else _empty(path, columns)
    table, _ = _reservoir(batches, sample)
    return table if table is not None else _empty(path, columns)


def profile_file(
    path: str | Path,
    *,
    columns: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    kinds: Mapping[str, Kind] | None = None,
    bins: int = DEFAULT_BINS,
    top_k: int = DEFAULT_TOP_K,
    like: Profile | None = None,
    edge_sample: int = DEFAULT_EDGE_SAMPLE,
    progress: Progress | None = None,
) -> Profile:
    """A file's profile, read in batches. With ``like`` (the reference's profile) its columns,
    kinds and edges are reused — how current data is profiled for comparison."""
    available = column_names(path)
    names = select_columns(
        like.names if like is not None and columns is None else available, columns, exclude
    )
    _check_columns(path, names, available)
    rows = count_rows(path)
    if like is None:
        batches = _with_progress(iter_batches(path, names), progress, _twice(rows))
        sample, seen = _reservoir(batches, edge_sample)
        if sample is None:
            sample = _empty(path, names)
        like = Profile.from_data(sample, columns=names, kinds=kinds, bins=bins, top_k=top_k)
        if seen <= edge_sample:
            return _described(like, path, "all rows")
        counted = _profile_batches(path, names, like, _offset(progress, seen, _twice(rows)))
        return _described(counted, path, f"a uniform sample of {edge_sample} rows")
    return _described(_profile_batches(path, names, like, _with_total(progress, rows)), path, "the reference")


def compare_files(
    reference: str | Path,
    current: str | Path,
    *,
    method: str = "auto",
    columns: Sequence[str] | None = None,
    sample: int | None = None,
    save_profile_to: str | Path | None = None,
    progress: PhaseProgress | None = None,
) -> DriftResult:
    """Drift of a current data file against a reference file or saved profile.

    - reference is a saved profile: the current file is profiled in batches on its edges (any
      size; ``ks`` / ``wasserstein`` are then approximate);
    - ``auto``, ``ks`` or ``wasserstein``, or a ``sample``: both files (or a uniform sample of
      ``sample`` rows of each) are read into memory and compared exactly;
    - any other method: both files are profiled in batches (any size).

    ``save_profile_to`` writes the reference's profile (of every row, even when sampling).
    """

    def phase(name: str) -> Progress | None:
        return None if progress is None else (lambda done, total: progress(name, done, total))

    if is_profile_file(reference):
        profile = load_profile(reference)
        current_profile = profile_file(current, columns=columns, like=profile, progress=phase("current"))
        result = compare(profile, current_profile, method, columns=columns)
    elif method in _EXACT_METHODS or sample is not None:
        ref_table = read_table(reference, columns=columns, sample=sample, progress=phase("reference"))
        cur_table = read_table(current, columns=columns, sample=sample, progress=phase("current"))
        result = compare(ref_table, cur_table, method, columns=columns)
        if save_profile_to is not None:
            profile = (
                Profile.from_data(ref_table)
                if sample is None
                else profile_file(reference, columns=columns, progress=phase("reference profile"))
            )
    else:
        profile = profile_file(reference, columns=columns, progress=phase("reference"))
        current_profile = profile_file(current, columns=columns, like=profile, progress=phase("current"))
        result = compare(profile, current_profile, method, columns=columns)
    if save_profile_to is not None:
        save_profile(profile, save_profile_to)
    return result


def _profile_batches(
    path: str | Path, names: Sequence[str], like: Profile, progress: Progress | None
) -> Profile:
    total: Profile | None = None
    done = 0
    for batch in iter_batches(path, names):
        part = _from_batch(path, batch, names, like)
        total = part if total is None else total.merge(part)
        done += batch.num_rows
        if progress is not None:
            progress(done, None)
    return total if total is not None else _from_batch(path, _empty(path, names), names, like)


def _from_batch(path: str | Path, batch: pa.Table, names: Sequence[str], like: Profile) -> Profile:
    try:
        return Profile.from_data(batch, columns=names, like=like)
    except ProfileError as exc:
        raise DataFileError(path, str(exc)) from exc
    except ValueError as exc:
        raise DataFileError(path, f"a column's values do not match the reference: {exc}") from exc


def _reservoir(batches: Iterable[pa.Table], size: int) -> tuple[pa.Table | None, int]:
    """Bottom-k sample of ``size`` rows (vectorised per batch), and the number of rows seen."""
    rng = np.random.default_rng(SAMPLE_SEED)
    kept: pa.Table | None = None
    keys = np.empty(0)
    seen = 0
    for batch in batches:
        seen += batch.num_rows
        batch_keys = rng.random(batch.num_rows)
        kept = batch if kept is None else _concat(kept, batch)
        keys = np.concatenate((keys, batch_keys))
        if keys.size > size:
            chosen = np.sort(np.argpartition(keys, size - 1)[:size])
            kept, keys = kept.take(chosen), keys[chosen]
    return kept, seen


def _concat(first: pa.Table, second: pa.Table) -> pa.Table:
    import pyarrow as pa_  # noqa: PLC0415 - optional dependency

    return pa_.concat_tables([first, second], promote_options="permissive")


def _with_progress(
    batches: Iterable[pa.Table], progress: Progress | None, total: int | None
) -> Iterator[pa.Table]:
    done = 0
    for batch in batches:
        yield batch
        done += batch.num_rows
        if progress is not None:
            progress(done, total)


def _with_total(progress: Progress | None, total: int | None) -> Progress | None:
    if progress is None:
        return None
    return lambda done, _: progress(done, total)


def _offset(progress: Progress | None, start: int, total: int | None) -> Progress | None:
    if progress is None:
        return None
    return lambda done, _: progress(start + done, total)


def _twice(rows: int | None) -> int | None:
    return None if rows is None else 2 * rows


def _described(profile: Profile, path: str | Path, edges_from: str) -> Profile:
    metadata = {**profile.metadata, "source": Path(path).name, "edges_from": edges_from}
    return Profile(profile.columns, profile.rows, metadata)


def _empty(path: str | Path, columns: Sequence[str] | None) -> pa.Table:
    pa_ = _pyarrow(path)
    if _format(path) == "parquet":
        import pyarrow.parquet as pq  # noqa: PLC0415 - optional dependency

        with _translated(path):
            schema = pq.ParquetFile(str(path)).schema_arrow
    else:
        with _translated(path):
            schema = _csv_reader(path, columns, pa_).schema
    names = columns if columns is not None else schema.names
    return pa_.table({n: pa_.array([], type=schema.field(n).type) for n in names})


def _check_columns(
    path: str | Path, columns: Sequence[str] | None, available: Sequence[str] | None = None
) -> None:
    if columns is None:
        return
    present = available if available is not None else column_names(path)
    unknown = [c for c in columns if c not in set(present)]
    if unknown:
        raise DataFileError(
            path, f"unknown column(s) {', '.join(unknown)}; the file has: {', '.join(present)}"
        )


def _csv_reader(path: str | Path, columns: Sequence[str] | None, pa_: Any) -> Any:
    from pyarrow import csv  # noqa: PLC0415 - optional dependency

    delimiter = "\t" if str(path).lower().endswith(".tsv") else ","
    return csv.open_csv(
        str(path),
        read_options=csv.ReadOptions(block_size=16 << 20),
        parse_options=csv.ParseOptions(delimiter=delimiter),
        convert_options=csv.ConvertOptions(include_columns=list(columns) if columns is not None else None),
    )


def _format(path: str | Path) -> str:
    name = str(path).lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    raise DataFileError(
        path, "unknown file type; use .parquet, .csv (or .csv.gz, .tsv), or a saved profile .json"
    )


def _pyarrow(path: str | Path) -> Any:
    _format(path)
    if not Path(path).exists():
        raise DataFileError(path, "no such file")
    try:
        import pyarrow as pa_  # noqa: PLC0415 - optional dependency
    except ImportError as exc:
        raise DataFileError(
            path, "reading data files needs pyarrow: pip install 'retrain-sentinel[files]'"
        ) from exc
    return pa_


@contextmanager
def _translated(path: str | Path) -> Iterator[None]:
    """Turn pyarrow's and the OS's errors into ``DataFileError`` naming the file."""
    try:
        yield
    except DataFileError:
        raise
    except (OSError, ValueError, TypeError, KeyError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataFileError(path, f"cannot read: {message}") from error
