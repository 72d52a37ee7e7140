"""The experiment database and model registry the project grew from (``layout: experiment_db``):
the statements.

A batch of watches is read with a constant number of statements, whatever its size: one for the
registry (every version of the batch's models, with the tags the batch asks about), one for the
candidate runs, one for the latest value of each metric of the chosen runs (each metric's value at
the highest epoch, then step, then timestamp), and one for run configs when a count asks for run
metadata. Which rows are chosen is ``selection``'s (the same rules on every backend); turning them
into a snapshot is ``experiment_snapshot``'s.

Rows are read leniently and judged per watch: a row that cannot be read (a ``created_at`` that is
not a time, a metric without a name) is marked with the reason, naming it, and fails only the
watches it belongs to — one bad row among thousands never fails the batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from retrain_sentinel.errors import SourceError
from retrain_sentinel.redaction import Redactor, database_url_secrets
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.sources.base import (
    SourceResult,
    WatchFailure,
    WatchQuery,
    fail_all,
    merged_aliases,
    unexpected,
)
from retrain_sentinel.sources.settings import MetadataCount, NamedRun, RunId, SqlLayoutSettings, TaskRun
from retrain_sentinel.sources.sql.engine import ListParam, describe_db_error, open_read_only, retry_db
from retrain_sentinel.sources.sql.experiment_snapshot import RunReadings, build_snapshot
from retrain_sentinel.sources.sql.selection import (
    Run,
    Version,
    choose_baseline,
    choose_runs,
    run_number,
    tag_of,
)
from retrain_sentinel.sources.sql.times import to_utc

__all__ = ["ExperimentDbSource"]


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
                chosen = sorted({run.run_id for run in run_for.values() if isinstance(run, Run)})
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
            except Exception as exc:  # a row nobody foresaw fails its watch, not the batch
                results[watch.watch] = SourceError(self.name, watch.registry_model, self._redact(unexpected(exc)))
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

    def _read_versions(self, watches: Sequence[WatchQuery]) -> dict[str, list[Version]]:
        names = sorted({w.registry_model for w in watches})
        default_tag = self.settings.default_tag
        tags = sorted({tag for w in watches if (tag := tag_of(w.baseline, default_tag)) is not None})
        lists = ListParam(self._registry.dialect.name)
        sql = (
            "SELECT m.model_id, m.name, m.version, m.created_at, m.status, m.training_run_id, m.metrics, "
            "m.metadata, t.tag_name FROM models m "
            f"LEFT JOIN model_tags t ON t.model_id = m.model_id AND {lists.clause('t.tag_name', 'tags')} "
            f"WHERE {lists.clause('m.name', 'names')}"
        )
        by_id: dict[int, Version] = {}
        with self._registry.connect() as connection:
            rows = connection.execute(
                lists.statement(sql, "tags", "names"),
                {"tags": lists.value(tags), "names": lists.value(names)},
            ).all()
        for model_id, name, version, created_at, status, run_id, metrics, metadata, tag in rows:
            found = by_id.get(model_id)
            if found is None:
                found = by_id[model_id] = Version(
                    model_id, name, str(version), None, status, run_id, metrics, metadata
                )
                try:
                    found.created_at = to_utc(created_at, self._zone, f"created_at of {found.row}")
                except WatchFailure as exc:
                    found.problem = str(exc)
            if tag is not None:
                found.tags.add(tag)
        grouped: dict[str, list[Version]] = defaultdict(list)
        for version_row in by_id.values():
            grouped[version_row.name].append(version_row)
        return grouped

    def _read_runs(self, watches: Sequence[WatchQuery]) -> dict[str, Run | str]:
        """The chosen run per watch, or why there is none.

        Only the columns the batch needs are read: ``task_name`` came late to the original schema,
        so it is selected only when a watch picks its run by task, and then looked up first — an
        older database fails those watches alone, each told which column it lacks."""
        selectors = {w.watch: w.current_run for w in watches if w.current_run is not None}
        if not selectors:
            return {}
        missing: dict[str, Run | str] = {}
        ids: list[int] = []
        for selector in selectors.values():
            if isinstance(selector, RunId) and (number := run_number(selector)) is not None:
                ids.append(number)
        lists = ListParam(self._experiments.dialect.name)
        with self._experiments.connect() as connection:
            if any(isinstance(s, TaskRun) for s in selectors.values()) and not self._runs_have_task_name(
                connection
            ):
                for watch, selector in list(selectors.items()):
                    if isinstance(selector, TaskRun):
                        missing[watch] = (
                            f"watch {watch!r} selects its run by task (current_run {{task: {selector.task!r}}}), "
                            "but the experiment database's runs table has no task_name column "
                            "(written before the column was added); select the run by name or run_id"
                        )
                        del selectors[watch]
            globs = {s.name for s in selectors.values() if isinstance(s, NamedRun)}
            tasks = sorted({s.task for s in selectors.values() if isinstance(s, TaskRun)})
            columns = f"SELECT run_id, run_name, {'task_name' if tasks else 'NULL'}, created_at FROM runs"
            rows: Sequence[Any] = ()
            if globs:
                rows = connection.execute(text(columns)).all()
            elif tasks:
                sql = f"{columns} WHERE {lists.clause('run_id', 'ids')} OR {lists.clause('task_name', 'tasks')}"
                rows = connection.execute(
                    lists.statement(sql, "ids", "tasks"),
                    {"ids": lists.value(sorted(set(ids))), "tasks": lists.value(tasks)},
                ).all()
            elif ids:
                sql = f"{columns} WHERE {lists.clause('run_id', 'ids')}"
                rows = connection.execute(
                    lists.statement(sql, "ids"), {"ids": lists.value(sorted(set(ids)))}
                ).all()
            runs = [self._run(int(r[0]), r[1], r[2], r[3]) for r in rows]
        return choose_runs(selectors, runs) | missing

    @staticmethod
    def _runs_have_task_name(connection: Connection) -> bool:
        """Whether ``runs`` has ``task_name`` (asked once per read, only when a watch needs it)."""
        return any(column["name"] == "task_name" for column in inspect(connection).get_columns("runs"))

    def _run(self, run_id: int, name: Any, task: Any, created_at: Any) -> Run:
        """A ``runs`` row with its ``created_at`` read as UTC, or the reason it could not be."""
        try:
            return Run(run_id, name, task, to_utc(created_at, self._zone, f"created_at of run {run_id}"))
        except WatchFailure as exc:
            return Run(run_id, name, task, None, problem=str(exc))

    def _read_latest_metrics(self, run_ids: Sequence[int]) -> dict[int, RunReadings]:
        """Per run: each metric's latest value (highest epoch, then step, then timestamp) and the
        run's latest metric timestamp. Two statements: one window over the rows, one MAX — cheaper
        together than a second window partition in the first."""
        if not run_ids:
            return {}
        lists = ListParam(self._experiments.dialect.name)
        latest_sql = (
            "SELECT run_id, metric_name, value, metric_id FROM ("
            " SELECT m.run_id, m.metric_name, m.value, m.metric_id,"
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
        found: dict[int, RunReadings] = {}
        for run_id, name, value, metric_id in rows:
            readings = found.setdefault(int(run_id), RunReadings(last_at=last.get(run_id)))
            if isinstance(name, str):
                readings.metrics[name] = value
            elif readings.problem is None:  # NULL (or a BLOB): which metric it is cannot be told
                what = "no metric_name" if name is None else "a metric_name that is not text"
                readings.problem = f"metrics row {metric_id} of run {run_id} has {what}"
        for run_id, last_at in last.items():
            found.setdefault(int(run_id), RunReadings(last_at=last_at))
        return found

    def _read_configs(
        self, watches: Sequence[WatchQuery], run_for: Mapping[str, Run | str]
    ) -> dict[int, Any]:
        needed = sorted(
            {
                run.run_id
                for w in watches
                if w.counts is not None
                and any(isinstance(c, MetadataCount) for c in (w.counts.current, w.counts.new, w.counts.window))
                and isinstance(run := run_for.get(w.watch), Run)
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

    def _snapshot(
        self,
        watch: WatchQuery,
        versions: Mapping[str, Sequence[Version]],
        run: Run | str | None,
        readings: Mapping[int, RunReadings],
        configs: Mapping[int, Any],
    ) -> Snapshot:
        aliases = merged_aliases(self.settings.aliases, watch)
        baseline = choose_baseline(
            watch.registry_model,
            watch.baseline,
            self.settings.default_tag,
            versions.get(watch.registry_model, ()),
        )
        return build_snapshot(
            self.name,
            watch,
            baseline,
            run,
            readings=readings,
            configs=configs,
            aliases=aliases,
            zone=self._zone,
        )
