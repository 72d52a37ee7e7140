"""The configured sources, built by name: what the daemon and ``validate --connect`` hold.

A kind's module is imported when a source of that kind is built: a config without MLflow never
loads ``requests``, one without data files never loads pyarrow and the drift engine.
"""

from __future__ import annotations

from collections.abc import Mapping

from retrain_sentinel.sources.base import Source
from retrain_sentinel.sources.settings import (
    FilesSourceSettings,
    MlflowSourceSettings,
    SourceSettings,
    SqlLayoutSettings,
    SqlQueriesSettings,
)

__all__ = ["build_source", "build_sources"]


def build_source(name: str, settings: SourceSettings) -> Source:
    """One source from its settings; opening it connects to nothing yet (``check`` does)."""

    if isinstance(settings, SqlLayoutSettings):
        from retrain_sentinel.sources.sql.experiment_db import ExperimentDbSource  # noqa: PLC0415

        return ExperimentDbSource(name, settings)
    if isinstance(settings, SqlQueriesSettings):
        from retrain_sentinel.sources.sql.queries import QueriesSource  # noqa: PLC0415

        return QueriesSource(name, settings)
    if isinstance(settings, MlflowSourceSettings):
        from retrain_sentinel.sources.mlflow import MlflowSource  # noqa: PLC0415

        return MlflowSource(name, settings)
    if isinstance(settings, FilesSourceSettings):
        from retrain_sentinel.sources.files import FilesSource  # noqa: PLC0415

        return FilesSource(name, settings)
    raise TypeError(f"unknown source settings {type(settings).__name__}")  # pragma: no cover


def build_sources(settings: Mapping[str, SourceSettings]) -> dict[str, Source]:
    """Every source of ``sources:`` by its name. A bad one raises ``ConfigError`` naming it, after
    closing the ones already built."""
    built: dict[str, Source] = {}
    try:
        for name, one in settings.items():
            built[name] = build_source(name, one)
    except BaseException:
        for source in built.values():
            source.close()
        raise
    return built
