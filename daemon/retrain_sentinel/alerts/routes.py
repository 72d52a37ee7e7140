"""Where a model's notifications go: one route per channel, with its own filters and cadence.

A route is written in a watch's ``channels`` list either as a bare channel name (``ml-team``) or as
``{channel, min_severity, repeat_interval, send_resolved}``. Its ``repeat_interval`` default depends
on the channel's kind — a webhook that starts a retraining pipeline must not be poked again every
day, a Slack channel should be reminded — so a route is *resolved* against its channel's kind once
the config knows it, and the alert rules only ever see ``ResolvedRoute`` values. A resolved route
also carries its watch's ``link``, so every notification the rules make for it carries that link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from retrain_sentinel.durations import OptionalDuration
from retrain_sentinel.verdict import Severity, severity_rank

__all__ = [
    "DEFAULT_REPEAT_INTERVAL",
    "ResolvedRoute",
    "RouteSettings",
    "default_repeat_interval",
]

DEFAULT_REPEAT_INTERVAL = timedelta(hours=24)
_NEVER_REPEAT_KINDS = frozenset({"webhook"})


def default_repeat_interval(channel_kind: str) -> timedelta | None:
    """24 h for people's channels; never for webhooks, whose receivers act on every message."""
    return None if channel_kind in _NEVER_REPEAT_KINDS else DEFAULT_REPEAT_INTERVAL


@dataclass(frozen=True)
class ResolvedRoute:
    """A route with every default decided: what the alert rules and the store work with.

    ``link`` is the watch's ``link`` (``models[].link``, placeholders unfilled): the rules put it on
    each notification, so it is stored in the outbox with it and every channel shows it.
    """

    channel: str
    kind: str
    min_severity: Severity = "info"
    repeat_interval: timedelta | None = DEFAULT_REPEAT_INTERVAL
    send_resolved: bool = True
    link: str | None = None

    def accepts(self, severity: str) -> bool:
        """Whether a notification of ``severity`` passes this route's ``min_severity``."""
        return severity_rank(severity) >= severity_rank(self.min_severity)


class RouteSettings(BaseModel):
    """One entry of a watch's ``channels`` list (a bare string means ``{channel: <it>}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str = Field(min_length=1)
    min_severity: Severity = "info"
    repeat_interval: OptionalDuration = Field(
        default=None,
        description="How often to repeat a firing alert; `never` disables. Default 24h, webhooks never.",
    )
    send_resolved: bool = True

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"channel": value}
        return value

    def resolve(self, channel_kind: str, *, link: str | None = None) -> ResolvedRoute:
        """Decide the kind-dependent defaults now that the channel's kind is known; ``link`` is the
        watch's link, carried by every notification on this route."""
        if "repeat_interval" in self.model_fields_set:
            repeat = self.repeat_interval
        else:
            repeat = default_repeat_interval(channel_kind)
        return ResolvedRoute(
            channel=self.channel,
            kind=channel_kind,
            min_severity=self.min_severity,
            repeat_interval=repeat,
            send_resolved=self.send_resolved,
            link=link,
        )
