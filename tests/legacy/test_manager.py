"""The original API's manager: registration, evaluation, history, pulling inputs, logging back."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from structlog.testing import capture_logs

from retrain_sentinel import (
    CompositeTrigger,
    DataVolumeTrigger,
    DriftTrigger,
    PerformanceTrigger,
    RetrainingReport,
    RetrainingTriggerManager,
    TimeTrigger,
    TriggerDetail,
)
from retrain_sentinel.legacy.manager import latest_epoch_values

from .conftest import KeywordTrigger

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def fixed_clock() -> datetime:
    return NOW


def user_trigger(name: str = "custom", fire: bool = True, delay: float = 0.0) -> KeywordTrigger:
    """The user's trigger these tests register: critical, with a reason and values of its own."""
    return KeywordTrigger(
        name,
        "fired" if fire else "not_fired",
        "critical",
        reason="custom says so",
        threshold=1.0,
        actual_value=2.0,
        delay=delay,
    )


class Registry:
    def __init__(self, model: dict[str, Any] | None) -> None:
        self.model = model
        self.asked: list[Any] = []

    def get_model(self, model_id: Any = None) -> dict[str, Any] | None:
        self.asked.append(model_id)
        return self.model


class ExperimentDB:
    """Records the calls the manager makes when a report fires."""

    def __init__(self, rows: Any = (), fail: bool = False) -> None:
        self.rows = rows
        self.fail = fail
        self.calls: list[tuple[Any, ...]] = []

    def get_metrics(self, run_id: Any) -> Any:
        self.calls.append(("get_metrics", run_id))
        return self.rows

    def log_run(self, run_name: str, config: dict[str, Any], notes: str = "") -> int:
        if self.fail:
            raise ConnectionError("experiment DB is down")
        self.calls.append(("log_run", run_name, config, notes))
        return 7

    def log_metric(self, run_id: int, name: str, value: float, epoch: int = 0) -> None:
        self.calls.append(("log_metric", run_id, name, value, epoch))

    def update_run_status(self, run_id: int, status: str) -> None:
        self.calls.append(("update_run_status", run_id, status))


class DriftResult:
    def __init__(self, js: float | None, details: dict[str, Any]) -> None:
        self.js_divergence = js
        self.details = details


class MetricsEngine:
    def __init__(self, *results: DriftResult) -> None:
        self.drift_history = list(results)


def test_constructor_and_registration() -> None:
    registry, db, engine = Registry(None), ExperimentDB(), MetricsEngine()
    manager = RetrainingTriggerManager(engine, registry, db)
    assert (manager.metrics_engine, manager.model_registry, manager.experiment_db) == (engine, registry, db)
    assert manager.triggers == {} and manager.trigger_history == []
    drift = manager.register_drift_trigger(threshold=0.2, metric_name="psi", severity="critical", name="d")
    perf = manager.register_performance_trigger(0.1, "acc", "max", "warning", "p")
    age = manager.register_time_trigger(interval_hours=24, severity="warning", name="t")
    volume = manager.register_data_volume_trigger(threshold_samples=100, threshold_percentage=None, name="v")
    custom = user_trigger()
    manager.register_trigger("mine", custom)
    assert manager.triggers == {"d": drift, "p": perf, "t": age, "v": volume, "mine": custom}
    assert isinstance(drift, DriftTrigger) and (drift.threshold, drift.metric_name, drift.severity) == (
        0.2,
        "psi",
        "critical",
    )
    assert isinstance(perf, PerformanceTrigger) and (perf.metric_name, perf.mode) == ("acc", "max")
    assert isinstance(age, TimeTrigger) and age.interval_hours == 24
    assert isinstance(volume, DataVolumeTrigger) and volume.threshold_samples == 100


def test_register_defaults_use_the_original_names() -> None:
    manager = RetrainingTriggerManager()
    manager.register_drift_trigger()
    manager.register_performance_trigger()
    manager.register_time_trigger()
    manager.register_data_volume_trigger()
    assert list(manager.triggers) == [
        "drift_trigger",
        "performance_trigger",
        "time_trigger",
        "data_volume_trigger",
    ]


def test_registering_a_name_again_replaces_it() -> None:
    manager = RetrainingTriggerManager()
    manager.register_drift_trigger(threshold=0.1)
    replacement = manager.register_drift_trigger(threshold=0.3)
    assert manager.triggers == {"drift_trigger": replacement}


def test_evaluate_fires_when_any_trigger_fires_and_keeps_history() -> None:
    manager = RetrainingTriggerManager(clock=fixed_clock)
    manager.register_drift_trigger(threshold=0.15)
    manager.register_performance_trigger(threshold=0.05)
    report = manager.evaluate(drift_metrics={"js_divergence": 0.18})
    assert isinstance(report, RetrainingReport)
    assert report.triggered and report.severity == "warning"
    assert report.timestamp == NOW
    assert [d.trigger_name for d in report.trigger_details] == ["drift_trigger", "performance_trigger"]
    assert report.trigger_details[1].undecided
    assert report.metadata is not None
    assert report.metadata["policy"] == "drift_trigger OR performance_trigger"
    assert report.metadata["decision"] == "fired"
    assert report.metadata["undecided"] == ["performance_trigger"]
    assert manager.trigger_history == [report]


def test_evaluate_not_fired_is_info_with_no_action_line() -> None:
    manager = RetrainingTriggerManager(clock=fixed_clock)
    manager.register_drift_trigger(threshold=0.15)
    report = manager.evaluate(drift_metrics={"js_divergence": 0.01}, metadata={"model": "churn"})
    assert not report.triggered and report.severity == "info"
    assert report.recommendations == ["No action needed: all triggers within acceptable thresholds."]
    assert report.metadata is not None and report.metadata["model"] == "churn"


def test_evaluate_with_no_triggers_is_undecided() -> None:
    report = RetrainingTriggerManager(clock=fixed_clock).evaluate()
    assert not report.triggered and report.trigger_details == []
    assert report.metadata is not None and report.metadata["decision"] == "undecided"
    assert report.recommendations == ["No action needed: no triggers are registered."]


def test_time_trigger_uses_the_managers_clock() -> None:
    manager = RetrainingTriggerManager(clock=fixed_clock)
    manager.register_time_trigger(interval_hours=24)
    report = manager.evaluate(metadata={"last_training_time": (NOW - timedelta(hours=30)).isoformat()})
    assert report.triggered and report.trigger_details[0].actual_value == pytest.approx(30)


def test_custom_and_composite_triggers_work_in_the_manager() -> None:
    manager = RetrainingTriggerManager(clock=fixed_clock)
    manager.register_trigger("mine", user_trigger(fire=True))
    gate = CompositeTrigger([DriftTrigger(0.15), user_trigger("inner", fire=False)], "AND", name="gate")
    manager.register_trigger("gate", gate)
    report = manager.evaluate(drift_metrics={"js_divergence": 0.5})
    assert report.triggered and report.severity == "critical"
    assert [(d.trigger_name, d.triggered) for d in report.trigger_details] == [
        ("custom", True),
        ("gate", False),
    ]


def test_a_raising_trigger_is_undecided_and_logged() -> None:
    class Broken:
        def evaluate(self, **kwargs: Any) -> TriggerDetail:
            raise KeyError("x")

    manager = RetrainingTriggerManager(clock=fixed_clock)
    manager.register_trigger("broken", Broken())  # type: ignore[arg-type]
    manager.register_drift_trigger()
    with capture_logs() as logs:
        report = manager.evaluate(drift_metrics={"js_divergence": 0.5})
    assert report.triggered
    assert report.trigger_details[0].undecided and report.trigger_details[0].trigger_name == "broken"
    assert logs[0]["event"] == "trigger_failed" and logs[0]["trigger"] == "broken"


def test_history_returns_the_last_n_oldest_first() -> None:
    ticks = itertools.count()
    manager = RetrainingTriggerManager(clock=lambda: NOW + timedelta(minutes=next(ticks)))
    manager.register_drift_trigger()
    reports = [manager.evaluate(drift_metrics={"js_divergence": i / 100}) for i in range(15)]
    assert manager.get_trigger_history() == reports[-10:]
    assert manager.get_trigger_history(limit=3) == reports[-3:]
    assert manager.get_trigger_history(limit=100) == reports
    assert manager.get_trigger_history(limit=0) == []
    history = manager.get_trigger_history(limit=3)
    history.clear()  # a copy: the manager's history is untouched
    assert len(manager.trigger_history) == 15


def test_fired_report_is_logged_to_the_experiment_db() -> None:
    db = ExperimentDB()
    manager = RetrainingTriggerManager(experiment_db=db, clock=fixed_clock)
    manager.register_drift_trigger(threshold=0.15)
    manager.register_performance_trigger(threshold=0.05)
    report = manager.evaluate(
        drift_metrics={"js_divergence": 0.18},
        current_metrics={"val_loss": 0.4},
        baseline_metrics={"val_loss": 0.4},
    )
    assert [call[0] for call in db.calls] == ["log_run", "log_metric", "log_metric", "update_run_status"]
    _, run_name, config, notes = db.calls[0]
    assert run_name == "trigger_event_20240601_120000"
    assert config == report.to_dict()
    assert "Data drift detected" in notes
    assert db.calls[1] == ("log_metric", 7, "trigger/drift_trigger", 1.0, 0)
    assert db.calls[2] == ("log_metric", 7, "trigger/drift_trigger_value", 0.18, 0)
    assert db.calls[3] == ("update_run_status", 7, "completed")


def test_unfired_report_is_not_logged() -> None:
    db = ExperimentDB()
    manager = RetrainingTriggerManager(experiment_db=db)
    manager.register_drift_trigger()
    manager.evaluate(drift_metrics={"js_divergence": 0.0})
    assert db.calls == []


def test_a_failing_logger_is_logged_not_raised() -> None:
    manager = RetrainingTriggerManager(experiment_db=ExperimentDB(fail=True), clock=fixed_clock)
    manager.register_drift_trigger()
    with capture_logs() as logs:
        report = manager.evaluate(drift_metrics={"js_divergence": 0.9})
    assert report.triggered and manager.trigger_history == [report]
    assert [entry["event"] for entry in logs] == ["trigger_event_log_failed"]
    assert logs[0]["log_level"] == "error" and "experiment DB is down" in logs[0]["error"]


METRIC_ROWS = [
    {"metric_name": "val_loss", "value": 0.60, "epoch": 0},
    {"metric_name": "val_loss", "value": 0.45, "epoch": 2},
    {"metric_name": "val_loss", "value": 0.50, "epoch": 1},
    {"metric_name": "acc", "value": 0.9, "epoch": 1},
]


@pytest.mark.parametrize("rows", [METRIC_ROWS, pd.DataFrame(METRIC_ROWS)], ids=["dicts", "dataframe"])
def test_check_retraining_needed_gathers_inputs(rows: Any) -> None:
    created = (NOW - timedelta(hours=200)).isoformat()
    registry = Registry({"metrics": {"val_loss": 0.40}, "created_at": created})
    db = ExperimentDB(rows)
    engine = MetricsEngine(
        DriftResult(0.05, {}), DriftResult(0.18, {"psi": 0.3, "drifted_features": ["a"], "flag": True})
    )
    manager = RetrainingTriggerManager(engine, registry, db, clock=fixed_clock)
    manager.register_drift_trigger(threshold=0.15)
    manager.register_drift_trigger(threshold=0.2, metric_name="psi", name="psi_trigger")
    manager.register_performance_trigger(threshold=0.05)
    manager.register_time_trigger(interval_hours=168)
    report = manager.check_retraining_needed(model_id="churn", run_id=42)
    assert registry.asked == ["churn"]
    assert db.calls[0] == ("get_metrics", 42)
    details = {d.trigger_name: d for d in report.trigger_details}
    assert details["drift_trigger"].actual_value == 0.18
    assert details["psi_trigger"].actual_value == 0.3
    assert details["performance_trigger"].metrics["current"] == 0.45  # the value at the highest epoch
    assert details["performance_trigger"].triggered
    assert details["time_trigger"].actual_value == pytest.approx(200)
    assert report.triggered and report.metadata is not None and report.metadata["model"] == "churn"


def test_check_retraining_needed_without_collaborators_is_undecided() -> None:
    manager = RetrainingTriggerManager(clock=fixed_clock)
    manager.register_drift_trigger()
    manager.register_time_trigger()
    report = manager.check_retraining_needed()
    assert not report.triggered and report.metadata is not None
    assert report.metadata["decision"] == "undecided"


def test_check_retraining_needed_with_unknown_model() -> None:
    manager = RetrainingTriggerManager(MetricsEngine(), Registry(None), clock=fixed_clock)
    manager.register_performance_trigger()
    report = manager.check_retraining_needed(model_id="ghost")
    assert report.trigger_details[0].undecided and report.trigger_details[0].reason.startswith("Missing")


def test_latest_epoch_values_tolerates_gaps() -> None:
    rows = [
        {"metric_name": "a", "value": 1.0, "epoch": None},
        {"metric_name": "a", "value": 2.0, "epoch": float("nan")},
        {"metric_name": "b", "value": None, "epoch": 3},
        {"value": 5.0, "epoch": 1},
        {"metric_name": "c", "value": 1, "epoch": 1},
        {"metric_name": "c", "value": 2, "epoch": 1},
    ]
    assert latest_epoch_values(rows) == {"a": 2.0, "c": 2.0}
    assert latest_epoch_values(None) == {}
    assert latest_epoch_values(pd.DataFrame(columns=["metric_name", "value", "epoch"])) == {}


# --- threads ------------------------------------------------------------------------------------


def test_registration_while_a_slow_trigger_evaluates_neither_blocks_nor_breaks() -> None:
    manager = RetrainingTriggerManager(clock=fixed_clock)
    slow = user_trigger("slow", fire=False, delay=0.3)
    manager.register_trigger("slow", slow)
    results: list[RetrainingReport] = []
    worker = threading.Thread(target=lambda: results.append(manager.evaluate()))
    worker.start()
    assert slow.started.wait(5)
    for i in range(50):  # while the evaluation is in the middle of its triggers
        manager.register_trigger(f"late{i}", user_trigger(f"late{i}", fire=True))
    registered_while_running = worker.is_alive()
    worker.join(5)
    assert registered_while_running  # registration did not wait for the slow trigger
    (report,) = results
    assert [d.trigger_name for d in report.trigger_details] == ["slow"]  # the table as it was at the start
    assert not report.triggered
    slow.delay = 0
    assert len(manager.evaluate().trigger_details) == 51


def test_concurrent_evaluations_and_registrations_keep_history_complete_and_in_time_order() -> None:
    ticks = itertools.count()

    def slow_clock() -> datetime:
        """Reads the time, then yields to the other threads before the caller can use it."""
        moment = NOW + timedelta(microseconds=next(ticks))
        time.sleep(0.0002)
        return moment

    manager = RetrainingTriggerManager(clock=slow_clock)
    manager.register_drift_trigger(threshold=0.5)
    threads_count, per_thread = 4, 60
    errors: list[BaseException] = []
    start = threading.Barrier(threads_count + 1)

    def evaluate_many() -> None:
        start.wait()
        try:
            for _ in range(per_thread):
                manager.evaluate(drift_metrics={"js_divergence": 0.1})
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)

    def register_many() -> None:
        start.wait()
        for i in range(100):
            manager.register_trigger(f"extra{i}", user_trigger(f"extra{i}", fire=False))

    threads = [threading.Thread(target=evaluate_many) for _ in range(threads_count)]
    threads.append(threading.Thread(target=register_many))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    history = manager.trigger_history
    assert len(history) == threads_count * per_thread
    stamps = [report.timestamp for report in history]
    assert stamps == sorted(stamps), "history is not oldest first"
    assert manager.get_trigger_history(limit=5) == history[-5:]
    assert len(manager.triggers) == 101


def test_registry_model_without_creation_time_leaves_time_undecided() -> None:
    manager = RetrainingTriggerManager(
        model_registry=Registry({"metrics": {"val_loss": 0.4}}), clock=fixed_clock
    )
    manager.register_time_trigger()
    report = manager.check_retraining_needed(model_id="churn")
    assert report.trigger_details[0].undecided
    assert report.trigger_details[0].reason.startswith("No last training time")
