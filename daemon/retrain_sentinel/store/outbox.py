"""The transactional outbox: notifications queued with the evaluation that caused them.

Rows are claimed before sending (``claimed_by`` / ``claimed_until``), so two dispatchers never send
the same row, and a dispatcher that dies mid-send only delays a row until its claim expires. Order
per (model, channel, track) is kept by superseding while claiming; ``alerts.superseding.plan_key``
decides it, purely, and this module only reads the rows it needs and writes its plan.

Claims are taken one dispatcher at a time (an advisory lock on PostgreSQL with ``FOR UPDATE SKIP
LOCKED`` on the candidates, the ``BEGIN IMMEDIATE`` write lock on SQLite): claiming is a few short
statements, and serialising it makes superseding race-free.

Delivery marks its rows with ``mark`` (only rows still pending, and still claimed by the dispatcher
when it names itself); a retention ``purge`` removes finished rows, except the sent rows of an
episode still open.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, func, insert, or_, select, text, update

from retrain_sentinel.alerts.notification import Notification
from retrain_sentinel.alerts.superseding import (
    CLOSING_KINDS,
    OPENING_KINDS,
    TRACK_KINDS,
    Track,
    plan_key,
    track_of,
)
from retrain_sentinel.store.alert_states import open_episodes
from retrain_sentinel.store.records import OutboxRow
from retrain_sentinel.store.schema import notifications

__all__ = [
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


def _due(
    connection: Connection, now: datetime, limit: int, only: Collection[str] | None = None
) -> list[OutboxRow]:
    free = or_(notifications.c.claimed_until.is_(None), notifications.c.claimed_until <= now)
    due = [notifications.c.status == "pending", notifications.c.next_attempt_at <= now, free]
    if only is not None:
        due.append(notifications.c.id.in_(list(only)))
    query = (
        select(notifications)
        .where(*due)
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


def _episode_delivered(connection: Connection, row: OutboxRow) -> bool:
    if row.episode is None:
        return True
    query = select(notifications.c.id).where(
        notifications.c.model == row.watch,
        notifications.c.channel == row.channel,
        notifications.c.episode == row.episode,
        notifications.c.kind.in_(OPENING_KINDS[track_of(row.kind)]),
        notifications.c.status == "sent",
    )
    return connection.execute(query.limit(1)).first() is not None


def claim(
    connection: Connection,
    now: datetime,
    holder: str,
    until: datetime,
    limit: int,
    *,
    only: Collection[str] | None = None,
) -> tuple[list[OutboxRow], list[str]]:
    """Claim due rows for ``holder`` until ``until``; returns (claimed rows, superseded ids).

    ``only``: claim among these ids alone (``check`` sends the notifications it queued, no others).
    """
    _lock_claims(connection)
    candidates = _due(connection, now, limit, only)
    keys = dict.fromkeys((r.watch, r.channel, track_of(r.kind)) for r in candidates)
    claimed: list[str] = []
    superseded: list[str] = []
    for model, channel, track in keys:
        rows = _key_rows(connection, model, channel, track)
        delivered = bool(rows) and rows[-1].kind in CLOSING_KINDS and _episode_delivered(connection, rows[-1])
        plan = plan_key(rows, now, delivered)
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
                last_error="superseded by a newer transition",
            )
        )
    if not claimed:
        return [], superseded
    connection.execute(
        update(notifications)
        .where(notifications.c.id.in_(claimed), notifications.c.status == "pending")
        .values(claimed_by=holder, claimed_until=until)
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

    Sent rows of an episode still open (firing or broken) stay, however old: they are what lets its
    ``resolved`` / ``recovered`` through (only routes whose firing was delivered).
    """
    done = and_(
        notifications.c.status.in_(("sent", "superseded", "dead")),
        or_(
            notifications.c.status != "sent",
            notifications.c.episode.is_(None),
            notifications.c.episode.not_in(open_episodes()),
        ),
    )
    return connection.execute(
        delete(notifications).where(done, notifications.c.created_at < older_than)
    ).rowcount
