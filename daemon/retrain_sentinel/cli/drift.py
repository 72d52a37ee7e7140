"""``retrain-sentinel drift REFERENCE CURRENT``: drift per feature and for the dataset, between two
data files (or a saved profile and a file), as a table or JSON. The statistics are ``datafiles`` and
``drift/``; this module reads the options, shows progress and prints the result.

Two verdicts are shown, because a person compares this command with the daemon: the share of
drifted features (the statistics' own dataset verdict) and what the daemon's default drift trigger
decides on the same ``js_divergence``. "Drift" (the ``Dataset:`` line, JSON ``drift``, and exit 1
with ``--exit-code``) means either of the two says drift; the command never says "no drift" while
the daemon would fire."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

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
    exit_code: Annotated[
        bool,
        typer.Option(
            "--exit-code",
            help="Exit 1 on drift: the share of drifted features or the daemon's default drift trigger says so.",
        ),
    ] = False,
) -> int:
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
        if wanted is None:
            _require_shared_columns(reference, current, limit)
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
    verdict = judge(result)
    if output_format == "json":
        print(json.dumps(_drift_json(result, verdict, reference, current), indent=2, allow_nan=False))
    else:
        _print_drift_table(result, verdict)
    return int(ExitCode.RETRAIN) if exit_code and verdict.overall == "drift" else int(ExitCode.OK)


def _require_shared_columns(reference: Path, current: Path, max_bytes: int) -> None:
    """Two files with no column in common compare nothing: an error, not a table of undecided rows
    and exit 0 (usually the wrong file, or a CSV read with the wrong header)."""
    from retrain_sentinel import datafiles

    ref_names = (
        datafiles.load_profile(reference, max_bytes=max_bytes).names
        if datafiles.is_profile_file(reference)
        else datafiles.column_names(reference)
    )
    cur_names = datafiles.column_names(current)
    if ref_names and not set(ref_names) & set(cur_names):
        raise datafiles.DataFileError(
            current,
            f"shares no column with {reference} (reference: {_names(ref_names)}; current: {_names(cur_names)}); "
            "compare files of the same data",
        )


def _names(names: list[str], shown: int = 5) -> str:
    listed = ", ".join(names[:shown])
    return listed + (f", … ({len(names)} in all)" if len(names) > shown else "") if names else "none"


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


State = Literal["drift", "no drift", "undecided"]


@dataclass(frozen=True)
class DriftVerdict:
    """The two verdicts on one comparison, and the one ``--exit-code`` acts on."""

    share: State
    """The share of drifted features against the result's ``share_threshold``."""
    trigger: State
    """The daemon's default drift trigger (default preset's threshold) on ``js_divergence``."""
    trigger_threshold: float
    overall: State
    """Drift when either says drift; else undecided when either is undecided; else no drift."""


def judge(result: DriftResult) -> DriftVerdict:
    """Both verdicts, the trigger's decided by the daemon's own ``DriftTrigger`` so the two cannot
    disagree about ``>`` versus ``>=`` or the threshold."""
    from retrain_sentinel.snapshot import Snapshot
    from retrain_sentinel.triggers.drift import DriftTrigger
    from retrain_sentinel.triggers.presets import DEFAULT_PRESET, PRESETS

    share: State = (
        "undecided" if result.share_drifted is None else ("drift" if result.dataset_drifted else "no drift")
    )
    trigger = DriftTrigger(threshold=PRESETS[DEFAULT_PRESET].drift_threshold)
    js = result.js_divergence
    snapshot = Snapshot(drift_metrics=None if js is None else {trigger.metric_name: js})
    detail = trigger.decide(snapshot, datetime.now(UTC))
    fired: State = "undecided" if detail.undecided else ("drift" if detail.triggered else "no drift")
    states = (share, fired)
    overall: State = "drift" if "drift" in states else ("undecided" if "undecided" in states else "no drift")
    return DriftVerdict(share, fired, trigger.threshold, overall)


def verdict_lines(result: DriftResult, verdict: DriftVerdict) -> list[str]:
    """The verdicts in words: each line says what it measured, against what, and which way."""
    share, shown = result.share_drifted, result.share_threshold
    drifted, decided = len(result.drifted_features), len(result.decided)
    if share is None:
        share_line = "Share of drifted features: undecided — no feature could be compared"
    else:
        side = "at or above" if verdict.share == "drift" else "below"
        share_line = (
            f"Share of drifted features: {_word(verdict.share)} — {drifted} of {decided} features drifted "
            f"({_percent(share)}, {side} the {_percent(shown)} at which the dataset counts as drifted)"
        )
    js, limit = result.js_divergence, verdict.trigger_threshold
    if js is None:
        trigger_line = (
            "Default drift trigger: undecided — no js_divergence (no feature has a Jensen–Shannon distance)"
        )
    else:
        sign, would = (">", "would fire") if verdict.trigger == "drift" else ("≤", "would not fire")
        trigger_line = (
            f"Default drift trigger: {_word(verdict.trigger)} — js_divergence {js:.4f} {sign} {limit:g}; "
            f"the daemon's default policy {would}"
        )
    if verdict.overall == "drift":
        said = [
            what
            for what, state in (
                ("the share of features", verdict.share),
                ("the default drift trigger", verdict.trigger),
            )
            if state == "drift"
        ]
        why = " and ".join(said) + (" say" if len(said) > 1 else " says") + " drift"
    elif verdict.overall == "no drift":
        why = "neither the share of features nor the default drift trigger says drift"
    else:
        why = "no verdict says drift, and not every verdict could be decided"
    return [share_line, trigger_line, f"Dataset: {_word(verdict.overall)} — {why}"]


def _word(state: State) -> str:
    return "DRIFT" if state == "drift" else state


def _percent(share: float) -> str:
    return f"{share * 100:.0f} %"


def _drift_json(result: DriftResult, verdict: DriftVerdict, reference: Path, current: Path) -> dict[str, Any]:
    from retrain_sentinel.drift.result import json_number

    metrics = {name: json_number(value) for name, value in result.as_metrics().items()}
    verdicts = {
        "drift": verdict.overall == "drift",
        "verdict": verdict.overall,
        "share_verdict": verdict.share,
        "default_trigger": {
            "metric": "js_divergence",
            "threshold": verdict.trigger_threshold,
            "verdict": verdict.trigger,
        },
    }
    return {
        "reference": str(reference),
        "current": str(current),
        **result.to_dict(),
        **verdicts,
        "metrics": metrics,
    }


def _print_drift_table(result: DriftResult, verdict: DriftVerdict) -> None:
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
    for line in verdict_lines(result, verdict):
        stdout.print(line, markup=False, highlight=False)
