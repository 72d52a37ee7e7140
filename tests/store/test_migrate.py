"""Migrations: programmatic upgrade, the current revision, and refusing a database newer than the code."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from retrain_sentinel.errors import StoreError
from retrain_sentinel.store import (
    DatabaseNewerThanCode,
    SchemaOutdated,
    current,
    head,
    require_current,
    upgrade,
)
from retrain_sentinel.store.schema import metadata


def test_upgrade_on_an_empty_database_reaches_head(empty_database_url: str) -> None:
    assert current(empty_database_url) is None
    assert upgrade(empty_database_url) == head()
    assert current(empty_database_url) == head()


def test_upgrade_twice_is_a_no_op(database_url: str) -> None:
    assert upgrade(database_url) == head()
    assert require_current(database_url) == head()


def test_migrated_schema_matches_the_code(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []


def test_unmigrated_database_is_reported_outdated(empty_database_url: str) -> None:
    with pytest.raises(SchemaOutdated, match="db upgrade"):
        require_current(empty_database_url)


def _stamp(url: str, revision: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    engine.dispose()


def test_database_newer_than_the_code_is_refused(database_url: str) -> None:
    _stamp(database_url, "9999_from_the_future")
    with pytest.raises(DatabaseNewerThanCode, match="newer release"):
        current(database_url)
    with pytest.raises(DatabaseNewerThanCode):
        upgrade(database_url)
    with pytest.raises(DatabaseNewerThanCode):
        require_current(database_url)


def test_unreachable_database_is_a_store_error_without_the_password() -> None:
    url = "postgresql+psycopg://sentinel:s3cret-pw@127.0.0.1:1/history"
    with pytest.raises(StoreError) as caught:
        current(url)
    assert "s3cret-pw" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)
