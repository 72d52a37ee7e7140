"""The experiment database and model registry the project grew from (``layout: experiment_db``).

A batch of watches is read with a constant number of statements, whatever its size: one for the
registry (every version of the batch's models, with the tags the batch asks about), one for the
candidate runs, one for the latest value of each metric of the chosen runs, and one for run configs
when a count asks for run metadata. Choosing among the rows happens here, in Python, so the rules
are the same on every backend:

- baseline: the newest row of the name with the watch's tag (default ``production``), else the
  newest ``status = 'active'`` row, or a fixed ``version``; newest = ``created_at``, ties by the
  higher ``model_id``;
- current run: the newest run (``created_at``, then ``run_id``) matching the ``current_run``
  selector; each metric's value at the highest epoch, then step, then timestamp.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from retrain_sentinel.errors import SourceError
from retrain_sentinel.redaction import Redactor, database_url_secrets
from retrain_sentinel.snapshot import Provenance, Snapshot
from retrain_sentinel.sources.base import (
    SourceResult,
    WatchFailure,
    WatchQuery,
    fail_all,
    merged_aliases,
    source_name_of,
    split_metrics,
    to_number,
)
from retrain_sentinel.sources.globs import Glob, NameIndex
from retrain_sentinel.sources.settings import (
    AliasBaseline,
    CountSpec,
    ExperimentRun,
    MetadataCount,
    MetricCount,
    NamedRun,
    RunId,
    SqlLayoutSettings,
    TagBaseline,
    TaskRun,
    VersionBaseline,
)
from retrain_sentinel.sources.sql import (
    ListParam,
    describe_db_error,
    open_read_only,
    retry_db,
    to_utc,
)

__all__ = ["ExperimentDbSource"]


@dataclass
class _Version:
    model_id: int
    name: str
    version: str
    created_at: Any
    status: str | None
    training_run_id: Any
    metrics: Any
    metadata: Any
    tags: set[str] = field(default_factory=set)

    @property
    def newest_key(self) -> tuple[bool, Any, int]:
        return (self.created_at is not None, self.created_at or "", self.model_id)


@dataclass(frozen=True)
class _Run:
    run_id: int
    name: str | None
    task: str | None
    created_at: Any

    @property
    def newest_key(self) -> tuple[bool, Any, int]:
        return (self.created_at is not None, self.created_at or "", self.run_id)


@dataclass(frozen=True)
class _Baseline:
    version: _Version
    rule: str


def _json_object(raw: Any, what: str) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise WatchFailure(f"{what} is not valid JSON") from exc
    if not isinstance(value, dict):
        raise WatchFailure(f"{what} is not a JSON object")
    return value


def _json_metrics(raw: Any, what: str) -> dict[str, float]:
    """Numbers of a metrics JSON object; nested values and nulls are not metrics and are skipped."""
    metrics: dict[str, float] = {}
    for key, value in _json_object(raw, what).items():
        if value is None or isinstance(value, dict | list):
            continue
        try:
            metrics[str(key)] = to_number(value, f"{what}[{key!r}]")
        except ValueError as exc:
            raise WatchFailure(str(exc)) from None
    return metrics


def _dig(data: Mapping[str, Any], path: str) -> Any:
    """``data[path]``, else follow a dotted path through nested objects."""
    if path in data:
        return data[path]
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


class ExperimentDbSource:
    """``kind: sql, layout: experiment_db``."""

    def __init__(self, name: str, settings: SqlLayoutSettings) -> None:
        self.name = name
        self.settings = settings
        self._zone: tzinfo = UTC if settings.timezone == "UTC" else ZoneInfo(settings.timezone)
        self._redact = Redactor.of(
            [*database_url_secrets(settings.experiments_url), *database_url_secrets(settings.registry_url)]
        )
        self._registry = open_read_only(
            settings.registry_url,
            timeout=settings.timeout,
            label=f"sources.{name}.registry_url",
            timezone=settings.timezone,
        )
        self._experiments = open_read_only(
            settings.experiments_url,
            timeout=settings.timeout,
            label=f"sources.{name}.experiments_url",
            timezone=settings.timezone,
        )

    # --- the Source protocol -------------------------------------------------------------------

    def read(self, watches: Sequence[WatchQuery], now: datetime) -> dict[str, SourceResult]:
        del now  # the layout keeps no windows: the newest rows are the answer
        if not watches:
            return {}
        experiments = ("experiment database", self.settings.experiments_url)
        # The registry and the experiment DB are read side by side: the drivers release the GIL
        # while the database works, so a large batch takes the longer of the two, not the sum.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"source-{self.name}") as pool:
            versions_future = pool.submit(
                self._query,
                self._registry,
                "registry database",
                self.settings.registry_url,
                lambda: self._read_versions(watches),
            )
            try:
                run_for = self._query(self._experiments, *experiments, lambda: self._read_runs(watches))
                chosen = sorted({run.run_id for run in run_for.values() if isinstance(run, _Run)})
                latest = self._query(
                    self._experiments, *experiments, lambda: self._read_latest_metrics(chosen)
                )
                configs = self._query(
                    self._experiments, *experiments, lambda: self._read_configs(watches, run_for)
                )
                versions = versions_future.result()
            except SourceError as exc:
                return fail_all(self.name, watches, exc.cause)
        results: dict[str, SourceResult] = {}
        for watch in watches:
            try:
                results[watch.watch] = self._snapshot(
                    watch, versions, run_for.get(watch.watch), latest, configs
                )
            except WatchFailure as exc:
                results[watch.watch] = SourceError(self.name, watch.registry_model, self._redact(str(exc)))
        return results

    def check(self) -> None:
        checks = (
            (self._registry, "registry database", self.settings.registry_url, ("models", "model_tags")),
            (self._experiments, "experiment database", self.settings.experiments_url, ("runs", "metrics")),
        )
        for engine, what, url, tables in checks:

            def probe(engine: Engine = engine, tables: tuple[str, ...] = tables) -> None:
                with engine.connect() as connection:
                    for table in tables:
                        connection.execute(text(f"SELECT 1 FROM {table} WHERE 1 = 0")).all()

            try:
                self._query(engine, what, url, probe)
            except SourceError as exc:
                raise SourceError(self.name, None, exc.cause) from exc

    def close(self) -> None:
        self._registry.dispose()
        self._experiments.dispose()

    # --- statements ----------------------------------------------------------------------------

    def _query(self, engine: Engine, what: str, url: str, call: Any) -> Any:
        try:
            return retry_db(call, self.settings)
        except SQLAlchemyError as exc:
            raise SourceError(
                self.name, None, describe_db_error(exc, what=what, url=url, redact=self._redact)
            ) from exc

    def _read_versions(self, watches: Sequence[WatchQuery]) -> dict[str, list[_Version]]:
        names = sorted({w.registry_model for w in watches})
        tags = sorted({tag for w in watches if (tag := self._tag_of(w)) is not None})
        lists = ListParam(self._registry.dialect.name)
        sql = (
            "SELECT m.model_id, m.name, m.version, m.created_at, m.status, m.training_run_id, m.metrics, "
            "m.metadata, t.tag_name FROM models m "
            f"LEFT JOIN model_tags t ON t.model_id = m.model_id AND {lists.clause('t.tag_name', 'tags')} "
            f"WHERE {lists.clause('m.name', 'names')}"
        )
        by_id: dict[int, _Version] = {}
        with self._registry.connect() as connection:
            rows = connection.execute(
                lists.statement(sql, "tags", "names"),
                {"tags": lists.value(tags), "names": lists.value(names)},
            ).all()
        for model_id, name, version, created_at, status, run_id, metrics, metadata, tag in rows:
            found = by_id.get(model_id)
            if found is None:
                found = by_id[model_id] = _Version(
                    model_id, name, str(version), created_at, status, run_id, metrics, metadata
                )
            if tag is not None:
                found.tags.add(tag)
        grouped: dict[str, list[_Version]] = defaultdict(list)
        for version_row in by_id.values():
            grouped[version_row.name].append(version_row)
        return grouped

    def _read_runs(self, watches: Sequence[WatchQuery]) -> dict[str, _Run | str]:
        """The chosen run per watch, or why there is none."""
        selectors = {w.watch: w.current_run for w in watches if w.current_run is not None}
        globs = {s.name for s in selectors.values() if isinstance(s, NamedRun)}
        tasks = sorted({s.task for s in selectors.values() if isinstance(s, TaskRun)})
        ids: list[int] = []
        for selector in selectors.values():
            if isinstance(selector, RunId) and selector.run_id.strip().lstrip("-").isdigit():
                ids.append(int(selector.run_id))
        runs: list[_Run] = []
        if selectors and (globs or tasks or ids):
            columns = "SELECT run_id, run_name, task_name, created_at FROM runs"
            lists = ListParam(self._experiments.dialect.name)
            with self._experiments.connect() as connection:
                if globs:
                    rows = connection.execute(text(columns)).all()
                else:
                    sql = f"{columns} WHERE {lists.clause('run_id', 'ids')} OR {lists.clause('task_name', 'tasks')}"
                    rows = connection.execute(
                        lists.statement(sql, "ids", "tasks"),
                        {"ids": lists.value(sorted(set(ids))), "tasks": lists.value(tasks)},
                    ).all()
            runs = [_Run(int(r[0]), r[1], r[2], r[3]) for r in rows]
        return self._choose_runs(selectors, runs)

    @staticmethod
    def _choose_runs(selectors: Mapping[str, Any], runs: Sequence[_Run]) -> dict[str, _Run | str]:
        by_id = {run.run_id: run for run in runs}
        by_task: dict[str, _Run] = {}
        for run in runs:
            if run.task is not None and (
                run.task not in by_task or run.newest_key > by_task[run.task].newest_key
            ):
                by_task[run.task] = run
        index = NameIndex((run.name, run) for run in runs if run.name is not None)
        newest_by_glob: dict[str, _Run | None] = {}
        chosen: dict[str, _Run | str] = {}
        for watch, selector in selectors.items():
            if isinstance(selector, NamedRun):
                if selector.name not in newest_by_glob:
                    matches = index.matching(Glob(selector.name))
                    newest_by_glob[selector.name] = (
                        max(matches, key=lambda r: r.newest_key) if matches else None
                    )
                newest = newest_by_glob[selector.name]
                chosen[watch] = newest if newest is not None else f"no run name matches {selector.name!r}"
            elif isinstance(selector, TaskRun):
                chosen[watch] = by_task.get(selector.task) or f"no run has task {selector.task!r}"
            elif isinstance(selector, RunId):
                if not selector.run_id.strip().lstrip("-").isdigit():
                    chosen[watch] = f"run_id {selector.run_id!r} is not an integer (runs.run_id)"
                else:
                    chosen[watch] = by_id.get(int(selector.run_id)) or f"run {selector.run_id} not found"
            elif isinstance(selector, ExperimentRun):
                chosen[watch] = (
                    "current_run {experiment, filter} is for mlflow sources; use {name}, {task} or {run_id}"
                )
        return chosen

    def _read_latest_metrics(self, run_ids: Sequence[int]) -> dict[int, tuple[dict[str, Any], Any]]:
        """Per run: each metric's latest value (highest epoch, then step, then timestamp) and the
        run's latest metric timestamp. Two statements: one window over the rows, one MAX — cheaper
        together than a second window partition in the first."""
        if not run_ids:
            return {}
        lists = ListParam(self._experiments.dialect.name)
        latest_sql = (
            "SELECT run_id, metric_name, value FROM ("
            " SELECT m.run_id, m.metric_name, m.value,"
            "  ROW_NUMBER() OVER (PARTITION BY m.run_id, m.metric_name ORDER BY"
            "   m.epoch DESC NULLS LAST, m.step DESC NULLS LAST, m.timestamp DESC NULLS LAST,"
            "   m.metric_id DESC) AS position"
            f" FROM metrics m WHERE {lists.clause('m.run_id', 'ids')}"
            ") latest WHERE position = 1"
        )
        last_sql = f"SELECT run_id, MAX(timestamp) FROM metrics WHERE {lists.clause('run_id', 'ids')} GROUP BY run_id"
        ids = {"ids": lists.value(run_ids)}

        def read_last() -> dict[Any, Any]:
            with self._experiments.connect() as other:
                return dict(other.execute(lists.statement(last_sql, "ids"), ids).all())

        with ThreadPoolExecutor(max_workers=1) as pool, self._experiments.connect() as connection:
            last_future = pool.submit(read_last)
            rows = connection.execute(lists.statement(latest_sql, "ids"), ids).all()
            last = last_future.result()
        found: dict[int, tuple[dict[str, Any], Any]] = {}
        for run_id, name, value in rows:
            metrics, _ = found.setdefault(int(run_id), ({}, last.get(run_id)))
            metrics[name] = value
        for run_id, last_at in last.items():
            found.setdefault(int(run_id), ({}, last_at))
        return found

    def _read_configs(
        self, watches: Sequence[WatchQuery], run_for: Mapping[str, _Run | str]
    ) -> dict[int, Any]:
        needed = sorted(
            {
                run.run_id
                for w in watches
                if w.counts is not None
                and any(isinstance(c, MetadataCount) for c in (w.counts.current, w.counts.new))
                and isinstance(run := run_for.get(w.watch), _Run)
            }
        )
        if not needed:
            return {}
        lists = ListParam(self._experiments.dialect.name)
        sql = f"SELECT run_id, config FROM runs WHERE {lists.clause('run_id', 'ids')}"
        with self._experiments.connect() as connection:
            rows = connection.execute(lists.statement(sql, "ids"), {"ids": lists.value(needed)}).all()
        return {int(run_id): config for run_id, config in rows}

    # --- one watch -----------------------------------------------------------------------------

    def _tag_of(self, watch: WatchQuery) -> str | None:
        selector = watch.baseline
        if selector is None:
            return self.settings.default_tag
        if isinstance(selector, TagBaseline):
            return selector.tag
        if isinstance(selector, AliasBaseline):
            return selector.alias
        return None

    def _baseline(self, watch: WatchQuery, versions: Sequence[_Version]) -> _Baseline:
        if not versions:
            raise WatchFailure(f"model {watch.registry_model!r} not found in the registry")
        selector = watch.baseline
        if isinstance(selector, VersionBaseline):
            fixed = [v for v in versions if v.version == selector.version]
            if not fixed:
                raise WatchFailure(
                    f"version {selector.version!r} of model {watch.registry_model!r} not found in the registry"
                )
            return _Baseline(max(fixed, key=lambda v: v.newest_key), f"version:{selector.version}")
        tag = self._tag_of(watch)
        kind = "alias" if isinstance(selector, AliasBaseline) else "tag"
        tagged = [v for v in versions if tag in v.tags]
        if tagged:
            return _Baseline(max(tagged, key=lambda v: v.newest_key), f"{kind}:{tag}")
        active = [v for v in versions if (v.status or "").lower() == "active"]
        if active:
            return _Baseline(max(active, key=lambda v: v.newest_key), "newest_active")
        raise WatchFailure(f"no version of model {watch.registry_model!r} has {kind} {tag!r} and none is active")

    def _snapshot(
        self,
        watch: WatchQuery,
        versions: Mapping[str, Sequence[_Version]],
        run: _Run | str | None,
        latest: Mapping[int, tuple[dict[str, Any], Any]],
        configs: Mapping[int, Any],
    ) -> Snapshot:
        aliases = merged_aliases(self.settings.aliases, watch)
        baseline = self._baseline(watch, versions.get(watch.registry_model, ()))
        label = f"metrics of {watch.registry_model!r} version {baseline.version.version}"
        baseline_raw = _json_metrics(baseline.version.metrics, label)
        baseline_metrics, _ = split_metrics(baseline_raw, aliases)

        if isinstance(run, str):
            raise WatchFailure(run)
        current_raw: dict[str, float] | None = None
        observed_at = None
        if run is not None:
            values, last_at = latest.get(run.run_id, ({}, None))
            current_raw = {}
            for name, value in values.items():
                if value is None:
                    continue
                try:
                    current_raw[name] = to_number(value, f"metric {name!r} of run {run.run_id}")
                except ValueError as exc:
                    raise WatchFailure(str(exc)) from None
            observed_at = to_utc(last_at, self._zone, f"metric timestamp of run {run.run_id}")
        current_metrics, drift_metrics = (
            split_metrics(current_raw, aliases) if current_raw is not None else (None, None)
        )

        counts = watch.counts
        run_config = configs.get(run.run_id) if run is not None else None

        def current_count(spec: CountSpec | None) -> float | None:
            if spec is None or run is None:
                return None
            if isinstance(spec, MetricCount):
                return (current_raw or {}).get(source_name_of(spec.metric, aliases))
            return self._count(
                _json_object(run_config, f"config of run {run.run_id}"),
                spec.metadata,
                f"config of run {run.run_id}",
            )

        def baseline_count(spec: CountSpec | None) -> float | None:
            if spec is None:
                return None
            if isinstance(spec, MetricCount):
                return baseline_raw.get(source_name_of(spec.metric, aliases))
            what = f"metadata of {watch.registry_model!r} version {baseline.version.version}"
            return self._count(_json_object(baseline.version.metadata, what), spec.metadata, what)

        return Snapshot(
            current_metrics=current_metrics,
            baseline_metrics=baseline_metrics,
            drift_metrics=drift_metrics or None,
            last_trained_at=to_utc(
                baseline.version.created_at,
                self._zone,
                f"created_at of {watch.registry_model!r} version {baseline.version.version}",
            ),
            baseline_count=baseline_count(counts.baseline) if counts else None,
            current_count=current_count(counts.current) if counts else None,
            new_count=current_count(counts.new) if counts else None,
            observed_at=observed_at,
            provenance=Provenance(
                source=self.name,
                registry_model=watch.registry_model,
                model_version=baseline.version.version,
                baseline_rule=baseline.rule,
                baseline_run_id=str(baseline.version.training_run_id)
                if baseline.version.training_run_id is not None
                else None,
                current_run_id=str(run.run_id) if run is not None else None,
                extra={"baseline_model_id": baseline.version.model_id}
                | ({"current_run_name": run.name} if run is not None and run.name else {}),
            ),
        )

    @staticmethod
    def _count(data: Mapping[str, Any], path: str, what: str) -> float | None:
        value = _dig(data, path)
        if value is None:
            return None
        try:
            return to_number(value, f"{what}[{path!r}]")
        except ValueError as exc:
            raise WatchFailure(str(exc)) from None
