"""What every medium says about an alert: the shared rendering."""

from __future__ import annotations

from dataclasses import replace

import pytest

from retrain_sentinel.alerts.render import (
    describe,
    group_title,
    one_line,
    render_text,
    summary_line,
    top_features,
)
from retrain_sentinel.report import RetrainingReport
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.triggers.policy import build_policy

from .factories import NOW, drift_report, message, notification


def test_describe_names_model_version_transition_verdict_and_severity() -> None:
    view = describe(notification("churn", kind="firing", severity="critical"))

    assert (view.watch, view.version, view.kind, view.severity) == ("churn", "3", "firing", "critical")
    assert view.verdict == "retraining recommended"
    assert view.why == "fired for 2 consecutive evaluations"
    assert summary_line(view) == "🔴 FIRING [critical] churn (version 3): retraining recommended"


def test_reasons_are_the_fired_triggers_with_their_numbers() -> None:
    view = describe(notification())

    assert view.reasons == ("drift_trigger: Drift js_divergence = 0.18 exceeds threshold 0.15",)


def test_top_features_come_from_per_feature_drift_metrics_highest_first() -> None:
    report = drift_report(features={"a": 0.1, "b": 0.7, "c": 0.3, "d": 0.2, "e": 0.25, "f": 0.05})

    names = [f.name for f in top_features(report, {})]

    assert names == ["b", "c", "e", "d", "a"]


def test_top_features_read_a_drift_result_in_the_metadata() -> None:
    report = RetrainingReport(
        triggered=True,
        trigger_details=[],
        recommendations=[],
        severity="warning",
        timestamp=NOW,
        metadata={
            "drift": {
                "features": [
                    {"feature": "age", "method": "psi", "score": 0.4, "drifted": True},
                    {"feature": "zip", "method": "chi2", "score": 9.0, "drifted": False},
                    {"feature": "income", "method": "ks", "score": "inf", "drifted": True},
                ]
            }
        },
    )

    features = top_features(report, {})

    assert [(f.name, f.method, f.score) for f in features] == [("age", "psi", 0.4)]


def test_broken_shows_the_error_and_no_report() -> None:
    broken = notification("churn", kind="broken", error="source 'lab': connection refused")
    view = describe(replace(broken, report=None))

    assert view.verdict == "evaluations are failing"
    assert view.error == "source 'lab': connection refused"
    assert view.reasons == ()


def test_resolved_says_why() -> None:
    report = replace(drift_report(), triggered=False, metadata={"decision": "not_fired"})
    view = describe(notification(kind="resolved", reason="new baseline version 4", report=report))

    assert view.headline == "Resolved"
    assert view.why == "new baseline version 4"
    assert view.verdict == "no action needed"


@pytest.mark.parametrize(
    ("decision", "verdict"),
    [
        ("fired", "retraining recommended"),
        ("not_fired", "no action needed"),
        ("undecided", "undecided: the triggers could not decide"),
    ],
)
def test_the_verdict_is_the_reports_own_decision(decision: str, verdict: str) -> None:
    report = replace(drift_report(), metadata={"decision": decision})

    assert describe(notification(kind="changed", report=report)).verdict == verdict


def test_a_report_without_a_recorded_decision_says_what_its_flag_says() -> None:
    fired = replace(drift_report(), metadata={})
    quiet = replace(drift_report(), triggered=False, metadata=None)

    assert describe(notification(report=fired)).verdict == "retraining recommended"
    assert describe(notification(report=quiet)).verdict == "no action needed"


def test_link_template_is_filled_with_quoted_values() -> None:
    view = describe(
        notification("fraud detector/v2"), link_template="https://m.example/{model}/versions/{version}"
    )

    assert view.link == "https://m.example/fraud%20detector%2Fv2/versions/3"


def test_the_notifications_own_link_wins() -> None:
    view = describe(notification(link="https://own.example/x"), link_template="https://m.example/{model}")

    assert view.link == "https://own.example/x"


def test_a_watch_link_with_placeholders_is_filled_like_a_template() -> None:
    view = describe(
        notification("fraud detector/v2", link="https://runbooks.example/{model}?v={version}&on={kind}"),
        link_template="https://m.example/{model}",
    )

    assert view.link == "https://runbooks.example/fraud%20detector%2Fv2?v=3&on=firing"


@pytest.mark.parametrize(
    "link",
    [
        "https://grafana.example/d/x?var-model={model}&from={days}",  # not one of the placeholders
        "https://x.example/{0}",
        "https://x.example/{model.name}",
        "https://x.example/{",
        "https://x.example/}",
    ],
)
def test_a_watch_link_whose_braces_are_not_placeholders_is_used_as_written(link: str) -> None:
    assert describe(notification(link=link)).link == link


def test_without_a_link_or_a_template_there_is_no_link_at_all() -> None:
    view = describe(notification())
    assert view.link is None
    assert "Link" not in render_text(message(notification()))


def test_user_text_becomes_one_printable_line() -> None:
    assert one_line("x\r\nBcc: evil@x\x1b[31m\u2028y") == "x Bcc: evil@x [31m y"
    assert one_line("a" * 10, limit=5) == "aaaa…"
    view = describe(notification("evil\nmodel", reason="because\r\nreasons"))
    assert view.watch == "evil model" and view.why == "because reasons"


def test_group_text_has_a_title_and_every_alert() -> None:
    group = message(
        notification("a", id="1"),
        notification("b", id="2", kind="resolved", severity="info"),
        notification("c", id="3", kind="broken", severity="warning", error="boom"),
        id="g",
    )

    text = render_text(group)

    assert text.startswith(
        "Retrain Sentinel: 3 alerts (1 firing, 1 resolved, 1 broken), highest severity critical"
    )
    assert all(f"] {model}" in text for model in ("a", "b", "c"))
    assert group_title(group) in text


def test_single_text_lists_reasons_features_recommendations_and_id() -> None:
    text = render_text(message(notification(id="n-9")), link_template="https://m.example/{model}")

    assert "Reasons:\n  - drift_trigger: Drift js_divergence = 0.18" in text
    assert "Top drifted features:\n  - age (psi) 0.42\n  - income (psi) 0.21" in text
    assert "Recommendations:\n  - Data drift detected" in text
    assert "Link: https://m.example/churn" in text
    assert f"id n-9 at {NOW.isoformat()}" in text


def test_a_broken_undecided_watch_names_what_could_not_decide_and_why() -> None:
    """Issue 12 item 2: the broken alert of a watch with no data read "No action needed"."""
    report = build_policy("balanced").evaluate(Snapshot(), NOW, model="churn")
    view = describe(notification(kind="broken", severity="warning", report=report))

    assert view.verdict == "evaluations are undecided"
    assert view.not_judged == (
        "drift skipped (no input: no drift score in drift_metrics)",
        "performance skipped (no input: no current and baseline value of the performance metric)",
        "time skipped (no input: no last training time)",
        "data_volume skipped (no input: no new_count, nor current_count and baseline_count)",
    )
    assert view.recommendations[0].startswith("Undecided, no verdict: drift skipped")
    assert "No action needed" not in render_text(message(notification(kind="broken", report=report)))
