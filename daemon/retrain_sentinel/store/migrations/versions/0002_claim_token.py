"""The outbox claim records the lease token it was taken under.

A claim made under an older lease belongs to a dispatcher that lost its leadership (killed, or paused
past its lease): its writes are refused by fencing anyway, so the new leader takes such rows at once
instead of waiting out ``claim_timeout``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("claim_token", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("claim_token")
