"""``kind: files``: drift computed from real Parquet/CSV files in a window."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from pydantic import TypeAdapter

from retrain_sentinel.datafiles import profile_file, save_profile
from retrain_sentinel.errors import SourceError
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.sources import Source, SourceSettings, WatchQuery, build_source

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def write(path: Path, rows: int, shift: float, *, seed: int, at: datetime = NOW - timedelta(hours=1)) -> None:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({"x": rng.normal(shift, 1.0, rows), "c": rng.choice(["a", "b", "c"], rows)})
    if path.suffix == ".csv":
        pa_csv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    os.utime(path, (at.timestamp(), at.timestamp()))


def files_source(tmp_path: Path, **extra: Any) -> Source:
    settings: Any = TypeAdapter(SourceSettings).validate_python(
        {
            "kind": "files",
            "reference": "{model}/reference.parquet",
            "current": "{model}/daily/*.parquet",
            "window": "1d",
            "base_dir": str(tmp_path),
            **extra,
        }
    )
    return build_source("shop-data", settings)


def snapshot_of(source: Source, model: str = "shop") -> Snapshot:
    result = source.read([WatchQuery(model, model)], NOW)[model]
    assert isinstance(result, Snapshot), result
    return result


def test_drift_and_counts_from_the_files_in_the_window(tmp_path: Path) -> None:
    write(tmp_path / "shop/reference.parquet", 4000, 0.0, seed=1)
    write(tmp_path / "shop/daily/2024-06-01.parquet", 1500, 1.5, seed=2)
    write(tmp_path / "shop/daily/2024-05-31b.parquet", 500, 1.5, seed=3, at=NOW - timedelta(hours=20))
    write(tmp_path / "shop/daily/2024-05-20.parquet", 999, 0.0, seed=4, at=NOW - timedelta(days=12))
    snapshot = snapshot_of(files_source(tmp_path))
    assert snapshot.drift_metrics is not None and snapshot.drift_metrics["js_divergence"] > 0.3
    assert (snapshot.new_count, snapshot.baseline_count) == (2000, 4000)
    assert snapshot.window_count == 2000  # the rows behind the drift scores, for min_samples
    assert snapshot.observed_at == NOW - timedelta(hours=1)
    assert snapshot.provenance.drift_source == "shop-data"
    assert snapshot.provenance.data_window == f"{(NOW - timedelta(days=1)).isoformat()}/{NOW.isoformat()}"


def test_the_same_distribution_shows_little_drift(tmp_path: Path) -> None:
    write(tmp_path / "shop/reference.parquet", 4000, 0.0, seed=1)
    write(tmp_path / "shop/daily/today.parquet", 4000, 0.0, seed=2)
    snapshot = snapshot_of(files_source(tmp_path))
    assert snapshot.drift_metrics is not None and snapshot.drift_metrics["js_divergence"] < 0.1


def test_the_window_can_follow_the_date_in_the_path(tmp_path: Path) -> None:
    write(tmp_path / "shop/reference.parquet", 1000, 0.0, seed=1)
    old_mtime = NOW - timedelta(days=30)  # modification times must not matter here
    write(tmp_path / "shop/daily/2024-06-01.parquet", 100, 0.0, seed=2, at=old_mtime)
    write(tmp_path / "shop/daily/20240531.parquet", 200, 0.0, seed=3, at=old_mtime)
    write(tmp_path / "shop/daily/2024-05-29.parquet", 400, 0.0, seed=4, at=NOW)
    snapshot = snapshot_of(files_source(tmp_path, window_by="path_date"))
    assert snapshot.new_count == 300


def test_a_saved_profile_can_be_the_reference(tmp_path: Path) -> None:
    write(tmp_path / "data.parquet", 4000, 0.0, seed=1)
    save_profile(profile_file(tmp_path / "data.parquet"), tmp_path / "shop-reference.json")
    write(tmp_path / "shop/daily/a.parquet", 2000, 1.5, seed=2)
    snapshot = snapshot_of(files_source(tmp_path, reference="{model}-reference.json"))
    assert snapshot.drift_metrics is not None and snapshot.drift_metrics["js_divergence"] > 0.3
    assert (snapshot.new_count, snapshot.baseline_count) == (2000, 4000)


def test_csv_files_and_a_profile_method(tmp_path: Path) -> None:
    write(tmp_path / "shop/reference.csv", 3000, 0.0, seed=1)
    write(tmp_path / "shop/daily/a.csv", 1000, 2.0, seed=2)
    source = files_source(
        tmp_path, reference="{model}/reference.csv", current="{model}/daily/*.csv", method="psi"
    )
    snapshot = snapshot_of(source)
    assert snapshot.drift_metrics is not None and snapshot.drift_metrics["x/psi"] > 0.5
    assert snapshot.new_count == 1000


def test_no_files_in_the_window_means_no_new_rows_and_no_drift(tmp_path: Path) -> None:
    write(tmp_path / "shop/reference.parquet", 1000, 0.0, seed=1)
    snapshot = snapshot_of(files_source(tmp_path))
    assert (snapshot.new_count, snapshot.drift_metrics) == (0, None)


def test_a_missing_reference_fails_only_that_model(tmp_path: Path) -> None:
    write(tmp_path / "shop/reference.parquet", 1000, 0.0, seed=1)
    write(tmp_path / "shop/daily/a.parquet", 100, 0.0, seed=2)
    results = files_source(tmp_path).read([WatchQuery("shop", "shop"), WatchQuery("gone", "gone")], NOW)
    assert isinstance(results["shop"], Snapshot)
    assert isinstance(results["gone"], SourceError)
    assert "reference" in results["gone"].cause and "does not exist" in results["gone"].cause


def test_an_unknown_column_is_a_clear_error(tmp_path: Path) -> None:
    write(tmp_path / "shop/reference.parquet", 1000, 0.0, seed=1)
    write(tmp_path / "shop/daily/a.parquet", 100, 0.0, seed=2)
    result = files_source(tmp_path, columns=["x", "nope"]).read([WatchQuery("shop", "shop")], NOW)["shop"]
    assert isinstance(result, SourceError) and "nope" in result.cause


def test_check_wants_the_folders_to_exist(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    files_source(tmp_path, reference="data/{model}.parquet", current="data/{model}-*.parquet").check()
    with pytest.raises(SourceError, match="does not exist"):
        files_source(tmp_path, reference="missing/{model}.parquet").check()


def test_current_files_whose_numbers_were_read_as_integers_one_day_still_combine(tmp_path: Path) -> None:
    # A CSV day whose values happen to be whole numbers is read as int64, the others as double.
    write(tmp_path / "shop/reference.csv", 1000, 0.0, seed=1)
    write(tmp_path / "shop/daily/a.csv", 300, 2.0, seed=2)
    whole = pa.table({"x": pa.array([2, 3, 2, 1] * 50, pa.int64()), "c": ["a", "b", "c", "a"] * 50})
    pa_csv.write_csv(whole, tmp_path / "shop/daily/b.csv")
    at = (NOW - timedelta(hours=2)).timestamp()
    os.utime(tmp_path / "shop/daily/b.csv", (at, at))
    source = files_source(tmp_path, reference="{model}/reference.csv", current="{model}/daily/*.csv")
    snapshot = snapshot_of(source)
    assert snapshot.new_count == 500
    assert snapshot.drift_metrics is not None and snapshot.drift_metrics["js_divergence"] > 0.3


def test_current_files_that_cannot_be_combined_fail_only_that_model(tmp_path: Path) -> None:
    for model in ("shop", "bad"):
        write(tmp_path / f"{model}/reference.csv", 500, 0.0, seed=1)
        write(tmp_path / f"{model}/daily/a.csv", 100, 0.0, seed=2)
    texty = pa.table({"x": ["oops"] * 10, "c": ["a"] * 10})
    pa_csv.write_csv(texty, tmp_path / "bad/daily/b.csv")
    at = (NOW - timedelta(hours=2)).timestamp()
    os.utime(tmp_path / "bad/daily/b.csv", (at, at))
    source = files_source(tmp_path, reference="{model}/reference.csv", current="{model}/daily/*.csv")
    results = source.read([WatchQuery("bad", "bad"), WatchQuery("shop", "shop")], NOW)
    assert isinstance(results["shop"], Snapshot)
    assert isinstance(results["bad"], SourceError) and "schema" in results["bad"].cause


def test_a_reference_nobody_foresaw_fails_only_that_model(tmp_path: Path) -> None:
    # A "profile" nested deeper than the recursion limit: whatever the loader makes of it, the
    # other model of the source still reads.
    write(tmp_path / "good/reference.parquet", 500, 0.0, seed=1)
    save_profile(profile_file(tmp_path / "good/reference.parquet"), tmp_path / "good/reference.json")
    write(tmp_path / "good/daily/2024-06-01.parquet", 500, 0.0, seed=2)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad/reference.json").write_text("[" * 100_000 + "]" * 100_000)
    source = files_source(tmp_path, reference="{model}/reference.json")
    results = source.read([WatchQuery("bad", "bad"), WatchQuery("good", "good")], NOW)
    assert isinstance(results["good"], Snapshot), results["good"]
    assert isinstance(results["bad"], SourceError)
