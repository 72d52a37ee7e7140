"""Every key the config accepts, read from the settings models themselves.

The configuration reference (docs/configuration.md) and the annotated example config are checked
against this walk, so a key added to a model without its documentation fails a test, and so does a
documented key that no model has.

A key is ``(variant, path)``. Paths are dotted as a user writes them: ``http.port``,
``sources.<name>.timeout``, ``models[].policy.drift.threshold`` (``<name>`` for a mapping's keys,
``[]`` for a list's items, aliases such as ``for`` and ``from`` as written). ``variant`` tells apart
the kinds of a source or channel, whose keys overlap (every source has a ``timeout``): it is the
union tag (``sql_layout``, ``sql_queries``, ``mlflow``, ``files``) or the ``kind`` (``slack``, ...),
and ``""`` everywhere else. Recursive shapes (a policy's ``all`` / ``any`` hold policy nodes) are
walked once, at their outermost place.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Tag
from pydantic.fields import FieldInfo

from retrain_sentinel.settings import Settings

__all__ = ["Key", "config_keys", "field_at"]


@dataclass(frozen=True, order=True)
class Key:
    variant: str
    path: str


def _strip(tp: Any) -> tuple[Any, str | None]:
    """``Annotated[X, Tag(t), ...]`` → ``(X, t)``; anything else → ``(tp, None)``."""
    tag = None
    while get_origin(tp) is Annotated:
        args = get_args(tp)
        tag = next((m.tag for m in args[1:] if isinstance(m, Tag)), tag)
        tp = args[0]
    return tp, tag


def _members(tp: Any) -> list[tuple[Any, str | None]]:
    """The alternatives of a union (each with its tag), or ``[tp]``."""
    tp, tag = _strip(tp)
    if get_origin(tp) in (Union, types.UnionType):
        found: list[tuple[Any, str | None]] = []
        for arg in get_args(tp):
            found.extend(_members(arg))
        return found
    return [(tp, tag)]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _contains_model(tp: Any) -> bool:
    inner = [t for t, _ in _members(tp)]
    if any(_is_model(t) for t in inner):
        return True
    return any(_contains_model(a) for t in inner if get_origin(t) in (list, dict) for a in get_args(t)[-1:])


def _kind(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("kind")
    if field is None:
        return None
    values = get_args(_strip(field.annotation)[0]) if get_origin(field.annotation) is Literal else ()
    return str(values[0]) if values else None


def _key_name(name: str, field: FieldInfo) -> str:
    return field.alias or name


class _Walk:
    def __init__(self) -> None:
        self.keys: set[Key] = set()
        self.fields: dict[Key, FieldInfo] = {}

    def model(
        self, model: type[BaseModel], path: str, variant: str, claimed: frozenset[type] = frozenset()
    ) -> None:
        for name, field in model.model_fields.items():
            here = f"{path}.{_key_name(name, field)}" if path else _key_name(name, field)
            key = Key(variant, here)
            self.keys.add(key)
            self.fields[key] = field
            self.value(field.annotation, here, variant, claimed)

    def value(self, tp: Any, path: str, variant: str, claimed: frozenset[type]) -> None:
        members = _members(tp)
        models = [(t, tag) for t, tag in members if _is_model(t)]
        fresh = [(t, tag) for t, tag in models if t not in claimed]
        inside = claimed | {t for t, _ in fresh}  # a node's own alternatives are not walked again inside it
        by_kind = len(models) > 1 and all(_kind(t) is not None for t, _ in models)
        for model, tag in fresh:
            self.model(model, path, (tag or _kind(model) or "") if by_kind else variant, inside)
        for container, _ in members:
            origin = get_origin(container)
            if origin in (list, dict):
                item = get_args(container)[-1]
                if _contains_model(item):
                    self.value(item, f"{path}.<name>" if origin is dict else f"{path}[]", variant, claimed)


def _walk() -> _Walk:
    walk = _Walk()
    walk.model(Settings, "", "")
    return walk


def config_keys() -> set[Key]:
    """Every ``(variant, path)`` of the config."""
    return set(_walk().keys)


def field_at(key: Key) -> FieldInfo:
    """The pydantic field behind a key (its default, whether it is required)."""
    return _walk().fields[key]
