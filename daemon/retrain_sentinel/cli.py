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
    from retrain_sentinel import datafiles  # noqa: PLC0415 - keeps numpy/scipy out of other commands' start-up
    from retrain_sentinel.drift import DriftError  # noqa: PLC0415

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
    import contextlib  # noqa: PLC0415

    if not stderr.is_terminal:
        return contextlib.nullcontext(None)

    @contextlib.contextmanager
    def bar() -> Any:
        from rich.progress import Progress  # noqa: PLC0415

        with Progress(console=stderr, transient=True) as shown:
            tasks: dict[str, Any] = {}

            def update(phase: str, done: int, total: int | None) -> None:
                if phase not in tasks:
                    tasks[phase] = shown.add_task(f"reading {phase}", total=total)
                shown.update(tasks[phase], completed=done, total=total)

            yield update

    return bar()


def _drift_json(result: Any, reference: Path, current: Path) -> dict[str, Any]:
    from retrain_sentinel.drift.result import json_number  # noqa: PLC0415

    metrics = {name: json_number(value) for name, value in result.as_metrics().items()}
    return {"reference": str(reference), "current": str(current), **result.to_dict(), "metrics": metrics}


def _print_drift_table(result: Any) -> None:
    table = Table(title="Drift by feature (highest score first)")
    with_p = any(f.p_value is not None for f in result.features)
    for column in ("feature", "kind", "method", "score", "p-value", "threshold", "drift"):
        numeric = column in ("score", "p-value", "threshold")
        if column != "p-value" or with_p:
            table.add_column(column, justify="right" if numeric else "left", no_wrap=True, min_width=5)
    ranked = sorted(result.features, key=lambda f: (f.undecided, -f.score if f.score == f.score else 0.0))
    for f in ranked:
        verdict = "undecided: " + (f.reason or "") if f.undecided else ("DRIFT" if f.drifted else "-")
        table.add_row(
            f.feature,
            f.kind,
            f.method + (" (approx.)" if f.approximate else ""),
            "" if f.undecided else f"{f.score:.4g}",
            *([] if not with_p else ["" if f.p_value is None else f"{f.p_value:.3g}"]),
            f"{f.threshold:g}",
            verdict,
        )
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
