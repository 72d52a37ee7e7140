"""The transactional outbox: notifications queued with the evaluation that caused them.

Rows are claimed before sending (``claimed_by`` / ``claimed_until`` / ``claim_token``), so two
dispatchers never send the same row. A claim taken under an older lease token is free to the new
leader at once (its dispatcher lost the lease: killed, or paused past it), so only a claim of a
lease-less ``check`` run waits out its ``claimed_until``. A row whose key is under a live claim is
not even a candidate: a stuck watch never fills the claim window of the others. Order
per (model, channel, track) is kept by superseding while claiming; ``alerts.superseding.plan_key``
decides it, purely, and this module only reads the rows it needs and writes its plan.

Claims are taken one dispatcher at a time (an advisory lock on PostgreSQL with ``FOR UPDATE SKIP
LOCKED`` on the candidates, the ``BEGIN IMMEDIATE`` write lock on SQLite): claiming is a few short
statements, and serialising it makes superseding race-free.

Delivery marks its rows with ``mark`` (only rows still pending, and still claimed by the dispatcher
when it names itself); a retention ``purge`` removes finished rows, except the newest sent row of
each key: what the receiver was last told.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Row,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    text,
    update,
)

from retrain_sentinel.alerts.notification import Notification
from retrain_sentinel.alerts.superseding import (
    CLOSING_KINDS,
    TRACK_KINDS,
    Track,
    plan_key,
    receiver_firing,
    track_of,
)
from retrain_sentinel.store.records import OutboxRow
from retrain_sentinel.store.schema import notifications

__all__ = [
    "ClaimScope",
    "claim",
    "enqueue",
    "mark",
    "pending_summary",
    "purge",
    "read_rows",
    "row_to_outbox",
]

_PG_CLAIM_LOCK = 0x52535F4F5554424F  # "RS_OUTBO"


def row_to_outbox(row: Row[Any]) -> OutboxRow:
    return OutboxRow(
        id=row.id,
        watch=row.model,
        channel=row.channel,
        kind=row.kind,
        severity=row.severity,
        episode=row.episode,
        notification=Notification.from_payload(row.payload),
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        position=row.position,
        sent_at=row.sent_at,
        last_error=row.last_error,
        group_id=row.group_id,
        claimed_by=row.claimed_by,
        claimed_until=row.claimed_until,
        claim_token=row.claim_token,
    )


def enqueue(connection: Connection, items: Sequence[tuple[Notification, str | None]], now: datetime) -> None:
    """Insert notifications (each with its group id or ``None``) as pending rows, due at once."""
    if not items:
        return
    values = [
        {
            "id": n.id,
            "model": n.watch,
            "channel": n.channel,
            "kind": n.kind,
            "severity": n.severity,
            "episode": n.metadata.get("episode"),
            "payload": n.to_payload(),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "position": position,
            "group_id": group_id,
        }
        for position, (n, group_id) in enumerate(items)
    ]
    connection.execute(insert(notifications), values)


def _lock_claims(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_CLAIM_LOCK})


@dataclass(frozen=True)
class ClaimScope:
    """Which rows one claim may take, and whose claims it may take over.

    ``lease_token``: the claimer's lease; a claim taken under an older token belongs to a dispatcher
    that lost the lease (killed, or paused past it) and is free at once. ``reclaim``: rows the
    claimer itself claimed and then could not mark (the store failed after the send); they are free
    to it. ``channels`` / ``other_than``: only rows of these channels, or of none of these.
    ``only``: only these ids (``check`` sends what it queued, no more).
    """

    lease_token: int | None = None
    reclaim: Collection[str] = ()
    channels: Collection[str] | None = None
    other_than: Collection[str] = ()
    only: Collection[str] | None = None


def _free(table: FromClause, now: datetime, scope: ClaimScope) -> ColumnElement[bool]:
    """Not under anybody's live claim (NULL-safe: every branch is true or false)."""
    c = table.c
    branches: list[ColumnElement[bool]] = [c.claimed_until.is_(None), c.claimed_until <= now]
    if scope.lease_token is not None:
        branches.append(and_(c.claim_token.is_not(None), c.claim_token < scope.lease_token))
    if scope.reclaim:
        branches.append(c.id.in_(list(scope.reclaim)))
    return or_(*branches)


def _track(kind: ColumnElement[str]) -> ColumnElement[str]:
    return case((kind.in_(TRACK_KINDS["health"]), literal("health")), else_=literal("alert"))


def _blocked(now: datetime, scope: ClaimScope) -> ColumnElement[bool]:
    """A row whose key has a row under someone's live claim: it waits for that send to finish,
    and must not take a place in the claim window meanwhile (or one stuck watch blocks all)."""
    other = notifications.alias("in_flight")
    return exists().where(
        other.c.model == notifications.c.model,
        other.c.channel == notifications.c.channel,
        other.c.status == "pending",
        not_(_free(other, now, scope)),
        _track(other.c.kind) == _track(notifications.c.kind),
    )


def _due(connection: Connection, now: datetime, limit: int, scope: ClaimScope) -> list[OutboxRow]:
    free = _free(notifications, now, scope)
    due = [notifications.c.status == "pending", notifications.c.next_attempt_at <= now, free]
    if scope.only is not None:
        due.append(notifications.c.id.in_(list(scope.only)))
    if scope.channels is not None:
        due.append(notifications.c.channel.in_(list(scope.channels)))
    if scope.other_than:
        due.append(notifications.c.channel.not_in(list(scope.other_than)))
    query = (
        select(notifications)
        .where(*due, not_(_blocked(now, scope)))
        .order_by(notifications.c.created_at, notifications.c.position)
        .limit(limit)
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = [row_to_outbox(r) for r in connection.execute(query)]
    groups = {r.group_id for r in rows if r.group_id}
    if groups:
        seen = {r.id for r in rows}
        members = select(notifications).where(
            notifications.c.group_id.in_(groups), notifications.c.status == "pending", free
        )
        rows += [m for m in map(row_to_outbox, connection.execute(members)) if m.id not in seen]
    return rows


def _key_rows(connection: Connection, model: str, channel: str, track: Track) -> list[OutboxRow]:
    query = (
        select(notifications)
        .where(
            notifications.c.model == model,
            notifications.c.channel == channel,
            notifications.c.status == "pending",
            notifications.c.kind.in_(TRACK_KINDS[track]),
        )
        .order_by(notifications.c.created_at, notifications.c.position)
    )
    return [row_to_outbox(r) for r in connection.execute(query)]


def _last_accepted_kind(connection: Connection, model: str, channel: str, track: Track) -> str | None:
    """The kind of the newest message the channel accepted on this key (what the receiver believes)."""
    query = (
        select(notifications.c.kind)
        .where(
            notifications.c.model == model,
            notifications.c.channel == channel,
            notifications.c.status == "sent",
            notifications.c.kind.in_(TRACK_KINDS[track]),
        )
        .order_by(notifications.c.created_at.desc(), notifications.c.position.desc())
        .limit(1)
    )
    return connection.execute(query).scalar()


def _in_flight(row: OutboxRow, now: datetime, scope: ClaimScope) -> bool:
    """``_free``'s negation, for a row already read."""
    if row.claimed_until is None or row.claimed_until <= now or row.id in scope.reclaim:
        return False
    stale = scope.lease_token is not None and row.claim_token is not None and row.claim_token < scope.lease_token
    return not stale


def claim(
    connection: Connection,
    now: datetime,
    holder: str,
    until: datetime,
    *,
    limit: int,
    scope: ClaimScope = ClaimScope(),
) -> tuple[list[OutboxRow], list[str]]:
    """Claim due rows for ``holder`` until ``until`` within ``scope``; returns (claimed rows,
    superseded ids)."""
    _lock_claims(connection)
    candidates = _due(connection, now, limit, scope)
    keys = dict.fromkeys((r.watch, r.channel, track_of(r.kind)) for r in candidates)
    claimed: list[str] = []
    superseded: list[str] = []
    for model, channel, track in keys:
        rows = _key_rows(connection, model, channel, track)
        in_flight = any(_in_flight(r, now, scope) for r in rows)
        firing = bool(rows) and rows[-1].kind in CLOSING_KINDS and receiver_firing(
            _last_accepted_kind(connection, model, channel, track)
        )
        plan = plan_key(rows, now, firing=firing, in_flight=in_flight)
        superseded += plan.supersede
        if plan.claim is not None:
            claimed.append(plan.claim)
    if superseded:
        connection.execute(
            update(notifications)
            .where(notifications.c.id.in_(superseded), notifications.c.status == "pending")
            .values(
                status="superseded",
                claimed_by=None,
                claimed_until=None,
                claim_token=None,
                last_error="superseded by a newer transition",
            )
        )
    if not claimed:
        return [], superseded
    connection.execute(
        update(notifications)
        .where(notifications.c.id.in_(claimed), notifications.c.status == "pending")
        .values(claimed_by=holder, claimed_until=until, claim_token=scope.lease_token)
    )
    order = {row_id: index for index, row_id in enumerate(r.id for r in candidates)}
    query = select(notifications).where(notifications.c.id.in_(claimed))
    rows = sorted(
        (row_to_outbox(r) for r in connection.execute(query)), key=lambda r: order.get(r.id, len(order))
    )
    return rows, superseded


def mark(
    connection: Connection,
    ids: Iterable[str],
    values: Mapping[str, Any],
    *,
    holder: str | None = None,
) -> int:
    """Update pending rows ``ids`` (only those still claimed by ``holder`` when given)."""
    conditions = [notifications.c.id.in_(list(ids)), notifications.c.status == "pending"]
    if holder is not None:
        conditions.append(notifications.c.claimed_by == holder)
    result = connection.execute(update(notifications).where(and_(*conditions)).values(**values))
    return result.rowcount


def read_rows(connection: Connection, model: str | None, status: str | None) -> list[OutboxRow]:
    """Rows oldest first, of one model and one status or all (for the CLI, metrics and tests)."""
    query = select(notifications).order_by(notifications.c.created_at, notifications.c.position)
    if model is not None:
        query = query.where(notifications.c.model == model)
    if status is not None:
        query = query.where(notifications.c.status == status)
    return [row_to_outbox(r) for r in connection.execute(query)]


def pending_summary(connection: Connection) -> tuple[int, datetime | None]:
    """How many rows wait for delivery, and when the oldest was queued."""
    query = select(func.count(), func.min(notifications.c.created_at)).where(
        notifications.c.status == "pending"
    )
    count, oldest = connection.execute(query).one()
    return int(count), oldest


def purge(connection: Connection, older_than: datetime) -> int:
    """Delete finished rows queued before ``older_than``; returns how many.

    The newest sent row of each (model, channel, track) stays, however old: it is what the receiver
    was last told, which decides whether a later ``resolved`` / ``recovered`` must reach it.
    """
    newer = notifications.alias("newer")
    told_since = exists().where(
        newer.c.model == notifications.c.model,
        newer.c.channel == notifications.c.channel,
        newer.c.status == "sent",
        _track(newer.c.kind) == _track(notifications.c.kind),
        or_(
            newer.c.created_at > notifications.c.created_at,
            and_(
                newer.c.created_at == notifications.c.created_at,
                newer.c.position > notifications.c.position,
            ),
        ),
    )
    done = and_(
        notifications.c.status.in_(("sent", "superseded", "dead")),
        or_(notifications.c.status != "sent", told_since),
    )
    return connection.execute(
        delete(notifications).where(done, notifications.c.created_at < older_than)
    ).rowcount
