"""Migrations: programmatic upgrade, the current revision, and refusing a database newer than the code."""

from __future__ import annotations

import subprocess
import sys

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
    open_store,
    require_current,
    upgrade,
)
from retrain_sentinel.store.migrate import HEAD
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


def test_the_head_constant_is_alembics_head() -> None:
    assert head() == HEAD  # a new migration must move HEAD too, or every start would migrate


@pytest.mark.parametrize("migrate", [True, False])
def test_open_store_reads_a_database_at_head_as_it_is(database_url: str, migrate: bool) -> None:
    with open_store(database_url, migrate=migrate) as store:
        assert store.revision() == HEAD


def test_open_store_migrates_a_new_database_only_when_asked(empty_database_url: str) -> None:
    with pytest.raises(SchemaOutdated, match="db upgrade"):
        open_store(empty_database_url, migrate=False)
    with open_store(empty_database_url, migrate=True) as store:
        assert store.revision() == HEAD


@pytest.mark.parametrize("migrate", [True, False])
def test_open_store_refuses_a_database_newer_than_the_code(database_url: str, migrate: bool) -> None:
    _stamp(database_url, "9999_from_the_future")
    with pytest.raises(DatabaseNewerThanCode, match="newer release"):
        open_store(database_url, migrate=migrate)


def test_opening_a_database_at_head_does_not_load_alembic(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/history.db"
    upgrade(url)
    code = (
        "import sys; from retrain_sentinel.store import open_store; "
        f"open_store({url!r}, migrate=True).close(); sys.exit('alembic' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60, check=False).returncode == 0
