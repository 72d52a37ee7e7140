"""The original API's manager: named triggers, OR-combined, with an in-memory history.

It can also pull its inputs the way the original system did (registry, experiment DB, metrics
engine) and log fired reports back to the experiment DB. Logging back is best-effort: a failing
logger is reported in the log, never raised into the evaluation.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import structlog

from retrain_sentinel.clock import Clock, system_clock
from retrain_sentinel.legacy.triggers import (
    CompositeTrigger,
    DataVolumeTrigger,
    DriftTrigger,
    PerformanceTrigger,
    RetrainingTrigger,
    TimeTrigger,
)
from retrain_sentinel.report import RetrainingReport, build_report
from retrain_sentinel.verdict import TriggerDetail, failed_detail

__all__ = ["RetrainingTriggerManager", "latest_epoch_values"]

log = structlog.get_logger(__name__)


def latest_epoch_values(rows: Any) -> dict[str, float]:
    """Each metric's value at its highest epoch, from a DataFrame or any iterable of mappings."""
    records: Iterable[Mapping[str, Any]]
    to_dict = getattr(rows, "to_dict", None)
    records = to_dict("records") if callable(to_dict) else rows  # a pandas DataFrame
    best: dict[str, tuple[float, float]] = {}
    for row in records or ():
        name, value = row.get("metric_name"), row.get("value")
        if name is None or value is None:
            continue
        epoch = row.get("epoch")
        rank = (
            float(epoch)
            if epoch is not None and not (isinstance(epoch, float) and math.isnan(epoch))
            else -math.inf
        )
        if name not in best or rank >= best[name][0]:
            best[name] = (rank, float(value))
    return {name: value for name, (_, value) in best.items()}


class RetrainingTriggerManager:
    """Registers triggers by name and evaluates them together (any fired trigger fires the report).

    Safe to use from several threads: registration and evaluation share a lock for the trigger table
    and the history, but triggers run outside it so a slow trigger does not block registration. The
    report's timestamp is read and the report appended under the lock, so the history stays oldest
    first even when threads evaluate at once.
    """

    def __init__(
        self,
        metrics_engine: Any = None,
        model_registry: Any = None,
        experiment_db: Any = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.metrics_engine = metrics_engine
        self.model_registry = model_registry
        self.experiment_db = experiment_db
        self.clock: Clock = clock or system_clock
        self.triggers: dict[str, RetrainingTrigger] = {}
        self.trigger_history: list[RetrainingReport] = []
        self._lock = threading.RLock()

    def register_trigger(self, name: str, trigger: RetrainingTrigger) -> None:
        with self._lock:
            self.triggers[name] = trigger

    def register_drift_trigger(
        self,
        threshold: float = 0.15,
        metric_name: str = "js_divergence",
        severity: str = "warning",
        name: str = "drift_trigger",
    ) -> DriftTrigger:
        trigger = DriftTrigger(threshold, metric_name, severity, name, clock=self.clock)
        self.register_trigger(name, trigger)
        return trigger

    def register_performance_trigger(
        self,
        threshold: float = 0.05,
        metric_name: str = "val_loss",
        mode: str = "min",
        severity: str = "warning",
        name: str = "performance_trigger",
    ) -> PerformanceTrigger:
        trigger = PerformanceTrigger(threshold, metric_name, mode, severity, name, clock=self.clock)
        self.register_trigger(name, trigger)
        return trigger

    def register_time_trigger(
        self, interval_hours: float = 168.0, severity: str = "info", name: str = "time_trigger"
    ) -> TimeTrigger:
        trigger = TimeTrigger(interval_hours, severity, name, clock=self.clock)
        self.register_trigger(name, trigger)
        return trigger

    def register_data_volume_trigger(
        self,
        threshold_samples: int | None = None,
        threshold_percentage: float | None = 0.2,
        severity: str = "info",
        name: str = "data_volume_trigger",
    ) -> DataVolumeTrigger:
        trigger = DataVolumeTrigger(threshold_samples, threshold_percentage, severity, name, clock=self.clock)
        self.register_trigger(name, trigger)
        return trigger

    def _run(self, name: str, trigger: RetrainingTrigger, arguments: dict[str, Any]) -> TriggerDetail:
        try:
            return trigger.evaluate(**arguments)
        except Exception as exc:  # one broken custom trigger must not hide the others' verdicts
            log.warning("trigger_failed", trigger=name, error=f"{type(exc).__name__}: {exc}")
            return failed_detail(name, exc)

    def evaluate(
        self,
        drift_metrics: Mapping[str, Any] | None = None,
        current_metrics: Mapping[str, Any] | None = None,
        baseline_metrics: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> RetrainingReport:
        """Run every registered trigger; the report fires when any of them fires."""
        with self._lock:
            registered = list(self.triggers.items())
        arguments = {
            "drift_metrics": drift_metrics,
            "current_metrics": current_metrics,
            "baseline_metrics": baseline_metrics,
            "metadata": metadata,
        }
        details = [self._run(name, trigger, arguments) for name, trigger in registered]
        if details:
            root: TriggerDetail | None = CompositeTrigger(
                [t for _, t in registered], "OR", name="manager"
            ).combine(details)
        else:
            root = None
        meta = dict(metadata or {})
        with self._lock:  # timestamp and append together: the history is in time order
            report = build_report(
                root,
                details,
                self.clock(),
                model=meta.get("model") or meta.get("model_id"),
                policy=" OR ".join(name for name, _ in registered) or None,
            )
            if root is None:
                report.recommendations = ["No action needed: no triggers are registered."]
            self.trigger_history.append(report)
        if report.triggered and self.experiment_db is not None:
            self._log_event(report)
        return report

    def get_trigger_history(self, limit: int = 10) -> list[RetrainingReport]:
        """The last ``limit`` reports, oldest first."""
        with self._lock:
            return list(self.trigger_history[-limit:]) if limit > 0 else []

    def check_retraining_needed(self, model_id: Any = None, run_id: Any = None) -> RetrainingReport:
        """Gather inputs from the attached registry, experiment DB and metrics engine, then evaluate."""
        baseline: dict[str, Any] | None = None
        metadata: dict[str, Any] = {"model_id": model_id, "run_id": run_id}
        if self.model_registry is not None and model_id is not None:
            model = self.model_registry.get_model(model_id=model_id)
            if model:
                baseline = dict(model.get("metrics") or {})
                if model.get("created_at") is not None:
                    metadata["last_training_time"] = model["created_at"]
        current: dict[str, Any] | None = None
        if self.experiment_db is not None and run_id is not None:
            current = latest_epoch_values(self.experiment_db.get_metrics(run_id))
        drift: dict[str, Any] | None = None
        history = getattr(self.metrics_engine, "drift_history", None)
        if history:
            latest = history[-1]
            drift = {"js_divergence": getattr(latest, "js_divergence", None)}
            for key, value in (getattr(latest, "details", None) or {}).items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    drift.setdefault(key, value)
        return self.evaluate(drift, current, baseline, {k: v for k, v in metadata.items() if v is not None})

    def _log_event(self, report: RetrainingReport) -> None:
        db = self.experiment_db
        stamp = (
            report.timestamp.strftime("%Y%m%d_%H%M%S")
            if isinstance(report.timestamp, datetime)
            else report.timestamp
        )
        try:
            run_id = db.log_run(
                run_name=f"trigger_event_{stamp}",
                config=report.to_dict(),
                notes="Retraining triggered: " + "; ".join(report.recommendations),
            )
            for detail in report.trigger_details:
                if detail.triggered:
                    db.log_metric(run_id, f"trigger/{detail.trigger_name}", 1.0, epoch=0)
                    value = detail.actual_value
                    db.log_metric(
                        run_id,
                        f"trigger/{detail.trigger_name}_value",
                        float(value) if value is not None else float("nan"),
                        epoch=0,
                    )
            db.update_run_status(run_id, "completed")
        except Exception as exc:  # the experiment DB is a courtesy copy; the verdict stands without it
            log.error("trigger_event_log_failed", error=f"{type(exc).__name__}: {exc}")
