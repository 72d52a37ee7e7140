"""Where snapshots come from (DESIGN §6): ``sql`` (the experiment DB layout, or any schema through
named queries), ``mlflow`` (REST API) and ``files`` (data files, drift computed by ``drift/``).

The daemon builds a ``WatchQuery`` per watch from the config, groups a batch by source and calls
``Source.read(watches, now)``; every watch gets a ``Snapshot`` or a ``SourceError``.

``build_source`` / ``build_sources`` resolve on first use (PEP 562): the catalog imports every
source (SQLAlchemy, requests), and loading the settings, which imports this package first, must not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retrain_sentinel.exports import lazy_exports
from retrain_sentinel.sources.base import Source, SourceResult, WatchQuery
from retrain_sentinel.sources.settings import (
    AliasBaseline,
    BaselineSelector,
    CountSpec,
    CountsSelector,
    CurrentRunSelector,
    ExperimentRun,
    FilesSourceSettings,
    MetadataCount,
    MetricCount,
    MlflowSourceSettings,
    NamedRun,
    RunId,
    SourceSettings,
    SqlLayoutSettings,
    SqlQueries,
    SqlQueriesSettings,
    TagBaseline,
    TaskRun,
    VersionBaseline,
)

if TYPE_CHECKING:
    from retrain_sentinel.sources.catalog import build_source, build_sources

_LAZY = dict.fromkeys(("build_source", "build_sources"), "retrain_sentinel.sources.catalog")

__all__ = [
    "AliasBaseline",
    "BaselineSelector",
    "CountSpec",
    "CountsSelector",
    "CurrentRunSelector",
    "ExperimentRun",
    "FilesSourceSettings",
    "MetadataCount",
    "MetricCount",
    "MlflowSourceSettings",
    "NamedRun",
    "RunId",
    "Source",
    "SourceResult",
    "SourceSettings",
    "SqlLayoutSettings",
    "SqlQueries",
    "SqlQueriesSettings",
    "TagBaseline",
    "TaskRun",
    "VersionBaseline",
    "WatchQuery",
    "build_source",
    "build_sources",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
