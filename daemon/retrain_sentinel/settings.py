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

import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
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


def _overridden(key: str) -> bool:
    """Whether a ``RETRAIN_SENTINEL_*`` variable overrides top-level ``key`` (or a key inside it)."""
    variable = f"{ENV_PREFIX}{key.upper()}"
    return any(k.upper() == variable or k.upper().startswith(variable + "__") for k in os.environ)


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


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation may hold at its own level (through ``Annotated``, ``|``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) is Annotated or isinstance(annotation, UnionType) or get_origin(annotation) is Union:
        args = get_args(annotation)[:1] if get_origin(annotation) is Annotated else get_args(annotation)
        return [m for arg in args for m in _models_in(arg)]
    return []


def _children(annotation: Any, part: Any) -> list[Any]:
    """What ``annotation`` holds at key or index ``part``: a field's type, a list's or dict's items."""
    found: list[Any] = []
    stack = [annotation]
    while stack:
        current = stack.pop()
        origin = get_origin(current)
        if origin is Annotated:
            stack.append(get_args(current)[0])
        elif isinstance(current, UnionType) or origin is Union:
            stack.extend(get_args(current))
        elif origin is list and isinstance(part, int):
            found.extend(get_args(current)[:1])
        elif origin is dict and isinstance(part, str):
            found.extend(get_args(current)[1:2])
        elif isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            for name, field in current.model_fields.items():
                if part in (name, field.alias):
                    found.append(field.annotation)
    return found


def _keys_at(loc: tuple[Any, ...]) -> set[str] | None:
    """The keys the mapping at ``loc`` may hold, as the file writes them; ``None`` when not known.

    A union's tag in ``loc`` (``sources.lab.sql_layout``) matches no field and is stepped over, so
    a union's members pool their keys: a suggestion may name a key of a sibling kind, never a
    key of another section.
    """
    types: list[Any] = [Settings]
    for part in loc:
        below = [child for t in types for child in _children(t, part)]
        if below:
            types = below
        elif not (isinstance(part, str) and (part in POLICY_TAGS or any(part in tags for _, tags in _UNION_TAGS))):
            return None
    keys = {
        field.alias or name
        for model in (m for t in types for m in _models_in(t))
        for name, field in model.model_fields.items()
    }
    return keys or None


def _unknown_key(loc: tuple[Any, ...], where: Callable[[tuple[Any, ...]], str]) -> str:
    """``unknown key`` with a way out: the nearest valid key, or where a mis-indented key belongs."""
    key, parent = loc[-1], loc[:-1]
    if not isinstance(key, str):
        return "unknown key"
    keys = _keys_at(parent)
    if keys is not None and (near := difflib.get_close_matches(key, sorted(keys), n=1, cutoff=0.75)):
        return f"unknown key; did you mean `{near[0]}`?"
    for depth in range(len(parent) - 1, -1, -1):  # the nearest enclosing mapping that has this key
        above = parent[:depth]
        if key in (_keys_at(above) or ()):
            owner = "the model" if len(above) == 2 and above[0] == "models" else (
                f"`{where(above)}`" if above else "the top level"
            )
            return f"`{key}` is not a key of `{where(parent)}`; it belongs to {owner} (check its indentation)"
    if keys is not None and (near := difflib.get_close_matches(key, sorted(keys), n=1)):
        return f"unknown key; did you mean `{near[0]}`?"
    return "unknown key"


def _kinds(error: Mapping[str, Any]) -> str:
    """pydantic's "Input tag … does not match any of the expected tags", without its words."""
    tags = re.findall(r"'([^']*)'", str((error.get("ctx") or {}).get("expected_tags", "")))
    return f"unknown kind: the kinds are {', '.join(tags)}" if tags else "unknown kind"


def _problems(exc: ValidationError, raw: Mapping[str, Any], labels: list[str | None]) -> list[tuple[str, str]]:
    names: dict[tuple[Any, ...], Any] = {("models",): labels}

    def path_of(loc: tuple[Any, ...]) -> str:
        return format_location(_without_union_tags(loc), skip=POLICY_TAGS, list_names=names)

    problems = []
    for error in exc.errors():
        loc, message = tuple(error["loc"]), format_validation_message(error)
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):  # pydantic's message quotes the tag
            message = _kinds(error)
        elif error["type"] == "extra_forbidden":
            message = _unknown_key(loc, path_of)
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


class _References(BaseModel):
    """What the cross-section checks read, taken from validated settings or, when validation
    failed, from the document itself (so those problems are reported in the same run)."""

    sources: dict[str, str] | None  # name → kind; None: unknown (not checked)
    channels: set[str] | None
    watches: list[dict[str, Any]]  # name, source, drift_source, channels (channel names)
    dead_letter: str | None


def _references_of(settings: Settings) -> _References:
    return _References(
        sources={name: getattr(source, "kind", "other") for name, source in settings.sources.items()},
        channels=set(settings.channels),
        watches=[
            {
                "name": w.name,
                "source": w.source,
                "drift_source": w.drift_source,
                "channels": [r.channel for r in w.channels],
            }
            for w in settings.models
        ],
        dead_letter=settings.delivery.dead_letter_channel,
    )


def _references_in(expanded: Mapping[str, Any]) -> _References:
    """The references as the file (after ``defaults``) writes them; a section a ``RETRAIN_SENTINEL_*``
    variable overrides is not checked here (validation failed: its value is not known)."""
    def section(key: str) -> Any:
        return None if _overridden(key) else expanded.get(key)

    sources, channels, models, delivery = section("sources"), section("channels"), section("models"), section("delivery")
    found_defaults = expanded.get("defaults")
    defaults: dict[Any, Any] = found_defaults if isinstance(found_defaults, dict) else {}
    watches = []
    for watch in models if isinstance(models, list) else []:
        merged = {**defaults, **watch} if isinstance(watch, dict) else {}
        routes = merged.get("channels")
        merged["channels"] = [
            r.get("channel") if isinstance(r, dict) else r for r in (routes if isinstance(routes, list) else [])
        ]
        watches.append(merged)
    return _References(
        sources={str(n): _kind_of(s) for n, s in sources.items()} if isinstance(sources, dict) else None,
        channels={str(n) for n in channels} if isinstance(channels, dict) else None,
        watches=watches,
        dead_letter=delivery.get("dead_letter_channel") if isinstance(delivery, dict) else None,
    )


def _reference_problems(
    refs: _References, raw: Mapping[str, Any], labels: list[str | None]
) -> list[tuple[str, str]]:
    """What crosses sections: a watch naming a source or channel that is not defined, a duplicate
    name, an unknown ``defaults`` key. A value a model took from ``defaults`` is reported once, at
    ``defaults.…``; a value of the wrong type is left to validation (it reports it)."""
    found_defaults, found_models = raw.get("defaults"), raw.get("models")
    defaults: dict[Any, Any] = found_defaults if isinstance(found_defaults, dict) else {}
    models: list[Any] = found_models if isinstance(found_models, list) and not _models_overridden() else []
    problems: list[tuple[str, str]] = []
    first: dict[str, int] = {}
    for index, watch in enumerate(refs.watches):
        label = labels[index] if index < len(labels) else None
        where = f"models[{label if label is not None else index}]"
        own = models[index] if index < len(models) and isinstance(models[index], dict) else None

        def at(key: str, where: str = where, own: Any = own) -> str:
            return f"defaults.{key}" if own is not None and key not in own and key in defaults else f"{where}.{key}"

        name = watch.get("name")
        if isinstance(name, str) and name in first:
            other = first[name]
            shown = labels[other] if other < len(labels) and labels[other] is not None else other
            problems.append((where + ".name", f"duplicate model name: models[{shown}] has it too"))
        if isinstance(name, str):
            first.setdefault(name, index)
        for key in ("source", "drift_source"):
            value = watch.get(key)
            if refs.sources is None or not isinstance(value, str):
                continue
            if value not in refs.sources:
                problems.append((at(key), _known("source", refs.sources)))
            elif key == "drift_source" and (kind := refs.sources[value]) != "files":
                problems.append((at(key), f"must name a files source, not a {kind} source"))
        for i, channel in enumerate(watch.get("channels") or []):
            if refs.channels is not None and isinstance(channel, str) and channel and channel not in refs.channels:
                problems.append((f"{at('channels')}[{i}]", _known("channel", refs.channels)))
    dead_letter = refs.dead_letter
    if isinstance(dead_letter, str) and refs.channels is not None and dead_letter not in refs.channels:
        problems.append(("delivery.dead_letter_channel", _known("channel", refs.channels)))
    for key in sorted(k for k in defaults if isinstance(k, str) and k not in _WATCH_DEFAULT_KEYS):
        near = difflib.get_close_matches(key, sorted(_WATCH_DEFAULT_KEYS), n=1)
        problems.append((f"defaults.{key}", f"unknown key; did you mean `{near[0]}`?" if near else "unknown key"))
    return list(dict.fromkeys(problems))  # one line for a default that is wrong in every model


def _kind_of(source: Any) -> str:
    kind = source.get("kind") if isinstance(source, dict) else None
    return kind if isinstance(kind, str) else "other"


def _policy_problems(settings: Settings, labels: list[str | None]) -> list[tuple[str, str]]:
    """Each watch's policy built (it needs the validated watch); a policy that cannot be built."""
    problems: list[tuple[str, str]] = []
    built: dict[tuple[str, PolicyDefaults], Policy] = {}
    for index, watch in enumerate(settings.models):
        label = labels[index] if index < len(labels) else None
        where = f"models[{label if label is not None else index}]"
        # Equal policies build equal trigger trees, and a tree holds no state: build each once
        # (250,000 watches on one preset are one build, not 250,000).
        key = (repr(watch.policy), watch.policy_defaults)
        try:
            if key not in built:
                built[key] = watch.built_policy()
            watch._policy = built[key]
        except PolicyError as exc:
            problems.append((f"{where}.policy" + (f".{exc.path}" if exc.path else ""), exc.message))
    return problems


_SQLITE_FILE = re.compile(r"(?P<scheme>sqlite(?:\+\w+)?:///)(?P<path>[^/?][^?]*)(?P<query>\?.*)?", re.DOTALL)

#: The keys that hold a path or a SQLite URL, per section; a relative one is read from the config
#: file's folder (``_resolve_paths``). Each section's own settings say what the key means.
_SOURCE_URLS = ("experiments_url", "registry_url", "url")
_SOURCE_FILES = ("token_file", "password_file", "base_dir")
_CHANNEL_FILES = ("webhook_url_file", "url_file", "secret_file")
_SMTP_FILES = ("password_file", "ca_file")


def _resolve_url(value: Any, folder: Path) -> Any:
    """``sqlite:///history.db`` → ``sqlite:////<folder>/history.db``; any other value as it is."""
    match = _SQLITE_FILE.fullmatch(value) if isinstance(value, str) else None
    if match is None or match["path"] == ":memory:" or match["path"].startswith("file:"):
        return value
    return f"{match['scheme']}{folder / match['path']}{match['query'] or ''}"


def _resolve_file(value: Any, folder: Path) -> Any:
    if not isinstance(value, str) or not value or "${" in value or Path(value).is_absolute():
        return value
    return str(folder / value)


def _resolve_paths(document: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The document with every relative path and SQLite URL it holds read from ``folder`` (the
    config file's), so a config means the same from any working directory (issue 12 item 6).

    A files source without ``base_dir`` gets the folder as its ``base_dir``: its ``reference`` and
    ``current`` globs are relative to it. ``RETRAIN_SENTINEL_*`` overrides are not the file's:
    they stay relative to the working directory, as a command-line path would.
    """
    resolved = dict(document)
    if "database" in resolved:
        resolved["database"] = _resolve_url(resolved["database"], folder)
    sources, channels = resolved.get("sources"), resolved.get("channels")
    if isinstance(sources, dict):
        resolved["sources"] = {name: _resolve_source(source, folder) for name, source in sources.items()}
    if isinstance(channels, dict):
        resolved["channels"] = {name: _resolve_channel(channel, folder) for name, channel in channels.items()}
    return resolved


def _refuse_moved_history(database: Any, folder: Path) -> None:
    """Refuse a relative SQLite history that exists where the working directory put it before
    (``_resolve_paths``) but not beside the config: running on would start an empty history there,
    and alerts already sent would be sent again. Both paths are named; moving the file decides."""
    match = _SQLITE_FILE.fullmatch(database) if isinstance(database, str) else None
    if match is None or match["path"] == ":memory:" or match["path"].startswith("file:"):
        return
    old, new = Path.cwd() / match["path"], folder / match["path"]
    if old.resolve() != new.resolve() and old.is_file() and not new.exists():
        raise ConfigError(
            [
                (
                    "database",
                    f"a relative path is now read from the config file's folder: {new} does not exist, "
                    f"but {old} (from the working directory) does; move it there, or write its absolute path",
                )
            ]
        )


def _resolve_source(source: Any, folder: Path) -> Any:
    if not isinstance(source, dict):
        return source
    resolved = {
        key: _resolve_url(value, folder) if key in _SOURCE_URLS else
        _resolve_file(value, folder) if key in _SOURCE_FILES else value
        for key, value in source.items()
    }
    if resolved.get("kind") == "files" and resolved.get("base_dir") is None:
        resolved["base_dir"] = str(folder)
    return resolved


def _resolve_channel(channel: Any, folder: Path) -> Any:
    if not isinstance(channel, dict):
        return channel
    resolved = {key: _resolve_file(value, folder) if key in _CHANNEL_FILES else value for key, value in channel.items()}
    smtp = resolved.get("smtp")
    if isinstance(smtp, dict):
        resolved["smtp"] = {key: _resolve_file(v, folder) if key in _SMTP_FILES else v for key, v in smtp.items()}
    return resolved


def parse_settings(
    raw: Any, environ: Mapping[str, str] | None = None, *, relative_to: Path | None = None
) -> Settings:
    """Validate an already-parsed config document (after ``${VAR}`` expansion); relative paths in
    it are read from ``relative_to`` (the config file's folder) when given, else from the working
    directory."""
    environ = os.environ if environ is None else environ
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("the config must be a mapping of keys to values")
    labels = [] if _models_overridden() else _watch_labels(raw)
    check_document(raw, labels)
    expanded = expand_variables(raw, environ)
    if relative_to is not None:
        if not _overridden("database"):
            _refuse_moved_history(expanded.get("database"), relative_to)
        expanded = _resolve_paths(expanded, relative_to)
    try:
        settings = Settings(**expanded)
    except ValidationError as exc:
        references = _reference_problems(_references_in(expanded), expanded, labels)
        raise ConfigError(list(dict.fromkeys(_problems(exc, raw, labels) + references))) from None
    except SettingsError as exc:  # a RETRAIN_SENTINEL_<SECTION> override that is not JSON
        field = re.search(r'field "(\w+)"', str(exc))
        variable = f"{ENV_PREFIX}{field.group(1).upper()}" if field else f"a {ENV_PREFIX}* variable"
        raise ConfigError([(variable, "a section override must be JSON (or set one key with __)")]) from None
    problems = _reference_problems(_references_of(settings), expanded, labels) + _policy_problems(settings, labels)
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
        return parse_settings(parse_yaml(text, where=str(file)), environ, relative_to=Path(os.path.abspath(file)).parent)
