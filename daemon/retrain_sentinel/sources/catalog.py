"""The configured sources, built by name: what the daemon and ``validate --connect`` hold."""

from __future__ import annotations

from collections.abc import Mapping

from retrain_sentinel.sources.base import Source
from retrain_sentinel.sources.mlflow import MlflowSource
from retrain_sentinel.sources.settings import (
    FilesSourceSettings,
    MlflowSourceSettings,
    SourceSettings,
    SqlLayoutSettings,
    SqlQueriesSettings,
)
from retrain_sentinel.sources.sql.experiment_db import ExperimentDbSource
from retrain_sentinel.sources.sql.queries import QueriesSource

__all__ = ["build_source", "build_sources"]


def build_source(name: str, settings: SourceSettings) -> Source:
    """One source from its settings; opening it connects to nothing yet (``check`` does)."""
    if isinstance(settings, SqlLayoutSettings):
        return ExperimentDbSource(name, settings)
    if isinstance(settings, SqlQueriesSettings):
        return QueriesSource(name, settings)
    if isinstance(settings, MlflowSourceSettings):
        return MlflowSource(name, settings)
    if isinstance(settings, FilesSourceSettings):
        # pyarrow and the drift engine load only when a files source is configured.
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
