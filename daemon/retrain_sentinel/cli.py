"""The ``retrain-sentinel`` command (DESIGN §11).

Exit codes: 0 success; 1 retraining recommended (``--exit-code``); 2 usage or config error; 3 a
source, the store or a delivery failed; 4 internal error; 130 interrupted. Errors are one line on
stderr (a traceback only with ``--debug``); logs go to stderr so stdout stays parseable.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.exceptions import TyperException

from retrain_sentinel import __version__
from retrain_sentinel.durations import parse_duration
from retrain_sentinel.errors import ConfigError, SentinelError
from retrain_sentinel.evaluation import Evaluation, StoredEvaluation
from retrain_sentinel.jsonsafe import dumps
from retrain_sentinel.settings import Settings, load_settings
from retrain_sentinel.store import HistoryStore
from retrain_sentinel.triggers.presets import DEFAULT_PRESET, PRESETS, preset_policy_yaml

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
db_app = typer.Typer(help="Manage the history database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
silence_app = typer.Typer(
    help="Silence a model's notifications for a while (history goes on); `silence list` shows them.",
    invoke_without_command=True,
)
app.add_typer(silence_app, name="silence")

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
    from retrain_sentinel.service.logs import configure_logging

    configure_logging()
    return load_settings(config)


def _choice(value: str, allowed: Sequence[str], option: str) -> str:
    if value not in allowed:
        raise ConfigError([(option, f"must be one of {', '.join(allowed)}, not {value!r}")])
    return value


@contextmanager
def _store(settings: Settings, *, migrate: bool | None = None) -> Iterator[HistoryStore]:
    """The history store, migrated first when ``service.auto_migrate`` (or ``migrate``) says so."""
    from retrain_sentinel.store import open_store

    store = open_store(settings.database, migrate=settings.service.auto_migrate if migrate is None else migrate)
    try:
        yield store
    finally:
        store.close()


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


_OUTCOME_STYLE = {"ok": "green", "triggered": "red", "undecided": "yellow", "error": "magenta"}


def _print_results(results: Sequence[Evaluation], output_format: str) -> None:
    if output_format == "json":
        print(dumps([_result_dict(r) for r in results], indent=2))
        return
    if output_format == "markdown":
        for result in results:
            if result.report is not None:
                print(result.report.to_markdown())
            else:
                print(f"# Retraining Trigger Report\n\n**Model:** {result.watch}\n\n**Error:** {result.error}\n")
        return
    table = Table(title=f"Evaluated {len(results)} model(s)")
    for column in ("model", "outcome", "severity", "why"):
        table.add_column(column, overflow="fold")  # wrapped, never cut: a cut name is another model
    for result in results:
        report = result.report
        why = result.error or (
            "; ".join(d.reason for d in report.trigger_details if d.triggered or d.undecided)
            if report is not None
            else ""
        )
        severity = report.severity if report is not None and report.triggered else ""
        style = _OUTCOME_STYLE[result.outcome]
        table.add_row(result.watch, f"[{style}]{result.outcome}[/{style}]", severity, why or "—")
    stdout.print(table)
    for result in results:
        if result.report is not None and result.report.triggered:
            for line in result.report.recommendations:
                stdout.print(f"• {result.watch}: {line}", markup=False)


@app.command()
def check(
    config: ConfigOption = None,
    model: Annotated[list[str] | None, typer.Option("--model", help="Only this model (repeatable).")] = None,
    output_format: Annotated[str, typer.Option("--format", help="text, json or markdown")] = "text",
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when a model needs retraining.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Evaluate and print only; record and send nothing.")] = False,
) -> int:
    """Evaluate the watches now, record the history and send their alerts."""
    _choice(output_format, ("text", "json", "markdown"), "--format")
    settings = load(config)
    from retrain_sentinel.service.check import run_check

    results, delivery_failed = run_check(settings, model or [], dry_run=dry_run)
    _print_results(results, output_format)
    if delivery_failed:
        stderr.print("warning: a notification could not be delivered; it stays queued for the daemon")
    if delivery_failed or any(r.outcome == "error" for r in results):
        return int(ExitCode.FAILURE)
    if exit_code and any(r.outcome == "triggered" for r in results):
        return int(ExitCode.RETRAIN)
    return int(ExitCode.OK)


_HISTORY_FIELDS = ["model", "evaluated_at", "slot_at", "outcome", "severity", "fired", "baseline_version", "error"]


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


@app.command()
def history(
    config: ConfigOption = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this model.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only this recent, e.g. 7d.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 50,
    output_format: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
) -> None:
    """Show recorded evaluations, newest first."""
    _choice(output_format, ("table", "json", "csv"), "--format")
    try:
        window = parse_duration(since) if since is not None else None
    except ValueError as exc:
        raise ConfigError([("--since", str(exc))]) from None
    settings = load(config)
    cutoff = datetime.now(UTC) - window if window is not None else None
    with _store(settings) as store:
        rows = [_history_row(item) for item in store.history(model, cutoff, limit)]
    if output_format == "json":
        print(dumps(rows, indent=2))
    elif output_format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=_HISTORY_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "fired": " ".join(row["fired"])})
        print(buffer.getvalue(), end="")
    else:
        table = Table(title="History")
        for column in ("evaluated_at", "model", "outcome", "severity", "fired", "error"):
            table.add_column(column, overflow="fold")  # wrapped, never cut: the time is what you look for
        for row in rows:
            table.add_row(
                row["evaluated_at"], row["model"], row["outcome"], row["severity"] or "",
                ", ".join(row["fired"]), row["error"] or "",
            )
        stdout.print(table)


@app.command()
def report(
    model: Annotated[str, typer.Option("--model", help="The model whose latest report to show.")],
    config: ConfigOption = None,
    output_format: Annotated[str, typer.Option("--format", help="markdown or json")] = "markdown",
) -> None:
    """Show the latest recorded report of a model."""
    _choice(output_format, ("markdown", "json"), "--format")
    settings = load(config)
    with _store(settings) as store:
        latest = store.latest(model)
    if latest is None:
        raise ConfigError([("--model", f"no evaluation of {model!r} is recorded")])
    if latest.report is None:
        print(dumps(_history_row(latest), indent=2) if output_format == "json" else f"{model}: {latest.error}")
    elif output_format == "json":
        print(latest.report.to_json())
    else:
        print(latest.report.to_markdown())


@silence_app.callback()
def silence(
    ctx: typer.Context,
    config: ConfigOption = None,
    model: Annotated[str | None, typer.Option("--model", help="The model to silence.")] = None,
    duration: Annotated[str | None, typer.Option("--for", help="How long, e.g. 4h or 2d.")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (shown in `silence list`).")] = None,
) -> None:
    """Silence a model's notifications for a while (history goes on)."""
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
    with _store(settings) as store:
        created = store.silence(model, now + length, reason, now=now)
    print(f"silenced {created.watch} until {created.until.isoformat()}")


@silence_app.command("list")
def silence_list(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Show the silences in force."""
    settings = load(config or ctx.obj)
    with _store(settings) as store:
        found = store.silences(datetime.now(UTC))
    if not found:
        print("no silences in force")
    for item in found:
        print(f"{item.watch}\tuntil {item.until.isoformat()}\t{item.reason}")


@app.command()
def unsilence(
    model: Annotated[str, typer.Option("--model", help="The model to unsilence.")],
    config: ConfigOption = None,
) -> None:
    """Lift a model's silences."""
    settings = load(config)
    with _store(settings) as store:
        count = store.unsilence(model)
    print(f"lifted {count} silence(s) of {model}")


@app.command("test-alert")
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


@app.command("run")
def run_command(config: ConfigOption = None) -> int:
    """Run the daemon: scheduled batches under a leader lease, alerts, /healthz, /readyz, /metrics."""
    from retrain_sentinel.service.daemon import run_daemon
    from retrain_sentinel.service.logs import configure_logging
    from retrain_sentinel.settings import config_path

    configure_logging()
    return run_daemon(config_path(config))


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where to create the demo.")] = Path("sentinel-demo"),
) -> None:
    """Create a demo experiment DB, registry and config, run one check and print the reports."""
    from retrain_sentinel.demo import write_demo

    config_file = write_demo(directory)
    settings = load(config_file)
    from retrain_sentinel.service.check import run_check

    results, _ = run_check(settings, [], dry_run=False)
    _print_results(results, "markdown")
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


@app.command()
def presets(
    name: Annotated[str | None, typer.Argument(help="Only this preset.", show_default=False)] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, json or yaml (as a policy)")] = "table",
) -> None:
    """Show the preset policies and their thresholds."""
    _choice(output_format, ("table", "json", "yaml"), "--format")
    if name is not None:
        _choice(name, tuple(PRESETS), "preset")
    chosen = [name] if name is not None else list(PRESETS)
    if output_format == "yaml":
        print("---\n".join(preset_policy_yaml(n) for n in chosen), end="")  # type: ignore[arg-type]
        return
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
    if output_format == "json":
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


@config_app.command("schema")
def config_schema() -> None:
    """Print the config's JSON Schema (for editors)."""
    print(json.dumps(Settings.model_json_schema(by_alias=True), indent=2))


def _ping(url: str) -> None:
    """Reach the history database; a SQLite file that does not exist yet is left uncreated."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.exists():
            if not path.parent.is_dir():
                raise ConfigError([("database", f"directory {path.parent} does not exist")])
            return  # `run`, `check` or `db upgrade` will create it
    with HistoryStore(url) as store:
        store.ping()


@app.command()
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
    from retrain_sentinel.service.runtime import Runtime
    from retrain_sentinel.store import mask_url

    runtime = Runtime.build(settings)
    targets: list[tuple[str, Any]] = [(f"sources.{n}", s.check) for n, s in runtime.sources.items()]
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


@app.command("drift")
def drift_command(
    reference: Annotated[
        Path, typer.Argument(help="Reference data (.parquet, .csv) or a saved profile (.json).")
    ],
    current: Annotated[Path, typer.Argument(help="Current data (.parquet, .csv).")],
    *,
    method: Annotated[
        str, typer.Option("--method", help="auto, or a method: ks, wasserstein, psi, …")
    ] = "auto",
    columns: Annotated[
        str | None, typer.Option("--columns", help="Comma-separated columns (default: all).")
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    save_profile: Annotated[
        Path | None, typer.Option("--save-profile", help="Write the reference's profile (JSON) to reuse it.")
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option("--sample", min=1, help="Compare a uniform random sample of N rows of each file."),
    ] = None,
) -> None:
    """Compare current data with a reference: drift per feature, and for the dataset."""
    from retrain_sentinel import datafiles
    from retrain_sentinel.drift import DriftError

    if output_format not in ("table", "json"):
        raise typer.Exit(_fail(ExitCode.USAGE, f"unknown format {output_format!r}; use table or json"))
    wanted = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    try:
        with _progress_bar() as progress:
            result = datafiles.compare_files(
                reference, current, method=method, columns=wanted, sample=sample,
                save_profile_to=save_profile, progress=progress,
            )  # fmt: skip
    except (datafiles.DataFileError, DriftError) as exc:
        raise typer.Exit(_fail(ExitCode.USAGE, str(exc))) from None
    if output_format == "json":
        print(json.dumps(_drift_json(result, reference, current), indent=2, allow_nan=False))
    else:
        _print_drift_table(result)


def _progress_bar() -> Any:
    """A rich progress bar on stderr when it is a terminal; otherwise no progress at all."""
    import contextlib

    if not stderr.is_terminal:
        return contextlib.nullcontext(None)

    @contextlib.contextmanager
    def bar() -> Any:
        from rich.progress import Progress

        with Progress(console=stderr, transient=True) as shown:
            tasks: dict[str, Any] = {}

            def update(phase: str, done: int, total: int | None) -> None:
                if phase not in tasks:
                    tasks[phase] = shown.add_task(f"reading {phase}", total=total)
                shown.update(tasks[phase], completed=done, total=total)

            yield update

    return bar()


def _drift_json(result: Any, reference: Path, current: Path) -> dict[str, Any]:
    from retrain_sentinel.drift.result import json_number

    metrics = {name: json_number(value) for name, value in result.as_metrics().items()}
    return {"reference": str(reference), "current": str(current), **result.to_dict(), "metrics": metrics}


def _print_drift_table(result: Any) -> None:
    table = Table(title="Drift by feature (highest score first)")
    with_p = any(f.p_value is not None for f in result.features)
    columns = [c for c in ("feature", "kind", "method", "score", "p-value", "threshold", "drift") if c != "p-value" or with_p]
    ranked = sorted(result.features, key=lambda f: (f.undecided, -f.score if f.score == f.score else 0.0))
    rows = [
        [
            f.feature,
            f.kind,
            f.method + (" (approx.)" if f.approximate else ""),
            "" if f.undecided else f"{f.score:.4g}",
            *([] if not with_p else ["" if f.p_value is None else f"{f.p_value:.3g}"]),
            f"{f.threshold:g}",
            "undecided: " + (f.reason or "") if f.undecided else ("DRIFT" if f.drifted else "-"),
        ]
        for f in ranked
    ]
    for index, column in enumerate(columns):
        if column in ("score", "p-value", "threshold"):  # a number is shown whole: "3.51e-1…" would read as 0.351
            width = max([len(column), *(len(row[index]) for row in rows)])
            table.add_column(column, justify="right", no_wrap=True, min_width=width)
        else:
            table.add_column(column, overflow="fold", min_width=5)
    for row in rows:
        table.add_row(*row)
    stdout.print(table)
    share = result.share_drifted
    drifted, decided = len(result.drifted_features), len(result.decided)
    js = result.js_divergence
    verdict = "DRIFT" if result.dataset_drifted else ("undecided" if share is None else "no drift")
    share_text = "" if share is None else f" ({share:.0%}; threshold {result.share_threshold:.0%})"
    js_text = "" if js is None else f"; js_divergence {js:.4f}"
    stdout.print(
        f"Dataset: {verdict} — {drifted} of {decided} features drifted{share_text}{js_text}", markup=False
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
