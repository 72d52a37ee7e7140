"""Evaluations: recording a batch with what it changes, and reading the history back.

``record`` runs inside ONE transaction the caller opened: it inserts the batch's evaluations (a
slot already recorded is skipped, not an error), applies the pure alert rules to each model's state,
writes the states with optimistic concurrency (``alert_states.write``), and queues the
notifications in the outbox. A crash before commit loses nothing that was promised; after commit,
nothing is lost either, because the dispatcher works from the outbox. A ``StateConflict`` means
another writer came between the reads and the writes: the caller rolls back and retries.

When the database refuses a value of the batch (``refused``: a name too long for its column, a NUL
PostgreSQL cannot store), the caller runs ``record_isolating`` instead, in a new transaction: it
finds the watches to blame and records all the others in one go, so one watch's data never stops
the batch, and each watch's evaluation, state and notifications are still written together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, exc, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from retrain_sentinel.alerts.grouping import group
from retrain_sentinel.alerts.notification import Notification
from retrain_sentinel.alerts.routes import ResolvedRoute
from retrain_sentinel.alerts.rules import AlertRuleSettings, AlertState, Change, fingerprint, transition
from retrain_sentinel.evaluation import Evaluation, StoredEvaluation
from retrain_sentinel.report import RetrainingReport
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.store import alert_states, outbox, silences
from retrain_sentinel.store.engine import describe
from retrain_sentinel.store.records import RecordResult
from retrain_sentinel.store.schema import evaluations

__all__ = [
    "AlertPlan",
    "history",
    "insert_evaluation",
    "latest",
    "purge",
    "record",
    "record_isolating",
    "refused",
]


@dataclass(frozen=True)
class AlertPlan:
    """How a batch's evaluations become notifications: per-model rules and routes, grouping, ids."""

    rules: Mapping[str, AlertRuleSettings]
    routes: Mapping[str, Sequence[ResolvedRoute]]
    group_threshold: int
    new_id: Callable[[], str]


def _from_row(row: Row[Any]) -> StoredEvaluation:
    return StoredEvaluation(
        id=row.id,
        watch=row.model,
        evaluated_at=row.evaluated_at,
        slot_at=row.slot_at,
        outcome=row.outcome,
        severity=row.severity,
        fingerprint=row.fingerprint,
        report=RetrainingReport.from_dict(row.report) if row.report is not None else None,
        snapshot=Snapshot.from_dict(row.snapshot) if row.snapshot is not None else None,
        error=row.error,
        duration=row.duration_seconds,
        baseline_version=row.baseline_version,
    )


def _values(evaluation: Evaluation) -> dict[str, Any]:
    report = evaluation.report
    return {
        "model": evaluation.watch,
        "evaluated_at": evaluation.evaluated_at,
        "slot_at": evaluation.slot_at,
        "outcome": evaluation.outcome,
        "severity": report.severity if report is not None else None,
        "fingerprint": fingerprint(evaluation.watch, report.fired_triggers)
        if report is not None and report.triggered
        else None,
        "report": report.to_dict() if report is not None else None,
        "snapshot": evaluation.snapshot.to_dict() if evaluation.snapshot is not None else None,
        "error": evaluation.error,
        "duration_seconds": evaluation.duration,
        "baseline_version": evaluation.baseline_version,
    }


def insert_evaluation(connection: Connection, evaluation: Evaluation) -> int | None:
    """Insert one evaluation; its id, or ``None`` when its slot was already recorded."""
    values = _values(evaluation)
    if evaluation.slot_at is None:
        return int(
            connection.execute(insert(evaluations).values(values).returning(evaluations.c.id)).scalar_one()
        )
    dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(evaluations)
        .values(values)
        .on_conflict_do_nothing(index_elements=["model", "slot_at"])
        .returning(evaluations.c.id)
    )
    inserted = connection.execute(statement).scalar_one_or_none()
    return None if inserted is None else int(inserted)


def record(
    connection: Connection, batch: Sequence[Evaluation], now: datetime, plan: AlertPlan
) -> RecordResult:
    """Insert the batch, move each model's alert state, queue the notifications (one transaction)."""
    ids: list[int] = []
    skipped: list[tuple[str, datetime | None]] = []
    applied: list[Evaluation] = []
    for evaluation in sorted(batch, key=lambda e: (e.watch, e.evaluated_at)):
        new = insert_evaluation(connection, evaluation)
        if new is None:
            skipped.append((evaluation.watch, evaluation.slot_at))
        else:
            ids.append(new)
            applied.append(evaluation)
    models = sorted({e.watch for e in applied})
    before = alert_states.read_many(connection, models)
    states, changes, queued = _apply_rules(
        applied, before, silences.silenced(connection, models, now), now, plan
    )
    written = {m: alert_states.write(connection, states[m], before.get(m), now) for m in models}
    kinds = {route.channel: route.kind for model_routes in plan.routes.values() for route in model_routes}
    outbox.enqueue(connection, group(queued, kinds, plan.group_threshold, plan.new_id), now)
    return RecordResult(
        evaluation_ids=tuple(ids),
        skipped=tuple(skipped),
        changes={m: tuple(c) for m, c in changes.items() if c},
        states=written,
        notifications=tuple(queued),
    )


_DATA_ERRORS = (ValueError, TypeError, OverflowError, RecursionError)
"""What our own code raises on one watch's odd data while preparing its rows (serialising a report,
comparing its times)."""


def refused(error: BaseException | None) -> bool:
    """Whether ``error`` is the database (or its driver, before sending anything) refusing a value
    of the batch, rather than the connection, the lease or a concurrent writer failing.

    Only then can one watch be to blame, and only then is finding it worth a second transaction;
    any other failure is the batch's, and the caller's to retry or report.
    """
    if isinstance(error, exc.DataError):  # too long, NUL, bad JSON text: PostgreSQL's class 22
        return True
    if isinstance(error, exc.StatementError):  # raised while binding, before the database saw it
        return not isinstance(error, exc.DBAPIError)
    return isinstance(error, _DATA_ERRORS)


def record_isolating(
    connection: Connection, batch: Sequence[Evaluation], now: datetime, plan: AlertPlan
) -> RecordResult:
    """``record`` for a batch the database refused: the refused watches in ``failed``, each with
    its cause, and everything else recorded together (grouped as one batch, in this transaction).

    The refused watches are found by recording halves of the batch in savepoints that are always
    rolled back, splitting the halves that fail: a few tries per refused watch instead of one per
    watch, so a batch of thousands with one bad name costs about twice its normal work.
    """
    by_watch: dict[str, list[Evaluation]] = {}
    for evaluation in sorted(batch, key=lambda e: e.watch):
        by_watch.setdefault(evaluation.watch, []).append(evaluation)
    failed: dict[str, str] = {}
    watches = list(by_watch)
    halves = [watches[: len(watches) // 2], watches[len(watches) // 2 :]] if len(watches) > 1 else [watches]
    for half in halves:  # the whole batch failed already: start with its halves
        _find_refused(connection, half, by_watch=by_watch, now=now, plan=plan, failed=failed)
    rest = [e for watch, group_ in by_watch.items() if watch not in failed for e in group_]
    return replace(record(connection, rest, now, plan), failed=failed)


def _find_refused(
    connection: Connection,
    watches: Sequence[str],
    *,
    by_watch: Mapping[str, Sequence[Evaluation]],
    now: datetime,
    plan: AlertPlan,
    failed: dict[str, str],
) -> None:
    """Add to ``failed`` the watches among ``watches`` whose records the database refuses."""
    if not watches:
        return
    error = _dry_run(connection, [e for w in watches for e in by_watch[w]], now, plan)
    if error is None:
        return
    if len(watches) == 1:
        failed[watches[0]] = describe(error)
        return
    middle = len(watches) // 2
    for half in (watches[:middle], watches[middle:]):
        _find_refused(connection, half, by_watch=by_watch, now=now, plan=plan, failed=failed)


def _dry_run(
    connection: Connection, batch: Sequence[Evaluation], now: datetime, plan: AlertPlan
) -> BaseException | None:
    """Record ``batch`` in a savepoint and roll it back: what the database refused, if anything.
    Any other failure (connection, conflict) is the whole transaction's and propagates."""
    savepoint = connection.begin_nested()
    try:
        record(connection, batch, now, plan)
    except Exception as error:
        savepoint.rollback()
        if not refused(error):
            raise
        return error
    savepoint.rollback()
    return None


def _apply_rules(
    applied: Sequence[Evaluation],
    before: Mapping[str, AlertState],
    silenced: set[str],
    now: datetime,
    plan: AlertPlan,
) -> tuple[dict[str, AlertState], dict[str, list[Change]], list[Notification]]:
    """The pure part of ``record``: each evaluation through the alert rules, in order."""
    states = dict(before)
    changes: dict[str, list[Change]] = {}
    queued: list[Notification] = []
    for evaluation in applied:
        step = transition(
            states.get(evaluation.watch) or AlertState(watch=evaluation.watch),
            evaluation,
            now,
            plan.rules.get(evaluation.watch) or AlertRuleSettings(),
            plan.routes.get(evaluation.watch, ()),
            silenced=evaluation.watch in silenced,
            new_id=plan.new_id,
        )
        states[evaluation.watch] = step.state
        changes.setdefault(evaluation.watch, []).extend(step.changes)
        queued.extend(step.notifications)
    return states, changes, queued


def history(
    connection: Connection, model: str | None, since: datetime | None, limit: int | None
) -> list[StoredEvaluation]:
    """Evaluations, newest first, of one model or all, from ``since`` on, at most ``limit``."""
    query = select(evaluations).order_by(evaluations.c.evaluated_at.desc(), evaluations.c.id.desc())
    if model is not None:
        query = query.where(evaluations.c.model == model)
    if since is not None:
        query = query.where(evaluations.c.evaluated_at >= since)
    if limit is not None:
        query = query.limit(limit)
    return [_from_row(r) for r in connection.execute(query)]


def latest(connection: Connection, model: str) -> StoredEvaluation | None:
    """The model's newest evaluation."""
    found = history(connection, model, None, 1)
    return found[0] if found else None


def purge(connection: Connection, older_than: datetime) -> int:
    """Delete evaluations made before ``older_than``; returns how many."""
    return connection.execute(delete(evaluations).where(evaluations.c.evaluated_at < older_than)).rowcount
