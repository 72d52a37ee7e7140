"""`retrain-sentinel demo`: the newcomer's first command builds a working setup and shows both kinds
of report — a model that needs retraining and one that does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrain_sentinel.cli import main
from retrain_sentinel.demo import DEMO_MODELS


def test_demo_prints_triggered_and_ok_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--dir", str(tmp_path / "demo")])

    out = capsys.readouterr().out
    assert code == 0
    assert out.count("# Retraining Trigger Report") == len(DEMO_MODELS)
    assert "**Status:** 🔴 TRIGGERED" in out
    assert "**Status:** 🟢 OK" in out
    assert "three models: sentiment (ok), churn (triggered), fraud (triggered)" in out


def test_demo_alerts_go_to_stderr_through_the_console_channel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["demo", "--dir", str(tmp_path / "demo")])

    captured = capsys.readouterr()
    assert "FIRING [warning] churn" in captured.err
    assert "FIRING" not in captured.out


def test_demo_leaves_a_config_the_other_commands_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "demo"
    main(["demo", "--dir", str(directory)])
    config = directory / "sentinel.yaml"
    capsys.readouterr()

    assert main(["validate", "-c", str(config)]) == 0
    capsys.readouterr()
    assert main(["history", "-c", str(config), "--format", "json"]) == 0
    assert {row["model"] for row in json.loads(capsys.readouterr().out)} == {m.name for m in DEMO_MODELS}
    assert main(["check", "-c", str(config), "--exit-code"]) == 1


def test_demo_can_run_again_in_the_same_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "demo"
    assert main(["demo", "--dir", str(directory)]) == 0
    capsys.readouterr()

    assert main(["demo", "--dir", str(directory)]) == 0
    assert capsys.readouterr().out.count("**Status:** 🔴 TRIGGERED") == 2


def test_demo_tells_how_to_go_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["demo", "--dir", str(tmp_path / "demo")])

    out = capsys.readouterr().out
    assert "retrain-sentinel run -c" in out
    assert "kind: slack" in out
