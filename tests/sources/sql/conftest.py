"""Real databases for the source tests: SQLite files, and PostgreSQL databases of our own.

Each PostgreSQL test gets two freshly created, uniquely named databases (experiments and
registry) that are dropped afterwards, so parallel runs never collide. Without
``RS_TEST_POSTGRES_URL`` the PostgreSQL cases skip — unless ``CI`` is set, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from .experiment_db_fixture import Lab, create_schemas


@pytest.fixture
def now() -> datetime:
    return datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def postgres_admin_url() -> str | None:
    url = os.environ.get("RS_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("RS_TEST_POSTGRES_URL is not set but CI is: the PostgreSQL tests must run")
        pytest.skip("RS_TEST_POSTGRES_URL not set")
    return url


@dataclass
class Databases:
    experiments_url: str
    registry_url: str
    lab: Lab

    @property
    def dialect(self) -> str:
        return self.lab.experiments.dialect.name


class PostgresDatabases:
    """Creates and drops uniquely named databases next to the test database."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self, role: str) -> str:
        name = f"rs_src_{role}_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def _engines(experiments_url: str, registry_url: str) -> tuple[Engine, Engine]:
    return create_engine(experiments_url), create_engine(registry_url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """An empty experiment DB and registry in the original layout, on each backend."""
    if request.param == "sqlite":
        experiments_url = f"sqlite:///{tmp_path / 'experiments.db'}"
        registry_url = f"sqlite:///{tmp_path / 'model_registry.db'}"
        experiments, registry = _engines(experiments_url, registry_url)
        create_schemas(experiments, registry)
        yield Databases(experiments_url, registry_url, Lab(experiments, registry))
        experiments.dispose()
        registry.dispose()
        return
    admin_url = postgres_admin_url()
    assert admin_url is not None
    pg = PostgresDatabases(admin_url)
    try:
        experiments_url, registry_url = pg.create("exp"), pg.create("reg")
        experiments, registry = _engines(experiments_url, registry_url)
        create_schemas(experiments, registry)
        yield Databases(experiments_url, registry_url, Lab(experiments, registry))
        experiments.dispose()
        registry.dispose()
    finally:
        pg.drop_all()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """One empty database of our own, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'custom.db'}"
        return
    admin_url = postgres_admin_url()
    assert admin_url is not None
    pg = PostgresDatabases(admin_url)
    try:
        yield pg.create("custom")
    finally:
        pg.drop_all()
