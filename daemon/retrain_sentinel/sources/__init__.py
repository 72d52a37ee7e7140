"""Where snapshots come from (DESIGN §6): ``sql`` (the experiment DB layout, or any schema through
named queries), ``mlflow`` (REST API) and ``files`` (data files, drift computed by ``drift/``).

The daemon builds a ``WatchQuery`` per watch from the config, groups a batch by source and calls
``Source.read(watches, now)``; every watch gets a ``Snapshot`` or a ``SourceError``.
"""

from retrain_sentinel.sources.base import Source, SourceResult, WatchQuery
from retrain_sentinel.sources.catalog import build_source, build_sources
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
