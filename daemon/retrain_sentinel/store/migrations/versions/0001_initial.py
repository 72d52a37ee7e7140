"""Initial schema: evaluations, alert_states, notifications (the outbox), silences, leases.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("evaluated_at", _time(), nullable=False),
        sa.Column("slot_at", _time(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=True),
        sa.Column("fingerprint", sa.String(1000), nullable=True),
        sa.Column("report", _json(), nullable=True),
        sa.Column("snapshot", _json(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("baseline_version", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_evaluations"),
        sa.UniqueConstraint("model", "slot_at", name="uq_evaluations_model_slot_at"),
        sa.CheckConstraint(
            "outcome IN ('ok', 'triggered', 'undecided', 'error')", name="ck_evaluations_outcome"
        ),
    )
    op.create_index("ix_evaluations_model_evaluated_at", "evaluations", ["model", "evaluated_at"])
    op.create_index("ix_evaluations_evaluated_at", "evaluations", ["evaluated_at"])

    op.create_table(
        "alert_states",
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("alert_state", sa.String(16), nullable=False),
        sa.Column("health", sa.String(16), nullable=False),
        sa.Column("consecutive_triggered", sa.Integer(), nullable=False),
        sa.Column("consecutive_ok", sa.Integer(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("fired_version", sa.String(200), nullable=True),
        sa.Column("fired_severity", sa.String(16), nullable=True),
        sa.Column("fired_triggers", _json(), nullable=False),
        sa.Column("fingerprint", sa.String(1000), nullable=True),
        sa.Column("episode", sa.String(32), nullable=True),
        sa.Column("broken_episode", sa.String(32), nullable=True),
        sa.Column("last_route_notified", _json(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("model", name="pk_alert_states"),
        sa.CheckConstraint("alert_state IN ('ok', 'firing')", name="ck_alert_states_alert_state"),
        sa.CheckConstraint("health IN ('healthy', 'broken')", name="ck_alert_states_health"),
    )

    op.create_table(
        "notifications",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("episode", sa.String(32), nullable=True),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _time(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sent_at", _time(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("group_id", sa.String(32), nullable=True),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claimed_until", _time(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'superseded', 'dead')", name="ck_notifications_status"
        ),
    )
    op.create_index("ix_notifications_status_next_attempt_at", "notifications", ["status", "next_attempt_at"])
    op.create_index("ix_notifications_model_channel_status", "notifications", ["model", "channel", "status"])
    op.create_index("ix_notifications_group_id", "notifications", ["group_id"])
    op.create_index("ix_notifications_created_at", "notifications", ["created_at"])

    op.create_table(
        "silences",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("until", _time(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_silences"),
    )
    op.create_index("ix_silences_model_until", "silences", ["model", "until"])

    op.create_table(
        "leases",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.Column("acquired_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_table("silences")
    op.drop_table("notifications")
    op.drop_table("alert_states")
    op.drop_table("evaluations")
