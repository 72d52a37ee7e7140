"""Shared fixtures: the history database on SQLite and on PostgreSQL (store, alert and CLI tests)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrain_sentinel.store import HistoryStore, upgrade
from retrain_sentinel.store.testing import postgres_database, postgres_schema_url

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of its own for this test session on the server of ``RS_TEST_POSTGRES_URL``."""
    server = os.environ.get("RS_TEST_POSTGRES_URL")
    if not server:
        if os.environ.get("CI"):
            pytest.fail("RS_TEST_POSTGRES_URL must be set in CI")
        pytest.skip("RS_TEST_POSTGRES_URL is not set")
    with postgres_database(server) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, never migrated database: a SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    return postgres_schema_url(request.getfixturevalue("pg_database"))


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """A fresh database migrated to head."""
    upgrade(empty_database_url)
    return empty_database_url


@pytest.fixture
def store(database_url: str) -> Iterator[HistoryStore]:
    with HistoryStore(database_url) as history:
        yield history
