"""Reading the history back: ``retrain-sentinel history`` (recorded evaluations, newest first) and
``report`` (a model's latest report)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from retrain_sentinel.cli.app import ConfigOption, choice, literal, load, opened_store, stdout
from retrain_sentinel.errors import ConfigError
from retrain_sentinel.jsonsafe import dumps

if TYPE_CHECKING:
    from retrain_sentinel.evaluation import StoredEvaluation

__all__ = ["commands"]

commands = typer.Typer()

_HISTORY_FIELDS = ["model", "evaluated_at", "slot_at", "outcome", "severity", "fired", "baseline_version", "error"]


@commands.command()
def history(
    config: ConfigOption = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this model.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only this recent, e.g. 7d.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 50,
    output_format: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
) -> None:
    """Show recorded evaluations, newest first."""
    from retrain_sentinel.durations import parse_duration

    choice(output_format, ("table", "json", "csv"), "--format")
    try:
        window = parse_duration(since) if since is not None else None
    except ValueError as exc:
        raise ConfigError([("--since", str(exc))]) from None
    settings = load(config)
    cutoff = datetime.now(UTC) - window if window is not None else None
    with opened_store(settings) as store:
        rows = [_history_row(item) for item in store.history(model, cutoff, limit)]
    if output_format == "json":
        print(dumps(rows, indent=2))
    elif output_format == "csv":
        _print_csv(rows)
    else:
        _print_table(rows)


@commands.command()
def report(
    model: Annotated[str, typer.Option("--model", help="The model whose latest report to show.")],
    config: ConfigOption = None,
    output_format: Annotated[str, typer.Option("--format", help="markdown or json")] = "markdown",
) -> None:
    """Show the latest recorded report of a model."""
    choice(output_format, ("markdown", "json"), "--format")
    settings = load(config)
    with opened_store(settings) as store:
        latest = store.latest(model)
    if latest is None:
        raise ConfigError([("--model", f"no evaluation of {model!r} is recorded")])
    if latest.report is None:
        print(dumps(_history_row(latest), indent=2) if output_format == "json" else f"{model}: {latest.error}")
    elif output_format == "json":
        print(latest.report.to_json())
    else:
        print(latest.report.to_markdown())


def _history_row(item: StoredEvaluation) -> dict[str, Any]:
    report = item.report
    return {
        "model": item.watch,
        "evaluated_at": item.evaluated_at.isoformat(),
        "slot_at": item.slot_at.isoformat() if item.slot_at else None,
        "outcome": item.outcome,
        "severity": item.severity,
        "fired": report.fired_triggers if report is not None else [],
        "baseline_version": item.baseline_version,
        "error": item.error,
    }


def _print_csv(rows: list[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_HISTORY_FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "fired": " ".join(row["fired"])})
    print(buffer.getvalue(), end="")


def _print_table(rows: list[dict[str, Any]]) -> None:
    table = Table(title="History")
    for column in ("evaluated_at", "model", "outcome", "severity", "fired", "error"):
        table.add_column(column, overflow="fold")  # wrapped, never cut: the time is what you look for
    for row in rows:
        cells = (row["evaluated_at"], row["model"], row["outcome"], row["severity"], ", ".join(row["fired"]), row["error"])
        table.add_row(*map(literal, cells))
    stdout.print(table)
