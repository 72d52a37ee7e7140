"""Everything built from one config: sources, channels, and each watch's policy, query and routes.

Built once per (re)load, so a bad config is rejected whole before it replaces a good one, and a
batch never sees half of an old config and half of a new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from retrain_sentinel.alerts.routes import ResolvedRoute
from retrain_sentinel.alerts.rules import AlertRuleSettings
from retrain_sentinel.delivery.channels import build_channels
from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.errors import ConfigError
from retrain_sentinel.settings import Settings, WatchSettings
from retrain_sentinel.sources import build_sources
from retrain_sentinel.sources.base import Source, WatchQuery
from retrain_sentinel.triggers.policy import Policy

__all__ = ["Runtime", "Watch"]


@dataclass(frozen=True)
class Watch:
    """One model under watch, ready to evaluate."""

    settings: WatchSettings
    policy: Policy
    query: WatchQuery
    routes: tuple[ResolvedRoute, ...]

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def rules(self) -> AlertRuleSettings:
        return self.settings.alert_rules


def _watch(settings: WatchSettings, config: Settings) -> Watch:
    query = WatchQuery(
        watch=settings.name,
        registry_model=settings.registry_name,
        baseline=settings.baseline,
        current_run=settings.current_run,
        counts=settings.counts,
        metric_aliases=dict(settings.metric_aliases),
    )
    routes = tuple(
        route.resolve(config.channels[route.channel].kind, link=settings.link) for route in settings.channels
    )
    return Watch(settings, settings.built_policy(), query, routes)


@dataclass
class Runtime:
    """The live objects of one config. ``close()`` releases the sources' connections."""

    settings: Settings
    sources: Mapping[str, Source]
    channels: Mapping[str, Channel]
    watches: dict[str, Watch] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, *, with_channels: bool = True) -> Runtime:
        """Build every part; a problem (an unreadable secret file, say) raises ``ConfigError``."""
        channels = build_channels(settings.channels) if with_channels else {}
        sources = build_sources(settings.sources)
        try:
            watches = {w.name: _watch(w, settings) for w in settings.models}
        except Exception:
            for source in sources.values():
                source.close()
            raise
        return cls(settings, sources, channels, watches)

    def select(self, names: list[str] | None) -> list[Watch]:
        """The named watches (all when ``names`` is empty); an unknown name is a usage error."""
        if not names:
            return list(self.watches.values())
        unknown = [n for n in names if n not in self.watches]
        if unknown:
            raise ConfigError([("--model", f"unknown model {name!r}") for name in unknown])
        return [self.watches[n] for n in names]

    def close(self) -> None:
        for source in self.sources.values():
            source.close()
