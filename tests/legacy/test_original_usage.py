"""The documented usage of the system this project grew from, word for word but the import line."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from retrain_sentinel import (
    CompositeTrigger,
    DriftTrigger,
    PerformanceTrigger,
    RetrainingTriggerManager,
    TimeTrigger,
)


def test_documented_manager_usage(tmp_path: Path) -> None:
    path = tmp_path / "trigger_report.json"

    manager = RetrainingTriggerManager()
    manager.register_drift_trigger(threshold=0.15)
    manager.register_performance_trigger(threshold=0.05, metric_name='val_loss')  # fmt: skip
    report = manager.evaluate(drift_metrics={'js_divergence': 0.18}, current_metrics={'val_loss': 0.45}, baseline_metrics={'val_loss': 0.40})  # fmt: skip
    if report.triggered:
        print("Retraining recommended!")
        for rec in report.recommendations:
            print(f"  - {rec}")
    report.to_json(path)
    markdown = report.to_markdown()

    assert report.triggered
    assert report.severity == "warning"
    assert len(report.recommendations) == 2
    assert "js_divergence 0.18 > 0.15" in report.recommendations[0]
    assert "val_loss 0.4 → 0.45" in report.recommendations[1]
    drift, performance = report.trigger_details
    assert "exceeds threshold" in drift.reason and "degradation" in performance.reason
    assert json.loads(path.read_text())["triggered"] is True
    assert markdown.startswith("# Retraining Trigger Report") and "🔴 TRIGGERED" in markdown
    assert manager.get_trigger_history() == [report]


def test_documented_nested_composite_policy() -> None:
    drift_trigger = DriftTrigger(threshold=0.15)
    perf_trigger = PerformanceTrigger(threshold=0.05, metric_name='val_loss')  # fmt: skip
    time_trigger = TimeTrigger(interval_hours=168)
    # (drift OR perf) AND time
    drift_or_perf = CompositeTrigger([drift_trigger, perf_trigger], logic='OR')  # fmt: skip
    policy = CompositeTrigger([drift_or_perf, time_trigger], logic='AND', severity='critical')  # fmt: skip

    manager = RetrainingTriggerManager()
    manager.register_trigger('retraining_policy', policy)  # fmt: skip
    last_week = (datetime.now() - timedelta(days=8)).isoformat()
    report = manager.evaluate(drift_metrics={'js_divergence': 0.18}, current_metrics={'val_loss': 0.45}, baseline_metrics={'val_loss': 0.40}, metadata={'last_training_time': last_week})  # fmt: skip

    assert report.triggered and report.severity == "critical"
    (detail,) = report.trigger_details
    assert detail.trigger_name == "composite_trigger" and detail.triggered
    assert policy.expression() == "(drift_trigger OR performance_trigger) AND time_trigger"

    yesterday = (datetime.now() - timedelta(days=1)).isoformat()
    recent = manager.evaluate(drift_metrics={'js_divergence': 0.18}, metadata={'last_training_time': yesterday})  # fmt: skip
    assert not recent.triggered and recent.severity == "info"
