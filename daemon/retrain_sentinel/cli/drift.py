"""``retrain-sentinel drift REFERENCE CURRENT``: drift per feature and for the dataset, between two
data files (or a saved profile and a file), as a table or JSON. The statistics are ``datafiles`` and
``drift/``; this module reads the options, shows progress and prints the result."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from retrain_sentinel.cli.app import ExitCode, fail, literal, stderr, stdout

if TYPE_CHECKING:
    from retrain_sentinel.datafiles import PhaseProgress
    from retrain_sentinel.drift import DriftResult

__all__ = ["commands"]

commands = typer.Typer()


@commands.command("drift")
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
    max_bytes: Annotated[
        str,
        typer.Option(
            "--max-bytes",
            help="Refuse a file read whole (auto, ks, wasserstein) that holds more data once decoded, "
            "e.g. 4GiB; --sample and binned methods read in batches and need no limit.",
        ),
    ] = "1GiB",
) -> None:
    """Compare current data with a reference: drift per feature, and for the dataset."""
    from retrain_sentinel import datafiles
    from retrain_sentinel.drift import DriftError

    if output_format not in ("table", "json"):
        raise typer.Exit(fail(ExitCode.USAGE, f"unknown format {output_format!r}; use table or json"))
    limit = _byte_size(max_bytes)
    if limit is None:
        raise typer.Exit(fail(ExitCode.USAGE, "--max-bytes: must be a size above 0, e.g. 512MiB or 4GiB"))
    wanted = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    try:
        with _progress_bar() as progress:
            result = datafiles.compare_files(
                reference, current, method=method, columns=wanted, sample=sample,
                save_profile_to=save_profile, progress=progress, max_bytes=limit,
            )  # fmt: skip
    except datafiles.DataTooLargeError as exc:
        size = datafiles.format_bytes(exc.limit)
        message = (
            f"{exc.path}: holds more than {size} of data once read, the limit for reading a file whole; "
            "compare a sample (--sample N), use a binned method (--method psi), or raise --max-bytes"
        )
        raise typer.Exit(fail(ExitCode.USAGE, message)) from None
    except (datafiles.DataFileError, DriftError) as exc:
        raise typer.Exit(fail(ExitCode.USAGE, " ".join(str(exc).splitlines()))) from None
    if output_format == "json":
        print(json.dumps(_drift_json(result, reference, current), indent=2, allow_nan=False))
    else:
        _print_drift_table(result)


_SIZE = re.compile(r"\s*([0-9]{1,30})\s*(?:([kmgt])(i?)(b?)|b)?\s*", re.IGNORECASE)


def _byte_size(text: str) -> int | None:
    """``512MiB`` or ``4G`` (binary), ``4GB`` (decimal), or bytes; ``None`` unless a size above 0."""
    found = _SIZE.fullmatch(text)
    if found is None:
        return None
    number, prefix, binary, byte = found.groups()
    power = "kmgt".index(prefix.lower()) + 1 if prefix else 0
    base = 1000 if byte and not binary else 1024
    size = int(number) * base**power
    return size if size > 0 else None


def _progress_bar() -> contextlib.AbstractContextManager[PhaseProgress | None]:
    """A rich progress bar on stderr when it is a terminal; otherwise no progress at all."""
    if not stderr.is_terminal:
        return contextlib.nullcontext(None)

    @contextlib.contextmanager
    def bar() -> Iterator[PhaseProgress]:
        from rich.progress import Progress

        with Progress(console=stderr, transient=True) as shown:
            tasks: dict[str, Any] = {}

            def update(phase: str, done: int, total: int | None) -> None:
                if phase not in tasks:
                    tasks[phase] = shown.add_task(f"reading {phase}", total=total)
                shown.update(tasks[phase], completed=done, total=total)

            yield update

    return bar()


def _drift_json(result: DriftResult, reference: Path, current: Path) -> dict[str, Any]:
    from retrain_sentinel.drift.result import json_number

    metrics = {name: json_number(value) for name, value in result.as_metrics().items()}
    return {"reference": str(reference), "current": str(current), **result.to_dict(), "metrics": metrics}


def _print_drift_table(result: DriftResult) -> None:
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
        table.add_row(*map(literal, row))
    stdout.print(table)
    stdout.print(_dataset_line(result), markup=False)


def _dataset_line(result: DriftResult) -> str:
    share = result.share_drifted
    drifted, decided = len(result.drifted_features), len(result.decided)
    js = result.js_divergence
    verdict = "DRIFT" if result.dataset_drifted else ("undecided" if share is None else "no drift")
    share_text = "" if share is None else f" ({share:.0%}; threshold {result.share_threshold:.0%})"
    js_text = "" if js is None else f"; js_divergence {js:.4f}"
    return f"Dataset: {verdict} — {drifted} of {decided} features drifted{share_text}{js_text}"
