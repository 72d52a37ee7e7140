"""The schema of the experiment DB and model registry the project grew from (``layout: experiment_db``).

Kept in the package so the demo, the tests and a user trying the layout on a scratch database all
create the same tables, with the original's index and unique constraints, on SQLite or PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

__all__ = ["create_schemas"]


def _ddl(dialect: str) -> tuple[list[str], list[str]]:
    pk = "INTEGER PRIMARY KEY AUTOINCREMENT" if dialect == "sqlite" else "SERIAL PRIMARY KEY"
    real = "REAL" if dialect == "sqlite" else "DOUBLE PRECISION"
    experiments = [
        f"""CREATE TABLE runs (
            run_id {pk}, run_name TEXT, config TEXT, notes TEXT, created_at TIMESTAMP,
            status TEXT, sweep_id TEXT, sweep_params TEXT, git_commit TEXT, task_name TEXT,
            modality TEXT, updated_at TIMESTAMP)""",
        f"""CREATE TABLE metrics (
            metric_id {pk}, run_id INTEGER, split TEXT, metric_name TEXT, value {real},
            step INTEGER, epoch INTEGER, timestamp TIMESTAMP)""",
        "CREATE INDEX idx_metrics_run_name ON metrics (run_id, metric_name)",
        f"""CREATE TABLE artifacts (
            artifact_id {pk}, run_id INTEGER, artifact_type TEXT, filepath TEXT, metadata TEXT,
            created_at TIMESTAMP)""",
    ]
    registry = [
        f"""CREATE TABLE models (
            model_id {pk}, name TEXT NOT NULL, version TEXT NOT NULL, checkpoint_path TEXT,
            task_type TEXT, config_hash TEXT, training_run_id INTEGER, parent_model_id INTEGER,
            created_at TIMESTAMP, metrics TEXT, export_formats TEXT, model_size_mb {real},
            memory_req_gb {real}, metadata TEXT, status TEXT DEFAULT 'active',
            UNIQUE (name, version))""",
        f"""CREATE TABLE model_tags (
            tag_id {pk}, model_id INTEGER, tag_name TEXT, created_at TIMESTAMP,
            UNIQUE (model_id, tag_name))""",
    ]
    return experiments, registry


def create_schemas(experiments: Engine, registry: Engine) -> None:
    """Create the original tables (with the original's index and unique constraints)."""
    exp_ddl = _ddl(experiments.dialect.name)[0]
    reg_ddl = _ddl(registry.dialect.name)[1]
    with experiments.begin() as connection:
        for statement in exp_ddl:
            connection.execute(text(statement))
    with registry.begin() as connection:
        for statement in reg_ddl:
            connection.execute(text(statement))
