"""Start-up benchmark: how long the `retrain-sentinel` command takes to answer. Not a test (pytest
does not collect this file; speed is a benchmark's job, DESIGN's issue 10).

    .venv/bin/python tests/benchmarks/startup_bench.py [--runs 15] [--check]

Targets, on an idle machine:

- ``retrain-sentinel --version`` and ``--help``: under 0.3 s, spawn to exit.
- ``retrain-sentinel run``: under 1 s from spawn to the first ``/readyz`` 200, with a SQLite
  history and a tiny config (one watch on the demo's ``sql`` source, in a temporary directory).
  Measured twice: on a new history database (``run`` creates the schema first, as on a first
  start) and on one already at head (every later start).

Every run is a fresh process of the console script installed beside this interpreter; the figure is
the median of ``--runs`` runs (min and max shown too), in wall seconds, and beside it the median CPU
seconds the process itself used (user + system, until exit or until ready): on a busy machine the wall
time grows with the load, the CPU time much less, so it tells what an idle machine would show. ``run`` listens on port 0 and the port is read
from its ``daemon.started`` log line; ``/readyz`` is polled every 5 ms, then the daemon gets SIGTERM.
``--check`` exits 1 when a median misses its target.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import yaml

COMMAND = Path(sys.executable).with_name("retrain-sentinel")
READY_TIMEOUT = 30.0


def clean_env() -> dict[str, str]:
    """This environment without ``RETRAIN_SENTINEL_*`` overrides (a benchmark must not inherit them)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RETRAIN_SENTINEL_")}


Timing = tuple[float, float]  # (wall seconds, CPU seconds of the measured process)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (Linux; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_command(*args: str) -> Timing:
    """Seconds from spawn to exit of ``retrain-sentinel ARGS`` (which must succeed)."""
    cpu = _children_cpu()
    started = time.perf_counter()
    subprocess.run([str(COMMAND), *args], stdout=subprocess.DEVNULL, env=clean_env(), check=True, timeout=60)
    return time.perf_counter() - started, _children_cpu() - cpu


def tiny_config(directory: Path) -> Path:
    """The demo's experiment DB and registry with a config watching only one of its models."""
    from retrain_sentinel.demo import write_demo

    data = yaml.safe_load(write_demo(directory / "lab").read_text())
    data["models"] = data["models"][:1]
    data["http"] = {"host": "127.0.0.1", "port": 0}
    data["database"] = f"sqlite:///{directory / 'history.db'}"
    config = directory / "sentinel.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return config


def _port_from(stderr: object, found: list[int], announced: threading.Event) -> None:
    """Read the daemon's JSON log lines until ``daemon.started`` names the port; drain the rest."""
    for line in stderr:  # type: ignore[attr-defined]
        if not announced.is_set() and line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == "daemon.started":
                found.append(int(str(event["http"]).rsplit(":", 1)[1]))
                announced.set()


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def time_run_until_ready(config: Path) -> Timing:
    """Seconds from spawning ``retrain-sentinel run -c CONFIG`` to its first ``/readyz`` 200."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(COMMAND), "run", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        found: list[int] = []
        announced = threading.Event()
        threading.Thread(target=_port_from, args=(process.stderr, found, announced), daemon=True).start()
        deadline = started + READY_TIMEOUT
        while not announced.wait(0.005):
            if process.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"`run` did not start (exit code {process.returncode})")
        while not _ready(found[0]):
            if process.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"`run` never became ready (exit code {process.returncode})")
            time.sleep(0.005)
        return time.perf_counter() - started, _process_cpu(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure(runs: int, once: Callable[[], Timing]) -> list[Timing]:
    once()  # warm the file cache; not counted
    return [once() for _ in range(runs)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per measurement (median reported)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a median misses its target")
    options = parser.parse_args()
    if not COMMAND.exists():
        parser.error(f"{COMMAND} is not installed (pip install -e .)")

    with tempfile.TemporaryDirectory(prefix="startup-bench-") as temporary:
        directory = Path(temporary)
        config = tiny_config(directory)
        history = directory / "history.db"

        def run_on_a_new_database() -> Timing:
            history.unlink(missing_ok=True)
            return time_run_until_ready(config)

        rows = [
            ("retrain-sentinel --version", 0.3, measure(options.runs, lambda: time_command("--version"))),
            ("retrain-sentinel --help", 0.3, measure(options.runs, lambda: time_command("--help"))),
            ("run → /readyz 200, new history DB", 1.0, measure(options.runs, run_on_a_new_database)),
            ("run → /readyz 200, history DB at head", 1.0, measure(options.runs, lambda: time_run_until_ready(config))),
        ]

    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; {options.runs} runs each, seconds")
    print(f"{'':40} {'median':>7} {'min':>7} {'max':>7} {'target':>7}          {'CPU':>7}")
    missed = 0
    for name, target, timings in rows:
        times = [wall for wall, _ in timings]
        median = statistics.median(times)
        verdict = "ok" if median < target else "MISSED"
        missed += median >= target
        cpu = statistics.median(cpu for _, cpu in timings)
        print(f"{name:40} {median:7.3f} {min(times):7.3f} {max(times):7.3f} {target:7.1f}  {verdict:6}  {cpu:7.3f}")
    return 1 if options.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
