"""An experiment DB written before the original training code added ``runs.task_name``.

Such a database is filled as usual, then the column is dropped, so the rows are exactly what the
older code left behind. Watches that do not select their run by task must read it normally; a
watch that does gets an error naming the missing column and the watch.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import create_engine, text

from retrain_sentinel.errors import SourceError
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.sources import NamedRun, RunId, TaskRun, WatchQuery

from .conftest import Databases
from .test_experiment_db import T0, source_for


def _drop_task_name(databases: Databases) -> None:
    engine = create_engine(databases.experiments_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE runs DROP COLUMN task_name"))
    finally:
        engine.dispose()


def test_watches_that_do_not_select_by_task_read_an_experiment_db_without_task_name(
    databases: Databases, now: datetime
) -> None:
    lab = databases.lab
    run = lab.train("eval-churn-1", T0, epochs=2, final={"accuracy": 0.9})
    version = lab.register("churn", "1", T0, run_id=run, metrics={"accuracy": 0.91})
    lab.promote(version, "production", T0)
    _drop_task_name(databases)
    source = source_for(databases)
    try:
        watches = [
            WatchQuery("by-name", "churn", current_run=NamedRun(name="eval-churn-*")),
            WatchQuery("by-id", "churn", current_run=RunId(run_id=str(run))),
            WatchQuery("baseline-only", "churn"),
        ]
        results = source.read(watches, now)
    finally:
        source.close()
    for watch in watches:
        snapshot = results[watch.watch]
        assert isinstance(snapshot, Snapshot), (watch.watch, snapshot)
        assert snapshot.baseline_metrics == {"accuracy": 0.91}
    assert results["by-name"].current_metrics == {"accuracy": 0.9}  # type: ignore[union-attr]
    assert results["by-id"].current_metrics == {"accuracy": 0.9}  # type: ignore[union-attr]


def test_only_the_watch_that_selects_by_task_names_the_missing_column(
    databases: Databases, now: datetime
) -> None:
    lab = databases.lab
    run = lab.train("eval-churn-1", T0, epochs=1, final={"accuracy": 0.9})
    lab.promote(lab.register("churn", "1", T0, metrics={"accuracy": 0.91}), "production", T0)
    _drop_task_name(databases)
    source = source_for(databases)
    try:
        results = source.read(
            [
                WatchQuery("by-task", "churn", current_run=TaskRun(task="churn-eval")),
                WatchQuery("by-id", "churn", current_run=RunId(run_id=str(run))),
            ],
            now,
        )
    finally:
        source.close()
    failed = results["by-task"]
    assert isinstance(failed, SourceError)
    assert "task_name" in failed.cause and "by-task" in failed.cause and "runs" in failed.cause
    assert "current_run" in failed.cause
    assert isinstance(results["by-id"], Snapshot)
