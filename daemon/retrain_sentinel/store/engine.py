"""Connecting to the history database: SQLite or PostgreSQL, tuned the same way every time.

SQLite gets WAL (readers never block the writer), a busy timeout, foreign keys, and ``BEGIN
IMMEDIATE`` for every writing transaction: a deferred transaction that later needs the write lock fails at
once with "database is locked" instead of waiting, so taking the lock up front is what makes
concurrent writers (the daemon beside a ``check``) wait their turn. PostgreSQL gets pre-ping and no
server-side prepared statements, so it works through PgBouncer's transaction pooling.

Every SQLAlchemy error is translated to ``StoreError`` here, with the URL's password masked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url

from retrain_sentinel.errors import StoreError
from retrain_sentinel.jsonsafe import dumps
from retrain_sentinel.redaction import redact, redact_url

__all__ = [
    "BUSY_TIMEOUT_MS",
    "READ_ONLY",
    "describe",
    "make_engine",
    "mask_url",
    "missing_sqlite_file",
    "translate_errors",
]

BUSY_TIMEOUT_MS = 30_000
READ_ONLY = "retrain_sentinel_read_only"
"""Execution option marking a connection that only reads (SQLite then skips the write lock)."""


def mask_url(url: str | URL) -> str:
    """The database URL as ``redaction`` shows it (password as ``***``)."""
    return redact_url(url if isinstance(url, str) else url.render_as_string(hide_password=True))


def _sqlite_tuning(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # a read-only transaction stays deferred: under WAL it reads a snapshot beside the writer
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path.db`` or ``postgresql+psycopg://…``)."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError as error:
        raise StoreError(f"invalid database URL {mask_url(url)!r}") from error
    backend = parsed.get_backend_name()
    options: dict[str, Any] = {"json_serializer": dumps}
    if backend == "sqlite":
        options["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    elif backend == "postgresql":
        options["pool_pre_ping"] = True
        if parsed.get_driver_name() == "psycopg":
            options["connect_args"] = {"prepare_threshold": None}
    else:
        raise StoreError(
            f"unsupported database {mask_url(parsed)!r}: use sqlite:/// or postgresql+psycopg://"
        )
    try:
        engine = create_engine(parsed, **options)
    except (exc.ArgumentError, ImportError) as error:
        raise StoreError(f"cannot use database {mask_url(parsed)!r}: {redact(str(error))}") from error
    if backend == "sqlite":
        _sqlite_tuning(engine)
    return engine


def missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite ``url`` when it does not exist yet (connecting would create it), else
    ``None`` (it exists, is in memory, or the database is not SQLite)."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    return None if path.exists() else path.absolute()


def describe(error: BaseException) -> str:
    """A one-line cause without SQL parameters (they may hold report data) or passwords."""
    cause = getattr(error, "orig", None) or error
    first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return redact(f"{type(cause).__name__}: {first}")


@contextmanager
def translate_errors(action: str, url: str | URL) -> Iterator[None]:
    """Turn SQLAlchemy's errors into ``StoreError("<action> on <masked url>: <cause>")``."""
    try:
        yield
    except exc.SQLAlchemyError as error:
        raise StoreError(f"{action} failed on {mask_url(url)}: {describe(error)}") from error
