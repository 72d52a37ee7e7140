"""Benchmark: one batch of 10,000 watches read from the experiment DB layout in SQLite.

10,000 models × 3 runs × 10 epochs × 4 metrics (1.2 M metric rows). The target is under 5 s for
the whole batch on 2 cores. Not collected by pytest; run it directly:

    .venv/bin/python tests/benchmarks/sources_bench.py [--models N]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, event

from retrain_sentinel.sources import (
    CountsSelector,
    MetadataCount,
    MetricCount,
    NamedRun,
    SqlLayoutSettings,
    WatchQuery,
    build_source,
)

TARGET_SECONDS = 5.0
METRICS = ("accuracy", "val/loss", "drift/js_divergence", "data/num_samples")


def _fixture_module() -> object:
    path = Path(__file__).resolve().parents[1] / "sources" / "sql" / "experiment_db_fixture.py"
    spec = importlib.util.spec_from_file_location("experiment_db_fixture", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    fixture = _fixture_module()
    with tempfile.TemporaryDirectory() as directory:
        experiments_url = f"sqlite:///{directory}/experiments.db"
        registry_url = f"sqlite:///{directory}/model_registry.db"
        experiments, registry = create_engine(experiments_url), create_engine(registry_url)
        fixture.create_schemas(experiments, registry)  # type: ignore[attr-defined]
        names = [f"model-{i:05d}" for i in range(args.models)]
        started = time.perf_counter()
        fixture.bulk_fill(  # type: ignore[attr-defined]
            fixture.Lab(experiments, registry),  # type: ignore[attr-defined]
            names,
            runs_per_model=3,
            epochs=10,
            metrics=METRICS,
            start=datetime(2024, 5, 1),
        )
        experiments.dispose()
        registry.dispose()
        print(
            f"filled {args.models} models × 3 runs × 10 epochs × {len(METRICS)} metrics "
            f"in {time.perf_counter() - started:.1f} s"
        )

        source = build_source(
            "lab",
            SqlLayoutSettings(
                kind="sql",
                layout="experiment_db",
                experiments_url=experiments_url,
                registry_url=registry_url,
                aliases={"val_loss": "val/loss"},
            ),
        )
        watches = [
            WatchQuery(
                watch=name,
                registry_model=name,
                current_run=NamedRun(name=f"eval-{name}-*"),
                counts=CountsSelector(
                    current=MetricCount(metric="data/num_samples"),
                    baseline=MetadataCount(metadata="num_samples"),
                ),
            )
            for name in names
        ]
        statements = 0

        def count(*_: object) -> None:
            nonlocal statements
            statements += 1

        for engine in (source._registry, source._experiments):  # type: ignore[attr-defined]
            event.listen(engine, "before_cursor_execute", count)
        timings = []
        for _ in range(args.repeat):
            statements = 0
            started = time.perf_counter()
            results = source.read(watches, datetime.now(UTC))
            timings.append(time.perf_counter() - started)
        failures = [r for r in results.values() if isinstance(r, Exception)]
        source.close()
    best, median = min(timings), statistics.median(timings)
    print(
        f"read one batch of {len(watches)} watches: best {best:.2f} s, median {median:.2f} s "
        f"({statements} statements, {len(failures)} errors; target < {TARGET_SECONDS:.0f} s)"
    )
    return 0 if median < TARGET_SECONDS and not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
