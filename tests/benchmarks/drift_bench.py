"""Drift engine benchmark: this engine against per-column scipy, the read floor, bare binning and
Evidently's DataDriftPreset, side by side. Not a test (pytest does not collect this file).

    .venv/bin/python tests/benchmarks/drift_bench.py --rows 1000000

Data: N rows × 20 numeric + 5 categorical (string) columns, a reference and a shifted current
frame, generated identically (seeded) in each measurement's own subprocess. Every measurement
runs in a fresh subprocess; its time is the wall time of the measured call, its memory the RSS
high-water mark of that subprocess. The high-water mark is reset (``/proc/self/clear_refs``) once
the frames are built, so "peak" is the RSS the measured call reached with the input resident —
compared with the bytes of both frames; the subprocess's overall ``ru_maxrss`` (including
building the frames) is shown too.

Evidently runs from its own virtualenv, created on first use under
``~/.cache/retrain-sentinel/evidently-venv`` (``evidently==0.7.23`` needs ``pandas<3``); if it
cannot be installed the other rows are still printed. It is never a dependency of the project.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
EVIDENTLY_VENV = Path.home() / ".cache" / "retrain-sentinel" / "evidently-venv"
EVIDENTLY_REQUIREMENTS = ["evidently==0.7.23", "pandas<3"]
NUMERIC, CATEGORICAL = 20, 5
CATEGORIES = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]

MEASUREMENTS: dict[str, str] = {
    "engine_auto": "this engine, auto (data vs data)",
    "engine_psi_profile": "this engine, psi vs stored profile",
    "engine_js_profile": "this engine, jensenshannon vs stored profile",
    "engine_psi_profile_numeric": "  the same, psi, numeric columns only",
    "scipy_per_column": "per-column scipy, same methods as auto",
    "read_floor": "read floor: np.add.reduce per column",
    "bare_binning": "bare binning: np.histogram per column",
    "evidently": "Evidently 0.7.23 DataDriftPreset",
}


# ---------------------------------------------------------------- data (runs in each child)
def make_frame(rows: int, seed: int, shift: float) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for i in range(NUMERIC):
        # A third of the columns shift in location, a third in scale, a third not at all.
        loc = shift if i % 3 == 0 else 0.0
        scale = 1.0 + (shift if i % 3 == 1 else 0.0)
        columns[f"num_{i}"] = rng.normal(loc, scale, rows)
    labels = np.array(CATEGORIES, dtype=object)
    for i in range(CATEGORICAL):
        p = np.full(len(CATEGORIES), 1 / len(CATEGORIES))
        if shift and i % 2 == 0:
            p = np.linspace(1, 3, len(CATEGORIES))
            p /= p.sum()
        columns[f"cat_{i}"] = labels[rng.choice(len(CATEGORIES), rows, p=p)]
    frame = pd.DataFrame(columns)
    del columns
    return frame


def reference_frame(rows: int) -> Any:
    return make_frame(rows, seed=1, shift=0.0)


def current_frame(rows: int) -> Any:
    return make_frame(rows, seed=2, shift=0.25)


def frame_bytes(*frames: Any) -> int:
    return int(sum(f.memory_usage(deep=True, index=False).sum() for f in frames))


# ---------------------------------------------------------------- measurements (children)
def reset_peak() -> None:
    with contextlib.suppress(OSError):  # not Linux: the peak then includes building the frames
        Path("/proc/self/clear_refs").write_text("5")


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(name: str, rows: int, profile_path: str, out: str) -> None:
    import gc

    prepare, needs = CHILDREN[name]
    frames = [
        reference_frame(rows) if "ref" in needs else None,
        current_frame(rows) if "cur" in needs else None,
    ]
    measured = prepare(profile_path)  # imports and loading a stored profile are not timed
    gc.collect()
    loaded = frame_bytes(*[f for f in frames if f is not None])
    reset_peak()
    base = rss_kib("VmRSS")
    started = time.perf_counter()
    note = measured(frames[0], frames[1])
    seconds = time.perf_counter() - started
    Path(out).write_text(
        json.dumps(
            {
                "seconds": seconds,
                "peak_kib": rss_kib("VmHWM"),
                "base_kib": base,
                "input_bytes": loaded,
                "note": note,
            }
        )
    )


Measured = Callable[[Any, Any], str]


def engine_auto(_: str) -> Measured:
    from retrain_sentinel.drift import compare

    def run(ref: Any, cur: Any) -> str:
        return f"share drifted {compare(ref, cur).share_drifted:.2f}"

    return run


def engine_against_profile(method: str, numeric_only: bool = False) -> Callable[[str], Measured]:
    def prepare(profile_path: str) -> Measured:
        from retrain_sentinel.drift import Profile, compare

        profile = Profile.from_json(Path(profile_path).read_bytes())
        columns = [f"num_{i}" for i in range(NUMERIC)] if numeric_only else None

        def run(_: Any, cur: Any) -> str:
            result = compare(profile, cur, method=method, columns=columns)
            return f"share drifted {result.share_drifted:.2f}"

        return run

    return prepare


def make_profile(profile_path: str) -> Measured:
    from retrain_sentinel.drift import Profile

    def run(ref: Any, _: Any) -> str:
        Path(profile_path).write_text(Profile.from_data(ref).to_json())
        return "profile written"

    return run


def scipy_per_column(_: str) -> Measured:
    """What a careful user writes: per column, drop nulls, call scipy (wasserstein / JS as auto does)."""
    import numpy as np
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    def run(ref: Any, cur: Any) -> str:
        drifted = 0
        for name in ref.columns:
            r, c = ref[name].dropna(), cur[name].dropna()
            if name.startswith("num_"):
                r_values, c_values = r.to_numpy(), c.to_numpy()
                score = stats.wasserstein_distance(r_values, c_values) / max(np.std(r_values), 0.001)
            else:
                r_counts, c_counts = r.value_counts(), c.value_counts()
                keys = r_counts.index.union(c_counts.index)
                p = r_counts.reindex(keys, fill_value=0).to_numpy()
                q = c_counts.reindex(keys, fill_value=0).to_numpy()
                score = jensenshannon(p, q)
            drifted += bool(score >= 0.1)
        return f"share drifted {drifted / len(ref.columns):.2f}"

    return run


def read_floor(_: str) -> Measured:
    import numpy as np

    def run(ref: Any, cur: Any) -> str:
        for frame in (ref, cur):
            for name in frame.columns[:NUMERIC]:
                np.add.reduce(frame[name].to_numpy())
        return "numeric columns of both frames"

    return run


def bare_binning(profile_path: str) -> Measured:
    import numpy as np

    stored = json.loads(Path(profile_path).read_text())["columns"]
    edges = {
        name: np.concatenate(([-np.inf], np.asarray(column["edges"], dtype=float), [np.inf]))
        for name, column in stored.items()
        if column["kind"] == "numeric"
    }

    def run(_: Any, cur: Any) -> str:
        for name in cur.columns[:NUMERIC]:
            np.histogram(cur[name].to_numpy(), bins=edges[name])
        return "numeric columns of current on stored edges"

    return run


def evidently(_: str) -> Measured:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    def run(ref: Any, cur: Any) -> str:
        snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
        snapshot.dict()  # make sure every metric was computed
        return "DataDriftPreset()"

    return run


CHILDREN: dict[str, tuple[Callable[[str], Measured], tuple[str, ...]]] = {
    "make_profile": (make_profile, ("ref",)),
    "engine_auto": (engine_auto, ("ref", "cur")),
    "engine_psi_profile": (engine_against_profile("psi"), ("cur",)),
    "engine_js_profile": (engine_against_profile("jensenshannon"), ("cur",)),
    "engine_psi_profile_numeric": (engine_against_profile("psi", numeric_only=True), ("cur",)),
    "scipy_per_column": (scipy_per_column, ("ref", "cur")),
    "read_floor": (read_floor, ("ref", "cur")),
    "bare_binning": (bare_binning, ("cur",)),
    "evidently": (evidently, ("ref", "cur")),
}


# ---------------------------------------------------------------- parent
def spawn(python: str, name: str, rows: int, profile_path: str, workdir: Path) -> dict[str, Any]:
    out = workdir / f"{name}.json"
    env = {**os.environ, "PYTHONPATH": str(REPO / "daemon")}
    command = [
        python,
        str(HERE),
        "--child",
        name,
        "--rows",
        str(rows),
        "--profile",
        profile_path,
        "--out",
        str(out),
    ]
    process = subprocess.Popen(command, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0 or not out.exists():
        return {"error": f"exit code {process.returncode}"}
    result: dict[str, Any] = json.loads(out.read_text())
    result["maxrss_kib"] = usage.ru_maxrss  # Linux: KiB
    return result


def evidently_python() -> tuple[str | None, str]:
    python = EVIDENTLY_VENV / "bin" / "python"
    check = [str(python), "-c", "import evidently, pandas; print(evidently.__version__, pandas.__version__)"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return str(python), "ready"
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True)
        print(f"installing {' '.join(EVIDENTLY_REQUIREMENTS)} into {EVIDENTLY_VENV} …", file=sys.stderr)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *EVIDENTLY_REQUIREMENTS], check=True)
        subprocess.run(check, check=True, capture_output=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        return None, f"could not install Evidently ({exc}); its row is left out"
    return str(python), "installed"


def mib(kib: float) -> str:
    return f"{kib / 1024:,.0f}"


def report(rows: int, results: dict[str, dict[str, Any]], notes: list[str]) -> None:
    print(f"\nDrift benchmark: N = {rows:,} rows × {NUMERIC} numeric + {CATEGORICAL} categorical columns, ")
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}\n"
    )
    header = f"{'measurement':<46}{'seconds':>9}{'peak MiB':>10}{'input MiB':>10}{'peak/input':>11}{'maxrss MiB':>11}{'extra MiB':>10}"
    print(header)
    print("-" * len(header))
    for name, label in MEASUREMENTS.items():
        r = results.get(name)
        if r is None:
            continue
        if "error" in r:
            print(f"{label:<46}{r['error']:>30}")
            continue
        ratio = r["peak_kib"] * 1024 / r["input_bytes"] if r["input_bytes"] else float("nan")
        print(
            f"{label:<46}{r['seconds']:>9.2f}{mib(r['peak_kib']):>10}{mib(r['input_bytes'] / 1024):>10}"
            f"{ratio:>11.2f}{mib(r['maxrss_kib']):>11}{mib(r['peak_kib'] - r['base_kib']):>10}"
        )
    ok = {k: v for k, v in results.items() if "seconds" in v}
    print()
    if "engine_auto" in ok:
        auto = ok["engine_auto"]["seconds"]
        for other, goal in (("evidently", 20), ("scipy_per_column", 5)):
            if other in ok:
                speedup = ok[other]["seconds"] / auto
                verdict = "met" if speedup >= goal else "MISSED"
                print(f"auto vs {MEASUREMENTS[other]}: {speedup:.1f}× faster (goal ≥ {goal}×: {verdict})")
        ratio = ok["engine_auto"]["peak_kib"] * 1024 / ok["engine_auto"]["input_bytes"]
        print(f"auto peak RSS / input bytes: {ratio:.2f} (goal ≤ 2: {'met' if ratio <= 2 else 'MISSED'})")
    if "bare_binning" in ok:
        if "engine_psi_profile_numeric" in ok:  # the same work as bare binning: the numeric columns
            ratio = ok["engine_psi_profile_numeric"]["seconds"] / ok["bare_binning"]["seconds"]
            verdict = "met" if ratio <= 1.5 else "MISSED"
            print(
                f"psi vs stored profile (numeric columns) / bare binning: {ratio:.2f}× (goal ≤ 1.5×: {verdict})"
            )
        for name in ("engine_psi_profile", "engine_js_profile"):
            if name in ok:  # all 25 columns: also counts the 5 string columns, which bare binning skips
                ratio = ok[name]["seconds"] / ok["bare_binning"]["seconds"]
                print(f"{MEASUREMENTS[name]} (25 columns) / bare binning (20 numeric): {ratio:.2f}×")
    print("peak = RSS high-water mark during the call with the input resident (libraries included);")
    print("extra = peak minus the RSS just before the call; maxrss = the subprocess's whole-life peak.")
    for note in notes:
        print(note)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", nargs="*", choices=list(MEASUREMENTS), help="run only these measurements")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per measurement (Evidently: once); best time kept"
    )
    parser.add_argument("--no-evidently", action="store_true", help="skip Evidently (no virtualenv needed)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--profile", default="", help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows, args.profile, args.out)
        return 0
    chosen = args.only or [m for m in MEASUREMENTS if not (args.no_evidently and m == "evidently")]
    notes: list[str] = []
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="drift-bench-") as tmp:
        workdir = Path(tmp)
        profile_path = str(workdir / "reference-profile.json")
        made = spawn(sys.executable, "make_profile", args.rows, profile_path, workdir)
        if "error" in made:
            print(f"could not build the reference profile: {made['error']}", file=sys.stderr)
            return 1
        notes.append(f"(reference profile built in {made['seconds']:.2f} s, not counted above)")
        for name in chosen:
            python: str | None = sys.executable
            if name == "evidently":
                python, status = evidently_python()
                if python is None:
                    notes.append(status)
                    continue
            runs = []
            for attempt in range(1 if name == "evidently" else max(1, args.repeat)):
                print(f"running {name} ({attempt + 1}) …", file=sys.stderr, flush=True)
                runs.append(spawn(python, name, args.rows, profile_path, workdir))
            good = [r for r in runs if "seconds" in r]
            results[name] = min(good, key=lambda r: r["seconds"]) if good else runs[0]
    report(args.rows, results, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
