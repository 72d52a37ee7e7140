"""Reading Parquet and CSV files for drift: whole, sampled, or chunk by chunk into a profile.

The drift engine (``drift/``) does no I/O; this module is the shell around it for data files.
Files are read in batches (Parquet row groups, CSV blocks), so a profile of a file larger than
memory needs memory for one batch plus the edge sample only.

Profiling a reference needs quantile edges before the counts. When the file has at most
``edge_sample`` rows the edges are exact (one pass); otherwise a first pass draws a uniform
random sample of ``edge_sample`` rows (bottom-k reservoir: every row gets a random key, the k
smallest keys are kept; seeded, so reruns agree), the edges are its quantiles, and a second pass
counts every row on them. ``read_table(sample=N)`` draws its rows the same way.

Reading a file whole (``read_table`` without ``sample``, what the exact methods need) holds at most
``max_bytes`` of decoded data, 1 GiB by default: a compressed CSV or a Parquet file may expand a
thousandfold (6 MB of ``.csv.gz`` can hold 6 GB of rows, 26 GB once decoded), and running out of
memory is no answer (the process peaks at about twice the limit, with the CSV reader's buffers).
Sampling and profiling read batch by batch and need no such bound.

Errors a user can act on (a missing file, an unknown or duplicated column, a column of a type drift
cannot compare, an unreadable file, a file over ``max_bytes``, pyarrow not installed) are raised as
``DataFileError``, naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .drift import DriftResult, Profile, ProfileError, compare
from .drift.columns import Kind, duplicated, is_countable
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
#: Decoded bytes of one file that ``read_table`` holds at most when it reads the file whole.
DEFAULT_MAX_BYTES = 1 << 30
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".tsv")


class DataFileError(Exception):
    """A data file cannot be read as asked; the message names the file and what to do."""

    def __init__(self, path: str | Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = str(path)


class DataTooLargeError(DataFileError):
    """Reading a file whole would hold more than ``limit`` bytes of decoded data."""

    def __init__(self, path: str | Path, limit: int) -> None:
        super().__init__(
            path,
            f"holds more than {format_bytes(limit)} of data once read, the limit for reading a file "
            "whole; compare a sample of it, use a binned method (psi, jensenshannon, …), or raise the limit",
        )
        self.limit = limit


def format_bytes(size: int) -> str:
    """``size`` in the largest binary unit that divides it: ``1 GiB``, ``16 MiB``, ``1500 B``."""
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} B"


def is_profile_file(path: str | Path) -> bool:
    """A saved drift profile (``.json``) rather than data."""
    return str(path).lower().endswith(".json")


def load_profile(path: str | Path, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> Profile:
    """A saved profile; one larger than ``max_bytes`` is refused unread (a profile is kilobytes)."""
    try:
        with Path(path).open("rb") as file:
            text = file.read() if max_bytes is None else file.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise DataFileError(path, "no such file") from exc
    except OSError as exc:
        raise DataFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    if max_bytes is not None and len(text) > max_bytes:
        raise DataTooLargeError(path, max_bytes)
    try:
        return Profile.from_json(text)
    except ProfileError as exc:
        raise DataFileError(path, str(exc)) from exc


def save_profile(profile: Profile, path: str | Path) -> None:
    try:
        Path(path).write_text(profile.to_json(indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise DataFileError(path, f"cannot write the profile: {exc.strerror or exc}") from exc


def column_names(path: str | Path) -> list[str]:
    """The columns a Parquet or CSV file holds (reads the schema, or the CSV header)."""
    return list(_schema(path).names)


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
    _check_schema(path, columns)
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
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> pa.Table:
    """The whole file, or a uniform random sample of ``sample`` rows of it (see the module doc).

    Read whole, the file may hold at most ``max_bytes`` of decoded data (``None``: no limit);
    beyond, ``DataTooLargeError`` — raised as soon as the batches read exceed it.
    """
    if sample is not None and sample < 1:
        raise DataFileError(path, f"the sample must be at least 1 row, got {sample}")
    batches = _with_progress(iter_batches(path, columns), progress, count_rows(path))
    if sample is None:
        pa_ = _pyarrow(path)
        tables = []
        held = 0
        for batch in batches:
            held += batch.nbytes
            if max_bytes is not None and held > max_bytes:
                raise DataTooLargeError(path, max_bytes)
            tables.append(batch)
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
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> DriftResult:
    """Drift of a current data file against a reference file or saved profile.

    - reference is a saved profile: the current file is profiled in batches on its edges (any
      size; ``ks`` / ``wasserstein`` are then approximate);
    - ``auto``, ``ks`` or ``wasserstein``, or a ``sample``: both files (or a uniform sample of
      ``sample`` rows of each) are read into memory and compared exactly;
    - any other method: both files are profiled in batches (any size).

    ``save_profile_to`` writes the reference's profile (of every row, even when sampling).
    ``max_bytes`` bounds each file read whole (see ``read_table``).
    """

    def phase(name: str) -> Progress | None:
        return None if progress is None else (lambda done, total: progress(name, done, total))

    exact = method in _EXACT_METHODS or sample is not None
    if not is_profile_file(reference):  # what would fail later, found before a long read of the other
        _check_schema(reference, columns)
        _check_schema(current, columns if columns is not None or exact else column_names(reference))
    if is_profile_file(reference):
        profile = load_profile(reference, max_bytes=max_bytes)
        current_profile = profile_file(current, columns=columns, like=profile, progress=phase("current"))
        result = compare(profile, current_profile, method, columns=columns)
    elif exact:
        ref_table = read_table(
            reference, columns=columns, sample=sample, progress=phase("reference"), max_bytes=max_bytes
        )
        cur_table = read_table(
            current, columns=columns, sample=sample, progress=phase("current"), max_bytes=max_bytes
        )
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
    schema = _schema(path)
    names = columns if columns is not None else schema.names
    return pa_.table({n: pa_.array([], type=schema.field(n).type) for n in names})


def _schema(path: str | Path) -> pa.Schema:
    """The file's arrow schema: the Parquet footer, or the CSV header and its first block's types."""
    pa_ = _pyarrow(path)
    with _translated(path):
        if _format(path) == "parquet":
            import pyarrow.parquet as pq  # noqa: PLC0415 - optional dependency

            return pq.ParquetFile(str(path)).schema_arrow
        return _csv_reader(path, None, pa_).schema


def _check_schema(path: str | Path, columns: Sequence[str] | None) -> None:
    """Refuse, naming the file and the column, what the drift engine could not read by name or
    compare: an unknown column, a name two columns share, a nested type (struct, list, map)."""
    schema = _schema(path)
    names = list(schema.names)
    wanted = names if columns is None else list(columns)
    _check_columns(path, wanted, names)
    shared = set(duplicated(names))
    ambiguous = [n for n in dict.fromkeys(wanted) if n in shared]
    if ambiguous:
        raise DataFileError(
            path,
            f"duplicate column name(s) {', '.join(map(repr, ambiguous))}: every column needs a name of its "
            "own (or list the columns to compare, leaving these out)",
        )
    types = dict(zip(names, schema.types, strict=True))
    for name in wanted:
        if not is_countable(types[name]):
            raise DataFileError(
                path,
                f"column {name!r} holds {_brief_type(types[name])} values, which drift cannot compare "
                "(list the columns to compare, leaving it out)",
            )


def _brief_type(arrow_type: Any) -> str:
    text = str(arrow_type)
    return text if len(text) <= 80 else text[:77] + "…"


def _check_columns(
    path: str | Path, columns: Sequence[str] | None, available: Sequence[str] | None = None
) -> None:
    if columns is None:
        return
    present = available if available is not None else column_names(path)
    known = set(present)
    unknown = [c for c in columns if c not in known]
    if unknown:
        shown = ", ".join(present[:20]) + (f", … ({len(present)} in all)" if len(present) > 20 else "")
        raise DataFileError(path, f"unknown column(s) {', '.join(unknown[:20])}; the file has: {shown}")


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
