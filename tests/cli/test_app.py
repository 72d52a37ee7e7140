"""The application: the version, usage errors, every failure mapped to its exit code (DESIGN §11),
the commands `--help` lists, and a start that imports only what `--version` and `--help` need."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import typer

from retrain_sentinel.errors import ConfigError, SentinelError

from .conftest import Run

ROOT = Path(__file__).resolve().parents[2]

#: What a command imports when it runs, never the start of the CLI: the config models, the store,
#: the sources, logging, the scheduler and the statistics.
HEAVY = ("pydantic", "sqlalchemy", "alembic", "numpy", "scipy", "structlog", "requests", "apscheduler")

COMMANDS = {
    "check", "history", "report", "drift", "silence", "unsilence", "run", "db", "test-alert", "demo",
    "validate", "config", "presets",
}  # fmt: skip


def test_version_prints_the_project_version(cli: Callable[..., Run]) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

    result = cli("--version")

    assert result.code == 0
    assert result.out.strip() == f"retrain-sentinel {version}"


@pytest.mark.parametrize(
    "args",
    [["no-such-command"], ["check", "--no-such-option"], ["report"], ["history", "--limit", "0"]],
    ids=["command", "option", "missing-option", "bad-value"],
)
def test_usage_errors_exit_2(args: list[str], cli: Callable[..., Run]) -> None:
    result = cli(*args)

    assert result.code == 2
    assert "Traceback" not in result.err


def test_help_lists_every_command(cli: Callable[..., Run]) -> None:
    result = cli("--help")

    listed = {line.split()[0] for line in result.out.split("Commands:", 1)[1].splitlines() if line.strip()}
    assert result.code == 0
    assert listed == COMMANDS


@pytest.fixture
def failing(monkeypatch: pytest.MonkeyPatch) -> Callable[[BaseException | int], Run]:
    """``main`` run on an app whose one command raises the given exception (or returns an int)."""
    module = importlib.import_module("retrain_sentinel.cli.app")

    def run(outcome: BaseException | int) -> Run:
        fake = typer.Typer()

        @fake.command()
        def go() -> int:
            if isinstance(outcome, int):
                return outcome
            raise outcome

        @fake.command()
        def other() -> None:  # two commands, so `go` is a subcommand as in the real app
            pass

        monkeypatch.setattr(module, "app", fake)
        return Run(module.main(["go"]), "", "")

    return run


@pytest.mark.parametrize(
    ("outcome", "code", "message"),
    [
        (ConfigError([("models[fraud].for", "must be ≥ 1"), ("timezone", "unknown")]), 2, None),
        (SentinelError("the store is down"), 3, "error: the store is down"),
        (RuntimeError("boom"), 4, "error: internal error: RuntimeError: boom"),
        (KeyboardInterrupt(), 130, None),  # Typer turns it into exit 130 itself, without a line
        (1, 1, None),
    ],
    ids=["config", "sentinel", "internal", "interrupted", "returned"],
)
def test_every_failure_maps_to_its_exit_code_in_one_line(
    outcome: BaseException | int,
    code: int,
    message: str | None,
    failing: Callable[[BaseException | int], Run],
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = failing(outcome)
    err = capsys.readouterr().err

    assert result.code == code
    assert "Traceback" not in err
    if isinstance(outcome, ConfigError):  # one line per problem, each naming its path
        assert err.splitlines() == ["error: models[fraud].for: must be ≥ 1", "error: timezone: unknown"]
    elif message is not None:
        assert err.splitlines() == [message]


def _modules_after(code: str) -> list[str]:
    """The top-level packages of HEAVY a fresh interpreter has imported after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = json.loads(result.stdout.splitlines()[-1])
    return [name for name in HEAVY if name in loaded]


def test_importing_the_cli_imports_no_command_dependency() -> None:
    assert _modules_after("import retrain_sentinel.cli") == []


@pytest.mark.parametrize("option", ["--version", "--help"])
def test_version_and_help_import_no_command_dependency(option: str) -> None:
    code = f"from retrain_sentinel.cli import main\nassert main([{option!r}]) == 0"

    assert _modules_after(code) == []


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "retrain_sentinel.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("retrain-sentinel ")
