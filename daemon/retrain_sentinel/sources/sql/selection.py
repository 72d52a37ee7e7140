"""Which registry version is a watch's baseline, and which run is its current run
(``layout: experiment_db``).

The statements in ``experiment_db`` only fetch rows; the choice among them is made here, in
Python, so the rules are the same on every backend — and pure: rows in, a choice out, no I/O.

- baseline: the newest version of the name carrying the watch's tag or alias (default the source's
  ``default_tag``), else the newest ``status = 'active'`` version; or a fixed ``version``;
- current run: the newest run whose name matches the ``name`` glob (case-sensitive), the newest run
  of a ``task``, or one ``run_id``;
- newest = the later ``created_at`` (a missing one is oldest), ties by the higher id
  (``model_id``, ``run_id``).

A choice that cannot be made says why: ``WatchFailure`` for a baseline, a reason text in place of
the run (it becomes that watch's error only once its baseline was found, as before). A row whose
``created_at`` could not be read carries the reason (``problem``, naming the row) and fails only
the choices it takes part in: the watches choosing among it, never the batch.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from retrain_sentinel.sources.base import WatchFailure
from retrain_sentinel.sources.settings import (
    AliasBaseline,
    BaselineSelector,
    CurrentRunSelector,
    NamedRun,
    RunId,
    TagBaseline,
    TaskRun,
    VersionBaseline,
)
from retrain_sentinel.sources.sql.globs import Glob, NameIndex

__all__ = ["Baseline", "Run", "Version", "choose_baseline", "choose_runs", "run_number", "tag_of"]


@dataclass
class Version:
    """One row of the registry's ``models``, with those of its tags the batch asked about."""

    model_id: int
    name: str
    version: str
    created_at: Any
    status: str | None
    training_run_id: Any
    metrics: Any
    metadata: Any
    tags: set[str] = field(default_factory=set)
    problem: str | None = None
    """Why this row cannot take part in "newest" (its ``created_at`` is unreadable), naming it."""

    @property
    def newest_key(self) -> tuple[bool, Any, int]:
        return (self.created_at is not None, self.created_at or "", self.model_id)

    @property
    def row(self) -> str:
        """The registry row, as errors name it."""
        return f"{self.name!r} version {self.version} (models row {self.model_id})"


@dataclass(frozen=True)
class Run:
    """One row of the experiment DB's ``runs``."""

    run_id: int
    name: str | None
    task: str | None
    created_at: Any
    problem: str | None = None
    """Why this row cannot take part in "newest" (its ``created_at`` is unreadable), naming it."""

    @property
    def newest_key(self) -> tuple[bool, Any, int]:
        return (self.created_at is not None, self.created_at or "", self.run_id)


@dataclass(frozen=True)
class Baseline:
    """The chosen version and the rule that chose it (``tag:production``, ``newest_active``, …)."""

    version: Version
    rule: str


# --- the baseline ----------------------------------------------------------------------------------


def tag_of(selector: BaselineSelector | None, default_tag: str) -> str | None:
    """The tag a watch's baseline carries (an alias is a tag of that name); ``None`` for a fixed
    version. The statements ask the registry for exactly these tags."""
    if selector is None:
        return default_tag
    if isinstance(selector, TagBaseline):
        return selector.tag
    if isinstance(selector, AliasBaseline):
        return selector.alias
    return None


def choose_baseline(
    registry_model: str,
    selector: BaselineSelector | None,
    default_tag: str,
    versions: Sequence[Version],
) -> Baseline:
    """The baseline among ``versions`` (every version of ``registry_model``), or ``WatchFailure``."""
    if not versions:
        raise WatchFailure(f"model {registry_model!r} not found in the registry")
    if isinstance(selector, VersionBaseline):
        fixed = [v for v in versions if v.version == selector.version]
        if not fixed:
            raise WatchFailure(
                f"version {selector.version!r} of model {registry_model!r} not found in the registry"
            )
        return Baseline(_newest(fixed, "models"), f"version:{selector.version}")
    tag = tag_of(selector, default_tag)
    kind = "alias" if isinstance(selector, AliasBaseline) else "tag"
    tagged = [v for v in versions if tag in v.tags]
    if tagged:
        return Baseline(_newest(tagged, "models"), f"{kind}:{tag}")
    active = [v for v in versions if (v.status or "").lower() == "active"]
    if active:
        return Baseline(_newest(active, "models"), "newest_active")
    raise WatchFailure(f"no version of model {registry_model!r} has {kind} {tag!r} and none is active")


# --- the current run -------------------------------------------------------------------------------


_RUN_NUMBER = re.compile(r"-?[0-9]{1,18}")
"""An integer a BIGINT ``runs.run_id`` can hold, in ASCII digits (``--5`` and ``١`` are not)."""


def run_number(selector: RunId) -> int | None:
    """The ``run_id`` as ``runs.run_id`` holds it (an integer), or ``None`` when it is not one."""
    text = selector.run_id.strip()
    return int(text) if _RUN_NUMBER.fullmatch(text) else None


def choose_runs(selectors: Mapping[str, CurrentRunSelector], runs: Sequence[Run]) -> dict[str, Run | str]:
    """Per watch (the keys of ``selectors``): its current run among ``runs``, or why there is none."""
    choice = _RunChoice(runs)
    return {watch: choice.run_for(selector) for watch, selector in selectors.items()}


class _RunChoice:
    """The runs of a batch, indexed once for every selector of the batch; each task's and each
    glob's newest run is found once, on first use, so a bad row costs only the watches that ask."""

    def __init__(self, runs: Sequence[Run]) -> None:
        self._by_id = {run.run_id: run for run in runs}
        self._by_task: dict[str, list[Run]] = defaultdict(list)
        for run in runs:
            if run.task is not None:
                self._by_task[run.task].append(run)
        # Only text can match a glob: a name of another type (an SQLite BLOB) is not sortable with it.
        self._names = NameIndex((run.name, run) for run in runs if isinstance(run.name, str))
        self._newest: dict[tuple[str, str], Run | str] = {}

    def run_for(self, selector: CurrentRunSelector) -> Run | str:
        if isinstance(selector, NamedRun):
            return self._newest_of(
                ("glob", selector.name),
                lambda: self._names.matching(Glob(selector.name)),
                f"no run name matches {selector.name!r}",
            )
        if isinstance(selector, TaskRun):
            return self._newest_of(
                ("task", selector.task), lambda: self._by_task.get(selector.task, []), f"no run has task {selector.task!r}"
            )
        if isinstance(selector, RunId):
            number = run_number(selector)
            if number is None:
                return f"run_id {selector.run_id!r} is not an integer (runs.run_id)"
            return self._by_id.get(number) or f"run {selector.run_id} not found"
        # ExperimentRun: an MLflow selector, which this layout has no runs for.
        return "current_run {experiment, filter} is for mlflow sources; use {name}, {task} or {run_id}"

    def _newest_of(self, key: tuple[str, str], candidates: Callable[[], Sequence[Run]], none: str) -> Run | str:
        """The newest of ``candidates`` (or why not), found once per batch however many watches ask."""
        if key not in self._newest:
            found = candidates()
            try:
                self._newest[key] = _newest(found, "runs") if found else none
            except WatchFailure as exc:
                self._newest[key] = str(exc)
        return self._newest[key]


_Row = TypeVar("_Row", Version, Run)


def _row_id(row: Version | Run) -> int:
    return row.model_id if isinstance(row, Version) else row.run_id


def _newest(rows: Sequence[_Row], table: str) -> _Row:
    """The row with the highest ``newest_key``; the first of equals.

    ``WatchFailure`` when a row's ``created_at`` could not be read (its ``problem``), or when the
    rows' times are of types that do not compare (a source that passed them unread).
    """
    unreadable = min((row for row in rows if row.problem is not None), key=_row_id, default=None)
    if unreadable is not None and unreadable.problem is not None:
        raise WatchFailure(unreadable.problem)
    try:
        return max(rows, key=lambda row: row.newest_key)
    except TypeError:
        ids = ", ".join(str(i) for i in sorted(_row_id(row) for row in rows)[:5])
        raise WatchFailure(f"{table} rows {ids}: created_at values of different types cannot be compared") from None
