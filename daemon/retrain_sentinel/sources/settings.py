"""The config models of the ``sources:`` section and of a watch's source selectors (DESIGN §10).

Each source kind is one model, discriminated by ``kind``; unknown keys are errors. The per-watch
selectors (``baseline``, ``current_run``, ``counts``) are here too because only the sources give
them meaning; the daemon's settings import them for ``models[]``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    field_validator,
    model_validator,
)

from retrain_sentinel.durations import Duration

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
    "SourceSettings",
    "SqlLayoutSettings",
    "SqlQueries",
    "SqlQueriesSettings",
    "TagBaseline",
    "TaskRun",
    "VersionBaseline",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_timezone(value: str) -> str:
    """An IANA zone name; the error does not quote ``value`` (it may come from a ``${VAR}``)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: `America` is tzdata's directory
        raise ValueError("unknown timezone: use an IANA name like UTC or Europe/Berlin") from None
    return value


TimeZoneName = Annotated[str, BeforeValidator(lambda v: _check_timezone(str(v)))]
Timeout = Annotated[Duration, Field(gt=timedelta(0))]
MetricAliases = dict[str, str]
"""``{name the user writes: name in the source}``, e.g. ``{val_loss: val/loss}``."""


# --- per-watch selectors ----------------------------------------------------------------------


class TagBaseline(_Model):
    """The newest model carrying this registry tag (sql: ``model_tags``)."""

    tag: str = Field(min_length=1)


class VersionBaseline(_Model):
    """A fixed version of the model (a number in a YAML file is read as its text)."""

    version: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)] = Field(
        min_length=1
    )


class AliasBaseline(_Model):
    """The version an alias points to (mlflow: registered-model alias; sql: a tag of that name)."""

    alias: str = Field(min_length=1)


def _one_of(*keys: str) -> Any:
    def pick(value: Any) -> str | None:
        if isinstance(value, BaseModel):
            present = [k for k in keys if k in type(value).model_fields]
        elif isinstance(value, dict):
            present = [k for k in keys if k in value]
        else:
            return None
        return present[0] if len(present) == 1 else None

    return pick


BaselineSelector = Annotated[
    Annotated[TagBaseline, Tag("tag")]
    | Annotated[VersionBaseline, Tag("version")]
    | Annotated[AliasBaseline, Tag("alias")],
    Discriminator(
        _one_of("tag", "version", "alias"),
        custom_error_type="baseline_selector",
        custom_error_message="use exactly one of {tag: ...}, {version: ...} or {alias: ...}",
    ),
]


class NamedRun(_Model):
    """The newest run whose name matches a glob (``*``, ``?``, ``[...]``), case-sensitive."""

    name: str = Field(min_length=1)


class TaskRun(_Model):
    """The newest run of a task (sql: ``runs.task_name``)."""

    task: str = Field(min_length=1)


class RunId(_Model):
    """One fixed run."""

    run_id: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)] = Field(
        min_length=1
    )


class ExperimentRun(_Model):
    """The newest run of an MLflow experiment matching a search filter (``""`` matches all)."""

    experiment: str = Field(min_length=1)
    filter: str = ""


CurrentRunSelector = Annotated[
    Annotated[NamedRun, Tag("name")]
    | Annotated[TaskRun, Tag("task")]
    | Annotated[RunId, Tag("run_id")]
    | Annotated[ExperimentRun, Tag("experiment")],
    Discriminator(
        _one_of("name", "task", "run_id", "experiment"),
        custom_error_type="current_run_selector",
        custom_error_message="use exactly one of {name: glob}, {task: ...}, {run_id: ...} or {experiment: ..., filter: ...}",
    ),
]


class MetricCount(_Model):
    """A count logged as a metric (of the current run, or in the baseline model's metrics)."""

    metric: str = Field(min_length=1)


class MetadataCount(_Model):
    """A count kept as metadata: sql — the run's ``config`` / the model's ``metadata`` JSON (dotted
    paths reach nested keys); mlflow — a run param (else tag)."""

    metadata: str = Field(min_length=1)


CountSpec = Annotated[
    Annotated[MetricCount, Tag("metric")] | Annotated[MetadataCount, Tag("metadata")],
    Discriminator(
        _one_of("metric", "metadata"),
        custom_error_type="count_selector",
        custom_error_message="use exactly one of {metric: ...} or {metadata: ...}",
    ),
]


class CountsSelector(_Model):
    """Where the sample counts come from. The data-volume trigger's (DESIGN §4): cumulative
    ``current`` and ``baseline`` counts, or ``new`` samples since the baseline. ``window``: the
    samples behind the current metrics, which ``min_samples`` reads — its own key, because an
    evaluation set's size read as a cumulative count made healthy models undecided."""

    current: CountSpec | None = None
    baseline: CountSpec | None = None
    new: CountSpec | None = None
    window: CountSpec | None = None


# --- sources -----------------------------------------------------------------------------------


class _SourceBase(_Model):
    timeout: Timeout = timedelta(seconds=10)
    retries: int = Field(default=2, ge=0, le=10)
    """Extra attempts after a transient failure (connection lost, timeout, HTTP 429/5xx)."""
    retry_delay: Timeout = timedelta(milliseconds=200)


class _SqlBase(_SourceBase):
    kind: Literal["sql"] = "sql"
    timezone: TimeZoneName = "UTC"
    aliases: MetricAliases = Field(default_factory=dict)


class SqlLayoutSettings(_SqlBase):
    """The experiment DB + model registry the project grew from (``layout: experiment_db``)."""

    layout: Literal["experiment_db"]
    experiments_url: str = Field(min_length=1)
    registry_url: str = Field(min_length=1)
    default_tag: str = "production"


_QUERY_START = re.compile(r"^\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*(select|with)\b", re.IGNORECASE | re.DOTALL)


class SqlQueries(_Model):
    """Named queries; each may use ``:model`` (once per watch) or ``:models`` (once per batch, rows
    need a ``model`` column), and ``:since`` / ``:until`` (the window ending now).

    Metric queries return rows of ``(name, value)`` or one column per metric; ``snapshot`` returns
    columns named like snapshot fields (``last_trained_at``, ``observed_at``, ``baseline_count``,
    ``current_count``, ``new_count``, ``window_count``, ``model_version``, ``baseline_run_id``,
    ``current_run_id``).
    """

    current_metrics: str | None = None
    baseline_metrics: str | None = None
    drift_metrics: str | None = None
    snapshot: str | None = None

    @field_validator("current_metrics", "baseline_metrics", "drift_metrics", "snapshot")
    @classmethod
    def _read_only(cls, value: str | None) -> str | None:
        if value is not None and not _QUERY_START.match(value):
            raise ValueError("must be a SELECT (or WITH … SELECT) statement: sources are read-only")
        return value

    @model_validator(mode="after")
    def _at_least_one(self) -> SqlQueries:
        if not any((self.current_metrics, self.baseline_metrics, self.drift_metrics, self.snapshot)):
            raise ValueError(
                "give at least one of current_metrics, baseline_metrics, drift_metrics, snapshot"
            )
        return self


class SqlQueriesSettings(_SqlBase):
    """Any other schema, mapped by named, parameterised SQL."""

    url: str = Field(min_length=1)
    queries: SqlQueries
    window: Duration = timedelta(days=1)
    """``:since`` = now - window, ``:until`` = now."""


class MlflowSourceSettings(_SourceBase):
    """An MLflow tracking server and model registry, over its REST API."""

    kind: Literal["mlflow"]
    tracking_uri: str = Field(pattern=r"^https?://")
    token: SecretStr | None = None
    token_file: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    password_file: str | None = None
    max_workers: int = Field(default=8, ge=1, le=64)
    default_alias: str = "champion"
    fallback_stage: str | None = "Production"
    """Stage used when the model has no such alias (registries from before aliases)."""
    aliases: MetricAliases = Field(default_factory=dict)
    verify_tls: bool = True

    @model_validator(mode="after")
    def _one_auth(self) -> MlflowSourceSettings:
        bearer = self.token is not None or self.token_file is not None
        basic = self.username is not None or self.password is not None or self.password_file is not None
        if self.token is not None and self.token_file is not None:
            raise ValueError("give token or token_file, not both")
        if self.password is not None and self.password_file is not None:
            raise ValueError("give password or password_file, not both")
        if bearer and basic:
            raise ValueError("give a token (bearer) or username/password (basic), not both")
        if basic and self.username is None:
            raise ValueError("username is required with a password")
        return self


class FilesSourceSettings(_SourceBase):
    """Reference and current data files; drift computed by ``drift/``."""

    kind: Literal["files"]
    reference: str = Field(min_length=1)
    """A data file (Parquet/CSV) or a saved profile (``.json``); may contain ``{model}``."""
    current: str = Field(min_length=1)
    """A glob of data files; may contain ``{model}``."""
    window: Duration = timedelta(days=1)
    window_by: Literal["mtime", "path_date"] = "mtime"
    """Select current files by modification time, or by a date (YYYY-MM-DD or YYYYMMDD) in the path."""
    columns: list[str] | None = None
    method: str = "auto"
    """A drift method (``drift.METHODS``) or ``auto``; the scores land in ``drift_metrics``."""
    base_dir: str | None = None
    """Relative paths are read from here (default: the config file's folder, set by ``settings``)."""


def _source_kind(value: Any) -> str | None:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    if kind == "sql":
        has_queries = (
            value.get("queries") is not None if isinstance(value, dict) else hasattr(value, "queries")
        )
        return "sql_queries" if has_queries else "sql_layout"
    return kind if isinstance(kind, str) else None


SourceSettings = Annotated[
    Annotated[SqlLayoutSettings, Tag("sql_layout")]
    | Annotated[SqlQueriesSettings, Tag("sql_queries")]
    | Annotated[MlflowSourceSettings, Tag("mlflow")]
    | Annotated[FilesSourceSettings, Tag("files")],
    Discriminator(
        _source_kind,
        custom_error_type="source_kind",
        custom_error_message="kind must be sql, mlflow or files",
    ),
]
"""One entry of ``sources:``."""
