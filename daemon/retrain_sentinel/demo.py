"""The newcomer's first run: a small experiment DB and registry, a config, one check.

The databases use the built-in ``experiment_db`` layout (the schema of the system this project grew
from), filled the way its training code would: runs with per-epoch metrics, drift scores logged as
``drift/<name>`` metrics, models registered with their metrics and promoted with a tag.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine

from retrain_sentinel.sources.sql.schema import create_schemas

__all__ = ["DEMO_MODELS", "DemoModel", "write_demo"]


@dataclass(frozen=True)
class DemoModel:
    """One demo model: what it was trained to, how it does now, and what the data looks like."""

    name: str
    story: str
    metric: str
    mode: str
    baseline: float
    current: float
    drift: float
    trained_days_ago: float
    samples: int


DEMO_MODELS = (
    DemoModel("sentiment", "healthy", "val_loss", "min", 0.40, 0.41, 0.04, 2, 52_000),
    DemoModel("churn", "drifting", "val_loss", "min", 0.35, 0.36, 0.31, 3, 55_000),
    DemoModel("fraud", "degraded, trained long ago", "val_accuracy", "max", 0.93, 0.81, 0.09, 45, 61_000),
)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _fill(
    experiments: sqlite3.Connection, registry: sqlite3.Connection, model: DemoModel, now: datetime
) -> None:
    trained = now - timedelta(days=model.trained_days_ago)
    train_run = experiments.execute(
        "INSERT INTO runs (run_name, config, created_at, status, task_name, modality, updated_at)"
        " VALUES (?, ?, ?, 'completed', ?, 'tabular', ?)",
        (
            f"train-{model.name}",
            json.dumps({"model": model.name}),
            _stamp(trained),
            model.name,
            _stamp(trained),
        ),
    ).lastrowid
    model_id = registry.execute(
        "INSERT INTO models (name, version, checkpoint_path, task_type, training_run_id, created_at, metrics,"
        " metadata, status) VALUES (?, 'v1', ?, 'classification', ?, ?, ?, ?, 'active')",
        (
            model.name,
            f"checkpoints/{model.name}/v1.pt",
            train_run,
            _stamp(trained),
            json.dumps({model.metric: model.baseline}),
            json.dumps({"num_samples": 50_000}),
        ),
    ).lastrowid
    registry.execute(
        "INSERT INTO model_tags (model_id, tag_name, created_at) VALUES (?, 'production', ?)",
        (model_id, _stamp(trained)),
    )
    evaluated = now - timedelta(hours=1)
    eval_run = experiments.execute(
        "INSERT INTO runs (run_name, config, created_at, status, task_name, modality, updated_at)"
        " VALUES (?, '{}', ?, 'completed', ?, 'tabular', ?)",
        (f"eval-{model.name}-{evaluated:%Y%m%d}", _stamp(evaluated), model.name, _stamp(evaluated)),
    ).lastrowid
    rows = []
    for epoch in range(3):  # the value at the highest epoch is the one that counts
        value = model.current + (0.02 * (2 - epoch) * (1 if model.mode == "min" else -1))
        rows.append((eval_run, "val", model.metric, value, epoch * 100, epoch, _stamp(evaluated)))
    rows.append((eval_run, "val", "drift/js_divergence", model.drift, 0, 2, _stamp(evaluated)))
    rows.append((eval_run, "val", "data/num_samples", float(model.samples), 0, 2, _stamp(evaluated)))
    experiments.executemany(
        "INSERT INTO metrics (run_id, split, metric_name, value, step, epoch, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def write_demo(directory: Path, now: datetime | None = None) -> Path:
    """Create the demo databases and ``sentinel.yaml`` in ``directory``; returns the config path."""
    now = now or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("experiments.db", "model_registry.db", "sentinel.db"):
        (directory / name).unlink(missing_ok=True)
    engines = [
        create_engine(f"sqlite:///{directory / name}") for name in ("experiments.db", "model_registry.db")
    ]
    create_schemas(*engines)
    for engine in engines:
        engine.dispose()
    with (
        sqlite3.connect(directory / "experiments.db") as experiments,
        sqlite3.connect(directory / "model_registry.db") as registry,
    ):
        for model in DEMO_MODELS:
            _fill(experiments, registry, model, now)
    experiments.close()
    registry.close()
    config = directory / "sentinel.yaml"
    config.write_text(_config_text(directory.resolve()), encoding="utf-8")
    return config


def _config_text(directory: Path) -> str:
    models = "\n".join(
        f"""  - name: {m.name}                     # {m.story}
    source: lab
    current_run: {{name: "eval-{m.name}-*"}}
    performance: {{metric: {m.metric}, mode: {m.mode}}}
    counts: {{current: {{metric: data/num_samples}}, baseline: {{metadata: num_samples}}}}"""
        for m in DEMO_MODELS
    )
    return f"""# Retrain Sentinel demo config (written by `retrain-sentinel demo`).
database: sqlite:///{directory}/sentinel.db

sources:
  lab:
    kind: sql
    layout: experiment_db
    experiments_url: sqlite:///{directory}/experiments.db
    registry_url: sqlite:///{directory}/model_registry.db

channels:
  stdout: {{kind: console}}
  # ml-team: {{kind: slack, webhook_url: "${{SLACK_WEBHOOK_URL}}"}}

defaults:
  schedule: {{every: 1h}}
  policy: balanced
  channels: [stdout]

models:
{models}
"""
