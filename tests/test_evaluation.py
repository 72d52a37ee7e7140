"""evaluation.py: an evaluation's outcome is its report's three-valued decision in one word."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from retrain_sentinel.evaluation import OUTCOMES, outcome_of
from retrain_sentinel.report import RetrainingReport, build_report
from retrain_sentinel.verdict import TriggerDetail

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("root", "outcome"),
    [
        (TriggerDetail("drift", True, "warning", "drifted"), "triggered"),
        (TriggerDetail("drift", False, "info", "within bounds"), "ok"),
        (TriggerDetail("drift", False, "info", "no data", undecided=True), "undecided"),
        (None, "undecided"),
    ],
    ids=["fired", "not_fired", "undecided", "nothing_applicable"],
)
def test_outcome_is_the_reports_decision(root: TriggerDetail | None, outcome: str) -> None:
    report = build_report(root, [root] if root is not None else [], NOW)
    assert outcome_of(report) == outcome


def test_a_report_of_the_original_constructor_is_read_from_triggered() -> None:
    """The original API's ``RetrainingReport(...)`` carries no decision in its metadata."""
    detail = TriggerDetail("drift", True, "warning", "drifted")
    assert outcome_of(RetrainingReport(True, [detail], [], "warning", NOW)) == "triggered"
    assert outcome_of(RetrainingReport(False, [detail], [], "info", NOW)) == "ok"


def test_the_outcomes_are_the_four_words_of_the_history() -> None:
    assert OUTCOMES == ("ok", "triggered", "undecided", "error")
