"""The history store: evaluations, alert state, the outbox, silences and the leader lease.

``record`` is the heart of it: ONE transaction checks the caller's lease, inserts the batch's
evaluations (a slot already recorded is skipped, not an error), applies the pure alert rules to each
model's state, writes the states with optimistic concurrency (``version``), and queues the
notifications. A crash before commit loses nothing that was promised; after commit, nothing is
lost either, because the dispatcher works from the outbox. When another writer (a ``check`` beside
the daemon) changed a state in between, the whole transaction is retried from fresh reads, so a
transition is neither lost nor doubled.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from sqlalchemy import Connection, Row, and_, delete, exc, func, insert, or_, select, union, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from retrain_sentinel.alerts.grouping import group
from retrain_sentinel.alerts.notification import Notification
from retrain_sentinel.alerts.routes import ResolvedRoute
from retrain_sentinel.alerts.rules import AlertRuleSettings, AlertState, Change, fingerprint, transition
from retrain_sentinel.errors import StoreError
from retrain_sentinel.evaluation import Evaluation, StoredEvaluation
from retrain_sentinel.redaction import redact
from retrain_sentinel.report import RetrainingReport
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.store import lease as leases
from retrain_sentinel.store import outbox
from retrain_sentinel.store.engine import READ_ONLY, make_engine, mask_url, translate_errors
from retrain_sentinel.store.records import (
    ClaimResult,
    LeaseInfo,
    LeaseToken,
    OutboxRow,
    PurgeResult,
    RecordResult,
    Silence,
)
from retrain_sentinel.store.schema import alert_states, evaluations, notifications, silences

__all__ = ["HistoryStore"]

RECORD_ATTEMPTS = 5
_T = TypeVar("_T")
log = structlog.get_logger("retrain_sentinel.store")


class _Conflict(Exception):
    """Another writer changed an alert state we read: retry the whole transaction."""


def _state_from_row(row: Row[Any]) -> AlertState:
    routes = row.last_route_notified or {}
    return AlertState(
        watch=row.model,
        alert_state=row.alert_state,
        health=row.health,
        consecutive_triggered=row.consecutive_triggered,
        consecutive_ok=row.consecutive_ok,
        consecutive_failures=row.consecutive_failures,
        fired_version=row.fired_version,
        fired_severity=row.fired_severity,
        fired_triggers=tuple(row.fired_triggers or ()),
        fingerprint=row.fingerprint,
        episode=row.episode,
        broken_episode=row.broken_episode,
        notified={k: datetime.fromisoformat(v) for k, v in (routes.get("alert") or {}).items()},
        broken_routes=frozenset(routes.get("broken") or ()),
        version=row.version,
    )


def _state_values(state: AlertState, now: datetime) -> dict[str, Any]:
    return {
        "alert_state": state.alert_state,
        "health": state.health,
        "consecutive_triggered": state.consecutive_triggered,
        "consecutive_ok": state.consecutive_ok,
        "consecutive_failures": state.consecutive_failures,
        "fired_version": state.fired_version,
        "fired_severity": state.fired_severity,
        "fired_triggers": list(state.fired_triggers),
        "fingerprint": state.fingerprint,
        "episode": state.episode,
        "broken_episode": state.broken_episode,
        "last_route_notified": {
            "alert": {k: v.isoformat() for k, v in sorted(state.notified.items())},
            "broken": sorted(state.broken_routes),
        },
        "updated_at": now,
    }


def _evaluation_from_row(row: Row[Any]) -> StoredEvaluation:
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


def _silence_from_row(row: Row[Any]) -> Silence:
    return Silence(id=row.id, watch=row.model, until=row.until, reason=row.reason, created_at=row.created_at)


class HistoryStore:
    """The history database behind one URL (``sqlite:///path.db``, ``postgresql+psycopg://…``)."""

    def __init__(self, url: str, *, new_id: Callable[[], str] | None = None) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._new_id = new_id or (lambda: uuid.uuid4().hex)

    def __repr__(self) -> str:
        return f"HistoryStore({mask_url(self.url)!r})"

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------------------------------

    def _write(self, action: str, work: Callable[[Connection], _T], lease: LeaseToken | None = None) -> _T:
        with translate_errors(action, self.url), self._engine.begin() as connection:
            if lease is not None:
                leases.check_lease(connection, lease)
            return work(connection)

    def _read(self, action: str, work: Callable[[Connection], _T]) -> _T:
        with translate_errors(action, self.url), self._engine.connect() as connection:
            return work(connection.execution_options(**{READ_ONLY: True}))

    def ping(self) -> None:
        """Reach the database (readiness); raises ``StoreError``."""
        self._read("reaching the database", lambda c: c.exec_driver_sql("SELECT 1").scalar())

    # --- record -----------------------------------------------------------------------------------

    def record(
        self,
        batch: Sequence[Evaluation],
        *,
        now: datetime,
        rules: Mapping[str, AlertRuleSettings] | None = None,
        routes: Mapping[str, Sequence[ResolvedRoute]] | None = None,
        lease: LeaseToken | None = None,
        group_threshold: int = 3,
    ) -> RecordResult:
        """Record a batch in one transaction: evaluations, alert states, queued notifications.

        ``rules`` / ``routes`` are per model (missing: default rules, no routes). Raises
        ``LeaseLost`` (writing nothing) when ``lease`` no longer holds.
        """
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                with translate_errors("recording evaluations", self.url), self._engine.begin() as connection:
                    if lease is not None:
                        leases.check_lease(connection, lease)
                    result = self._record(
                        connection,
                        batch=batch,
                        now=now,
                        rules=rules or {},
                        routes=routes or {},
                        group_threshold=group_threshold,
                    )
                return replace(result, attempts=attempt)
            except _Conflict:
                log.info("store.record_conflict", attempt=attempt)
            except StoreError as error:  # two first-ever writers of one model's state raced
                if not isinstance(error.__cause__, exc.IntegrityError) or attempt == RECORD_ATTEMPTS:
                    raise
                log.info("store.record_conflict", attempt=attempt, cause="integrity")
        raise StoreError(
            f"recording evaluations failed on {mask_url(self.url)}: {RECORD_ATTEMPTS} conflicting concurrent writes"
        )

    def _insert_evaluation(self, connection: Connection, record: Evaluation) -> int | None:
        report = record.report
        values = {
            "model": record.watch,
            "evaluated_at": record.evaluated_at,
            "slot_at": record.slot_at,
            "outcome": record.outcome,
            "severity": report.severity if report is not None else None,
            "fingerprint": fingerprint(record.watch, report.fired_triggers)
            if report is not None and report.triggered
            else None,
            "report": report.to_dict() if report is not None else None,
            "snapshot": record.snapshot.to_dict() if record.snapshot is not None else None,
            "error": record.error,
            "duration_seconds": record.duration,
            "baseline_version": record.baseline_version,
        }
        if record.slot_at is None:
            return int(
                connection.execute(
                    insert(evaluations).values(values).returning(evaluations.c.id)
                ).scalar_one()
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

    def _record(
        self,
        connection: Connection,
        *,
        batch: Sequence[Evaluation],
        now: datetime,
        rules: Mapping[str, AlertRuleSettings],
        routes: Mapping[str, Sequence[ResolvedRoute]],
        group_threshold: int,
    ) -> RecordResult:
        ids: list[int] = []
        skipped: list[tuple[str, datetime | None]] = []
        applied: list[Evaluation] = []
        for record in sorted(batch, key=lambda r: (r.watch, r.evaluated_at)):
            new = self._insert_evaluation(connection, record)
            if new is None:
                skipped.append((record.watch, record.slot_at))
            else:
                ids.append(new)
                applied.append(record)
        models = sorted({r.watch for r in applied})
        before = self._states(connection, models)
        silenced = self._silenced(connection, models, now)
        states = dict(before)
        changes: dict[str, list[Change]] = {}
        queued: list[Notification] = []
        for record in applied:
            state = states.get(record.watch) or AlertState(watch=record.watch)
            step = transition(
                state,
                record,
                now,
                rules.get(record.watch) or AlertRuleSettings(),
                routes.get(record.watch, ()),
                silenced=record.watch in silenced,
                new_id=self._new_id,
            )
            states[record.watch] = step.state
            changes.setdefault(record.watch, []).extend(step.changes)
            queued.extend(step.notifications)
        written = {m: self._write_state(connection, states[m], before.get(m), now) for m in models}
        kinds = {route.channel: route.kind for model_routes in routes.values() for route in model_routes}
        outbox.enqueue(connection, group(queued, kinds, group_threshold, self._new_id), now)
        return RecordResult(
            evaluation_ids=tuple(ids),
            skipped=tuple(skipped),
            changes={m: tuple(c) for m, c in changes.items() if c},
            states=written,
            notifications=tuple(queued),
        )

    def _states(self, connection: Connection, models: Sequence[str]) -> dict[str, AlertState]:
        if not models:
            return {}
        rows = connection.execute(select(alert_states).where(alert_states.c.model.in_(models)))
        return {row.model: _state_from_row(row) for row in rows}

    def _silenced(self, connection: Connection, models: Sequence[str], now: datetime) -> set[str]:
        if not models:
            return set()
        query = select(silences.c.model).where(silences.c.model.in_(models), silences.c.until > now)
        return set(connection.execute(query).scalars())

    def _write_state(
        self, connection: Connection, state: AlertState, before: AlertState | None, now: datetime
    ) -> AlertState:
        values = _state_values(state, now)
        if before is None:
            connection.execute(insert(alert_states).values(model=state.watch, version=1, **values))
            return replace(state, version=1)
        result = connection.execute(
            update(alert_states)
            .where(alert_states.c.model == state.watch, alert_states.c.version == before.version)
            .values(version=before.version + 1, **values)
        )
        if result.rowcount != 1:
            raise _Conflict(state.watch)
        return replace(state, version=before.version + 1)

    # --- reading the history ------------------------------------------------------------------------

    def history(
        self, model: str | None = None, since: datetime | None = None, limit: int | None = 100
    ) -> list[StoredEvaluation]:
        """Evaluations, newest first."""
        query = select(evaluations).order_by(evaluations.c.evaluated_at.desc(), evaluations.c.id.desc())
        if model is not None:
            query = query.where(evaluations.c.model == model)
        if since is not None:
            query = query.where(evaluations.c.evaluated_at >= since)
        if limit is not None:
            query = query.limit(limit)
        return self._read(
            "reading the history", lambda c: [_evaluation_from_row(r) for r in c.execute(query)]
        )

    def latest(self, model: str) -> StoredEvaluation | None:
        """The model's newest evaluation."""
        found = self.history(model, limit=1)
        return found[0] if found else None

    def alert_state(self, model: str) -> AlertState | None:
        query = select(alert_states).where(alert_states.c.model == model)
        row = self._read("reading alert state", lambda c: c.execute(query).one_or_none())
        return None if row is None else _state_from_row(row)

    def alert_states(self) -> list[AlertState]:
        query = select(alert_states).order_by(alert_states.c.model)
        return self._read("reading alert states", lambda c: [_state_from_row(r) for r in c.execute(query)])

    def outbox(self, model: str | None = None, status: str | None = None) -> list[OutboxRow]:
        """Outbox rows, oldest first (for the CLI, metrics and tests)."""
        query = select(notifications).order_by(notifications.c.created_at, notifications.c.position)
        if model is not None:
            query = query.where(notifications.c.model == model)
        if status is not None:
            query = query.where(notifications.c.status == status)
        return self._read("reading the outbox", lambda c: [outbox.row_to_outbox(r) for r in c.execute(query)])

    def pending_summary(self) -> tuple[int, datetime | None]:
        """How many notifications wait for delivery, and when the oldest was queued (for metrics)."""
        query = select(func.count(), func.min(notifications.c.created_at)).where(
            notifications.c.status == "pending"
        )
        count, oldest = self._read("reading the outbox", lambda c: c.execute(query).one())
        return int(count), oldest

    # --- silences ---------------------------------------------------------------------------------

    def silence(
        self, model: str, until: datetime, reason: str, *, now: datetime, lease: LeaseToken | None = None
    ) -> Silence:
        """Suppress ``model``'s notifications until ``until`` (state and history go on)."""

        def work(connection: Connection) -> Silence:
            statement = insert(silences).values(model=model, until=until, reason=reason, created_at=now)
            new_id = connection.execute(statement.returning(silences.c.id)).scalar_one()
            return Silence(id=int(new_id), watch=model, until=until, reason=reason, created_at=now)

        return self._write("silencing", work, lease)

    def unsilence(self, model: str, *, lease: LeaseToken | None = None) -> int:
        """Remove every silence of ``model``; returns how many there were."""
        return self._write(
            "unsilencing",
            lambda c: c.execute(delete(silences).where(silences.c.model == model)).rowcount,
            lease,
        )

    def silences(self, now: datetime | None = None) -> list[Silence]:
        """Silences still in force at ``now`` (every silence when ``now`` is ``None``)."""
        query = select(silences).order_by(silences.c.until, silences.c.id)
        if now is not None:
            query = query.where(silences.c.until > now)
        return self._read("reading silences", lambda c: [_silence_from_row(r) for r in c.execute(query)])

    # --- retention --------------------------------------------------------------------------------

    def purge(self, older_than: datetime, *, lease: LeaseToken | None = None) -> PurgeResult:
        """Delete evaluations, finished outbox rows and expired silences older than ``older_than``.

        Sent rows of an episode still open (firing or broken) stay, however old: they are what
        lets its ``resolved`` / ``recovered`` through (only routes whose firing was delivered).
        """

        def work(connection: Connection) -> PurgeResult:
            open_episodes = union(
                select(alert_states.c.episode).where(alert_states.c.episode.is_not(None)),
                select(alert_states.c.broken_episode).where(alert_states.c.broken_episode.is_not(None)),
            )
            done = and_(
                notifications.c.status.in_(("sent", "superseded", "dead")),
                or_(
                    notifications.c.status != "sent",
                    notifications.c.episode.is_(None),
                    notifications.c.episode.not_in(open_episodes),
                ),
            )
            return PurgeResult(
                evaluations=connection.execute(
                    delete(evaluations).where(evaluations.c.evaluated_at < older_than)
                ).rowcount,
                notifications=connection.execute(
                    delete(notifications).where(done, notifications.c.created_at < older_than)
                ).rowcount,
                silences=connection.execute(delete(silences).where(silences.c.until < older_than)).rowcount,
            )

        return self._write("purging old history", work, lease)

    # --- the leader lease -------------------------------------------------------------------------

    def acquire_or_renew_lease(self, name: str, holder: str, ttl: timedelta) -> LeaseToken | None:
        """Renew our lease or take over an expired one; ``None`` while another replica holds it."""
        for _ in range(2):
            try:
                return self._write(
                    "taking the lease", lambda c: leases.acquire_or_renew(c, name, holder, ttl)
                )
            except StoreError as error:  # two first-ever acquirers raced on the insert: look again
                if not isinstance(error.__cause__, exc.IntegrityError):
                    raise
        return None

    def release_lease(self, lease: LeaseToken) -> bool:
        """Give the lease up at once (graceful stop); ``False`` if it was no longer ours."""
        return self._write("releasing the lease", lambda c: leases.release(c, lease))

    def lease_holder(self, name: str) -> LeaseInfo | None:
        return self._read("reading the lease", lambda c: leases.lease_info(c, name))

    def check_lease(self, lease: LeaseToken) -> None:
        """Raise ``LeaseLost`` unless ``lease`` still holds."""
        self._write("checking the lease", lambda c: leases.check_lease(c, lease))

    # --- the outbox, for the dispatcher -------------------------------------------------------------

    def claim_due(
        self,
        now: datetime,
        holder: str,
        *,
        claim_for: timedelta,
        limit: int = 100,
        lease: LeaseToken | None = None,
        only: Collection[str] | None = None,
    ) -> ClaimResult:
        """Claim due rows for ``holder`` (superseding older ones per model, channel and track);
        ``only`` restricts the claim to those notification ids."""

        def work(connection: Connection) -> ClaimResult:
            rows, superseded = outbox.claim(connection, now, holder, now + claim_for, limit, only=only)
            return ClaimResult(rows=tuple(rows), superseded=tuple(superseded))

        return self._write("claiming notifications", work, lease)

    def mark_sent(self, ids: Iterable[str], now: datetime, *, lease: LeaseToken | None = None) -> int:
        values = {
            "status": "sent",
            "sent_at": now,
            "claimed_by": None,
            "claimed_until": None,
            "last_error": None,
        }
        return self._write("marking notifications sent", lambda c: outbox.mark(c, ids, values), lease)

    def mark_failed(
        self,
        ids: Iterable[str],
        holder: str,
        next_attempt_at: datetime,
        error: str,
        *,
        lease: LeaseToken | None = None,
    ) -> int:
        """Count a failed attempt and release the claim until ``next_attempt_at``."""
        ids = list(ids)

        def work(connection: Connection) -> int:
            statement = (
                update(notifications)
                .where(
                    notifications.c.id.in_(ids),
                    notifications.c.status == "pending",
                    notifications.c.claimed_by == holder,
                )
                .values(
                    attempts=notifications.c.attempts + 1,
                    next_attempt_at=next_attempt_at,
                    last_error=redact(error)[:2000],
                    claimed_by=None,
                    claimed_until=None,
                )
            )
            return connection.execute(statement).rowcount

        return self._write("marking notifications failed", work, lease)

    def mark_dead(
        self, ids: Iterable[str], error: str, *, attempted: bool = True, lease: LeaseToken | None = None
    ) -> int:
        """Give up on rows (permanent failure or too old)."""
        values: dict[str, Any] = {
            "status": "dead",
            "last_error": redact(error)[:2000],
            "claimed_by": None,
            "claimed_until": None,
        }
        if attempted:
            values["attempts"] = notifications.c.attempts + 1
        return self._write("marking notifications dead", lambda c: outbox.mark(c, ids, values), lease)

    def mark_superseded(self, ids: Iterable[str], reason: str, *, lease: LeaseToken | None = None) -> int:
        values = {"status": "superseded", "last_error": reason, "claimed_by": None, "claimed_until": None}
        return self._write("marking notifications superseded", lambda c: outbox.mark(c, ids, values), lease)

    def release_claims(self, ids: Iterable[str], holder: str) -> int:
        """Hand claimed rows back untouched (a dispatcher stopping before it sent them)."""
        values = {"claimed_by": None, "claimed_until": None}
        return self._write("releasing claims", lambda c: outbox.mark(c, ids, values, holder=holder))
