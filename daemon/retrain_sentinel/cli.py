"""The ``retrain-sentinel`` command (DESIGN §11).

Exit codes: 0 success; 1 retraining recommended (``--exit-code``); 2 usage or config error; 3 a
source, the store or a delivery failed; 4 internal error; 130 interrupted. Errors are one line on
stderr (a traceback only with ``--debug``); logs go to stderr so stdout stays parseable.
"""

from __future__ import annotations

import json
import sys
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.exceptions import TyperException

from retrain_sentinel import __version__
from retrain_sentinel.errors import ConfigError, SentinelError
from retrain_sentinel.settings import Settings, load_settings
from retrain_sentinel.triggers.presets import DEFAULT_PRESET, PRESETS

__all__ = ["ExitCode", "app", "main", "run"]


class ExitCode(IntEnum):
    OK = 0
    RETRAIN = 1
    USAGE = 2
    FAILURE = 3
    INTERNAL = 4
    INTERRUPTED = 130


app = typer.Typer(
    name="retrain-sentinel",
    help="Decide when models need retraining, record why, and tell the people who must know.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
config_app = typer.Typer(help="Inspect the configuration format.", no_args_is_help=True)
app.add_typer(config_app, name="config")

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "-c",
        "--config",
        help="Config file (default: $RETRAIN_SENTINEL_CONFIG, else ./sentinel.yaml).",
        show_default=False,
    ),
]

_state: dict[str, Any] = {"debug": False}


def _version(value: bool) -> None:
    if value:
        print(f"retrain-sentinel {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    _state["debug"] = debug


def load(config: Path | None) -> Settings:
    """The validated config, or a ``ConfigError`` that ``main`` turns into exit code 2."""
    return load_settings(config)


@app.command()
def presets(
    output_format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Show the preset policies and their thresholds."""
    rows = {
        name: {
            "drift": {"threshold": v.drift_threshold, "severity": v.drift_severity},
            "performance": {"threshold": v.performance_threshold, "severity": v.performance_severity},
            "time": {"interval_hours": v.time_interval_hours, "severity": v.time_severity},
            "data_volume": {"threshold_percentage": v.volume_percentage, "severity": v.volume_severity},
        }
        for name, v in PRESETS.items()
    }
    if output_format == "json":
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="Presets (any of the four fires)")
    for column in ("preset", "drift (js_divergence)", "performance", "time", "data volume"):
        table.add_column(column)
    for name, v in PRESETS.items():
        table.add_row(
            name + (" (default)" if name == DEFAULT_PRESET else ""),
            f"{v.drift_threshold:g}, {v.drift_severity}",
            f"{v.performance_threshold:.0%}, {v.performance_severity}",
            f"{v.time_interval_hours:g} h, {v.time_severity}",
            f"{v.volume_percentage:.0%}, {v.volume_severity}",
        )
    stdout.print(table)


@config_app.command("schema")
def config_schema() -> None:
    """Print the config's JSON Schema (for editors)."""
    print(json.dumps(Settings.model_json_schema(by_alias=True), indent=2))


@app.command()
def validate(config: ConfigOption = None) -> None:
    """Check the config file."""
    settings = load(config)
    print(
        f"config OK: {len(settings.models)} models, {len(settings.sources)} sources, "
        f"{len(settings.channels)} channels"
    )


def _fail(code: ExitCode, message: str) -> int:
    stderr.print(f"error: {message}", markup=False)
    return int(code)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map every failure to its exit code (DESIGN §11)."""
    try:
        result = app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except TyperException as exc:  # usage errors: wrong option, missing argument
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            stderr.print(f"error: {exc.format_message()}", markup=False)
        return int(ExitCode.USAGE)
    except (typer.Abort, KeyboardInterrupt):
        return _fail(ExitCode.INTERRUPTED, "interrupted")
    except ConfigError as exc:
        if _state["debug"]:
            raise
        for path, message in exc.problems:  # one line per problem, each naming its path
            _fail(ExitCode.USAGE, f"{path}: {message}" if path else message)
        return int(ExitCode.USAGE)
    except SentinelError as exc:
        if _state["debug"]:
            raise
        return _fail(ExitCode.FAILURE, str(exc))
    except Exception as exc:  # the last line of defence: one clear line, never a traceback by default
        if _state["debug"]:
            raise
        return _fail(ExitCode.INTERNAL, f"internal error: {type(exc).__name__}: {exc}")
    return int(result) if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
