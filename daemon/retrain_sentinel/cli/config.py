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
    from retrain_sentinel.service.runtime import Runtime, Watch
    from retrain_sentinel.settings import Settings
    from retrain_sentinel.sources.sql.queries import QueryProbe

__all__ = ["commands"]

commands = typer.Typer()
config_app = typer.Typer(help="Inspect the configuration format.", no_args_is_help=True)
commands.add_typer(config_app, name="config")


@commands.command()
def validate(
    config: ConfigOption = None,
    connect: Annotated[
        bool,
        typer.Option("--connect", help="Also reach every source, channel and the database (sends nothing)."),
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
    """Try every source, channel and the database; one line each, exit 3 when any failed. Then run
    each reached source's configured queries once (a wrong table fails here, not at the first
    ``check``) and warn of a trigger that would find no input in what they return."""
    from retrain_sentinel.service.runtime import Runtime
    from retrain_sentinel.store import mask_url

    runtime = Runtime.build(settings)
    targets: list[tuple[str, Callable[[], object]]] = [
        (f"sources.{n}", s.check) for n, s in runtime.sources.items()
    ]
    targets += [(f"channels.{n}", c.check) for n, c in runtime.channels.items()]
    targets.append((f"database {mask_url(settings.database)}", lambda: _ping(settings.database)))
    failed = 0
    unreached: set[str] = set()
    try:
        for label, reach in targets:
            try:
                reach()
            except Exception as exc:  # every target is tried; each failure is one line
                failed += 1
                unreached.add(label)
                stderr.print(f"error: {label}: {exc}", markup=False)
            else:
                print(f"reached {label}")
        failed += _dry_run_queries(runtime, skip=unreached)
    finally:
        runtime.close()
    return int(ExitCode.FAILURE) if failed else int(ExitCode.OK)


def _dry_run_queries(runtime: Runtime, *, skip: set[str]) -> int:
    """Run every ``queries:`` query of the reached SQL sources once; the number that failed."""
    from datetime import UTC, datetime

    from retrain_sentinel.sources.sql.queries import QueriesSource, dry_run_queries

    failed = 0
    for name, source in runtime.sources.items():
        if not isinstance(source, QueriesSource) or f"sources.{name}" in skip:
            continue
        watches = [w for w in runtime.watches.values() if w.settings.source == name]
        models = sorted({w.query.registry_model for w in watches})
        try:
            probes = dry_run_queries(source, models, datetime.now(UTC))
        except Exception as exc:  # unreachable since `check`: one line, like the other targets
            failed += 1
            stderr.print(f"error: sources.{name}: {exc}", markup=False)
            continue
        for probe in probes:
            label = f"sources.{name}.queries.{probe.role}"
            if probe.error is not None:
                failed += 1
                stderr.print(f"error: {label}: {probe.error}", markup=False)
            else:
                print(f"ran {label}: {probe.rows} row{'' if probe.rows == 1 else 's'}")
        if not any(p.error for p in probes):
            for warning in drift_input_warnings(name, probes, watches, source.settings.aliases):
                stderr.print(f"warning: {warning}", markup=False)
    return failed


def drift_input_warnings(
    source: str, probes: list[QueryProbe], watches: list[Watch], source_aliases: dict[str, str]
) -> list[str]:
    """Each watch whose policy has a drift trigger reading a metric that the source's queries do
    not return: the trigger would find no input, so a preset skips it and an explicit policy is
    undecided — drift silently off (issue 12: per-feature rows, no ``js_divergence``)."""
    from retrain_sentinel.sources.base import DRIFT_PREFIX
    from retrain_sentinel.triggers.drift import DriftTrigger

    by_role = {p.role: p for p in probes}
    drift_names = (
        {n.removeprefix(DRIFT_PREFIX) for n in by_role["drift_metrics"].names}
        if ("drift_metrics" in by_role)
        else set()
    )
    if "current_metrics" in by_role:
        drift_names |= {
            n.removeprefix(DRIFT_PREFIX)
            for n in by_role["current_metrics"].names
            if n.startswith(DRIFT_PREFIX)
        }
    warnings: list[str] = []
    for watch in watches:
        if watch.settings.drift_source is not None:
            continue  # drift comes from a files source, not these queries
        aliases = {**source_aliases, **watch.query.metric_aliases}
        available = drift_names | {
            alias for alias, original in aliases.items() if original.removeprefix(DRIFT_PREFIX) in drift_names
        }
        for metric in sorted({t.metric_name for t in watch.policy.leaves if isinstance(t, DriftTrigger)}):
            if metric in available:
                continue
            where = f"model {watch.name!r}: its drift trigger reads drift metric {metric!r}, but"
            drift = by_role.get("drift_metrics")
            if drift is not None and drift.rows == 0:
                shown = f" for model {drift.bound_model!r}" if drift.bound_model is not None else ""
                found = f"query 'drift_metrics' of sources.{source} returned no rows{shown}"
            elif drift_names:
                listed = ", ".join(sorted(drift_names)[:8])
                found = (
                    f"the queries of sources.{source} return the drift metrics {listed} and not {metric!r}"
                )
            else:
                found = (
                    f"no query of sources.{source} returns drift metrics "
                    "(a `drift_metrics` query, or `drift/…` current metrics)"
                )
            warnings.append(
                f"{where} {found}; the trigger would find no input (a preset skips it, an explicit policy "
                f"is undecided). Return one row named {metric!r}, e.g. "
                f"SELECT '{metric}' AS name, MAX(<score>) AS value FROM …"
            )
    return warnings


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
    output_format: Annotated[
        str, typer.Option("--format", help="table, json or yaml (as a policy)")
    ] = "table",
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
