"""Alembic's entry point, run by ``retrain_sentinel.store.migrate`` (never by a repo-level alembic.ini).

The caller opens the connection (already inside a transaction that holds the migration lock) and
hands it over in ``config.attributes["connection"]``; this script only runs the migrations on it.
"""

from __future__ import annotations

from alembic import context

from retrain_sentinel.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable by running alembic by hand
    raise RuntimeError("run migrations through `retrain-sentinel db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    transactional_ddl=True,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
