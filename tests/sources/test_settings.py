"""The ``sources:`` config models and the per-watch selectors: shapes, defaults and refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from retrain_sentinel import sources
from retrain_sentinel.errors import SourceError
from retrain_sentinel.sources import (
    AliasBaseline,
    BaselineSelector,
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
    SqlQueriesSettings,
    TagBaseline,
    TaskRun,
    VersionBaseline,
    WatchQuery,
    build_source,
)

SOURCE = TypeAdapter(SourceSettings)


def test_sources_are_told_apart_by_kind_and_sql_by_layout_or_queries() -> None:
    layout = SOURCE.validate_python(
        {
            "kind": "sql",
            "layout": "experiment_db",
            "experiments_url": "sqlite:///e.db",
            "registry_url": "sqlite:///r.db",
        }
    )
    queries = SOURCE.validate_python(
        {"kind": "sql", "url": "sqlite://", "queries": {"current_metrics": "SELECT 1"}}
    )
    mlflow = SOURCE.validate_python({"kind": "mlflow", "tracking_uri": "http://127.0.0.1:5000"})
    files = SOURCE.validate_python({"kind": "files", "reference": "r.parquet", "current": "c/*.parquet"})
    assert (
        isinstance(layout, SqlLayoutSettings)
        and layout.timezone == "UTC"
        and layout.timeout == timedelta(seconds=10)
    )
    assert isinstance(queries, SqlQueriesSettings)
    assert (
        isinstance(mlflow, MlflowSourceSettings)
        and mlflow.default_alias == "champion"
        and mlflow.max_workers == 8
    )
    assert isinstance(files, FilesSourceSettings) and files.window == timedelta(days=1)


@pytest.mark.parametrize(
    ("config", "complaint"),
    [
        (
            {
                "kind": "sql",
                "layout": "experiment_db",
                "experiments_url": "x",
                "registry_url": "y",
                "typo": 1,
            },
            "extra",
        ),
        (
            {
                "kind": "sql",
                "layout": "experiment_db",
                "experiments_url": "x",
                "registry_url": "y",
                "timezone": "Mars/Base",
            },
            "unknown timezone",
        ),
        (
            {
                "kind": "sql",
                "layout": "experiment_db",
                "experiments_url": "x",
                "registry_url": "y",
                "timeout": "0s",
            },
            "greater than",
        ),
        ({"kind": "kafka"}, "kind must be sql, mlflow or files"),
        ({"kind": "mlflow", "tracking_uri": "http://h", "token": "t", "username": "u"}, "not both"),
        ({"kind": "mlflow", "tracking_uri": "http://h", "password": "p"}, "username is required"),
        ({"kind": "mlflow", "tracking_uri": "ftp://h"}, "should match pattern"),
        ({"kind": "sql", "url": "sqlite://", "queries": {}}, "at least one"),
    ],
)
def test_bad_source_settings_are_refused(config: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        SOURCE.validate_python(config)


def test_secrets_are_hidden_in_the_settings_and_their_errors() -> None:
    settings = SOURCE.validate_python({"kind": "mlflow", "tracking_uri": "http://h", "token": "tok-secret"})
    assert "tok-secret" not in repr(settings)
    with pytest.raises(ValidationError) as raised:
        SOURCE.validate_python(
            {"kind": "mlflow", "tracking_uri": "http://h", "token": "tok-secret", "username": "u"}
        )
    assert "tok-secret" not in str(raised.value)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"tag": "production"}, TagBaseline(tag="production")),
        ({"version": 3}, VersionBaseline(version="3")),
        ({"alias": "champion"}, AliasBaseline(alias="champion")),
    ],
)
def test_baseline_selectors(config: dict[str, Any], expected: Any) -> None:
    assert TypeAdapter(BaselineSelector).validate_python(config) == expected


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"name": "eval-churn-*"}, NamedRun(name="eval-churn-*")),
        ({"task": "churn"}, TaskRun(task="churn")),
        ({"run_id": 42}, RunId(run_id="42")),
        (
            {"experiment": "fraud-monitoring", "filter": "tags.model = 'fraud'"},
            ExperimentRun(experiment="fraud-monitoring", filter="tags.model = 'fraud'"),
        ),
    ],
)
def test_current_run_selectors(config: dict[str, Any], expected: Any) -> None:
    assert TypeAdapter(CurrentRunSelector).validate_python(config) == expected


def test_a_selector_with_two_shapes_is_refused() -> None:
    with pytest.raises(ValidationError, match="exactly one of"):
        TypeAdapter(BaselineSelector).validate_python({"tag": "production", "version": "3"})
    with pytest.raises(ValidationError, match="exactly one of"):
        TypeAdapter(CurrentRunSelector).validate_python({"name": "a*", "task": "t"})


def test_counts_selector() -> None:
    counts = CountsSelector.model_validate(
        {"current": {"metric": "data/num_samples"}, "baseline": {"metadata": "num_samples"}}
    )
    assert counts == CountsSelector(
        current=MetricCount(metric="data/num_samples"), baseline=MetadataCount(metadata="num_samples")
    )
    with pytest.raises(ValidationError):
        CountsSelector.model_validate({"current": {"param": "x"}})


def test_the_public_surface_is_what_it_should_be() -> None:
    assert set(sources.__all__) == {
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
    }
    assert all(hasattr(sources, name) for name in sources.__all__)


# --- `*_file` secrets (issue 11, item 9) -----------------------------------------------------------


@pytest.mark.parametrize("key", ["token_file", "password_file"])
def test_a_secret_file_that_is_not_a_small_regular_file_fails_the_reads_not_the_process(
    key: str, tmp_path: Path
) -> None:
    """``token_file: /dev/zero`` read until ``MemoryError``: now every watch of the source errors with
    a reason naming the key and the file, and the batch goes on."""
    large = tmp_path / "large"
    large.write_text("s3cr3t" * 20_000)
    auth = {"username": "bot"} if key == "password_file" else {}
    for path, reason in (("/dev/zero", "not a regular file"), (str(large), "larger than 64 KiB")):
        settings: Any = SOURCE.validate_python(
            {"kind": "mlflow", "tracking_uri": "http://127.0.0.1:9", key: path, **auth}
        )
        source = build_source("mlflow", settings)
        try:
            results = source.read([WatchQuery("fraud", "fraud")], datetime(2026, 3, 1, tzinfo=UTC))
        finally:
            source.close()

        error = results["fraud"]
        assert isinstance(error, SourceError)
        assert error.cause == f"{key}: cannot read {path}: {reason}"
        assert "s3cr3t" not in str(error)
