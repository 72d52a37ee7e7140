"""`silence`, `silence list` and `unsilence`: a model's notifications paused for a while, its
history going on."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from .conftest import DEGRADED, DRIFTING, Run


def test_silence_suppresses_notifications_not_history(config: Path, cli: Callable[..., Run]) -> None:
    silenced = cli("silence", "-c", config, "--model", DRIFTING, "--for", "4h", "--reason", "retraining now")
    assert silenced.code == 0, silenced.err
    assert silenced.out.startswith(f"silenced {DRIFTING} until ")

    checked = cli("check", "-c", config, "--format", "json")

    assert {i["model"]: i["outcome"] for i in json.loads(checked.out)}[DRIFTING] == "triggered"
    assert f"FIRING [warning] {DEGRADED}" in checked.err
    assert f"FIRING [warning] {DRIFTING}" not in checked.err


def test_silence_list_shows_the_silences_in_force(config: Path, cli: Callable[..., Run]) -> None:
    assert cli("silence", "-c", config, "list").out.strip() == "no silences in force"
    cli("silence", "-c", config, "--model", DEGRADED, "--for", "2d", "--reason", "known outage")

    listed = cli("silence", "-c", config, "list")

    assert listed.code == 0
    (line,) = listed.out.strip().splitlines()
    assert line.startswith(f"{DEGRADED}\tuntil ") and line.endswith("\tknown outage")


def test_silence_list_takes_the_config_after_the_subcommand(config: Path, cli: Callable[..., Run]) -> None:
    cli("silence", "-c", config, "--model", DEGRADED, "--for", "2d", "--reason", "known outage")

    listed = cli("silence", "list", "-c", config)

    assert listed.code == 0, listed.err
    assert listed.out.startswith(f"{DEGRADED}\tuntil ")


def test_unsilence_lifts_the_silence(config: Path, cli: Callable[..., Run]) -> None:
    cli("silence", "-c", config, "--model", DRIFTING, "--for", "4h", "--reason", "x")

    result = cli("unsilence", "-c", config, "--model", DRIFTING)

    assert result.out.strip() == f"lifted 1 silence(s) of {DRIFTING}"
    assert cli("silence", "-c", config, "list").out.strip() == "no silences in force"
    assert f"FIRING [warning] {DRIFTING}" in cli("check", "-c", config).err


def test_silence_needs_model_duration_and_reason(config: Path, cli: Callable[..., Run]) -> None:
    result = cli("silence", "-c", config, "--model", DRIFTING)

    assert result.code == 2
    assert result.err.strip().splitlines() == ["error: --for: is required", "error: --reason: is required"]


def test_silence_of_an_unknown_model_exits_2(config: Path, cli: Callable[..., Run]) -> None:
    result = cli("silence", "-c", config, "--model", "ghost", "--for", "1h", "--reason", "x")

    assert result.code == 2
    assert "unknown model 'ghost'" in result.err


def test_silence_rejects_a_bad_duration(config: Path, cli: Callable[..., Run]) -> None:
    result = cli("silence", "-c", config, "--model", DRIFTING, "--for", "a while", "--reason", "x")

    assert result.code == 2
    assert result.err.startswith("error: --for: ")


def test_silence_for_no_time_at_all_exits_2(config: Path, cli: Callable[..., Run]) -> None:
    result = cli("silence", "-c", config, "--model", DRIFTING, "--for", "0s", "--reason", "x")

    assert result.code == 2
    assert result.err.startswith("error: --for: ")
    assert cli("silence", "-c", config, "list").out.strip() == "no silences in force"
