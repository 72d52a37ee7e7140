"""`retrain-sentinel drift` as a table in a narrow terminal: numbers are shown whole or not at all —
a p-value cut to ``3.51e-1…`` reads as 0.351."""

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
    labels = rng.choice(["de", "fr", "us"], n, p=[0.4 + shift / 4, 0.3, 0.3 - shift / 4])
    pq.write_table(pa.table({"amount": rng.normal(shift, 1.0, n), "a_long_category_name": labels}), path)
    return path


def test_table_numbers_are_never_cut_in_a_narrow_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    reference, current = write(tmp_path / "ref.parquet", 3000, 0.0, 1), write(tmp_path / "cur.parquet", 3000, 0.8, 2)
    assert main(["drift", str(reference), str(current), "--method", "ks", "--format", "json"]) == 0
    p_values = {f["feature"]: f["p_value"] for f in json.loads(capsys.readouterr().out)["features"]}

    assert main(["drift", str(reference), str(current), "--method", "ks"]) == 0
    out = capsys.readouterr().out

    assert "…" not in out
    (row,) = [line.split("│") for line in out.splitlines() if line.startswith("│ amount")]
    assert float(row[5]) == pytest.approx(p_values["amount"], rel=1e-2)
