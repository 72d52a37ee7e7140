"""Silences: (model, until, reason) rows that suppress a model's notifications, not its history.

A silence is in force while ``until`` is later than now; recording a batch asks ``silenced`` which
of its models to keep quiet, and the alert rules still move their state. Expired silences stay
until a retention purge removes them (``silences`` with ``now=None`` lists them too).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select

from retrain_sentinel.store.records import Silence
from retrain_sentinel.store.schema import silences

__all__ = ["add", "in_force", "purge", "remove", "silenced"]


def _from_row(row: Row[Any]) -> Silence:
    return Silence(id=row.id, watch=row.model, until=row.until, reason=row.reason, created_at=row.created_at)


def add(connection: Connection, model: str, until: datetime, reason: str, now: datetime) -> Silence:
    """Silence ``model`` until ``until``."""
    statement = insert(silences).values(model=model, until=until, reason=reason, created_at=now)
    new_id = connection.execute(statement.returning(silences.c.id)).scalar_one()
    return Silence(id=int(new_id), watch=model, until=until, reason=reason, created_at=now)


def remove(connection: Connection, model: str) -> int:
    """Remove every silence of ``model``; returns how many there were."""
    return connection.execute(delete(silences).where(silences.c.model == model)).rowcount


def in_force(connection: Connection, now: datetime | None) -> list[Silence]:
    """Silences still in force at ``now`` (every silence when ``now`` is ``None``), soonest end first."""
    query = select(silences).order_by(silences.c.until, silences.c.id)
    if now is not None:
        query = query.where(silences.c.until > now)
    return [_from_row(r) for r in connection.execute(query)]


def silenced(connection: Connection, models: Sequence[str], now: datetime) -> set[str]:
    """Which of ``models`` are silenced at ``now``."""
    if not models:
        return set()
    query = select(silences.c.model).where(silences.c.model.in_(models), silences.c.until > now)
    return set(connection.execute(query).scalars())


def purge(connection: Connection, older_than: datetime) -> int:
    """Delete silences that ended before ``older_than``; returns how many."""
    return connection.execute(delete(silences).where(silences.c.until < older_than)).rowcount
