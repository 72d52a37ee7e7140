"""The seam between the daemon and the places snapshots come from.

A source reads a whole batch of watches at once, so it can use as few round trips as its backend
allows, and answers per watch: one model's failure is that watch's ``SourceError``, never the
batch's exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from retrain_sentinel.errors import SourceError
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.sources.settings import BaselineSelector, CountsSelector, CurrentRunSelector

__all__ = [
    "DRIFT_PREFIX",
    "Source",
    "SourceResult",
    "WatchFailure",
    "WatchQuery",
    "fail_all",
    "first_line",
    "merged_aliases",
    "source_name_of",
    "split_metrics",
    "to_number",
    "unexpected",
]

DRIFT_PREFIX = "drift/"

SourceResult = Snapshot | SourceError
"""What a source gives for one watch."""


class WatchFailure(Exception):
    """Why one watch cannot be read; the source turns it into that watch's ``SourceError``."""


@dataclass(frozen=True)
class WatchQuery:
    """What a source needs to know about one watch; the daemon builds it from ``models[]``.

    ``watch`` is the watch's unique name (the key of the answer); ``registry_model`` is the model's
    name in the source (``model:``, default the watch name). ``metric_aliases`` maps a name the user writes
    to the source's name (``{val_loss: val/loss}``) and adds to the source's own ``aliases``.
    """

    watch: str
    registry_model: str
    baseline: BaselineSelector | None = None
    current_run: CurrentRunSelector | None = None
    counts: CountsSelector | None = None
    metric_aliases: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class Source(Protocol):
    """Where snapshots come from. Implementations are thread-compatible, not re-entrant."""

    name: str

    def read(self, watches: Sequence[WatchQuery], now: datetime) -> dict[str, SourceResult]:
        """One result per watch, keyed by ``WatchQuery.watch``. Never raises for a watch's failure;
        a failure of the whole source gives every watch a ``SourceError``."""
        ...

    def check(self) -> None:
        """Reach the source without reading any model (``validate --connect``); raise ``SourceError``."""
        ...

    def close(self) -> None:
        """Release connections; the source may not be used afterwards."""
        ...


def to_number(value: object, what: str) -> float:
    """A metric or count as float; ``ValueError`` naming ``what`` when it is not a number.

    Numeric text (``"0.91"``) is accepted because JSON columns and params often carry it; a bool
    is refused because ``true`` as a metric is a mistake, not 1.0.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{what} is not a number: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    if isinstance(value, Decimal):  # PostgreSQL NUMERIC
        return float(value)
    if isinstance(value, Mapping | list | tuple):  # JSON: its text may be nested too deep to print
        raise ValueError(f"{what} is not a number: a JSON {'object' if isinstance(value, Mapping) else 'array'}")
    raise ValueError(f"{what} is not a number: {str(value)[:40]!r}")


def split_metrics(
    metrics: Mapping[str, float], aliases: Mapping[str, str]
) -> tuple[dict[str, float], dict[str, float]]:
    """Separate ``drift/<name>`` metrics from the others, then add the aliased names.

    An alias adds a second name for a metric (both are kept, so a report can use either); it is
    resolved in both maps, so ``{js: drift/js_divergence}`` names a drift score too.
    """
    plain: dict[str, float] = {}
    drift: dict[str, float] = {}
    for name, value in metrics.items():
        if name.startswith(DRIFT_PREFIX):
            drift[name[len(DRIFT_PREFIX) :]] = value
        else:
            plain[name] = value
    for alias, original in aliases.items():
        if original in metrics:
            if original.startswith(DRIFT_PREFIX):
                drift[alias.removeprefix(DRIFT_PREFIX)] = metrics[original]
            else:
                plain[alias] = metrics[original]
    return plain, drift


def merged_aliases(source: Mapping[str, str], watch: WatchQuery) -> dict[str, str]:
    """The source's aliases overridden by the watch's own."""
    return {**source, **watch.metric_aliases}


def source_name_of(metric: str, aliases: Mapping[str, str]) -> str:
    """The name in the source of a metric the user may have written by its alias."""
    return aliases.get(metric, metric)


def fail_all(source: str, watches: Sequence[WatchQuery], cause: str) -> dict[str, SourceResult]:
    """Every watch of the batch gets the same source-wide failure."""
    return {w.watch: SourceError(source, w.registry_model, cause) for w in watches}


def unexpected(exc: BaseException) -> str:
    """The cause for a watch whose rows broke the source in a way it did not foresee.

    Sources catch this per watch, after their own ``WatchFailure``s: a row nobody anticipated must
    still fail only the watch it belongs to, never the batch (the caller redacts it).
    """
    return f"unexpected {type(exc).__name__}: {first_line(str(exc))}"


def first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
