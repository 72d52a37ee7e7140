"""Loading the one YAML config: ``${VAR}`` expansion, ``RETRAIN_SENTINEL_*`` overrides, validation.

Each part of the system owns the models of its own section (``triggers/policy.py`` the policy,
``sources/settings.py`` the sources, ``delivery/settings.py`` the channels, ``store/settings.py`` the
history database); this module only assembles them and checks what crosses sections (a watch
naming a source or channel that does not exist). Every error names its path by model name —
``models[fraud].policy.all[0].threshold: must be ≥ 0`` — and never echoes the input, which may be a
secret; a model whose name is invalid or comes from a ``${VAR}`` is named by its position instead
(``models[3]``).

Reading is bounded before anything is built, so any file answers in seconds with a result or an
error: the file is a regular file of at most ``MAX_CONFIG_BYTES`` (``mounted_files``), parsed and
checked as a document by ``config_document`` (aliases, merge keys, depth, keys) before validation.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from retrain_sentinel.alerts.routes import RouteSettings
from retrain_sentinel.alerts.rules import AlertRuleSettings
from retrain_sentinel.config_document import MAX_CONFIG_BYTES, check_document, collector_paused, parse_yaml
from retrain_sentinel.delivery.settings import ChannelSettings, DeliverySettings, check_link_template
from retrain_sentinel.durations import Duration
from retrain_sentinel.errors import ConfigError, format_location, format_validation_message
from retrain_sentinel.mounted_files import read_text_file
from retrain_sentinel.sources.settings import (
    BaselineSelector,
    CountsSelector,
    CurrentRunSelector,
    SourceSettings,
)
from retrain_sentinel.store.settings import (
    DEFAULT_DATABASE_URL,
    DatabaseUrl,
    RetentionSettings,
    StoredName,
    name_problem,
)
from retrain_sentinel.triggers.policy import (
    POLICY_TAGS,
    Policy,
    PolicyDefaults,
    PolicyError,
    PolicySpec,
    build_policy,
)

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "MIN_EVERY",
    "HttpSettings",
    "PerformanceSettings",
    "ScheduleSettings",
    "ServiceSettings",
    "Settings",
    "WatchSettings",
    "config_path",
    "expand_variables",
    "load_settings",
    "parse_settings",
]

ENV_PREFIX = "RETRAIN_SENTINEL_"
CONFIG_ENV = "RETRAIN_SENTINEL_CONFIG"
DEFAULT_CONFIG = "sentinel.yaml"

MIN_EVERY = timedelta(seconds=1)
"""The shortest interval schedule (cron is minute-granular anyway): anything shorter only burns CPU."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, populate_by_name=True)


class HttpSettings(_Section):
    """Where ``/healthz``, ``/readyz`` and ``/metrics`` listen."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 9733


class ServiceSettings(_Section):
    lease_ttl: Duration = timedelta(seconds=30)
    shutdown_grace: Duration = timedelta(seconds=20)
    auto_migrate: bool = True

    @field_validator("lease_ttl")
    @classmethod
    def _positive_ttl(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be > 0")
        return value


class ScheduleSettings(_Section):
    """``{every: 1h}`` (slots anchored to the Unix epoch) or ``{cron: "*/15 * * * *"}``."""

    every: Duration | None = None
    cron: str | None = None

    @field_validator("every")
    @classmethod
    def _not_too_often(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < MIN_EVERY:
            raise ValueError("must be at least 1s")
        return value

    @field_validator("cron")
    @classmethod
    def _crontab(cls, value: str | None) -> str | None:
        if value is not None:
            from retrain_sentinel.cron import crontab_trigger  # noqa: PLC0415 - APScheduler only for a cron schedule

            crontab_trigger(value)  # its ValueError names the field that is wrong, not the expression
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> ScheduleSettings:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of `every` or `cron`")
        return self

    @property
    def key(self) -> str:
        """Watches with equal keys share one scheduler job."""
        return f"every:{self.every.total_seconds():g}s" if self.every is not None else f"cron:{self.cron}"


class PerformanceSettings(_Section):
    """The watch's main quality metric; performance triggers default to it."""

    metric: str = "val_loss"
    mode: Literal["min", "max"] = "min"


class WatchSettings(_Section):
    """One model under watch (DESIGN §3). Source-specific selectors are checked by the source."""

    _policy: Policy | None = PrivateAttr(default=None)

    name: Annotated[StoredName, Field(min_length=1)]
    source: str
    model: str | None = None
    baseline: BaselineSelector | None = None
    current_run: CurrentRunSelector | None = None
    counts: CountsSelector | None = None
    # Factories, not default instances: pydantic deep-copies a default instance for every watch, and
    # with 250,000 watches those copies were a third of validating them.
    metric_aliases: dict[str, str] = Field(default_factory=dict)
    performance: PerformanceSettings = Field(default_factory=PerformanceSettings)
    min_samples: Annotated[int, Field(ge=0)] | None = None
    stale_after: Duration | None = None
    drift_source: str | None = None
    schedule: ScheduleSettings = Field(default_factory=lambda: ScheduleSettings(every=timedelta(hours=1)))
    policy: PolicySpec = "balanced"
    channels: list[RouteSettings] = Field(default_factory=list)
    for_: Annotated[int, Field(alias="for", ge=1)] = 1
    resolve_after: Annotated[int, Field(ge=1)] = 1
    error_after: Annotated[int, Field(ge=1)] = 3
    link: str | None = None

    _link = field_validator("link")(check_link_template)

    @property
    def registry_name(self) -> str:
        return self.model or self.name

    @property
    def policy_defaults(self) -> PolicyDefaults:
        return PolicyDefaults(
            performance_metric=self.performance.metric,
            performance_mode=self.performance.mode,
            stale_after=self.stale_after,
            min_samples=self.min_samples,
        )

    def built_policy(self) -> Policy:
        """The policy's trigger tree, built once (validation builds it; the runtime reuses it)."""
        if self._policy is None:
            self._policy = build_policy(self.policy, self.policy_defaults)
        return self._policy

    @property
    def alert_rules(self) -> AlertRuleSettings:
        return AlertRuleSettings(for_=self.for_, resolve_after=self.resolve_after, error_after=self.error_after)


_WATCH_DEFAULT_KEYS = frozenset(WatchSettings.model_fields) - {"name", "for_"} | {"for"}


class Settings(BaseSettings):
    """The whole config file (DESIGN §10). ``RETRAIN_SENTINEL_*`` variables override top-level keys."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        hide_input_in_errors=True,
        populate_by_name=True,
    )

    database: DatabaseUrl = DEFAULT_DATABASE_URL
    timezone: str = "UTC"
    http: HttpSettings = HttpSettings()
    retention: RetentionSettings = RetentionSettings()
    service: ServiceSettings = ServiceSettings()
    delivery: DeliverySettings = DeliverySettings()
    sources: dict[StoredName, SourceSettings] = {}
    channels: dict[StoredName, ChannelSettings] = {}
    defaults: dict[str, Any] = {}
    models: list[WatchSettings] = []

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (_CheckedEnvironment(settings_cls, env_settings), init_settings)  # the environment overrides the file

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: `America` is tzdata's directory
            raise ValueError("unknown timezone: use an IANA name like UTC or Europe/Berlin") from None
        return value

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        """A model's own top-level keys replace the defaults' wholesale (no deep merge)."""
        if not isinstance(data, dict):
            return data
        defaults = data.get("defaults") or {}
        models = data.get("models")
        if not isinstance(defaults, dict) or not isinstance(models, list):
            return data
        known = {k: v for k, v in defaults.items() if k in _WATCH_DEFAULT_KEYS}  # others: `defaults.<key>` error
        merged = [{**known, **m} if isinstance(m, dict) else m for m in models]
        return {**data, "models": merged}

    def watch(self, name: str) -> WatchSettings:
        for watch in self.models:
            if watch.name == name:
                return watch
        raise KeyError(name)


class _CheckedEnvironment(PydanticBaseSettingsSource):
    """The ``RETRAIN_SENTINEL_*`` overrides, held to the file's bounds (``_check_document``).

    A section override is JSON, decoded by pydantic-settings inside ``Settings(...)``, after the
    file's document was checked: a 50,000-deep array ended in ``RecursionError`` there (Python's
    JSON decoder reports nesting too deep for it that way), a 200-deep policy in one deeper down.
    """

    def __init__(self, settings_cls: type[BaseSettings], environment: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._environment = environment

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._environment.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        try:
            values = self._environment()
        except RecursionError:
            raise ConfigError([(f"a {ENV_PREFIX}* variable", "its JSON nests too deeply")]) from None
        for key, value in values.items():
            try:
                check_document({key: value}, [])
            except ConfigError as exc:
                raise ConfigError(
                    [(f"{ENV_PREFIX}{key.upper()}", f"{path}: {message}") for path, message in exc.problems]
                ) from None
        return values


def _models_overridden() -> bool:
    """Whether ``RETRAIN_SENTINEL_MODELS`` replaces the file's models (then the file's names label nothing)."""
    variable = f"{ENV_PREFIX}MODELS"
    return any(k.upper() == variable or k.upper().startswith(variable + "__") for k in os.environ)


def expand_variables(value: Any, environ: Mapping[str, str]) -> Any:
    """Replace ``${VAR}`` in every string; ``$${`` is a literal ``${``. Missing variables are errors."""
    missing: list[tuple[str, str]] = []

    def substitute_in(text: str, path: str) -> str:
        def one(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name = match.group(1)
            if name not in environ:
                missing.append((path, f"environment variable {name} is not set"))
                return ""
            return environ[name]

        return re.sub(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}", one, text)

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, f"{path}.{k}" if path else str(k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, f"{path}[{_item_label(path, v, i)}]") for i, v in enumerate(node)]
        if isinstance(node, str) and "$" in node:
            return substitute_in(node, path)
        return node

    result = walk(value, "")
    if missing:
        raise ConfigError(missing)
    return result


def _item_label(path: str, item: Any, index: int) -> str | int:
    """A model is named by its ``name`` (``models[fraud]``), any other list item by its position."""
    label = _watch_label(item) if path == "models" else None
    return label if label is not None else index


def _watch_label(item: Any) -> str | None:
    """The name a path may show for a model: its ``name`` as written in the file, if it is a valid
    name. Not one from a ``${VAR}`` (the docs promise errors never show a variable's value), and
    not an invalid one (too long for a line, or holding the control characters that broke it)."""
    name = item.get("name") if isinstance(item, dict) else None
    if isinstance(name, str) and "$" not in name and name_problem(name) is None:
        return name
    return None


def _watch_labels(raw: Mapping[str, Any]) -> list[str | None]:
    models = raw.get("models")
    return [_watch_label(m) for m in models] if isinstance(models, list) else []


#: Where pydantic puts a union's tag into an error's location, and the tags it may put there; the
#: tag is dropped so paths read as the user wrote them (``sources.lab.timeout``, not
#: ``sources.lab.sql_layout.timeout``). ``str`` / ``int`` match any key / index.
_UNION_TAGS: tuple[tuple[tuple[Any, ...], frozenset[str]], ...] = (
    (("sources", str), frozenset({"sql_layout", "sql_queries", "mlflow", "files"})),
    (("channels", str), frozenset({"slack", "email", "webhook", "console"})),
    (("models", int, "baseline"), frozenset({"tag", "version", "alias"})),
    (("models", int, "current_run"), frozenset({"name", "task", "run_id", "experiment"})),
    (("models", int, "counts", str), frozenset({"metric", "metadata"})),
)


def _without_union_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    for pattern, tags in _UNION_TAGS:
        n = len(pattern)
        matches = len(loc) > n and all(
            isinstance(part, want) if isinstance(want, type) else part == want
            for part, want in zip(loc, pattern, strict=False)
        )
        if matches and loc[n] in tags:
            return (*loc[:n], *loc[n + 1 :])
    return loc


def _from_defaults(loc: tuple[Any, ...], raw: Mapping[str, Any]) -> tuple[Any, ...]:
    """A bad value a model took from ``defaults`` is reported once, where it was written."""
    models, defaults = raw.get("models"), raw.get("defaults")
    if len(loc) < 3 or loc[0] != "models" or not isinstance(loc[1], int):
        return loc
    if not isinstance(models, list) or not isinstance(defaults, dict) or loc[1] >= len(models):
        return loc
    own = models[loc[1]]
    if isinstance(own, dict) and loc[2] not in own and loc[2] in defaults:
        return ("defaults", *loc[2:])
    return loc


def _problems(exc: ValidationError, raw: Mapping[str, Any], labels: list[str | None]) -> list[tuple[str, str]]:
    names: dict[tuple[Any, ...], Any] = {("models",): labels}
    problems = []
    for error in exc.errors():
        loc, message = tuple(error["loc"]), format_validation_message(error)
        if error["type"] == "union_tag_invalid":  # pydantic's message quotes the tag given
            message = f"{error['ctx']['discriminator'].strip(chr(39))} must be one of {error['ctx']['expected_tags']}"
        if "[key]" in loc:  # a bad source or channel name: the path ends before it, the name is not shown
            loc, message = loc[: loc.index("[key]") - 1], f"a name {message}"
        where = format_location(_from_defaults(_without_union_tags(loc), raw), skip=POLICY_TAGS, list_names=names)
        problems.append((where, message))
    return list(dict.fromkeys(problems))  # one line for a default that is wrong in every model


def _known(kind: str, names: Iterable[str]) -> str:
    """``unknown source: the sources are lab, mlflow`` — the names defined, not the name given."""
    defined = sorted(names)
    if not defined:
        return f"unknown {kind}: no {kind}s are defined"
    shown = ", ".join(defined[:5]) + (f" and {len(defined) - 5} more" if len(defined) > 5 else "")
    return f"unknown {kind}: the {kind}s are {shown}"


def _cross_check(settings: Settings, labels: list[str | None]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    first: dict[str, int] = {}
    built: dict[tuple[str, PolicyDefaults], Policy] = {}
    for index, watch in enumerate(settings.models):
        label = labels[index] if index < len(labels) else None
        where = f"models[{label if label is not None else index}]"
        if watch.name in first:
            other = first[watch.name]
            shown = labels[other] if other < len(labels) and labels[other] is not None else other
            problems.append((where + ".name", f"duplicate model name: models[{shown}] has it too"))
        first.setdefault(watch.name, index)
        if watch.source not in settings.sources:
            problems.append((where + ".source", _known("source", settings.sources)))
        if watch.drift_source is not None and watch.drift_source not in settings.sources:
            problems.append((where + ".drift_source", _known("source", settings.sources)))
        for i, route in enumerate(watch.channels):
            if route.channel not in settings.channels:
                problems.append((f"{where}.channels[{i}]", _known("channel", settings.channels)))
        if watch.drift_source is not None and watch.drift_source in settings.sources:
            kind = getattr(settings.sources[watch.drift_source], "kind", None)
            if kind != "files":
                problems.append((where + ".drift_source", f"must name a files source, not a {kind} source"))
        # Equal policies build equal trigger trees, and a tree holds no state: build each once
        # (250,000 watches on one preset are one build, not 250,000).
        key = (repr(watch.policy), watch.policy_defaults)
        try:
            if key not in built:
                built[key] = watch.built_policy()
            watch._policy = built[key]
        except PolicyError as exc:
            problems.append((f"{where}.policy" + (f".{exc.path}" if exc.path else ""), exc.message))
    dead_letter = settings.delivery.dead_letter_channel
    if dead_letter is not None and dead_letter not in settings.channels:
        problems.append(("delivery.dead_letter_channel", _known("channel", settings.channels)))
    unknown_defaults = set(settings.defaults) - _WATCH_DEFAULT_KEYS
    problems += [(f"defaults.{key}", "unknown key") for key in sorted(unknown_defaults)]
    return problems


def parse_settings(raw: Any, environ: Mapping[str, str] | None = None) -> Settings:
    """Validate an already-parsed config document (after ``${VAR}`` expansion)."""
    environ = os.environ if environ is None else environ
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("the config must be a mapping of keys to values")
    labels = [] if _models_overridden() else _watch_labels(raw)
    check_document(raw, labels)
    expanded = expand_variables(raw, environ)
    try:
        settings = Settings(**expanded)
    except ValidationError as exc:
        raise ConfigError(_problems(exc, raw, labels)) from None
    except SettingsError as exc:  # a RETRAIN_SENTINEL_<SECTION> override that is not JSON
        field = re.search(r'field "(\w+)"', str(exc))
        variable = f"{ENV_PREFIX}{field.group(1).upper()}" if field else f"a {ENV_PREFIX}* variable"
        raise ConfigError([(variable, "a section override must be JSON (or set one key with __)")]) from None
    problems = _cross_check(settings, labels)
    if problems:
        raise ConfigError(problems)
    return settings


def config_path(explicit: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """``-c PATH``, else ``$RETRAIN_SENTINEL_CONFIG``, else ``./sentinel.yaml``."""
    environ = os.environ if environ is None else environ
    return Path(explicit or environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, expand and validate the config file; every problem becomes a ``ConfigError``."""
    file = config_path(path, environ)
    text = read_text_file(file, limit=MAX_CONFIG_BYTES, where=str(file), what="the config file")
    with collector_paused():
        return parse_settings(parse_yaml(text, where=str(file)), environ)
