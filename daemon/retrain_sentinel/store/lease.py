"""The leader lease: one row per lease name, with a fencing token and an expiry by the DATABASE clock.

Replicas' clocks may disagree; the database's clock is the one they share, so expiry is judged by
it alone. The token grows on every takeover: a write that carries an older token comes from a
leader that was paused past its lease, and ``check_lease`` refuses it inside the writing
transaction (DESIGN §9). The lease row is locked while checked, so a takeover cannot commit between
the check and the write it guards.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, insert, select, text, update

from retrain_sentinel.errors import LeaseLost
from retrain_sentinel.store.records import LeaseInfo, LeaseToken
from retrain_sentinel.store.schema import leases

__all__ = ["acquire_or_renew", "check_lease", "database_now", "lease_info", "release"]


def database_now(connection: Connection) -> datetime:
    """The database server's current time, aware UTC."""
    if connection.dialect.name == "sqlite":
        raw = connection.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
        return datetime.fromisoformat(str(raw)).replace(tzinfo=UTC)
    value = connection.execute(text("SELECT clock_timestamp()")).scalar_one()
    if not isinstance(value, datetime):  # pragma: no cover - psycopg always returns a datetime
        raise TypeError(f"unexpected database time {value!r}")
    return value.astimezone(UTC)


def _locked_row(connection: Connection, name: str) -> tuple[str, int, datetime] | None:
    query = select(leases.c.holder, leases.c.token, leases.c.expires_at).where(leases.c.name == name)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).one_or_none()
    return None if row is None else (row.holder, row.token, row.expires_at)


def check_lease(connection: Connection, lease: LeaseToken) -> None:
    """Raise ``LeaseLost`` unless ``lease`` still holds (same token and holder, not expired)."""
    row = _locked_row(connection, lease.name)
    if row is None:
        raise LeaseLost(f"lease {lease.name!r} does not exist: write refused")
    holder, token, expires_at = row
    if token != lease.token or holder != lease.holder:
        raise LeaseLost(
            f"lease {lease.name!r} was taken over (token {token} by {holder!r}, ours {lease.token}): write refused"
        )
    if expires_at <= database_now(connection):
        raise LeaseLost(f"lease {lease.name!r} (token {lease.token}) expired: write refused")


def acquire_or_renew(connection: Connection, name: str, holder: str, ttl: timedelta) -> LeaseToken | None:
    """Renew our lease, take over an expired one, or return ``None`` while another holds it."""
    now = database_now(connection)
    expires = now + ttl
    row = _locked_row(connection, name)
    if row is None:
        connection.execute(
            insert(leases).values(name=name, holder=holder, token=1, expires_at=expires, acquired_at=now)
        )
        return LeaseToken(name, holder, 1, expires)
    current_holder, token, expires_at = row
    if current_holder == holder and expires_at > now:
        connection.execute(
            update(leases).where(leases.c.name == name, leases.c.token == token).values(expires_at=expires)
        )
        return LeaseToken(name, holder, token, expires)
    if expires_at > now:
        return None
    new_token = token + 1
    result = connection.execute(
        update(leases)
        .where(leases.c.name == name, leases.c.token == token)
        .values(holder=holder, token=new_token, expires_at=expires, acquired_at=now)
    )
    if result.rowcount != 1:  # pragma: no cover - the row is locked (PG) or the database is (SQLite)
        return None
    return LeaseToken(name, holder, new_token, expires)


def release(connection: Connection, lease: LeaseToken) -> bool:
    """Expire our lease now so a standby takes over at once; ``False`` if it was no longer ours."""
    now = database_now(connection)
    result = connection.execute(
        update(leases)
        .where(leases.c.name == lease.name, leases.c.token == lease.token, leases.c.holder == lease.holder)
        .values(expires_at=now)
    )
    return result.rowcount == 1


def lease_info(connection: Connection, name: str) -> LeaseInfo | None:
    """The lease's holder and token, and whether it is still active by the database clock."""
    row = connection.execute(
        select(leases.c.holder, leases.c.token, leases.c.expires_at).where(leases.c.name == name)
    ).one_or_none()
    if row is None:
        return None
    return LeaseInfo(
        name, row.holder, row.token, row.expires_at, active=row.expires_at > database_now(connection)
    )
