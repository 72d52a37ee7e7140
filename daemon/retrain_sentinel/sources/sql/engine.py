"""SQL databases as sources: read-only engines, batch-sized list parameters, error translation.

Both ``sql`` shapes (``layout: experiment_db`` in ``experiment_db.py`` and ``queries:`` in
``queries.py``) open their databases here, so every connection is read-only, times out, and every
SQLAlchemy error leaves this package as a ``SourceError`` without the URL's password.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine, bindparam, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from retrain_sentinel.errors import ConfigError
from retrain_sentinel.redaction import Redactor, redact_url
from retrain_sentinel.sources.base import first_line
from retrain_sentinel.sources.failures import retry

T = TypeVar("T")


class _RetrySettings(Protocol):
    @property
    def retries(self) -> int: ...

    @property
    def retry_delay(self) -> timedelta: ...


__all__ = ["ListParam", "describe_db_error", "is_transient_db_error", "open_read_only", "retry_db"]

_TRANSIENT_HINTS = (
    "database is locked",
    "could not connect",
    "connection refused",
    "connection timed out",
    "timeout expired",
    "server closed the connection",
    "terminating connection",
    "connection reset",
    "could not translate host name",
)


def _read_only_sqlite_url(url: URL) -> URL:
    """Open an SQLite file read-only (``mode=ro``), so a wrong path fails instead of creating a file."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or url.query.get("uri"):
        return url
    return url.set(database=f"file:{database}", query={**url.query, "mode": "ro", "uri": "true"})


def open_read_only(url: str, *, timeout: timedelta, label: str, timezone: str = "UTC") -> Engine:
    """An engine whose sessions cannot write, and whose connects and statements time out.

    SQLite: ``mode=ro`` + ``PRAGMA query_only``; PostgreSQL: ``default_transaction_read_only`` and
    ``statement_timeout`` (and the session ``TimeZone``) set on each new connection (works through
    PgBouncer, unlike startup options). Other dialects rely on the read-only transaction we never commit.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"{label}: not a database URL ({redact_url(url)})") from exc
    seconds = max(timeout.total_seconds(), 0.001)
    backend = parsed.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "sqlite":
        parsed = _read_only_sqlite_url(parsed)
        connect_args["timeout"] = seconds
        connect_args["check_same_thread"] = False
    elif backend == "postgresql":
        connect_args["connect_timeout"] = max(1, round(seconds))
    try:
        engine = create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise ConfigError(f"{label}: cannot use {redact_url(url)}: {first_line(str(exc))}") from exc

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if backend == "sqlite":
                cursor.execute("PRAGMA query_only = ON")
            elif backend == "postgresql":
                cursor.execute("SET default_transaction_read_only = on")
                cursor.execute(f"SET statement_timeout = {int(seconds * 1000)}")
                # Naive :since/:until and timestamptz columns then mean the source's timezone.
                cursor.execute("SELECT set_config('TimeZone', %s, false)", (timezone,))
                dbapi_connection.commit()
        finally:
            cursor.close()

    return engine


def is_transient_db_error(exc: BaseException) -> bool:
    """A lost connection or a busy database: worth one more try."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    message = str(exc.orig).lower()
    return any(hint in message for hint in _TRANSIENT_HINTS)


def retry_db(call: Callable[[], T], settings: _RetrySettings) -> T:
    """``call`` with the source's retries for transient database errors (lost connection, busy)."""
    return retry(
        call,
        attempts=settings.retries,
        delay=settings.retry_delay.total_seconds(),
        transient=is_transient_db_error,
    )


def describe_db_error(exc: BaseException, *, what: str, url: str, redact: Redactor) -> str:
    """One line saying which database failed and why — the driver's reason, never the URL's
    password, the SQL text or its parameters."""
    if isinstance(exc, DBAPIError):
        reason = first_line(str(exc.orig))
    elif isinstance(exc, SQLAlchemyError):
        reason = first_line(str(exc).split("\n[SQL:")[0])
    else:
        reason = first_line(f"{type(exc).__name__}: {exc}")
    return redact(f"{what} ({redact_url(url)}): {reason}")


class ListParam:
    """A list of values bound as ONE parameter, so a batch of any size is one statement.

    SQLite: a JSON array read by ``json_each``; PostgreSQL: an array with ``= ANY``; other
    dialects: an expanding ``IN`` (still one statement, within the driver's parameter limit).
    """

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

    def clause(self, column: str, name: str) -> str:
        if self.dialect == "sqlite":
            return f"{column} IN (SELECT value FROM json_each(:{name}))"
        if self.dialect == "postgresql":
            return f"{column} = ANY(:{name})"
        return f"{column} IN :{name}"

    def value(self, values: Iterable[Any]) -> Any:
        items = list(values)
        if self.dialect == "sqlite":
            return json.dumps(items)
        return items

    def statement(self, sql: str, *names: str) -> Any:
        statement = text(sql)
        if self.dialect not in ("sqlite", "postgresql"):
            statement = statement.bindparams(*(bindparam(n, expanding=True) for n in names))
        return statement
