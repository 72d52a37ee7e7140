"""verdict.py: TriggerDetail, the severity order and the number guard every trigger relies on."""

from __future__ import annotations

import math

import pytest

from retrain_sentinel import TriggerDetail
from retrain_sentinel.verdict import finite_number, max_severity, severity_rank, validate_severity


def test_detail_positional_construction_in_the_original_order() -> None:
    detail = TriggerDetail("drift_trigger", True, "warning", "drift", {"js_divergence": 0.2}, 0.15, 0.2)
    assert detail.trigger_name == "drift_trigger"
    assert detail.triggered is True
    assert detail.severity == "warning"
    assert detail.reason == "drift"
    assert detail.metrics == {"js_divergence": 0.2}
    assert detail.threshold == 0.15
    assert detail.actual_value == 0.2
    assert detail.undecided is False


def test_detail_minimal_construction_has_defaults() -> None:
    detail = TriggerDetail("t", False, "info", "ok")
    assert detail.metrics == {} and detail.threshold is None and detail.actual_value is None
    assert not detail.undecided and detail.kind is None
    assert detail.state == "not_fired"


def test_undecided_is_the_eighth_positional_field() -> None:
    detail = TriggerDetail("t", False, "info", "why", {}, None, None, True)
    assert detail.undecided and detail.state == "undecided"


def test_detail_to_dict() -> None:
    detail = TriggerDetail("t", True, "critical", "r", {"a": 1}, 0.1, 0.3, kind="drift")
    assert detail.to_dict() == {
        "trigger_name": "t",
        "triggered": True,
        "severity": "critical",
        "reason": "r",
        "metrics": {"a": 1},
        "threshold": 0.1,
        "actual_value": 0.3,
        "undecided": False,
        "kind": "drift",
    }
    assert detail.state == "fired"


def test_detail_round_trips_including_non_finite_strings() -> None:
    detail = TriggerDetail("t", True, "warning", "r", {"x": 1}, 0.05, math.inf, kind="performance")
    data = detail.to_dict() | {"actual_value": "inf"}
    assert TriggerDetail.from_dict(data) == detail
    assert TriggerDetail.from_dict(
        {"trigger_name": "t", "triggered": False, "severity": "info", "reason": ""}
    ) == (TriggerDetail("t", False, "info", ""))


def test_severity_order() -> None:
    assert [severity_rank(s) for s in ("info", "warning", "critical")] == [0, 1, 2]
    assert max_severity(["info", "critical", "warning"]) == "critical"
    assert max_severity([]) == "info"
    with pytest.raises(ValueError, match="limit must be one of info, warning, critical"):
        validate_severity("loud", "limit")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1.0),
        ("2.5", 2.5),
        (None, None),
        (True, None),
        (math.nan, None),
        (-math.inf, None),
        ("x", None),
        ([], None),
    ],
)
def test_finite_number(value: object, expected: float | None) -> None:
    assert finite_number(value) == expected
