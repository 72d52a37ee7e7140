"""Build a trigger tree from a config's ``policy`` and turn its verdict into a report.

The shapes (DESIGN §10): a preset name; ``{preset, override}``; ``{all|any: [...], severity, name}``;
leaves ``{drift|performance|time|data_volume: {...}}``. The pydantic models live here, beside the
code that gives them meaning, and ``settings.py`` imports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from retrain_sentinel.durations import Duration
from retrain_sentinel.errors import ConfigError, format_location, format_validation_message
from retrain_sentinel.report import RetrainingReport, build_report
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.triggers.base import LeafTrigger
from retrain_sentinel.triggers.composite import CompositeTrigger
from retrain_sentinel.triggers.drift import DriftTrigger
from retrain_sentinel.triggers.performance import PerformanceTrigger
from retrain_sentinel.triggers.presets import DEFAULT_PRESET, PRESETS, PresetName
from retrain_sentinel.triggers.time import TimeTrigger
from retrain_sentinel.triggers.volume import DataVolumeTrigger
from retrain_sentinel.verdict import Severity

__all__ = [
    "POLICY_TAGS",
    "Policy",
    "PolicyDefaults",
    "PolicyError",
    "PolicySpec",
    "build_policy",
    "parse_policy",
]

NonNegative = Annotated[float, Field(ge=0)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DriftSpec(_Spec):
    """A drift leaf: fires when ``metric`` > ``threshold``."""

    threshold: NonNegative = 0.15
    metric: str = "js_divergence"
    critical_threshold: NonNegative | None = None
    severity: Severity = "warning"
    name: str | None = None


class PerformanceSpec(_Spec):
    """A performance leaf; ``metric`` and ``mode`` default to the watch's ``performance`` section."""

    threshold: NonNegative = 0.05
    metric: str | None = None
    mode: Literal["min", "max"] | None = None
    min_value: float | None = None
    max_value: float | None = None
    critical_threshold: NonNegative | None = None
    severity: Severity = "warning"
    name: str | None = None


class TimeSpec(_Spec):
    """A time leaf: fires once ``interval`` has passed since the last training."""

    interval: Duration = timedelta(days=7)
    critical_interval: Duration | None = None
    severity: Severity = "info"
    name: str | None = None


class DataVolumeSpec(_Spec):
    """A data-volume leaf; with neither threshold given, 20 % of the baseline."""

    threshold_samples: Annotated[int, Field(ge=0)] | None = None
    threshold_percentage: NonNegative | None = None
    critical_threshold: NonNegative | None = None
    severity: Severity = "info"
    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_threshold(cls, data: Any) -> Any:
        if isinstance(data, dict):
            given = {"threshold_samples", "threshold_percentage"} & set(data)
            if not given:
                return {**data, "threshold_percentage": 0.2}
            if all(data[key] is None for key in given):
                raise ValueError("at least one of threshold_samples or threshold_percentage is required")
        return data


class DriftLeaf(_Spec):
    drift: DriftSpec = DriftSpec()


class PerformanceLeaf(_Spec):
    performance: PerformanceSpec = PerformanceSpec()


class TimeLeaf(_Spec):
    time: TimeSpec = TimeSpec()


class DataVolumeLeaf(_Spec):
    data_volume: DataVolumeSpec = DataVolumeSpec()


class PresetOverride(_Spec):
    """A preset with some leaves changed (merged key by key) or switched off (``false``)."""

    preset: PresetName = DEFAULT_PRESET
    override: dict[
        Literal["drift", "performance", "time", "data_volume"], dict[str, Any] | Literal[False]
    ] = {}


class AllNode(_Spec):
    all: Annotated[list[PolicyNode], Field(min_length=1)]
    severity: Severity | None = None
    name: str | None = None


class AnyNode(_Spec):
    any: Annotated[list[PolicyNode], Field(min_length=1)]
    severity: Severity | None = None
    name: str | None = None


_NODE_KEYS = ("all", "any", "drift", "performance", "time", "data_volume")
POLICY_TAGS = frozenset(
    {"policy-preset", "policy-override", "policy-all", "policy-any"} | {f"policy-{k}" for k in _NODE_KEYS}
)


def _node_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "policy-preset"
    if isinstance(value, BaseModel):
        value = value.model_dump()  # defaults count: DriftLeaf() is still a drift leaf
    if isinstance(value, dict):
        if "preset" in value or "override" in value:
            return "policy-override"
        for key in _NODE_KEYS:
            if key in value:
                return f"policy-{key}"
    return None


_TreeNodes = (
    Annotated[AllNode, Tag("policy-all")]
    | Annotated[AnyNode, Tag("policy-any")]
    | Annotated[DriftLeaf, Tag("policy-drift")]
    | Annotated[PerformanceLeaf, Tag("policy-performance")]
    | Annotated[TimeLeaf, Tag("policy-time")]
    | Annotated[DataVolumeLeaf, Tag("policy-data_volume")]
)

PolicyNode = Annotated[
    _TreeNodes,
    Discriminator(
        _node_tag,
        custom_error_type="policy_shape",
        custom_error_message="expected one of all, any, drift, performance, time, data_volume",
    ),
]

PolicySpec = Annotated[
    Annotated[PresetName, Tag("policy-preset")] | Annotated[PresetOverride, Tag("policy-override")] | _TreeNodes,
    Discriminator(
        _node_tag,
        custom_error_type="policy_shape",
        custom_error_message="expected a preset name, {preset, override}, all, any, drift, performance, time or data_volume",
    ),
]

AllNode.model_rebuild()
AnyNode.model_rebuild()
_POLICY_ADAPTER: TypeAdapter[Any] = TypeAdapter(PolicySpec)


class PolicyError(ConfigError, ValueError):
    """A policy that cannot be built; ``path`` says where (``all[0].any[1].performance``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__([(path, message)])
        self.path = path
        self.message = message


def _first_problem(exc: ValidationError, prefix: str = "") -> PolicyError:
    first = exc.errors()[0]
    # pydantic marks a bad dict key with a "[key]" step; the path should end at the key itself
    where = format_location(first["loc"], skip=POLICY_TAGS | {"[key]"})
    path = ".".join(p for p in (prefix, where) if p)
    return PolicyError(path, format_validation_message(first))


@dataclass(frozen=True)
class PolicyDefaults:
    """What a watch lends its policy: performance metric and mode, and the data guards."""

    performance_metric: str = "val_loss"
    performance_mode: Literal["min", "max"] = "min"
    stale_after: timedelta | None = None
    min_samples: int | None = None


def _hours(value: timedelta | None) -> float | None:
    return value.total_seconds() / 3600 if value is not None else None


def _leaf(kind: str, spec: _Spec, defaults: PolicyDefaults) -> LeafTrigger:
    guards: dict[str, Any] = {"stale_after": defaults.stale_after, "min_samples": defaults.min_samples}
    if isinstance(spec, DriftSpec):
        return DriftTrigger(
            spec.threshold,
            spec.metric,
            spec.severity,
            spec.name or kind,
            critical_threshold=spec.critical_threshold,
            **guards,
        )
    if isinstance(spec, PerformanceSpec):
        return PerformanceTrigger(
            spec.threshold,
            spec.metric or defaults.performance_metric,
            spec.mode or defaults.performance_mode,
            spec.severity,
            spec.name or kind,
            min_value=spec.min_value,
            max_value=spec.max_value,
            critical_threshold=spec.critical_threshold,
            **guards,
        )
    if isinstance(spec, TimeSpec):
        return TimeTrigger(
            _hours(spec.interval) or 0.0,
            spec.severity,
            spec.name or kind,
            critical_interval_hours=_hours(spec.critical_interval),
        )
    if not isinstance(spec, DataVolumeSpec):
        raise TypeError(f"unknown trigger spec {spec!r}")
    return DataVolumeTrigger(
        spec.threshold_samples,
        spec.threshold_percentage,
        spec.severity,
        spec.name or kind,
        critical_threshold=spec.critical_threshold,
        **guards,
    )


def _preset_specs(name: PresetName) -> dict[str, dict[str, Any]]:
    values = PRESETS[name]
    return {
        "drift": {"threshold": values.drift_threshold, "severity": values.drift_severity},
        "performance": {"threshold": values.performance_threshold, "severity": values.performance_severity},
        "time": {"interval": timedelta(hours=values.time_interval_hours), "severity": values.time_severity},
        "data_volume": {"threshold_percentage": values.volume_percentage, "severity": values.volume_severity},
    }


_SPEC_MODELS: dict[str, type[_Spec]] = {
    "drift": DriftSpec,
    "performance": PerformanceSpec,
    "time": TimeSpec,
    "data_volume": DataVolumeSpec,
}


def _validate_spec(kind: str, values: dict[str, Any], path: str) -> _Spec:
    try:
        return _SPEC_MODELS[kind].model_validate(values)
    except ValidationError as exc:
        raise _first_problem(exc, f"{path}.{kind}") from None


def _build_node(node: Any, defaults: PolicyDefaults, path: str) -> LeafTrigger | CompositeTrigger:
    if isinstance(node, AllNode | AnyNode):
        key = "all" if isinstance(node, AllNode) else "any"
        children = [
            _build_node(child, defaults, f"{path}.{key}[{i}]" if path else f"{key}[{i}]")
            for i, child in enumerate(getattr(node, key))
        ]
        return CompositeTrigger(children, "AND" if key == "all" else "OR", node.severity, node.name or key)
    for kind in _SPEC_MODELS:
        spec = getattr(node, kind, None)
        if spec is not None:
            return _leaf(kind, spec, defaults)
    raise PolicyError(path, f"unexpected policy node {node!r}")


def _leaves(node: LeafTrigger | CompositeTrigger, path: str) -> list[tuple[str, LeafTrigger]]:
    if isinstance(node, CompositeTrigger):
        found: list[tuple[str, LeafTrigger]] = []
        key = "all" if node.logic == "AND" else "any"
        for i, child in enumerate(node.triggers):
            found.extend(_leaves(child, f"{path}.{key}[{i}]" if path else f"{key}[{i}]"))
        return found
    return [(path, node)]


@dataclass(frozen=True)
class Policy:
    """A built policy: the trigger tree, its expression, and whether it is a preset.

    A preset only judges the triggers whose input the snapshot has at all (DESIGN §4); an explicit
    tree judges everything it names, and a missing input makes that leaf undecided.
    """

    root: LeafTrigger | CompositeTrigger
    expression: str
    preset: str | None = None

    @property
    def leaves(self) -> list[LeafTrigger]:
        return [leaf for _, leaf in _leaves(self.root, "")]

    def evaluate(self, snapshot: Snapshot, now: datetime, *, model: str | None = None) -> RetrainingReport:
        not_applicable: list[str] = []
        root = self.root
        if self.preset is not None and isinstance(root, CompositeTrigger):
            applicable = [t for t in root.triggers if isinstance(t, LeafTrigger) and t.applies_to(snapshot)]
            not_applicable = [t.name for t in root.triggers if t not in applicable]
            if not applicable:
                return build_report(
                    None, [], now, model=model, policy=self.expression, not_applicable=not_applicable
                )
            root = CompositeTrigger(applicable, root.logic, root.severity, root.name)
        if isinstance(root, CompositeTrigger):
            root_detail, leaves = root.check_tree(snapshot, now)
        else:
            root_detail = root.check(snapshot, now)
            leaves = [root_detail]
        return build_report(
            root_detail, leaves, now, model=model, policy=self.expression, not_applicable=not_applicable
        )


def parse_policy(value: Any) -> Any:
    """Validate a raw policy value (the builder's entry; settings validate it in place)."""
    return _POLICY_ADAPTER.validate_python(value)


def build_policy(spec: Any, defaults: PolicyDefaults | None = None) -> Policy:
    """Build the trigger tree; raises ``PolicyError`` naming the path of the first problem."""
    defaults = defaults or PolicyDefaults()
    if not isinstance(spec, BaseModel):
        try:
            spec = parse_policy(spec)
        except ValidationError as exc:
            raise _first_problem(exc) from None
    preset: str | None = None
    root: LeafTrigger | CompositeTrigger
    if isinstance(spec, str | PresetOverride):
        preset_name: PresetName = spec if isinstance(spec, str) else spec.preset  # type: ignore[assignment]
        overrides = spec.override if isinstance(spec, PresetOverride) else {}
        children: list[LeafTrigger] = []
        for kind, values in _preset_specs(preset_name).items():
            change = overrides.get(kind, {})  # type: ignore[call-overload]
            if change is False:
                continue
            merged = {**values, **change}
            leaf = _leaf(kind, _validate_spec(kind, merged, "override"), defaults)
            clash = next((c for c in children if c.name == leaf.name), None)
            if clash is not None:  # name the override the user wrote, not a position in the tree
                raise PolicyError(
                    f"override.{kind}.name",
                    f"trigger name {leaf.name!r} is already used by the {clash.kind} trigger: "
                    "give this one a unique `name`",
                )
            children.append(leaf)
        if not children:
            raise PolicyError("override", "every trigger of the preset is switched off")
        root = CompositeTrigger(children, "OR", None, preset_name)
        preset = preset_name
    else:
        root = _build_node(spec, defaults, "")
    seen: dict[str, str] = {}
    for path, leaf in _leaves(root, ""):
        if leaf.name in seen:
            raise PolicyError(
                path or leaf.kind,
                f"trigger name {leaf.name!r} is already used at {seen[leaf.name] or 'the root'}: "
                "give the second one a unique `name`",
            )
        seen[leaf.name] = path
    expression = root.expression() if isinstance(root, CompositeTrigger) else root.name
    return Policy(root=root, expression=expression, preset=preset)
