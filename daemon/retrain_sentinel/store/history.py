"""The history store: one facade over evaluations, alert states, silences, the outbox and the lease.

``HistoryStore`` owns the engine and the transactions; the work inside each transaction lives in
the module of its concept (``evaluations``, ``alert_states``, ``silences``, ``outbox``, ``lease``),
as functions taking a ``Connection``. Every write runs in one transaction that first checks the
caller's lease when given one (fencing: a paused leader's late writes are refused, DESIGN §9), and
``record`` retries its whole transaction from fresh reads when another writer (a ``check`` beside
the daemon) changed an alert state in between, so a transition is neither lost nor doubled.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from sqlalchemy import Connection, exc

from retrain_sentinel.alerts.routes import ResolvedRoute
from retrain_sentinel.alerts.rules import AlertRuleSettings, AlertState
from retrain_sentinel.errors import StoreError
from retrain_sentinel.evaluation import Evaluation, StoredEvaluation
from retrain_sentinel.redaction import redact
from retrain_sentinel.store import alert_states, evaluations, outbox, silences
from retrain_sentinel.store import lease as leases
from retrain_sentinel.store.engine import READ_ONLY, describe, make_engine, mask_url, translate_errors
from retrain_sentinel.store.records import (
    ClaimResult,
    LeaseInfo,
    LeaseToken,
    OutboxRow,
    PurgeResult,
    RecordResult,
    Silence,
)
from retrain_sentinel.store.schema import notifications, stamped_revision

__all__ = ["HistoryStore"]

RECORD_ATTEMPTS = 5
_T = TypeVar("_T")
log = structlog.get_logger("retrain_sentinel.store")


def _integrity_race(error: StoreError) -> bool:
    """Whether a write failed on a unique key two first-time writers raced for."""
    return isinstance(error.__cause__, exc.IntegrityError)


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

    # --- transactions -----------------------------------------------------------------------------

    def _write(self, action: str, work: Callable[[Connection], _T], lease: LeaseToken | None = None) -> _T:
        """Run ``work`` in one writing transaction, refused with ``LeaseLost`` if ``lease`` no longer holds."""
        with translate_errors(action, self.url), self._engine.begin() as connection:
            if lease is not None:
                leases.check_lease(connection, lease)
            return work(connection)

    def _read(self, action: str, work: Callable[[Connection], _T]) -> _T:
        """Run ``work`` on a read-only connection (on SQLite it never waits for a writer)."""
        with translate_errors(action, self.url), self._engine.connect() as connection:
            return work(connection.execution_options(**{READ_ONLY: True}))

    def ping(self) -> None:
        """Reach the database (readiness); raises ``StoreError``."""
        self._read("reaching the database", lambda c: c.exec_driver_sql("SELECT 1").scalar())

    def revision(self) -> str | None:
        """The schema migration the database is stamped with (``None``: never migrated)."""
        return self._read("reading the schema revision", stamped_revision)

    # --- evaluations --------------------------------------------------------------------------------

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
        ``LeaseLost`` (writing nothing) when ``lease`` no longer holds. When the database refuses
        a value of some watches (a name too long for its column, a NUL), they are left out and
        returned in ``failed`` with the cause, and the rest is recorded in a second transaction —
        one watch's data never fails the batch.
        """
        plan = evaluations.AlertPlan(rules or {}, routes or {}, group_threshold, self._new_id)
        try:
            return self._record_retrying(lambda c: evaluations.record(c, batch, now, plan), lease)
        except Exception as error:
            if not evaluations.refused(error.__cause__ if isinstance(error, StoreError) else error):
                raise
            cause = describe(error.__cause__ or error)
        log.warning("store.record_isolating", evaluations=len(batch), cause=cause)
        return self._record_retrying(lambda c: evaluations.record_isolating(c, batch, now, plan), lease)

    def _record_retrying(self, work: Callable[[Connection], RecordResult], lease: LeaseToken | None) -> RecordResult:
        """``work`` in one transaction, retried from fresh reads when another writer came between."""
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                result = self._write("recording evaluations", work, lease)
                return replace(result, attempts=attempt)
            except alert_states.StateConflict:
                log.info("store.record_conflict", attempt=attempt)
            except StoreError as error:  # two first-ever writers of one model's state raced
                if not _integrity_race(error) or attempt == RECORD_ATTEMPTS:
                    raise
                log.info("store.record_conflict", attempt=attempt, cause="integrity")
        raise StoreError(
            f"recording evaluations failed on {mask_url(self.url)}: {RECORD_ATTEMPTS} conflicting concurrent writes"
        )

    def history(
        self, model: str | None = None, since: datetime | None = None, limit: int | None = 100
    ) -> list[StoredEvaluation]:
        """Evaluations, newest first."""
        return self._read("reading the history", lambda c: evaluations.history(c, model, since, limit))

    def latest(self, model: str) -> StoredEvaluation | None:
        """The model's newest evaluation."""
        return self._read("reading the history", lambda c: evaluations.latest(c, model))

    def purge(self, older_than: datetime, *, lease: LeaseToken | None = None) -> PurgeResult:
        """Delete evaluations, finished outbox rows and expired silences older than ``older_than``.

        Sent rows of an episode still open (firing or broken) stay, however old: they are what
        lets its ``resolved`` / ``recovered`` through (only routes whose firing was delivered).
        """

        def work(connection: Connection) -> PurgeResult:
            return PurgeResult(
                evaluations=evaluations.purge(connection, older_than),
                notifications=outbox.purge(connection, older_than),
                silences=silences.purge(connection, older_than),
            )

        return self._write("purging old history", work, lease)

    # --- alert states -------------------------------------------------------------------------------

    def alert_state(self, model: str) -> AlertState | None:
        return self._read("reading alert state", lambda c: alert_states.read(c, model))

    def alert_states(self) -> list[AlertState]:
        return self._read("reading alert states", alert_states.read_all)

    # --- silences ---------------------------------------------------------------------------------

    def silence(
        self, model: str, until: datetime, reason: str, *, now: datetime, lease: LeaseToken | None = None
    ) -> Silence:
        """Suppress ``model``'s notifications until ``until`` (state and history go on)."""
        return self._write("silencing", lambda c: silences.add(c, model, until, reason, now), lease)

    def unsilence(self, model: str, *, lease: LeaseToken | None = None) -> int:
        """Remove every silence of ``model``; returns how many there were."""
        return self._write("unsilencing", lambda c: silences.remove(c, model), lease)

    def silences(self, now: datetime | None = None) -> list[Silence]:
        """Silences still in force at ``now`` (every silence when ``now`` is ``None``)."""
        return self._read("reading silences", lambda c: silences.in_force(c, now))

    # --- the leader lease -------------------------------------------------------------------------

    def acquire_or_renew_lease(self, name: str, holder: str, ttl: timedelta) -> LeaseToken | None:
        """Renew our lease or take over an expired one; ``None`` while another replica holds it."""
        for _ in range(2):
            try:
                return self._write(
                    "taking the lease", lambda c: leases.acquire_or_renew(c, name, holder, ttl)
                )
            except StoreError as error:  # two first-ever acquirers raced on the insert: look again
                if not _integrity_race(error):
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

    # --- the outbox -------------------------------------------------------------------------------

    def outbox(self, model: str | None = None, status: str | None = None) -> list[OutboxRow]:
        """Outbox rows, oldest first (for the CLI, metrics and tests)."""
        return self._read("reading the outbox", lambda c: outbox.read_rows(c, model, status))

    def pending_summary(self) -> tuple[int, datetime | None]:
        """How many notifications wait for delivery, and when the oldest was queued (for metrics)."""
        return self._read("reading the outbox", outbox.pending_summary)

    def claim_due(
        self,
        now: datetime,
        holder: str,
        *,
        claim_for: timedelta,
        limit: int = 100,
        lease: LeaseToken | None = None,
        only: Collection[str] | None = None,
        channels: Collection[str] | None = None,
        other_than: Collection[str] = (),
        reclaim: Collection[str] = (),
    ) -> ClaimResult:
        """Claim due rows for ``holder`` (superseding older ones per model, channel and track).

        ``only`` restricts the claim to those notification ids, ``channels`` / ``other_than`` to
        rows of (or not of) those channels; ``reclaim`` names rows ``holder`` claimed earlier and
        could not mark. Claims taken under a lease older than ``lease`` are taken over.
        """
        scope = outbox.ClaimScope(
            lease_token=lease.token if lease is not None else None,
            reclaim=frozenset(reclaim),
            channels=channels,
            other_than=other_than,
            only=only,
        )

        def work(connection: Connection) -> ClaimResult:
            rows, superseded = outbox.claim(connection, now, holder, now + claim_for, limit=limit, scope=scope)
            return ClaimResult(rows=tuple(rows), superseded=tuple(superseded))

        return self._write("claiming notifications", work, lease)

    def mark_sent(self, ids: Iterable[str], now: datetime, *, lease: LeaseToken | None = None) -> int:
        values = {
            "status": "sent",
            "sent_at": now,
            "claimed_by": None,
            "claimed_until": None,
            "claim_token": None,
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
        """Count a failed attempt and release the claim until ``next_attempt_at`` (rows ``holder`` still claims)."""
        values: dict[str, Any] = {
            "attempts": notifications.c.attempts + 1,
            "next_attempt_at": next_attempt_at,
            "last_error": redact(error)[:2000],
            "claimed_by": None,
            "claimed_until": None,
            "claim_token": None,
        }
        return self._write(
            "marking notifications failed", lambda c: outbox.mark(c, ids, values, holder=holder), lease
        )

    def mark_dead(
        self, ids: Iterable[str], error: str, *, attempted: bool = True, lease: LeaseToken | None = None
    ) -> int:
        """Give up on rows (permanent failure or too old)."""
        values: dict[str, Any] = {
            "status": "dead",
            "last_error": redact(error)[:2000],
            "claimed_by": None,
            "claimed_until": None,
            "claim_token": None,
        }
        if attempted:
            values["attempts"] = notifications.c.attempts + 1
        return self._write("marking notifications dead", lambda c: outbox.mark(c, ids, values), lease)

    def release_claims(self, ids: Iterable[str], holder: str) -> int:
        """Hand claimed rows back untouched (a dispatcher stopping before it sent them)."""
        values = {"claimed_by": None, "claimed_until": None, "claim_token": None}
        return self._write("releasing claims", lambda c: outbox.mark(c, ids, values, holder=holder))

    def defer(
        self, ids: Iterable[str], holder: str, until: datetime, *, lease: LeaseToken | None = None
    ) -> int:
        """Hand claimed rows back, due again at ``until``, without counting an attempt (their
        destination asked everybody to wait, or failed on an earlier message of the run)."""
        values = {"claimed_by": None, "claimed_until": None, "claim_token": None, "next_attempt_at": until}
        return self._write(
            "deferring notifications", lambda c: outbox.mark(c, ids, values, holder=holder), lease
        )
