"""Reading data files for drift: whole, sampled, and chunk by chunk into a profile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrain_sentinel import datafiles
from retrain_sentinel.datafiles import DataFileError
from retrain_sentinel.drift import NumericProfile, Profile, compare

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pacsv = pytest.importorskip("pyarrow.csv")


def same(a: dict[str, object], b: dict[str, object]) -> bool:
    """Equal profiles: numbers within 1e-9 (a CSV round trip may change the last bits)."""
    assert a.keys() == b.keys()
    for key, value in a.items():
        numbers = isinstance(value, float) or (
            isinstance(value, list) and all(isinstance(v, float) for v in value)
        )
        if numbers:
            assert value == pytest.approx(b[key], rel=1e-9)
        else:
            assert value == b[key]
    return True


def frame(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[::17] = np.nan
    return {"x": x, "c": rng.choice(np.array(["a", "b", "c"], dtype=object), n), "k": rng.integers(0, 100, n)}


@pytest.fixture(params=["parquet", "csv"])
def write(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    def writer(data: dict[str, np.ndarray], name: str = "data") -> Path:
        table = pa.table(data)
        path = tmp_path / f"{name}.{request.param}"
        if request.param == "parquet":
            pq.write_table(table, path, row_group_size=1000)
        else:
            pacsv.write_csv(table, path)
        return path

    return writer


def test_a_small_file_is_profiled_exactly_as_its_table(write) -> None:  # type: ignore[no-untyped-def]
    data = frame(3000)
    path = write(data)
    from_file, from_memory = datafiles.profile_file(path), Profile.from_data(data)
    assert list(from_file.columns) == list(from_memory.columns)
    for name in data:
        assert same(from_file[name].to_dict(), from_memory[name].to_dict())
    assert from_file.metadata["edges_from"] == "all rows"


def test_a_large_file_is_counted_in_full_on_edges_from_a_sample(write) -> None:  # type: ignore[no-untyped-def]
    data = frame(5000)
    path = write(data)
    profile = datafiles.profile_file(path, edge_sample=500)
    column = profile["x"]
    assert isinstance(column, NumericProfile)
    assert column.count + column.missing == 5000 and profile.rows == 5000
    finite = data["x"][np.isfinite(data["x"])]
    assert column.mean == pytest.approx(finite.mean()) and column.variance == pytest.approx(finite.var())
    assert np.abs(column.counts[1:-1] / column.count - 0.1).max() < 0.05  # sample quantiles: near deciles
    assert profile.metadata["edges_from"] == "a uniform sample of 500 rows"


def test_current_data_is_profiled_on_the_reference_edges(write) -> None:  # type: ignore[no-untyped-def]
    reference = Profile.from_data(frame(2000))
    current = frame(4000, seed=1)
    profile = datafiles.profile_file(write(current, "current"), like=reference)
    in_memory = Profile.from_data(current, like=reference)
    assert same(profile["x"].to_dict(), in_memory["x"].to_dict())
    from_file, from_memory = compare(reference, profile), compare(reference, current)
    assert [f.score for f in from_file.features] == pytest.approx([f.score for f in from_memory.features])


def test_progress_is_reported_per_batch(write) -> None:  # type: ignore[no-untyped-def]
    path = write(frame(5000))
    seen: list[int] = []
    datafiles.profile_file(
        path, like=Profile.from_data(frame(100)), progress=lambda done, total: seen.append(done)
    )
    assert seen == sorted(seen) and seen[-1] == 5000


def test_read_table_reads_all_rows_or_a_seeded_uniform_sample(write) -> None:  # type: ignore[no-untyped-def]
    data = frame(3000)
    path = write(data)
    assert datafiles.read_table(path).num_rows == 3000
    sample = datafiles.read_table(path, sample=400, columns=["k"])
    assert sample.num_rows == 400 and sample.column_names == ["k"]
    assert sample.equals(datafiles.read_table(path, sample=400, columns=["k"]))
    assert set(sample.column("k").to_pylist()) <= set(data["k"].tolist())


def test_an_unknown_column_names_the_ones_there_are(write) -> None:  # type: ignore[no-untyped-def]
    path = write(frame(10))
    with pytest.raises(DataFileError, match=r"unknown column\(s\) nope; the file has: x, c, k"):
        datafiles.profile_file(path, columns=["nope"])


def test_a_missing_file_is_a_data_file_error(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such file"):
        datafiles.read_table(tmp_path / "absent.parquet")


def test_an_unknown_file_type_is_a_data_file_error(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"")
    with pytest.raises(DataFileError, match="unknown file type"):
        datafiles.read_table(path)


def test_a_corrupt_parquet_file_is_a_data_file_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(DataFileError, match=r"broken\.parquet: cannot read"):
        datafiles.read_table(path)


def test_profiles_are_saved_and_loaded(tmp_path: Path) -> None:
    profile = Profile.from_data(frame(100))
    path = tmp_path / "reference.json"
    datafiles.save_profile(profile, path)
    assert datafiles.is_profile_file(path)
    assert datafiles.load_profile(path).to_dict() == profile.to_dict()


def test_a_bad_profile_file_is_a_data_file_error(tmp_path: Path) -> None:
    path = tmp_path / "reference.json"
    path.write_text('{"format_version": 99}')
    with pytest.raises(DataFileError, match="newer than this version"):
        datafiles.load_profile(path)


def test_an_empty_file_gives_undecided_features(write) -> None:  # type: ignore[no-untyped-def]
    reference = write(frame(200), "reference")
    empty = write({k: v[:0] for k, v in frame(10).items()}, "empty")
    profile = datafiles.profile_file(empty, like=datafiles.profile_file(reference))
    assert profile.rows == 0
    assert all(f.undecided for f in compare(datafiles.profile_file(reference), profile).features)


def test_read_table_refuses_a_file_over_max_bytes_naming_it_and_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"x": np.arange(300_000.0)}), path, row_group_size=50_000)

    with pytest.raises(datafiles.DataTooLargeError, match=r"big\.parquet: holds more than 1 MiB") as raised:
        datafiles.read_table(path, max_bytes=1 << 20)
    assert raised.value.limit == 1 << 20
    assert datafiles.read_table(path, max_bytes=None).num_rows == 300_000
    assert datafiles.read_table(path, max_bytes=1 << 20, sample=1000).num_rows == 1000


def test_a_profile_file_over_max_bytes_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "reference.json"
    datafiles.save_profile(Profile.from_data(frame(100)), path)

    with pytest.raises(datafiles.DataTooLargeError, match=r"reference\.json: holds more than 100 B"):
        datafiles.load_profile(path, max_bytes=100)


@pytest.mark.parametrize(("size", "shown"), [(1 << 30, "1 GiB"), (16 << 20, "16 MiB"), (1536, "1536 B")])
def test_sizes_are_shown_in_the_largest_unit_that_divides_them(size: int, shown: str) -> None:
    assert datafiles.format_bytes(size) == shown


def test_duplicate_column_names_are_a_data_file_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,a,b\n1,2,3\n4,5,6\n")

    with pytest.raises(DataFileError, match=r"dup\.csv: duplicate column name\(s\) 'a'"):
        datafiles.read_table(path)
    with pytest.raises(DataFileError, match=r"dup\.csv: duplicate column name\(s\) 'a'"):
        datafiles.profile_file(path)
    assert datafiles.read_table(path, columns=["b"]).column_names == ["b"]


def test_a_nested_parquet_column_is_a_data_file_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0], "m": pa.array([[("k", 1)], [("k", 2)]], pa.map_(pa.string(), pa.int64()))}), path)

    with pytest.raises(DataFileError, match=r"nested\.parquet: column 'm' holds map<string, int64"):
        datafiles.read_table(path)
    assert datafiles.read_table(path, columns=["x"]).num_rows == 2
