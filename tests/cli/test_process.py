"""The installed `retrain-sentinel` command as a real process: its exit codes, stdout that a script
can parse, and logs (JSON lines off a TTY) on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import DEGRADED, DRIFTING, HEALTHY

pytestmark = pytest.mark.slow  # a process start costs about two seconds

COMMAND = Path(sys.executable).parent / "retrain-sentinel"


def sentinel(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETRAIN_SENTINEL_")}
    return subprocess.run(
        [str(COMMAND), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.fixture(autouse=True)
def _installed() -> None:
    assert COMMAND.exists(), f"{COMMAND} is not installed (pip install -e .)"


def test_check_json_on_stdout_logs_on_stderr_exit_1(config: Path) -> None:
    result = sentinel("check", "-c", config, "--format", "json", "--exit-code")

    assert result.returncode == 1, result.stderr
    assert {i["model"]: i["outcome"] for i in json.loads(result.stdout)} == {
        HEALTHY: "ok",
        DRIFTING: "triggered",
        DEGRADED: "triggered",
    }
    logs = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert {e["event"] for e in logs} >= {"evaluation", "alert.sent"}


def test_check_exit_0_when_nothing_fires(config: Path) -> None:
    assert sentinel("check", "-c", config, "--exit-code", "--model", HEALTHY).returncode == 0


def test_check_exit_3_when_the_source_is_down(config: Path, lab: Path) -> None:
    (lab / "experiments.db").unlink()

    result = sentinel("check", "-c", config, "--format", "json", "--exit-code")

    assert result.returncode == 3
    assert {i["outcome"] for i in json.loads(result.stdout)} == {"error"}


def test_validate_exit_2_one_line_per_problem(
    config_data: dict[str, Any], write_config: Callable[[Any], Path]
) -> None:
    config_data["models"][0]["policy"] = {"any": []}
    config_data["models"][1]["for"] = 0

    result = sentinel("validate", "-c", write_config(config_data))

    assert result.returncode == 2
    assert result.stdout == ""
    assert sorted(result.stderr.strip().splitlines()) == [
        f"error: models[{DRIFTING}].for: must be ≥ 1",
        f"error: models[{HEALTHY}].policy.any: must not be empty",
    ]


def test_debug_shows_the_traceback(config_data: dict[str, Any], write_config: Callable[[Any], Path]) -> None:
    config_data["timezone"] = "Nowhere/City"
    path = write_config(config_data)

    plain = sentinel("validate", "-c", path)
    debug = sentinel("--debug", "validate", "-c", path)

    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert "Traceback" in debug.stderr and "ConfigError" in debug.stderr


def test_unknown_model_exit_2(config: Path) -> None:
    result = sentinel("check", "-c", config, "--model", "ghost")

    assert result.returncode == 2
    assert result.stderr.strip() == "error: --model: unknown model 'ghost'"


def test_default_config_is_sentinel_yaml_in_the_working_directory(config: Path, tmp_path: Path) -> None:
    (tmp_path / "sentinel.yaml").write_text(config.read_text())

    result = sentinel("validate", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("config OK: 3 models")


def test_version(config: Path) -> None:
    result = sentinel("--version")

    assert result.returncode == 0
    assert result.stdout.startswith("retrain-sentinel ")


def test_run_on_a_port_already_in_use_exits_2_naming_it(
    config_data: dict[str, Any], write_config: Callable[[Any], Path]
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config_data["http"] = {"host": "127.0.0.1", "port": port}

        result = sentinel("run", "-c", write_config(config_data))

    assert result.returncode == 2, result.stderr
    assert f"error: http: cannot listen on 127.0.0.1:{port}: " in result.stderr
    assert "internal error" not in result.stderr
