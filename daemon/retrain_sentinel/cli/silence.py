"""Silences: ``retrain-sentinel silence`` (a model's notifications paused for a while, its history
going on), ``silence list`` and ``unsilence``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from retrain_sentinel.cli.app import ConfigOption, load, opened_store
from retrain_sentinel.errors import ConfigError

__all__ = ["commands"]

commands = typer.Typer()
silence_app = typer.Typer(
    help="Silence a model's notifications for a while (history goes on); `silence list` shows them.",
    invoke_without_command=True,
)
commands.add_typer(silence_app, name="silence")


@silence_app.callback()
def silence(
    ctx: typer.Context,
    config: ConfigOption = None,
    model: Annotated[str | None, typer.Option("--model", help="The model to silence.")] = None,
    duration: Annotated[str | None, typer.Option("--for", help="How long, e.g. 4h or 2d.")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (shown in `silence list`).")] = None,
) -> None:
    """Silence a model's notifications for a while (history goes on)."""
    from retrain_sentinel.durations import parse_duration

    ctx.obj = config
    if ctx.invoked_subcommand is not None:
        return
    missing = [name for name, value in (("--model", model), ("--for", duration), ("--reason", reason)) if not value]
    if missing:
        raise ConfigError([(name, "is required") for name in missing])
    try:
        length = parse_duration(duration)
    except ValueError as exc:
        raise ConfigError([("--for", str(exc))]) from None
    if not length:
        raise ConfigError([("--for", "must be longer than 0s")])
    settings = load(config)
    if model not in {w.name for w in settings.models}:
        raise ConfigError([("--model", f"unknown model {model!r}")])
    now = datetime.now(UTC)
    assert model is not None and reason is not None  # noqa: S101 - checked above
    with opened_store(settings) as store:
        created = store.silence(model, now + length, reason, now=now)
    print(f"silenced {created.watch} until {created.until.isoformat()}")


@silence_app.command("list")
def silence_list(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Show the silences in force."""
    settings = load(config or ctx.obj)
    with opened_store(settings) as store:
        found = store.silences(datetime.now(UTC))
    if not found:
        print("no silences in force")
    for item in found:
        print(f"{item.watch}\tuntil {item.until.isoformat()}\t{item.reason}")


@commands.command()
def unsilence(
    model: Annotated[str, typer.Option("--model", help="The model to unsilence.")],
    config: ConfigOption = None,
) -> None:
    """Lift a model's silences."""
    settings = load(config)
    with opened_store(settings) as store:
        count = store.unsilence(model)
    print(f"lifted {count} silence(s) of {model}")
