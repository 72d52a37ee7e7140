"""RetrainingReport: the original constructor, recommendations, strict JSON and Markdown."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from retrain_sentinel import RetrainingReport, Snapshot, TriggerDetail
from retrain_sentinel.report import recommendations_for
from retrain_sentinel.triggers.policy import build_policy

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def strict_json(text: str) -> object:
    def reject(token: str) -> float:
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=reject)


def fired_report() -> RetrainingReport:
    snapshot = Snapshot(
        drift_metrics={"js_divergence": 0.18},
        current_metrics={"val_loss": 0.45},
        baseline_metrics={"val_loss": 0.0},
        current_count=1500,
        baseline_count=1000,
        last_trained_at=NOW - timedelta(hours=200),
    )
    return build_policy("balanced").evaluate(snapshot, NOW, model="churn")


def test_positional_construction_in_the_original_order() -> None:
    detail = TriggerDetail("t", True, "warning", "why")
    report = RetrainingReport(True, [detail], ["retrain"], "warning", "2024-06-01T12:00:00+00:00")
    assert report.triggered and report.trigger_details == [detail]
    assert report.recommendations == ["retrain"] and report.severity == "warning"
    assert report.timestamp == "2024-06-01T12:00:00+00:00" and report.metadata is None


def test_to_dict_keys_and_timestamp_as_iso() -> None:
    detail = TriggerDetail("t", True, "warning", "why", {"x": 1}, 0.1, 0.2)
    report = RetrainingReport(True, [detail], ["retrain"], "warning", NOW, {"model": "m"})
    data = report.to_dict()
    assert list(data) == [
        "triggered",
        "trigger_details",
        "recommendations",
        "severity",
        "timestamp",
        "metadata",
    ]
    assert data["timestamp"] == "2024-06-01T12:00:00+00:00"
    assert data["trigger_details"] == [detail.to_dict()]
    assert data["metadata"] == {"model": "m"}
    assert RetrainingReport(False, [], [], "info", "2024-01-01").to_dict()["metadata"] is None


def test_to_json_writes_strict_json_with_non_finite_numbers_as_strings(tmp_path: Path) -> None:
    report = fired_report()
    report.metadata = {**(report.metadata or {}), "odd": [math.nan, -math.inf]}
    path = tmp_path / "report.json"
    text = report.to_json(path)
    written = path.read_text(encoding="utf-8")
    assert written == text + "\n"
    data = strict_json(written)
    assert isinstance(data, dict)
    performance = next(d for d in data["trigger_details"] if d["trigger_name"] == "performance")
    assert performance["actual_value"] == "inf"
    assert data["metadata"]["odd"] == ["nan", "-inf"]
    assert "NaN" not in written and "Infinity" not in written
    assert report.to_json() == text  # no path: only returned


def test_json_round_trips_through_from_dict(tmp_path: Path) -> None:
    report = fired_report()
    path = tmp_path / "r.json"
    report.to_json(str(path))
    loaded = RetrainingReport.from_dict(json.loads(path.read_text()))
    assert loaded.to_json() == report.to_json()
    performance = loaded.trigger_details[1]
    assert performance.actual_value == math.inf  # "inf" is read back as a number
    assert loaded.timestamp == report.timestamp_iso
    assert RetrainingReport.from_dict(RetrainingReport(False, [], [], "info", "t").to_dict()).metadata is None


def test_recommendations_name_the_numbers() -> None:
    recommendations = fired_report().recommendations
    assert len(recommendations) == 4  # one per fired kind
    drift, performance, time, volume = recommendations
    assert "js_divergence 0.18 > 0.15" in drift
    assert "val_loss 0 → 0.45" in performance and "degradation inf% > 5.0%" in performance
    assert "8.3 days ≥ 7.0 days since training" in time
    assert "50.0% of baseline ≥ 20.0%" in volume


def test_performance_recommendation_for_a_bound_breach() -> None:
    policy = build_policy(
        {"performance": {"metric": "auc", "mode": "max", "min_value": 0.8, "threshold": 0.5}}
    )
    report = policy.evaluate(Snapshot(current_metrics={"auc": 0.7}, baseline_metrics={"auc": 0.72}), NOW)
    assert report.triggered
    assert report.recommendations == [
        "Performance degraded (auc = 0.7 below min_value 0.8): retrain, or roll back to the previous version."
    ]


def test_recommendations_group_by_kind_and_cover_custom_triggers() -> None:
    details = [
        TriggerDetail("a", True, "warning", "drift a", {"js_divergence": 0.3}, 0.1, 0.3, kind="drift"),
        TriggerDetail("b", True, "warning", "drift b", {"psi": 0.5}, 0.2, 0.5, kind="drift"),
        TriggerDetail("custom", True, "critical", "the custom rule fired"),
        TriggerDetail("quiet", False, "info", "fine", kind="time"),
    ]
    assert recommendations_for(details, True) == [
        "Data drift detected (js_divergence 0.3 > 0.1, psi 0.5 > 0.2): "
        "review the drifted features and retrain on recent data.",
        "custom: the custom rule fired",
    ]


def test_not_fired_gives_the_single_no_action_line() -> None:
    quiet = [TriggerDetail("a", False, "info", "fine")]
    assert recommendations_for(quiet, False) == [
        "No action needed: all triggers within acceptable thresholds."
    ]
    unsure = [*quiet, TriggerDetail("b", False, "info", "no score", undecided=True)]
    # an AND that cannot fire: the policy decided "not fired", and says what it could not judge
    (line,) = recommendations_for(unsure, False, decision="not_fired")
    assert line == "No action needed: no trigger fired (b could not decide: no score)."


@pytest.mark.parametrize("decision", ["undecided", None])
def test_an_undecided_verdict_never_says_no_action_needed(decision: str | None) -> None:
    unsure = [
        TriggerDetail("a", False, "info", "fine"),
        TriggerDetail("b", False, "info", "no score", undecided=True),
        TriggerDetail("c", False, "info", "  ", undecided=True),
    ]
    (line,) = recommendations_for(unsure, False, decision=decision)
    assert line == "Undecided, no verdict: b could not decide: no score; c could not decide: no reason given."


def test_markdown_for_a_fired_report() -> None:
    report = fired_report()
    text = report.to_markdown()
    assert text.startswith("# Retraining Trigger Report\n")
    assert "**Model:** churn" in text
    assert "**Status:** 🔴 TRIGGERED" in text
    assert "**Severity:** ⚠️ WARNING" in text
    assert "**Timestamp:** 2024-06-01T12:00:00+00:00" in text
    assert "## Trigger Details" in text
    for name in ("drift", "performance", "time", "data_volume"):
        assert f"### 🔴 {name}" in text
    assert "- **Status:** FIRED" in text
    assert "- **Threshold:** 0.15" in text and "- **Actual value:** 0.18" in text
    assert '- **Metrics:** `{"js_divergence": 0.18}`' in text
    assert "## Recommendations\n\n1. Data drift detected" in text
    assert "\n2. Performance degraded" in text and "\n4. Enough new data" in text
    metadata = text.split("## Metadata\n\n```json\n", 1)[1].split("\n```", 1)[0]
    assert strict_json(metadata) == report.metadata


@pytest.mark.parametrize(("severity", "icon"), [("info", "ℹ️"), ("warning", "⚠️"), ("critical", "🚨")])
def test_markdown_severity_icons(severity: str, icon: str) -> None:
    report = RetrainingReport(True, [TriggerDetail("t", True, severity, "r")], ["x"], severity, NOW)
    text = report.to_markdown()
    assert f"**Severity:** {icon} {severity.upper()}" in text
    assert f"- **Severity:** {icon} {severity}" in text


def test_markdown_for_a_quiet_report_without_metadata() -> None:
    details = [
        TriggerDetail("ok", False, "info", "fine"),
        TriggerDetail("unsure", False, "info", "no data", undecided=True),
    ]
    text = RetrainingReport(False, details, ["No action needed: x"], "info", "2024-06-01").to_markdown()
    assert "**Status:** ⚪ UNDECIDED" in text and "**Severity:** ℹ️ INFO" in text
    assert "**Not judged:** unsure could not decide: no data" in text
    assert "### 🟢 ok" in text and "- **Status:** not fired" in text
    assert "### ⚪ unsure" in text and "- **Status:** UNDECIDED" in text
    assert "**Model:**" not in text and "## Metadata" not in text
    assert "Threshold" not in text and "Metrics" not in text
    assert "1. No action needed: x" in text


def test_decision_and_fired_triggers() -> None:
    report = fired_report()
    assert report.decision == "fired"
    assert report.fired_triggers == ["drift", "performance", "time", "data_volume"]
    assert RetrainingReport(False, [], [], "info", "t").decision == "not_fired"
    assert RetrainingReport(True, [], [], "info", "t").decision == "fired"


def test_recommendation_quotes_numeric_strings_as_given() -> None:
    policy = build_policy({"performance": {}})
    snapshot = Snapshot(current_metrics={"val_loss": "0.45"}, baseline_metrics={"val_loss": "0.40"})  # type: ignore[dict-item]
    (line,) = policy.evaluate(snapshot, NOW).recommendations
    assert "val_loss 0.40 → 0.45, degradation 12.5% > 5.0%" in line


def _section(markdown: str, name: str) -> list[str]:
    """The bullet lines of one trigger's section of a Markdown report."""
    body = markdown.split(f" {name}\n\n", 1)[1].split("\n\n", 1)[0]
    return body.splitlines()


def test_markdown_numbers_are_rounded_with_units_and_the_comparison() -> None:
    """Issue 12 item 4: ``Threshold: 0.2`` beside ``Actual value: 1.1e+04``, "Severity: warning" on
    triggers that did not fire, and ``0.024999999999999883`` in the metrics."""
    snapshot = Snapshot(
        drift_metrics={"js_divergence": 0.04},
        current_metrics={"val_loss": 0.41},
        baseline_metrics={"val_loss": 0.4},
        current_count=12000,
        baseline_count=1000,
        last_trained_at=NOW - timedelta(hours=48),
    )
    text = build_policy("balanced").evaluate(snapshot, NOW, model="churn").to_markdown()

    volume = _section(text, "data_volume")
    assert "- **Threshold:** 20.0% of baseline" in volume
    assert "- **Actual value:** 11,000 new samples (1,100.0% of baseline)" in volume
    assert "- **Comparison:** 1,100.0% of baseline ≥ 20.0%" in volume
    performance = _section(text, "performance")
    assert performance[:2] == [
        "- **Status:** not fired",
        "- **Reason:** Performance stable: degradation 2.5% (val_loss 0.4 → 0.41) within threshold 5.0%",
    ]
    assert "- **Threshold:** 5.0%" in performance and "- **Actual value:** 2.5%" in performance
    assert "- **Comparison:** 2.5% ≤ 5.0%" in performance
    assert '"degradation": 0.025}`' in performance[-1]
    assert "- **Comparison:** 2.0 days < 7.0 days" in _section(text, "time")
    assert "- **Comparison:** 0.04 ≤ 0.15" in _section(text, "drift")
    assert "0.0249999" not in text
    for name in ("drift", "performance", "time"):  # not fired: no severity of their own
        assert not any(line.startswith("- **Severity:**") for line in _section(text, name))
    assert "- **Severity:** ℹ️ info" in volume  # fired: its severity


@pytest.mark.parametrize(
    ("detail", "value", "threshold", "comparison"),
    [
        (
            TriggerDetail("p", True, "warning", "r", {}, 0.05, 0.2, kind="performance"),
            "20.0%",
            "5.0%",
            "20.0% > 5.0%",
        ),
        (
            TriggerDetail("t", True, "info", "r", {}, 168.0, 200.0, kind="time"),
            "8.3 days",
            "7.0 days",
            "8.3 days ≥ 7.0 days",
        ),
        (
            TriggerDetail("t", False, "info", "r", {}, 12.0, 3.0, kind="time"),
            "3.0 h",
            "12.0 h",
            "3.0 h < 12.0 h",
        ),
        (
            TriggerDetail(
                "v", True, "info", "r", {"new_samples": 6000.0}, 5000.0, 6000.0, kind="data_volume"
            ),
            "6,000 new samples",
            "5,000 samples",
            "6,000 samples ≥ 5,000 samples",
        ),
        (
            TriggerDetail("d", True, "warning", "r", {}, 0.15, 0.312345, kind="drift"),
            "0.312",
            "0.15",
            "0.312 > 0.15",
        ),
        (TriggerDetail("c", True, "warning", "r", {}, 0.1, 0.333333333, kind=None), "0.3333", "0.1", None),
    ],
)
def test_figures_give_each_kind_its_unit(
    detail: TriggerDetail, value: str, threshold: str, comparison: str | None
) -> None:
    from retrain_sentinel.report import figures

    shown = figures(detail)
    assert (shown.value, shown.threshold, shown.comparison) == (value, threshold, comparison)
