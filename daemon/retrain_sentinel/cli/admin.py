"""Running and operating the service: ``retrain-sentinel run`` (the daemon), ``db upgrade|current``
(the history schema), ``test-alert`` (a sample through a channel's real delivery path) and ``demo``
(a working setup to try all of it on)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from retrain_sentinel.cli.app import ConfigOption, load, stdout
from retrain_sentinel.cli.check import print_results
from retrain_sentinel.errors import ConfigError

__all__ = ["commands"]

commands = typer.Typer()
db_app = typer.Typer(help="Manage the history database schema.", no_args_is_help=True)
commands.add_typer(db_app, name="db")


@commands.command("run")
def run_command(config: ConfigOption = None) -> int:
    """Run the daemon: scheduled batches under a leader lease, alerts, /healthz, /readyz, /metrics."""
    from retrain_sentinel.service.daemon import run_daemon
    from retrain_sentinel.service.logs import configure_logging
    from retrain_sentinel.settings import config_path

    configure_logging()
    return run_daemon(config_path(config))


@commands.command("test-alert")
def test_alert(
    channel: Annotated[str, typer.Option("--channel", help="The channel to send a sample alert to.")],
    config: ConfigOption = None,
) -> None:
    """Send a sample alert through a channel's real delivery path."""
    from retrain_sentinel.delivery.channels import build_channel
    from retrain_sentinel.delivery.sample import send_test_alert

    settings = load(config)
    if channel not in settings.channels:
        raise ConfigError([("--channel", f"unknown channel {channel!r}")])
    send_test_alert(build_channel(channel, settings.channels[channel]), datetime.now(UTC))
    print(f"sent a test alert to {channel}")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Migrate the history database to this version's schema."""
    from retrain_sentinel.store import mask_url, upgrade

    settings = load(config)
    revision = upgrade(settings.database)
    print(f"{mask_url(settings.database)} is at revision {revision}")


@db_app.command("current")
def db_current(config: ConfigOption = None) -> None:
    """Show the history database's schema revision."""
    from retrain_sentinel.store import current, head, mask_url

    settings = load(config)
    revision = current(settings.database)
    state = "up to date" if revision == head() else f"behind (code is at {head()})"
    print(f"{mask_url(settings.database)}: {revision or 'empty'} ({state})")


@commands.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where to create the demo.")] = Path("sentinel-demo"),
) -> None:
    """Create a demo experiment DB, registry and config, run one check and print the reports."""
    from retrain_sentinel.demo import write_demo
    from retrain_sentinel.service.check import run_check

    config_file = write_demo(directory)
    settings = load(config_file)
    results, _ = run_check(settings, [], dry_run=False)
    print_results(results, "markdown")
    stdout.print(
        f"""Demo ready in {directory}/ — three models: {", ".join(f"{r.watch} ({r.outcome})" for r in results)}.

Next steps:
  retrain-sentinel check -c {config_file}              # evaluate again (alerts above went to stderr)
  retrain-sentinel history -c {config_file}            # what was recorded
  retrain-sentinel run -c {config_file}                # the daemon: every hour, /metrics on :9733
To alert Slack, add a channel to {config_file}:
  channels:
    ml-team: {{kind: slack, webhook_url: "${{SLACK_WEBHOOK_URL}}"}}
and list it under defaults.channels, then: SLACK_WEBHOOK_URL=https://hooks.slack.com/... retrain-sentinel check -c {config_file}""",
        markup=False,
    )
