"""Commands about the config file: ``validate`` (and, with ``--connect``, reach what it names),
``config schema`` (its JSON Schema, for editors) and ``presets`` (the preset policies it may name)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from retrain_sentinel.cli.app import ConfigOption, ExitCode, choice, load, stderr, stdout
from retrain_sentinel.errors import ConfigError

if TYPE_CHECKING:
    from retrain_sentinel.settings import Settings

__all__ = ["commands"]

commands = typer.Typer()
config_app = typer.Typer(help="Inspect the configuration format.", no_args_is_help=True)
commands.add_typer(config_app, name="config")


@commands.command()
def validate(
    config: ConfigOption = None,
    connect: Annotated[
        bool, typer.Option("--connect", help="Also reach every source, channel and the database (sends nothing).")
    ] = False,
) -> int:
    """Check the config file (and, with --connect, that everything it names can be reached)."""
    settings = load(config)
    print(
        f"config OK: {len(settings.models)} models, {len(settings.sources)} sources, "
        f"{len(settings.channels)} channels"
    )
    if not connect:
        return int(ExitCode.OK)
    return _reach_all(settings)


def _reach_all(settings: Settings) -> int:
    """Try every source, channel and the database; one line each, exit 3 when any failed."""
    from retrain_sentinel.service.runtime import Runtime
    from retrain_sentinel.store import mask_url

    runtime = Runtime.build(settings)
    targets: list[tuple[str, Callable[[], object]]] = [(f"sources.{n}", s.check) for n, s in runtime.sources.items()]
    targets += [(f"channels.{n}", c.check) for n, c in runtime.channels.items()]
    targets.append((f"database {mask_url(settings.database)}", lambda: _ping(settings.database)))
    failed = 0
    try:
        for label, reach in targets:
            try:
                reach()
            except Exception as exc:  # every target is tried; each failure is one line
                failed += 1
                stderr.print(f"error: {label}: {exc}", markup=False)
            else:
                print(f"reached {label}")
    finally:
        runtime.close()
    return int(ExitCode.FAILURE) if failed else int(ExitCode.OK)


def _ping(url: str) -> None:
    """Reach the history database; a SQLite file that does not exist yet is left uncreated.

    Not ``open_store``: validating migrates nothing and does not refuse a schema ``run`` would
    upgrade; it only asks whether the database answers.
    """
    from sqlalchemy.engine import make_url

    from retrain_sentinel.store import HistoryStore

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.exists():
            if not path.parent.is_dir():
                raise ConfigError([("database", f"directory {path.parent} does not exist")])
            return  # `run`, `check` or `db upgrade` will create it
    with HistoryStore(url) as store:
        store.ping()


@config_app.command("schema")
def config_schema() -> None:
    """Print the config's JSON Schema (for editors)."""
    from retrain_sentinel.settings import Settings

    print(json.dumps(Settings.model_json_schema(by_alias=True), indent=2))


@commands.command()
def presets(
    name: Annotated[str | None, typer.Argument(help="Only this preset.", show_default=False)] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, json or yaml (as a policy)")] = "table",
) -> None:
    """Show the preset policies and their thresholds."""
    from retrain_sentinel.triggers.presets import DEFAULT_PRESET, PRESETS, preset_policy_yaml

    choice(output_format, ("table", "json", "yaml"), "--format")
    if name is not None:
        choice(name, tuple(PRESETS), "preset")
    chosen = [name] if name is not None else list(PRESETS)
    if output_format == "yaml":
        print("---\n".join(preset_policy_yaml(n) for n in chosen), end="")  # type: ignore[arg-type]
        return
    if output_format == "json":
        rows = {
            preset: {
                "drift": {"threshold": v.drift_threshold, "severity": v.drift_severity},
                "performance": {"threshold": v.performance_threshold, "severity": v.performance_severity},
                "time": {"interval_hours": v.time_interval_hours, "severity": v.time_severity},
                "data_volume": {"threshold_percentage": v.volume_percentage, "severity": v.volume_severity},
            }
            for preset, v in PRESETS.items()
            if preset in chosen
        }
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="Presets (any of the four fires)")
    for column in ("preset", "drift (js_divergence)", "performance", "time", "data volume"):
        table.add_column(column)
    for preset, v in PRESETS.items():
        if preset not in chosen:
            continue
        table.add_row(
            preset + (" (default)" if preset == DEFAULT_PRESET else ""),
            f"{v.drift_threshold:g}, {v.drift_severity}",
            f"{v.performance_threshold:.0%}, {v.performance_severity}",
            f"{v.time_interval_hours:g} h, {v.time_severity}",
            f"{v.volume_percentage:.0%}, {v.volume_severity}",
        )
    stdout.print(table)
