"""Wide-file benchmark: `retrain-sentinel drift` on files with many columns and very few rows, where
any per-column cost that grows with the number of columns (a name lookup that scans the schema, a
set rebuilt per column, a table cell laid out against every other) shows up as quadratic time.
Not a test (pytest does not collect this file).

    .venv/bin/python tests/benchmarks/wide_bench.py [--columns 1000 5000 20000] [--timeout 240]

Data: a reference and a current CSV of N numeric columns × 2 rows (seeded), written once per N in a
temporary directory. Each measurement is one fresh process of the console script installed beside
this interpreter — the default table output (``auto``), ``--format json``, and ``--method psi``
(profiles read in batches) — and its figure is the wall time from spawn to exit and the process's
peak RSS (``ru_maxrss`` of the child). A run over ``--timeout`` seconds is killed and shown as such.
Linear scaling shows as a per-column time (last column) that stays flat as N grows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).with_name("retrain-sentinel")
RUNS: dict[str, list[str]] = {
    "table (auto)": [],
    "json (auto)": ["--format", "json"],
    "table, --method psi": ["--method", "psi"],
}


def write_csv(path: Path, columns: int, seed: int) -> Path:
    """N float columns × 2 rows, without pyarrow's writer (plain text is what users hand us)."""
    import numpy as np

    values = np.random.default_rng(seed).normal(0.0, 1.0, (2, columns))
    lines = [",".join(f"c{i}" for i in range(columns))]
    lines += [",".join(f"{v:.6f}" for v in row) for row in values]
    path.write_text("\n".join(lines) + "\n")
    return path


def measure(args: list[str], timeout: float) -> tuple[float | None, float]:
    """Wall seconds (``None`` when killed at ``timeout``) and the child's peak RSS in MiB."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
        deadline = started + timeout
        while True:  # os.wait4 gives this child's own rusage (its peak RSS), unlike RUSAGE_CHILDREN
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                elapsed: float | None = time.perf_counter() - started
                break
            if time.perf_counter() > deadline:
                child.kill()
                _, status, usage = os.wait4(child.pid, 0)
                elapsed = None
                break
            time.sleep(0.01)
        child.returncode = os.waitstatus_to_exitcode(status)
        if elapsed is not None and child.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(args)} exited {child.returncode}: {err.read().decode()[-500:]}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, nargs="*", default=[1000, 5000, 20000])
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds before a run is killed")
    parser.add_argument("--only", nargs="*", choices=list(RUNS), help="run only these measurements")
    options = parser.parse_args()
    chosen = options.only or list(RUNS)
    print(f"{'columns':>8}  {'run':<22} {'wall s':>8} {'peak MiB':>9} {'ms/column':>10}")
    with tempfile.TemporaryDirectory(prefix="wide-bench-") as tmp:
        for columns in options.columns:
            reference = write_csv(Path(tmp) / f"ref-{columns}.csv", columns, 1)
            current = write_csv(Path(tmp) / f"cur-{columns}.csv", columns, 2)
            for name in chosen:
                args = [str(BIN), "drift", str(reference), str(current), *RUNS[name]]
                elapsed, peak = measure(args, options.timeout)
                wall = f"{elapsed:8.2f}" if elapsed is not None else f">{options.timeout:7.0f}"
                per = f"{1000 * elapsed / columns:10.3f}" if elapsed is not None else f"{'killed':>10}"
                print(f"{columns:>8}  {name:<22} {wall} {peak:9.0f} {per}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
