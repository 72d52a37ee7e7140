"""Config benchmark: how long `retrain-sentinel validate` takes on a very large config, and where the
time goes. Not a test (pytest does not collect this file).

    .venv/bin/python tests/benchmarks/config_bench.py [--watches 250000] [--phases] [--check]

The config is the one issue 11 measured: ``--watches`` watches (250,000 by default, about 10 MB), each
with its own name and run selector, the source, channels and schedule from ``defaults``. Measured:

- the command as a fresh process, spawn to exit: wall seconds, the CPU seconds the process used
  (user + system; on a busy machine the wall time grows with the load, the CPU time much less) and
  its peak RSS;
- with ``--phases``, each step of loading in this process (read, YAML with libyaml and with the
  pure-Python loader, the document check, ``${VAR}`` expansion, the models, the cross-section
  checks), with the cyclic garbage collector paused as ``load_settings`` pauses it, and the YAML
  once more with it running, to show what pausing it saves.

Target: under 15 CPU seconds for the 250,000 watches (``--check`` exits 1 when missed). Measured on
this config (14.6 MB), 2 CPUs: before issue 11, 88 CPU s (pure-Python YAML with the collector
running, a deep copy of every default per watch, a policy built per watch); after, 13.6 CPU s, of
which YAML 4.8, document check 1.5, expansion 0.5, models 3.5, cross-section checks 1.4.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

COMMAND = Path(sys.executable).with_name("retrain-sentinel")
TARGET_CPU_SECONDS = 15.0


def write_config(path: Path, watches: int) -> None:
    lines = [
        "sources:",
        "  lab: {kind: sql, layout: experiment_db, experiments_url: 'sqlite:///e.db', registry_url: 'sqlite:///r.db'}",
        "channels:",
        "  stdout: {kind: console}",
        "defaults:",
        "  source: lab",
        "  channels: [stdout]",
        "  schedule: {every: 1h}",
        "models:",
    ]
    lines += [f"  - {{name: model-{i:06d}, current_run: {{name: eval-{i}}}}}" for i in range(watches)]
    path.write_text("\n".join(lines) + "\n")


def run_command(config: Path) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one `validate` process, and its first line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETRAIN_SENTINEL_")}
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(COMMAND), "validate", "-c", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0  # reaped by wait4
    wall = time.perf_counter() - started
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, output.strip().splitlines()[0]


def timed(label: str, work: Callable[[], Any]) -> Any:
    started = time.process_time()
    result = work()
    print(f"  {label:<34} {time.process_time() - started:7.2f} CPU s")
    return result


def phases(config: Path) -> None:
    from retrain_sentinel import config_document as d
    from retrain_sentinel import settings as s
    from retrain_sentinel.mounted_files import read_text_file

    text = timed("read (bounded)", lambda: read_text_file(config, limit=d.MAX_CONFIG_BYTES, where="c"))
    gc.disable()
    try:
        raw = timed("YAML, libyaml", lambda: d.parse_yaml(text, where="c", loader="libyaml"))
        timed("YAML, pure Python", lambda: d.parse_yaml(text, where="c", loader="python"))
        labels = s._watch_labels(raw)
        timed("document check", lambda: d.check_document(raw, labels))
        expanded = timed("${VAR} expansion", lambda: s.expand_variables(raw, os.environ))
        settings = timed("models (pydantic)", lambda: s.Settings(**expanded))
        timed("cross-section checks", lambda: s._cross_check(settings, labels))
    finally:
        gc.enable()
    timed("YAML, libyaml, collector running", lambda: d.parse_yaml(text, where="c", loader="libyaml"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watches", type=int, default=250_000)
    parser.add_argument("--phases", action="store_true", help="also time each step in this process")
    parser.add_argument("--check", action="store_true", help=f"exit 1 above {TARGET_CPU_SECONDS:g} CPU s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        config = Path(directory) / "sentinel.yaml"
        write_config(config, args.watches)
        size = config.stat().st_size / 1e6
        wall, cpu, rss, answer = run_command(config)
        print(f"{args.watches:,} watches, {size:.1f} MB: {answer}")
        print(f"  retrain-sentinel validate           {wall:7.2f} wall s, {cpu:6.2f} CPU s, {rss:6.0f} MiB peak RSS")
        if args.phases:
            phases(config)
    return 1 if args.check and cpu > TARGET_CPU_SECONDS else 0


if __name__ == "__main__":
    sys.exit(main())
