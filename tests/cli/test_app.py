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


# Issue 12 item 6: relative paths in a config are read from the config file's folder.


@pytest.fixture
def relative_config(lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo's config beside its databases, every path in it relative; the working directory
    is another folder."""
    text = (lab / "sentinel.yaml").read_text().replace(f"sqlite:///{lab}/", "sqlite:///")
    assert f"{lab}" not in text
    config = lab / "sentinel.yaml"
    config.write_text(text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return config


def test_relative_paths_are_read_from_the_config_files_folder(
    relative_config: Path, cli: Callable[..., Run]
) -> None:
    result = cli("check", "-c", relative_config, "--format", "json")

    assert result.code == 0, result.err
    assert {row["outcome"] for row in json.loads(result.out)} <= {"ok", "triggered"}
    assert (relative_config.parent / "sentinel.db").is_file()
    assert list(Path.cwd().iterdir()) == []  # nothing created in the working directory


def test_a_database_that_cannot_be_opened_is_named_by_its_resolved_path(
    relative_config: Path, cli: Callable[..., Run]
) -> None:
    text = relative_config.read_text().replace("sqlite:///experiments.db", "sqlite:///gone/experiments.db")
    relative_config.write_text(text)

    result = cli("check", "-c", relative_config, "--format", "json")

    errors = {row["error"] for row in json.loads(result.out)}
    assert errors and all(f"{relative_config.parent}/gone/experiments.db" in str(e) for e in errors)


def test_history_of_a_database_that_does_not_exist_yet_says_so(
    relative_config: Path, cli: Callable[..., Run]
) -> None:
    result = cli("history", "-c", relative_config)

    assert result.code == 2
    assert result.err.strip() == (
        f"error: database: the history database {relative_config.parent / 'sentinel.db'} does not exist yet: "
        "`check` or `run` creates it"
    )
    assert not (relative_config.parent / "sentinel.db").exists()


def test_a_history_left_in_the_working_directory_is_not_silently_abandoned(
    relative_config: Path, cli: Callable[..., Run]
) -> None:
    old = Path.cwd() / "sentinel.db"
    old.write_bytes(b"")

    result = cli("check", "-c", relative_config)

    assert result.code == 2
    assert str(relative_config.parent / "sentinel.db") in result.err and str(old) in result.err
    assert not (relative_config.parent / "sentinel.db").exists()
