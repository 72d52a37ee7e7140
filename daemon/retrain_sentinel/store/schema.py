"""The history database's tables, as SQLAlchemy Core metadata (the migrations create the same).

Times are stored as UTC and always come back aware (``UTCDateTime``): SQLite has no time zones, and
a naive time read back would silently mean local time somewhere. JSON is written strictly (no NaN,
see ``jsonsafe``) so the same document fits SQLite's JSON and PostgreSQL's JSONB.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "NOTIFICATION_STATUSES",
    "UTCDateTime",
    "alert_states",
    "evaluations",
    "json_type",
    "leases",
    "metadata",
    "notifications",
    "silences",
]

NOTIFICATION_STATUSES = ("pending", "sent", "superseded", "dead")


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC ``datetime`` on every backend; naive values are refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the store only takes timezone-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_type() -> TypeEngine[Any]:
    """JSON on SQLite, JSONB on PostgreSQL."""
    return JSON().with_variant(JSONB(), "postgresql")


def _id_type() -> TypeEngine[int]:
    """BIGINT on PostgreSQL, INTEGER on SQLite (only ``INTEGER PRIMARY KEY`` autoincrements there)."""
    return BigInteger().with_variant(Integer(), "sqlite")


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "pk": "pk_%(table_name)s",
    }
)

evaluations = Table(
    "evaluations",
    metadata,
    Column("id", _id_type(), primary_key=True, autoincrement=True),
    Column("model", String(200), nullable=False),
    Column("evaluated_at", UTCDateTime(), nullable=False),
    Column("slot_at", UTCDateTime(), nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("severity", String(16), nullable=True),
    Column("fingerprint", String(1000), nullable=True),
    Column("report", json_type(), nullable=True),
    Column("snapshot", json_type(), nullable=True),
    Column("error", Text(), nullable=True),
    Column("duration_seconds", Float(), nullable=True),
    Column("baseline_version", String(200), nullable=True),
    UniqueConstraint("model", "slot_at"),
    CheckConstraint("outcome IN ('ok', 'triggered', 'undecided', 'error')", name="outcome"),
    Index(None, "model", "evaluated_at"),
    Index(None, "evaluated_at"),
)

alert_states = Table(
    "alert_states",
    metadata,
    Column("model", String(200), primary_key=True),
    Column("alert_state", String(16), nullable=False),
    Column("health", String(16), nullable=False),
    Column("consecutive_triggered", Integer(), nullable=False),
    Column("consecutive_ok", Integer(), nullable=False),
    Column("consecutive_failures", Integer(), nullable=False),
    Column("fired_version", String(200), nullable=True),
    Column("fired_severity", String(16), nullable=True),
    Column("fired_triggers", json_type(), nullable=False),
    Column("fingerprint", String(1000), nullable=True),
    Column("episode", String(32), nullable=True),
    Column("broken_episode", String(32), nullable=True),
    Column("last_route_notified", json_type(), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("alert_state IN ('ok', 'firing')", name="alert_state"),
    CheckConstraint("health IN ('healthy', 'broken')", name="health"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("model", String(200), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("episode", String(32), nullable=True),
    Column("payload", json_type(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("position", Integer(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("last_error", Text(), nullable=True),
    Column("group_id", String(32), nullable=True),
    Column("claimed_by", String(200), nullable=True),
    Column("claimed_until", UTCDateTime(), nullable=True),
    Column("claim_token", BigInteger(), nullable=True),
    CheckConstraint("status IN ('pending', 'sent', 'superseded', 'dead')", name="status"),
    Index(None, "status", "next_attempt_at"),
    Index(None, "model", "channel", "status"),
    Index(None, "group_id"),
    Index(None, "created_at"),
)

silences = Table(
    "silences",
    metadata,
    Column("id", _id_type(), primary_key=True, autoincrement=True),
    Column("model", String(200), nullable=False),
    Column("until", UTCDateTime(), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index(None, "model", "until"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("token", BigInteger(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("acquired_at", UTCDateTime(), nullable=False),
)


def stamped_revision(connection: Connection) -> str | None:
    """The migration the database is stamped with (``None`` before the first one), read with plain
    SQL: the daemon's every start asks it, and answering needs no Alembic."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    return str(revision) if revision is not None else None
