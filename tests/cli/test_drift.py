"""`retrain-sentinel drift REFERENCE CURRENT`: per-feature drift and the dataset verdict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrain_sentinel.cli import main

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def write(path: Path, n: int, shift: float, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    table = pa.table(
        {
            "amount": rng.normal(shift, 1.0, n),
            "age": rng.normal(40, 10, n),
            "country": rng.choice(["de", "fr", "it"], n, p=[0.5 - shift / 4, 0.3, 0.2 + shift / 4]),
        }
    )
    if path.suffix == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write(tmp_path / "reference.parquet", 3000, 0.0, 1), write(tmp_path / "current.csv", 2000, 1.0, 2)


def test_json_output_is_parseable_and_holds_the_verdict(files: tuple[Path, Path], capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["drift", str(files[0]), str(files[1]), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["dataset_drifted"] is True
    assert {f["feature"]: f["drifted"] for f in out["features"]} == {
        "amount": True,
        "age": False,
        "country": True,
    }
    assert out["metrics"]["js_divergence"] == out["js_divergence"]


def test_table_is_sorted_by_score_and_states_the_dataset_verdict(files: tuple[Path, Path], capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["drift", str(files[0]), str(files[1]), "--method", "psi"]) == 0
    out = capsys.readouterr().out
    rows = [line.split("│") for line in out.splitlines() if "psi" in line]
    assert [cells[1].strip() for cells in rows] == ["amount", "country", "age"]
    assert [cells[-2].strip() for cells in rows] == ["DRIFT", "DRIFT", "-"]
    assert "Dataset: DRIFT — 2 of 3 features drifted" in out


def test_columns_limit_the_features(files: tuple[Path, Path], capsys) -> None:  # type: ignore[no-untyped-def]
    main(["drift", str(files[0]), str(files[1]), "--columns", "age,country", "--format", "json"])
    assert [f["feature"] for f in json.loads(capsys.readouterr().out)["features"]] == ["age", "country"]


def test_a_saved_profile_is_a_reference(files: tuple[Path, Path], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    profile = tmp_path / "reference.json"
    assert (
        main(["drift", str(files[0]), str(files[1]), "--save-profile", str(profile), "--format", "json"]) == 0
    )
    capsys.readouterr()
    assert main(["drift", str(profile), str(files[1]), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {f["method"] for f in out["features"]} == {"jensenshannon"}
    assert out["dataset_drifted"] is True


def test_sample_compares_that_many_rows(files: tuple[Path, Path], capsys) -> None:  # type: ignore[no-untyped-def]
    main(["drift", str(files[0]), str(files[1]), "--sample", "500", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert {(f["reference_size"], f["current_size"]) for f in out["features"]} == {(500, 500)}
    assert out["features"][0]["method"] == "ks"  # 500 reference values: the small-sample test


def test_a_missing_file_is_one_line_on_stderr_and_exit_2(
    tmp_path: Path, files: tuple[Path, Path], capsys
) -> None:  # type: ignore[no-untyped-def]
    code = main(["drift", str(tmp_path / "absent.parquet"), str(files[1])])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.strip().count("\n") == 0 and "absent.parquet: no such file" in captured.err


def test_an_unknown_column_exits_2(files: tuple[Path, Path], capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["drift", str(files[0]), str(files[1]), "--columns", "nope"]) == 2
    assert "unknown column(s) nope" in capsys.readouterr().err


def test_an_unknown_method_exits_2(files: tuple[Path, Path], capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["drift", str(files[0]), str(files[1]), "--method", "magic"]) == 2
    assert "unknown drift method 'magic'" in capsys.readouterr().err
