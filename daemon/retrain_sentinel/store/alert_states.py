"""Alert states: one ``alert_states`` row per model, written with optimistic concurrency.

A row carries a ``version``; a write names the version it read and bumps it. When another writer (a
``check`` beside the daemon) got there first, the update matches no row and ``StateConflict`` is
raised, so the caller retries its whole transaction from fresh reads and a transition is neither
lost nor doubled. The first write of a model inserts version 1; two first writers racing meet the
primary key instead (an ``IntegrityError``, retried the same way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from retrain_sentinel.alerts.rules import AlertState
from retrain_sentinel.store.schema import alert_states

__all__ = ["StateConflict", "read", "read_all", "read_many", "write"]


class StateConflict(Exception):
    """Another writer changed an alert state we read: retry the whole transaction."""


def _from_row(row: Row[Any]) -> AlertState:
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


def _values(state: AlertState, now: datetime) -> dict[str, Any]:
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


def read(connection: Connection, model: str) -> AlertState | None:
    """The model's state, ``None`` before its first evaluation."""
    row = connection.execute(select(alert_states).where(alert_states.c.model == model)).one_or_none()
    return None if row is None else _from_row(row)


def read_all(connection: Connection) -> list[AlertState]:
    """Every model's state, by model name."""
    query = select(alert_states).order_by(alert_states.c.model)
    return [_from_row(r) for r in connection.execute(query)]


def read_many(connection: Connection, models: Sequence[str]) -> dict[str, AlertState]:
    """The states of ``models`` that have one, by model."""
    if not models:
        return {}
    rows = connection.execute(select(alert_states).where(alert_states.c.model.in_(models)))
    return {row.model: _from_row(row) for row in rows}


def write(connection: Connection, state: AlertState, before: AlertState | None, now: datetime) -> AlertState:
    """Store ``state`` over ``before`` (what was read); returns it with its new version.

    Raises ``StateConflict`` when the row is no longer at ``before``'s version.
    """
    values = _values(state, now)
    if before is None:
        connection.execute(insert(alert_states).values(model=state.watch, version=1, **values))
        return replace(state, version=1)
    result = connection.execute(
        update(alert_states)
        .where(alert_states.c.model == state.watch, alert_states.c.version == before.version)
        .values(version=before.version + 1, **values)
    )
    if result.rowcount != 1:
        raise StateConflict(state.watch)
    return replace(state, version=before.version + 1)
