"""The console channel: readable text on stderr, stdout untouched."""

from __future__ import annotations

import io

import pytest

from alerts.factories import NOW, message, notification
from retrain_sentinel.delivery.channels import ConsoleChannel
from retrain_sentinel.errors import DeliveryError
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.triggers.policy import build_policy


def test_writes_to_stderr_only(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleChannel("stdout").send(message(notification("churn")))

    out, err = capsys.readouterr()
    assert out == ""
    assert "🔴 FIRING [critical] churn (version 3): retraining recommended" in err
    assert "Drift js_divergence = 0.18 exceeds threshold 0.15" in err


def test_a_group_is_one_block(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleChannel("stdout").send(message(*(notification(f"m{i}", id=str(i)) for i in range(5)), id="g"))

    err = capsys.readouterr().err
    assert err.count("── retrain-sentinel") == 1
    assert "5 alerts (5 firing)" in err


def test_control_characters_cannot_reach_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleChannel("stdout").send(message(notification("evil\x1b[2J\rmodel")))

    assert "\x1b" not in capsys.readouterr().err


def test_a_closed_stream_is_a_delivery_error() -> None:
    stream = io.StringIO()
    stream.close()

    with pytest.raises(DeliveryError):
        ConsoleChannel("stdout", stream=lambda: stream).send(message())


def test_destination_is_console() -> None:
    assert ConsoleChannel("log").destination == "console"


def test_the_watch_link_is_printed_and_absent_without_one(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleChannel("log").send(message(notification("churn", link="https://runbooks.example/{model}")))
    assert "Link: https://runbooks.example/churn\n" in capsys.readouterr().err
    ConsoleChannel("log").send(message(notification("churn")))
    assert "Link" not in capsys.readouterr().err


def test_a_broken_undecided_watch_says_undecided_and_why_never_no_action(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 12 item 2: the broken alert of a watch with no data said "No action needed"."""
    report = build_policy({"any": [{"drift": {}}, {"performance": {}}]}).evaluate(
        Snapshot(drift_metrics={"js_divergence": 0.01}), NOW, model="churn"
    )
    broken = notification(
        "churn", kind="broken", severity="warning", report=report, reason="undecided 3 times"
    )

    ConsoleChannel("stdout").send(message(broken))

    err = capsys.readouterr().err
    assert "⚠️ BROKEN [warning] churn: evaluations are undecided" in err
    assert "Not judged:\n  - performance could not decide: Missing current or baseline metrics" in err
    assert (
        "  - Undecided, no verdict: performance could not decide: Missing current or baseline metrics." in err
    )
    assert "No action needed" not in err
