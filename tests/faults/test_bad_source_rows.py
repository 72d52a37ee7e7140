"""Fault suite, issue 11 item 6: one bad source row fails only the watch it belongs to.

A real ``retrain-sentinel run`` watches a SQLite experiment DB and registry (the built-in
``experiment_db`` layout) holding two healthy models and, for each kind of bad row the
fault-injection run found, one model carrying it: a run whose ``created_at`` is an integer among
text times, a training time whose offset pushes it out of range, a metrics JSON nested deeper than
the recursion limit, a metric row without a name, and a ``run_id`` selector of ``--5``. Before the
fix every watch of the source errored ("'>' not supported between instances of 'int' and 'str'");
now the healthy ones are recorded as usual and each bad one is an ``error`` naming its row.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from service.conftest import config, watch, write_config
from service.daemon_process import DaemonProcess, Lab, ago, wait_until

pytestmark = [pytest.mark.fault, pytest.mark.slow]

METRIC = "val_accuracy"


def _scalar(url: str, sql: str, **params: Any) -> Any:
    """Run one statement on the lab's database; the first column of its first row, if it returns rows."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql), params)
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def _poisoned_lab(directory: Path) -> tuple[Lab, dict[str, str]]:
    """The lab, and per bad watch the text its error must hold."""
    lab = Lab.in_directory(directory)
    trained = ago(days=2)
    for name, baseline, current in (
        ("healthy", 0.90, 0.895),
        ("degraded", 0.93, 0.80),
        ("mixed", 0.9, 0.9),
        ("ancient", 0.9, 0.9),
        ("deep", 0.9, 0.9),
        ("nullname", 0.9, 0.9),
    ):
        lab.register(name, METRIC, baseline, trained)
        lab.evaluate(name, METRIC, current, ago(hours=1))
    exp, reg = lab.experiments_url, lab.registry_url
    expected: dict[str, str] = {}

    lab.evaluate("mixed", METRIC, 0.7, ago(minutes=30))
    late = _scalar(exp, "SELECT MAX(run_id) FROM runs WHERE run_name LIKE 'eval-mixed-%'")
    _scalar(exp, "UPDATE runs SET created_at = 1717000000 WHERE run_id = :id", id=late)
    expected["mixed"] = f"created_at of run {late} is not a time"

    ancient = _scalar(reg, "SELECT model_id FROM models WHERE name = 'ancient'")
    _scalar(reg, "UPDATE models SET created_at = '0001-01-01 00:00:00+05:00' WHERE model_id = :id", id=ancient)
    expected["ancient"] = f"created_at of 'ancient' version v1 (models row {ancient}) is out of range"

    deep = _scalar(reg, "SELECT model_id FROM models WHERE name = 'deep'")
    nested = "[" * 100_000 + "]" * 100_000
    _scalar(reg, "UPDATE models SET metrics = :nested WHERE model_id = :id", nested=nested, id=deep)
    expected["deep"] = f"metrics of 'deep' version v1 (models row {deep}) is nested too deeply"

    run = _scalar(exp, "SELECT MAX(run_id) FROM runs WHERE run_name LIKE 'eval-nullname-%'")
    _scalar(exp, "INSERT INTO metrics (run_id, metric_name, value, step, epoch) VALUES (:run, NULL, 1, 9, 9)", run=run)
    metric_id = _scalar(exp, "SELECT MAX(metric_id) FROM metrics")
    expected["nullname"] = f"metrics row {metric_id} of run {run} has no metric_name"

    expected["dashes"] = "run_id '--5' is not an integer (runs.run_id)"
    return lab, expected


def _config(directory: Path, lab: Lab) -> Path:
    names = ("healthy", "degraded", "mixed", "ancient", "deep", "nullname")
    document = config(f"sqlite:///{directory / 'history.db'}", lab, models=names)
    document["models"].append({**watch("dashes"), "model": "healthy", "current_run": {"run_id": "--5"}})
    return write_config(directory / "sentinel.yaml", document)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[DaemonProcess, dict[str, str], str]]:
    lab, expected = _poisoned_lab(tmp_path)
    process = DaemonProcess(_config(tmp_path, lab), tmp_path / "daemon.log").start()
    try:
        yield process, expected, f"sqlite:///{tmp_path / 'history.db'}"
    finally:
        process.kill()
        lab.dispose()


def _history(url: str) -> dict[str, list[tuple[str, str | None]]]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT model, outcome, error FROM evaluations ORDER BY id")).all()
    except Exception:  # the daemon has not created its tables yet
        return {}
    finally:
        engine.dispose()
    found: dict[str, list[tuple[str, str | None]]] = {}
    for model, outcome, error in rows:
        found.setdefault(model, []).append((outcome, error))
    return found


def test_a_bad_row_fails_only_its_watch_in_a_running_daemon(
    daemon: tuple[DaemonProcess, dict[str, str], str],
) -> None:
    process, expected, history_url = daemon
    everyone = ("healthy", "degraded", *expected)

    def two_cycles() -> dict[str, list[tuple[str, str | None]]] | None:
        process.check_alive()
        found = _history(history_url)
        return found if all(len(found.get(name, ())) >= 2 for name in everyone) else None

    found = wait_until(two_cycles, 25, "two evaluations of every watch", interval=0.2)

    assert {outcome for outcome, _ in found["healthy"]} == {"ok"}, found["healthy"]
    assert {outcome for outcome, _ in found["degraded"]} == {"triggered"}, found["degraded"]
    for name, reason in expected.items():
        for outcome, error in found[name]:
            assert outcome == "error", (name, outcome)
            assert error is not None and reason in error, (name, error)
            assert "unexpected" not in error, (name, error)
