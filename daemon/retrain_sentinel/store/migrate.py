"""Schema migrations, run programmatically (``retrain-sentinel db upgrade`` / ``db current``).

``upgrade`` runs under a database lock — a transaction-scoped advisory lock on PostgreSQL (safe
through PgBouncer), the ``BEGIN IMMEDIATE`` write lock on SQLite — so replicas starting together
migrate once. A database stamped with a revision this code does not know was migrated by a newer
release: every entry point refuses it with ``DatabaseNewerThanCode`` instead of guessing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

from retrain_sentinel.errors import StoreError
from retrain_sentinel.store.engine import make_engine, mask_url, translate_errors
from retrain_sentinel.store.history import HistoryStore

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

__all__ = [
    "DatabaseNewerThanCode",
    "SchemaOutdated",
    "current",
    "head",
    "open_store",
    "require_current",
    "upgrade",
]

HEAD = "0002"
"""The newest migration in ``migrations/versions`` (a test holds it to Alembic's own head): a
database stamped with it needs no Alembic at all, so an ordinary start does not import it."""
_MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x52535F4D49475241  # "RS_MIGRA": one advisory lock id for this schema's migrations


class DatabaseNewerThanCode(StoreError):
    """The database is at a revision this release does not know: a newer release migrated it."""


class SchemaOutdated(StoreError):
    """The database is behind this release's migrations (run ``retrain-sentinel db upgrade``)."""


def _config() -> Config:
    from alembic.config import Config  # noqa: PLC0415 - Alembic loads only when a migration is due

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - see _config

    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The newest revision this code knows."""
    revision = _scripts().get_current_head()
    if revision is None:  # pragma: no cover - the package always ships its migrations
        raise StoreError("the package ships no migrations")
    return revision


def _revision(connection: Connection, url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - see _config

    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is not None:
        known = {script.revision for script in _scripts().walk_revisions()}
        if revision not in known:
            raise DatabaseNewerThanCode(
                f"database {mask_url(url)} is at schema revision {revision!r}, which this release does not "
                f"know (newest here: {head()!r}): it was migrated by a newer release — upgrade Retrain Sentinel"
            )
    return revision


def current(url: str) -> str | None:
    """The database's revision (``None`` when never migrated); raises ``DatabaseNewerThanCode``."""
    engine = make_engine(url)
    try:
        with translate_errors("reading the schema revision", url), engine.connect() as connection:
            return _revision(connection, url)
    finally:
        engine.dispose()


def require_current(url: str) -> str:
    """Check the database is exactly at ``head()`` (readiness); raise ``SchemaOutdated`` if behind."""
    revision = current(url)
    if revision != head():
        raise SchemaOutdated(
            f"database {mask_url(url)} is at schema revision {revision or 'none'}, this release needs "
            f"{head()}: run `retrain-sentinel db upgrade`"
        )
    return revision


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    # SQLite: the engine began this transaction with BEGIN IMMEDIATE, which holds the write lock.


def upgrade(url: str, revision: str = "head") -> str:
    """Migrate the database to ``revision`` under a database lock; returns the revision reached."""
    from alembic import command  # noqa: PLC0415 - see _config
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    engine = make_engine(url)
    try:
        with translate_errors("migrating the schema", url), engine.begin() as connection:
            _lock(connection)
            _revision(connection, url)
            config = _config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            reached = MigrationContext.configure(connection).get_current_revision()
        return reached or ""
    finally:
        engine.dispose()


def open_store(url: str, *, migrate: bool) -> HistoryStore:
    """The history store at ``url``, reachable and at this code's schema — the one way in for the
    CLI and the daemon.

    ``migrate`` (``service.auto_migrate``) upgrades first; otherwise a database behind or ahead of
    this code is refused (``SchemaOutdated`` / ``DatabaseNewerThanCode``). Raises ``StoreError``.
    """
    store = HistoryStore(url)
    try:
        if store.revision() != HEAD:  # behind, ahead or new: Alembic decides, and says which
            if migrate:
                upgrade(url)
            else:
                require_current(url)
    except StoreError:  # reading the revision is the reachability check too
        store.close()
        raise
    return store
