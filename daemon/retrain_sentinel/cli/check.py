"""``retrain-sentinel check``: evaluate the watches now, and print what was found as a table, JSON
or Markdown. The work itself (evaluate, record, send its own alerts) is ``service.check.run_check``;
this module only chooses the exit code and the output format."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from retrain_sentinel.cli.app import ConfigOption, ExitCode, choice, literal, load, stderr, stdout
from retrain_sentinel.jsonsafe import dumps

if TYPE_CHECKING:
    from retrain_sentinel.evaluation import Evaluation

__all__ = ["commands", "print_results"]

commands = typer.Typer()

_OUTCOME_STYLE = {"ok": "green", "triggered": "red", "undecided": "yellow", "error": "magenta"}


@commands.command()
def check(
    config: ConfigOption = None,
    model: Annotated[list[str] | None, typer.Option("--model", help="Only this model (repeatable).")] = None,
    output_format: Annotated[str, typer.Option("--format", help="text, json or markdown")] = "text",
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when a model needs retraining.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Evaluate and print only; record and send nothing.")
    ] = False,
) -> int:
    """Evaluate the watches now, record the history and send their alerts."""
    choice(output_format, ("text", "json", "markdown"), "--format")
    settings = load(config)
    from retrain_sentinel.service.check import run_check

    results, delivery_failed = run_check(settings, model or [], dry_run=dry_run)
    print_results(results, output_format)
    if delivery_failed:
        stderr.print(
            "warning: a notification could not be delivered; it stays queued for the daemon", markup=False
        )
    if delivery_failed or any(r.outcome == "error" for r in results):
        return int(ExitCode.FAILURE)
    if exit_code and any(r.outcome == "triggered" for r in results):
        return int(ExitCode.RETRAIN)
    return int(ExitCode.OK)


def print_results(results: Sequence[Evaluation], output_format: str) -> None:
    """The evaluations on stdout as ``text`` (a table and the recommendations), ``json`` or ``markdown``."""
    if output_format == "json":
        print(dumps([_result_dict(r) for r in results], indent=2))
    elif output_format == "markdown":
        for result in results:
            if result.report is not None:
                print(result.report.to_markdown())
            else:
                print(
                    f"# Retraining Trigger Report\n\n**Model:** {result.watch}\n\n**Error:** {result.error}\n"
                )
    else:
        _print_table(results)


def _result_dict(result: Evaluation) -> dict[str, Any]:
    if result.report is not None:
        body = result.report.to_dict()
    else:
        body = {
            "triggered": False,
            "severity": None,
            "trigger_details": [],
            "recommendations": [],
            "timestamp": result.evaluated_at.isoformat(),
            "metadata": {"model": result.watch},
        }
    return {"model": result.watch, "outcome": result.outcome, "error": result.error, **body}


def _why(result: Evaluation) -> str:
    """What the verdict rests on: the fired triggers' reasons, then every trigger the policy asked
    for that could not decide or was skipped, with why (``report.notes``) — so an ``ok`` that judged
    only one of four triggers, or an ``undecided``, says so beside the verdict."""
    if result.error:
        return result.error
    report = result.report
    if report is None:
        return ""
    lines = [f"{d.trigger_name}: {d.reason}" for d in report.trigger_details if d.triggered]
    lines += report.notes
    if not lines and result.outcome == "undecided":
        lines.append("no trigger gave a verdict")
    return "\n".join(lines)


def _print_table(results: Sequence[Evaluation]) -> None:
    table = Table(title=f"Evaluated {len(results)} model(s)")
    for column in ("model", "outcome", "severity", "why"):
        table.add_column(column, overflow="fold")  # wrapped, never cut: a cut name is another model
    for result in results:
        report = result.report
        severity = report.severity if report is not None and report.triggered else ""
        style = _OUTCOME_STYLE[result.outcome]
        why = _why(result)
        table.add_row(
            literal(result.watch), literal(result.outcome, style), literal(severity), literal(why or "—")
        )
    stdout.print(table)
    for result in results:
        if result.report is not None and result.outcome in ("triggered", "undecided"):
            for line in result.report.recommendations:
                stdout.print(f"• {result.watch}: {line}", markup=False)
