"""The experiment database and model registry of the original project, filled the way its training
code filled them — the ground truth the ``experiment_db`` layout is tested against.

``Lab`` plays the training code: it starts runs, logs per-epoch metrics (names with ``/``, drift
scores as ``drift/<name>``), registers model versions and promotes them to a tag, which — as in the
original registry — removes that tag from every other model of ANY name. Times come from the
caller, as ``YYYY-MM-DD HH:MM:SS`` text, so tests are deterministic.

Used by the tests and by ``tests/benchmarks/sources_bench.py`` (which loads this file by path).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from retrain_sentinel.sources.sql.schema import create_schemas

__all__ = ["Lab", "bulk_fill", "create_schemas", "stamp"]


def stamp(moment: datetime) -> str:
    """A time as the original code stored it: naive ``YYYY-MM-DD HH:MM:SS``."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _returning_id(connection: Connection, sql: str, params: Mapping[str, Any], key: str) -> int:
    if connection.dialect.name == "postgresql":
        return int(connection.execute(text(f"{sql} RETURNING {key}"), dict(params)).scalar_one())
    result = connection.execute(text(sql), dict(params))
    return int(result.lastrowid)


@dataclass
class Lab:
    """The original training code's side of the databases."""

    experiments: Engine
    registry: Engine

    def start_run(
        self,
        name: str,
        at: datetime,
        *,
        task: str | None = None,
        config: Mapping[str, Any] | None = None,
        status: str = "completed",
    ) -> int:
        with self.experiments.begin() as connection:
            return _returning_id(
                connection,
                "INSERT INTO runs (run_name, config, created_at, status, task_name, modality, updated_at) "
                "VALUES (:name, :config, :at, :status, :task, 'text', :at)",
                {
                    "name": name,
                    "config": json.dumps(dict(config or {})),
                    "at": stamp(at),
                    "status": status,
                    "task": task,
                },
                "run_id",
            )

    def log_metrics(
        self,
        run_id: int,
        rows: Iterable[tuple[str, Any, int | None, int | None, datetime]],
        *,
        split: str | None = "val",
    ) -> None:
        """Rows of (metric_name, value, step, epoch, timestamp), appended like a training loop."""
        params = [
            {
                "run": run_id,
                "split": split,
                "name": name,
                "value": value,
                "step": step,
                "epoch": epoch,
                "at": stamp(at),
            }
            for name, value, step, epoch, at in rows
        ]
        with self.experiments.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO metrics (run_id, split, metric_name, value, step, epoch, timestamp) "
                    "VALUES (:run, :split, :name, :value, :step, :epoch, :at)"
                ),
                params,
            )

    def train(
        self,
        run_name: str,
        start: datetime,
        *,
        epochs: int,
        final: Mapping[str, float],
        task: str | None = None,
        config: Mapping[str, Any] | None = None,
        steps_per_epoch: int = 1,
    ) -> int:
        """A run whose metrics approach ``final`` epoch by epoch (the last epoch logs ``final``)."""
        run_id = self.start_run(run_name, start, task=task, config=config)
        rows = []
        for epoch in range(epochs):
            for step_in_epoch in range(steps_per_epoch):
                step = epoch * steps_per_epoch + step_in_epoch
                at = start + timedelta(minutes=step + 1)
                last = epoch == epochs - 1 and step_in_epoch == steps_per_epoch - 1
                for name, value in final.items():
                    rows.append((name, value if last else value * (0.5 + 0.05 * epoch), step, epoch, at))
        self.log_metrics(run_id, rows)
        return run_id

    def register(
        self,
        name: str,
        version: str,
        at: datetime,
        *,
        metrics: Mapping[str, Any] | str | None = None,
        metadata: Mapping[str, Any] | None = None,
        run_id: int | None = None,
        status: str = "active",
    ) -> int:
        raw_metrics = metrics if isinstance(metrics, str) else json.dumps(dict(metrics or {}))
        with self.registry.begin() as connection:
            return _returning_id(
                connection,
                "INSERT INTO models (name, version, checkpoint_path, task_type, training_run_id, created_at, "
                "metrics, metadata, status) VALUES (:name, :version, :path, 'classification', :run, :at, "
                ":metrics, :metadata, :status)",
                {
                    "name": name,
                    "version": version,
                    "path": f"/ckpt/{name}/{version}.pt",
                    "run": run_id,
                    "at": stamp(at),
                    "metrics": raw_metrics,
                    "metadata": json.dumps(dict(metadata or {})),
                    "status": status,
                },
                "model_id",
            )

    def promote(self, model_id: int, tag: str, at: datetime) -> None:
        """Move ``tag`` to this model: the original removed it from every other model of ANY name."""
        with self.registry.begin() as connection:
            connection.execute(
                text("DELETE FROM model_tags WHERE tag_name = :tag AND model_id <> :id"),
                {"tag": tag, "id": model_id},
            )
            exists = connection.execute(
                text("SELECT 1 FROM model_tags WHERE tag_name = :tag AND model_id = :id"),
                {"tag": tag, "id": model_id},
            ).first()
            if exists is None:
                connection.execute(
                    text("INSERT INTO model_tags (model_id, tag_name, created_at) VALUES (:id, :tag, :at)"),
                    {"id": model_id, "tag": tag, "at": stamp(at)},
                )

    def set_status(self, model_id: int, status: str) -> None:
        with self.registry.begin() as connection:
            connection.execute(
                text("UPDATE models SET status = :status WHERE model_id = :id"),
                {"status": status, "id": model_id},
            )


def bulk_fill(
    lab: Lab,
    names: Sequence[str],
    *,
    runs_per_model: int,
    epochs: int,
    metrics: Sequence[str],
    start: datetime,
) -> None:
    """Many models fast (one transaction per table): the benchmark's data."""
    with lab.experiments.begin() as connection:
        runs = [
            {
                "name": f"eval-{name}-{r}",
                "task": f"task-{name}",
                "at": stamp(start + timedelta(hours=r)),
                "config": json.dumps({"data": {"num_samples": 1000 * (r + 1)}}),
            }
            for name in names
            for r in range(runs_per_model)
        ]
        connection.execute(
            text(
                "INSERT INTO runs (run_name, task_name, config, created_at, status) "
                "VALUES (:name, :task, :config, :at, 'completed')"
            ),
            runs,
        )
        rows = connection.execute(text("SELECT run_id, created_at FROM runs")).all()
        metric_rows = [
            {
                "run": run_id,
                "name": metric,
                "value": 0.5 + epoch * 0.01 + index * 0.001,
                "step": epoch,
                "epoch": epoch,
                "at": stamp(start + timedelta(minutes=epoch)),
            }
            for run_id, _ in rows
            for epoch in range(epochs)
            for index, metric in enumerate(metrics)
        ]
        connection.execute(
            text(
                "INSERT INTO metrics (run_id, split, metric_name, value, step, epoch, timestamp) "
                "VALUES (:run, 'val', :name, :value, :step, :epoch, :at)"
            ),
            metric_rows,
        )
    with lab.registry.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO models (name, version, created_at, metrics, metadata, status) "
                "VALUES (:name, '1', :at, :metrics, :metadata, 'active')"
            ),
            [
                {
                    "name": name,
                    "at": stamp(start),
                    "metrics": json.dumps({m: 0.6 for m in metrics}),
                    "metadata": json.dumps({"num_samples": 5000}),
                }
                for name in names
            ],
        )
