"""Fixtures for the CLI tests: the demo's experiment DB and registry as a real source, a config
around them written to a file, and ``main([...])`` run in-process with its exit code and output."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from retrain_sentinel.cli import main
from retrain_sentinel.demo import write_demo

#: The demo's models and what `check` makes of them.
HEALTHY, DRIFTING, DEGRADED = "sentiment", "churn", "fraud"


@dataclass(frozen=True)
class Run:
    """One command's exit code and output."""

    code: int
    out: str
    err: str


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    """A directory with the demo's experiment DB and registry (three models), fresh per test."""
    directory = tmp_path / "lab"
    write_demo(directory)
    return directory


@pytest.fixture
def config_data(lab: Path, tmp_path: Path) -> dict[str, Any]:
    """The demo's config as a mapping, with the history database in this test's directory."""
    data: dict[str, Any] = yaml.safe_load((lab / "sentinel.yaml").read_text())
    data["database"] = f"sqlite:///{tmp_path / 'history.db'}"
    return data


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[Any], Path]:
    """Write a config (a mapping, or YAML text) to a file of its own and return its path."""
    count = 0

    def write(data: Any) -> Path:
        nonlocal count
        count += 1
        path = tmp_path / f"config-{count}.yaml"
        path.write_text(
            data if isinstance(data, str) else yaml.safe_dump(copy.deepcopy(data), sort_keys=False)
        )
        return path

    return write


@pytest.fixture
def config(config_data: dict[str, Any], write_config: Callable[[Any], Path]) -> Path:
    """The demo config written to a file."""
    return write_config(config_data)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run ``retrain-sentinel ARGS`` in-process; each call's output only."""

    def run(*args: str | Path) -> Run:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
