"""Any SQL schema, mapped by named, parameterised queries (``kind: sql`` with ``queries:``).

A query runs once per batch when it uses ``:models`` (an expanding list; its rows carry a
``model`` column) or no model parameter at all, and once per watch when it uses ``:model``.
``:since`` / ``:until`` bind the window ending now, as naive times in the source's timezone (the
way such databases store them). Values are always bound, never formatted into the SQL, and the
connection is read-only.

A query of the wrong shape (no ``model`` column, unknown snapshot columns) fails the batch; a bad
row fails only its model's watches, with the query and the model named — a row whose ``model`` is
NULL belongs to no watch and is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Row
from sqlalchemy.exc import SQLAlchemyError

from retrain_sentinel.errors import ConfigError, SourceError
from retrain_sentinel.redaction import Redactor, database_url_secrets
from retrain_sentinel.snapshot import Provenance, Snapshot
from retrain_sentinel.sources.base import (
    DRIFT_PREFIX,
    SourceResult,
    WatchFailure,
    WatchQuery,
    merged_aliases,
    split_metrics,
    to_number,
    unexpected,
)
from retrain_sentinel.sources.settings import SqlQueriesSettings
from retrain_sentinel.sources.sql.engine import describe_db_error, open_read_only, retry_db
from retrain_sentinel.sources.sql.times import to_utc

__all__ = ["SNAPSHOT_COLUMNS", "QueriesSource", "QueryProbe", "dry_run_queries"]

# The same pattern SQLAlchemy's text() uses to find bind parameters.
_PARAM = re.compile(r"(?<![:\w\x5c]):(\w+)(?!:)")
_ALLOWED = frozenset({"model", "models", "since", "until"})
_BATCH_CHUNK = 5000
"""Values per ``:models`` statement: one statement for any batch up to this size."""

_TIMES = ("last_trained_at", "observed_at")
_COUNTS = ("baseline_count", "current_count", "new_count", "window_count")
_IDS = ("model_version", "baseline_run_id", "current_run_id")
SNAPSHOT_COLUMNS = frozenset({"model", *_TIMES, *_COUNTS, *_IDS})
_METRIC_ROLES = ("current_metrics", "baseline_metrics", "drift_metrics")


@dataclass(frozen=True)
class _Query:
    role: str
    sql: str
    params: frozenset[str]

    @property
    def per_watch(self) -> bool:
        return "model" in self.params


@dataclass
class _Parts:
    """What the queries said about one model."""

    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    snapshot: dict[str, Any] | None = None


def _parse(role: str, sql: str, source: str) -> _Query:
    params = frozenset(_PARAM.findall(sql))
    unknown = params - _ALLOWED
    if unknown:
        raise ConfigError(
            [
                (
                    f"sources.{source}.queries.{role}",
                    f"unknown parameter(s) {', '.join(sorted(':' + p for p in unknown))}; "
                    "use :model, :models, :since, :until",
                )
            ]
        )
    if {"model", "models"} <= params:
        raise ConfigError([(f"sources.{source}.queries.{role}", "use :model or :models, not both")])
    return _Query(role, sql, params)


class QueriesSource:
    """``kind: sql`` with ``queries:``."""

    def __init__(self, name: str, settings: SqlQueriesSettings) -> None:
        self.name = name
        self.settings = settings
        self._zone: tzinfo = UTC if settings.timezone == "UTC" else ZoneInfo(settings.timezone)
        self._redact = Redactor.of(database_url_secrets(settings.url))
        self._queries = [
            _parse(role, sql, name) for role, sql in settings.queries.model_dump().items() if sql is not None
        ]
        self._engine = open_read_only(
            settings.url, timeout=settings.timeout, label=f"sources.{name}.url", timezone=settings.timezone
        )

    def read(self, watches: Sequence[WatchQuery], now: datetime) -> dict[str, SourceResult]:
        if not watches:
            return {}
        since, until = now - self.settings.window, now
        models = sorted({w.registry_model for w in watches})
        parts: dict[str, _Parts] = {model: _Parts() for model in models}
        failed: dict[str, str] = {}
        try:
            # Connecting is retried too: a database restarting refuses connections for a moment.
            connection = retry_db(self._engine.connect, self.settings)
            with connection:
                for query in self._queries:
                    if query.per_watch:
                        for model in models:
                            try:
                                rows = self._run(connection, query, {"model": model}, since, until)
                            except SourceError as exc:
                                failed.setdefault(model, exc.cause)
                                continue
                            self._collect(query, rows, parts, only=model, failed=failed)
                    else:
                        for start in range(0, len(models), _BATCH_CHUNK) if "models" in query.params else [0]:
                            values = (
                                {"models": models[start : start + _BATCH_CHUNK]}
                                if "models" in query.params
                                else {}
                            )
                            rows = self._run(connection, query, values, since, until)
                            self._collect(query, rows, parts, only=None, failed=failed)
        except SourceError as exc:
            return {w.watch: SourceError(self.name, w.registry_model, exc.cause) for w in watches}
        except SQLAlchemyError as exc:
            cause = describe_db_error(exc, what="database", url=self.settings.url, redact=self._redact)
            return {w.watch: SourceError(self.name, w.registry_model, cause) for w in watches}
        window = (
            f"{since.isoformat()}/{until.isoformat()}"
            if any({"since", "until"} & q.params for q in self._queries)
            else None
        )
        return {watch.watch: self._answer(watch, parts, failed, window) for watch in watches}

    def _answer(
        self, watch: WatchQuery, parts: Mapping[str, _Parts], failed: Mapping[str, str], window: str | None
    ) -> SourceResult:
        """One watch's snapshot from what the queries said about its model, or why there is none."""
        model = watch.registry_model
        if model in failed:
            return SourceError(self.name, model, self._redact(failed[model]))
        try:
            return self._snapshot(watch, parts[model], window)
        except WatchFailure as exc:
            return SourceError(self.name, model, self._redact(str(exc)))
        except Exception as exc:  # a row nobody foresaw fails its watch, not the batch
            return SourceError(self.name, model, self._redact(unexpected(exc)))

    def check(self) -> None:
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1")).all()
        except SQLAlchemyError as exc:
            cause = describe_db_error(exc, what="database", url=self.settings.url, redact=self._redact)
            raise SourceError(self.name, None, cause) from exc

    def close(self) -> None:
        self._engine.dispose()

    # --- statements ----------------------------------------------------------------------------

    def _bound_time(self, moment: datetime) -> Any:
        local = moment.astimezone(self._zone).replace(tzinfo=None)
        if self._engine.dialect.name == "sqlite":
            return local.strftime("%Y-%m-%d %H:%M:%S")
        return local

    def _run(
        self, connection: Any, query: _Query, values: Mapping[str, Any], since: datetime, until: datetime
    ) -> list[Row[Any]]:
        statement = text(query.sql)
        if "models" in query.params:
            statement = statement.bindparams(bindparam("models", expanding=True))
        params = dict(values)
        if "since" in query.params:
            params["since"] = self._bound_time(since)
        if "until" in query.params:
            params["until"] = self._bound_time(until)

        def execute() -> list[Row[Any]]:
            try:
                return list(connection.execute(statement, params).all())
            except SQLAlchemyError:
                connection.rollback()
                raise

        try:
            return retry_db(execute, self.settings)
        except SQLAlchemyError as exc:
            what = f"query {query.role!r}"
            raise SourceError(
                self.name, None, describe_db_error(exc, what=what, url=self.settings.url, redact=self._redact)
            ) from exc

    def _collect(
        self,
        query: _Query,
        rows: Sequence[Row[Any]],
        parts: Mapping[str, _Parts],
        *,
        only: str | None,
        failed: dict[str, str],
    ) -> None:
        reserved = SNAPSHOT_COLUMNS | {"name", "value"}

        def column(key: str) -> str:
            # Our column names match whatever their case; a metric column keeps the user's spelling.
            lowered = key.lower()
            return lowered if query.role == "snapshot" or lowered in reserved else key

        for row in rows:
            record = {column(str(k)): v for k, v in row._mapping.items()}
            if only is None and "model" not in record:
                raise SourceError(
                    self.name, None, f"query {query.role!r} uses no :model, so its rows need a 'model' column"
                )
            model = only if only is not None else record["model"]
            if model is None:  # a row of no model: no watch to fail, and none to attribute it to
                continue
            model = str(model)
            if model not in parts or model in failed:
                continue
            if query.role == "snapshot":
                unknown = set(record) - SNAPSHOT_COLUMNS
                if unknown:
                    raise SourceError(
                        self.name,
                        None,
                        f"query 'snapshot' returned unknown column(s) {', '.join(sorted(unknown))}; "
                        f"expected {', '.join(sorted(SNAPSHOT_COLUMNS))}",
                    )
                if parts[model].snapshot is None:
                    parts[model].snapshot = record
                continue
            metrics = parts[model].metrics.setdefault(query.role, {})
            if "name" in record and "value" in record:
                if record["name"] is None:
                    failed[model] = f"query {query.role!r} returned a row of model {model!r} without a name"
                    continue
                metrics[str(record["name"])] = record["value"]
            else:
                metrics.update({k: v for k, v in record.items() if k != "model"})

    # --- one watch -----------------------------------------------------------------------------

    @staticmethod
    def _numbers(values: Mapping[str, Any], what: str) -> dict[str, float]:
        numbers: dict[str, float] = {}
        for name, value in values.items():
            if value is None:
                continue
            try:
                numbers[name] = to_number(value, f"{what} {name!r}")
            except ValueError as exc:
                raise WatchFailure(str(exc)) from None
        return numbers

    def _snapshot(self, watch: WatchQuery, parts: _Parts, window: str | None) -> Snapshot:
        aliases = merged_aliases(self.settings.aliases, watch)
        found = {
            role: self._numbers(parts.metrics[role], role.replace("_", " ").rstrip("s"))
            for role in _METRIC_ROLES
            if role in parts.metrics
        }
        current, drift = (
            split_metrics(found["current_metrics"], aliases) if "current_metrics" in found else (None, {})
        )
        baseline = (
            split_metrics(found["baseline_metrics"], aliases)[0] if "baseline_metrics" in found else None
        )
        if "drift_metrics" in found:
            drift.update({k.removeprefix(DRIFT_PREFIX): v for k, v in found["drift_metrics"].items()})
        row = parts.snapshot or {}
        counts = self._numbers({k: row.get(k) for k in _COUNTS}, "count")
        return Snapshot(
            current_metrics=current,
            baseline_metrics=baseline,
            drift_metrics=drift or None,
            last_trained_at=to_utc(row.get("last_trained_at"), self._zone, "last_trained_at"),
            observed_at=to_utc(row.get("observed_at"), self._zone, "observed_at"),
            baseline_count=counts.get("baseline_count"),
            current_count=counts.get("current_count"),
            new_count=counts.get("new_count"),
            window_count=counts.get("window_count"),
            provenance=Provenance(
                source=self.name,
                registry_model=watch.registry_model,
                model_version=_text(row.get("model_version")),
                baseline_rule="query",
                baseline_run_id=_text(row.get("baseline_run_id")),
                current_run_id=_text(row.get("current_run_id")),
                data_window=window,
            ),
        )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# --- validate --connect -------------------------------------------------------------------------

_PROBE_ROWS = 1000
"""Rows fetched per query by a dry run: enough to see the metric names, never a whole table."""


@dataclass(frozen=True)
class QueryProbe:
    """What one configured query did once: the error that ``check`` would meet, or the metric names
    its rows carry (the ``name`` values, or the columns of the wide shape) and how many rows came."""

    role: str
    error: str | None = None
    rows: int = 0
    names: frozenset[str] = frozenset()
    bound_model: str | None = None


def dry_run_queries(source: QueriesSource, models: Sequence[str], now: datetime) -> list[QueryProbe]:
    """Run every configured query once, so a wrong table or column shows in ``validate --connect``
    rather than at the first ``check``; every query is tried, each failure named by its role.

    ``:model`` binds the first of ``models`` (the watched models' names, harmless values), ``:models``
    all of them, ``:since``/``:until`` the source's window ending ``now``. Each runs inside a
    transaction that is rolled back, on the read-only connection, and at most ``_PROBE_ROWS`` rows
    are fetched. A database that cannot be reached raises ``SourceError``.
    """
    since, until = now - source.settings.window, now
    probes: list[QueryProbe] = []
    try:
        connection = source._engine.connect()
    except SQLAlchemyError as exc:
        cause = describe_db_error(exc, what="database", url=source.settings.url, redact=source._redact)
        raise SourceError(source.name, None, cause) from exc
    with connection:
        for query in source._queries:
            statement = text(query.sql)
            params: dict[str, Any] = {}
            bound = None
            if "models" in query.params:
                statement = statement.bindparams(bindparam("models", expanding=True))
                params["models"] = list(models) or [""]
            if "model" in query.params:
                bound = models[0] if models else ""
                params["model"] = bound
            if "since" in query.params:
                params["since"] = source._bound_time(since)
            if "until" in query.params:
                params["until"] = source._bound_time(until)
            transaction = connection.begin()
            try:
                result = connection.execute(statement, params)
                keys = [str(c) for c in result.keys()]  # noqa: SIM118 - a Result, not a dict
                rows = list(result.fetchmany(_PROBE_ROWS))
                result.close()
            except SQLAlchemyError as exc:
                what = f"query {query.role!r}"
                cause = describe_db_error(exc, what=what, url=source.settings.url, redact=source._redact)
                probes.append(QueryProbe(query.role, error=cause, bound_model=bound))
                continue
            finally:
                transaction.rollback()
            lowered = [k.lower() for k in keys]
            if "name" in lowered and "value" in lowered:
                at = lowered.index("name")
                names = frozenset(str(row[at]) for row in rows if row[at] is not None)
            else:  # the wide shape: a metric column keeps the user's spelling, as in ``_collect``
                names = frozenset(k for k in keys if k.lower() != "model")
            probes.append(QueryProbe(query.role, rows=len(rows), names=names, bound_model=bound))
    return probes
