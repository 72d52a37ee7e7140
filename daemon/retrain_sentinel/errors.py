"""The exception tree, and how validation errors are told to a person.

::

    SentinelError
    ├── ConfigError          invalid config or CLI usage (exit 2); names the path of each problem
    │   └── PolicyError      a policy that cannot be built (triggers/policy.py)
    ├── SourceError          a source could not be read for a model (exit 3); never holds a credential
    ├── StoreError           the history database failed (exit 3)
    │   └── LeaseLost        the fencing token no longer holds the lease: the write was refused
    └── DeliveryError        a channel could not deliver (exit 3 from `check`, retried by the daemon)

Dependencies' errors (SQLAlchemy, requests, pydantic) are translated at the boundary with
``raise … from`` so callers only ever catch these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "ConfigError",
    "DeliveryError",
    "LeaseLost",
    "SentinelError",
    "SourceError",
    "StoreError",
    "format_location",
    "format_validation_message",
]


class SentinelError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(SentinelError):
    """Invalid configuration; ``problems`` lists ``(path, message)`` pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]] | str) -> None:
        if isinstance(problems, str):
            problems = [("", problems)]
        self.problems = list(problems)
        super().__init__(
            "; ".join(f"{path}: {message}" if path else message for path, message in self.problems)
        )


class SourceError(SentinelError):
    """A source failed for one model; the message names source, model and cause, never a secret."""

    def __init__(self, source: str, model: str | None, cause: str) -> None:
        self.source = source
        self.model = model
        self.cause = cause
        where = f"source {source!r}" + (f" for model {model!r}" if model else "")
        super().__init__(f"{where}: {cause}")


class StoreError(SentinelError):
    """The history database could not be read or written."""


class LeaseLost(StoreError):
    """A write carried a fencing token that no longer holds the lease."""


class DeliveryError(SentinelError):
    """A channel could not deliver a notification; ``retryable`` says whether trying later may help."""

    def __init__(self, message: str, *, retryable: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


def format_location(
    loc: Iterable[Any],
    *,
    skip: frozenset[str] = frozenset(),
    list_names: Mapping[tuple[Any, ...], Sequence[str]] | None = None,
) -> str:
    """``('models', 1, 'policy', 'all', 0)`` → ``models[fraud].policy.all[0]``.

    ``skip`` drops pydantic's union tags; ``list_names`` maps a list's location to the names of its
    items, so errors name a model rather than its position.
    """
    text = ""
    prefix: tuple[Any, ...] = ()
    for part in loc:
        if isinstance(part, str) and part in skip:
            continue
        if isinstance(part, int):
            names = (list_names or {}).get(prefix)
            label = names[part] if names is not None and 0 <= part < len(names) and names[part] else part
            text += f"[{label}]"
        else:
            text += f".{part}" if text else str(part)
        prefix = (*prefix, part)
    return text


_MESSAGES = {
    "greater_than_equal": "must be ≥ {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be ≤ {le}",
    "less_than": "must be < {lt}",
    "extra_forbidden": "unknown key",
    "missing": "is required",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
}


def format_validation_message(error: Mapping[str, Any]) -> str:
    """A pydantic error's message in our words, never echoing the input (it may be a secret)."""
    template = _MESSAGES.get(error.get("type", ""))
    context = error.get("ctx") or {}
    if template is not None:
        try:
            return template.format(**{k: f"{v:g}" if isinstance(v, float) else v for k, v in context.items()})
        except (KeyError, IndexError):
            pass
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
