"""The channels, and the one function that builds them from the ``channels:`` config.

``build_channels`` is where ``*_file`` secrets are read (so a rotated file is picked up by the next
reload) and where each settings model becomes its channel; every kind implements ``Channel``. A
kind's module is imported when a channel of that kind is built (or its class is first read): a
daemon that only writes to the console never loads ``requests`` or ``smtplib``.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from retrain_sentinel.clock import Clock, system_clock
from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.delivery.settings import (
    ChannelSettings,
    ConsoleChannelSettings,
    EmailChannelSettings,
    SlackChannelSettings,
    WebhookChannelSettings,
    check_http_url,
)
from retrain_sentinel.errors import ConfigError
from retrain_sentinel.exports import lazy_exports
from retrain_sentinel.mounted_files import read_secret_file

if TYPE_CHECKING:
    from retrain_sentinel.delivery.channels.console import ConsoleChannel
    from retrain_sentinel.delivery.channels.email import EmailChannel
    from retrain_sentinel.delivery.channels.slack import SlackChannel
    from retrain_sentinel.delivery.channels.webhook import WebhookChannel

__all__ = [
    "Channel",
    "ChannelSettings",
    "ConsoleChannel",
    "EmailChannel",
    "SlackChannel",
    "WebhookChannel",
    "build_channel",
    "build_channels",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ConsoleChannel": "retrain_sentinel.delivery.channels.console",
        "EmailChannel": "retrain_sentinel.delivery.channels.email",
        "SlackChannel": "retrain_sentinel.delivery.channels.slack",
        "WebhookChannel": "retrain_sentinel.delivery.channels.webhook",
    },
)


def _read(path: Path, where: str) -> str:
    """A secret file's text, stripped and bounded (``mounted_files``); errors name the file, never its content."""
    return read_secret_file(path, where)


def _secret(value: SecretStr | None, path: Path | None, where: str) -> SecretStr:
    if value is not None:
        return value
    if path is None:  # the settings' validators make this unreachable
        raise ConfigError([(where, "is required")])
    return SecretStr(_read(path, where))


def _tls(ca_file: Path | None, where: str) -> ssl.SSLContext:
    """The client TLS context, trusting ``ca_file`` instead of the system CAs when given."""
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            [(f"{where}.smtp.ca_file", f"cannot load {ca_file}: {type(exc).__name__}")]
        ) from None


def _url(value: SecretStr | None, path: Path | None, where: str) -> SecretStr:
    url = _secret(value, path, where)
    problem = check_http_url(url.get_secret_value())
    if problem:
        raise ConfigError([(where, f"the file must hold a URL that {problem.removeprefix('must ')}")])
    return url


def build_channel(name: str, settings: ChannelSettings, *, clock: Clock = system_clock) -> Channel:
    """One channel from its settings; raises ``ConfigError`` (path ``channels.<name>.…``)."""
    where = f"channels.{name}"
    if isinstance(settings, SlackChannelSettings):
        from retrain_sentinel.delivery.channels.slack import SlackChannel  # noqa: PLC0415 - see module doc

        return SlackChannel(
            name,
            _url(settings.webhook_url, settings.webhook_url_file, f"{where}.webhook_url_file"),
            timeout=settings.timeout.total_seconds(),
            link_template=settings.link_template,
            clock=clock,
        )
    if isinstance(settings, EmailChannelSettings):
        smtp = settings.smtp
        password = None
        if smtp.username is not None:
            password = _secret(smtp.password, smtp.password_file, f"{where}.smtp.password_file")
        from retrain_sentinel.delivery.channels.email import EmailChannel  # noqa: PLC0415 - see module doc

        return EmailChannel(
            name, settings, password=password, ssl_context=_tls(smtp.ca_file, where), clock=clock
        )
    if isinstance(settings, WebhookChannelSettings):
        secrets = list(settings.secret or [])
        if settings.secret_file is not None:
            text = _read(settings.secret_file, f"{where}.secret_file")
            secrets = [SecretStr(line.strip()) for line in text.splitlines() if line.strip()]
        from retrain_sentinel.delivery.channels.webhook import WebhookChannel  # noqa: PLC0415 - see module doc

        return WebhookChannel(
            name,
            _url(settings.url, settings.url_file, f"{where}.url_file"),
            secrets=secrets,
            headers=settings.headers,
            timeout=settings.timeout.total_seconds(),
            link_template=settings.link_template,
            clock=clock,
        )
    if isinstance(settings, ConsoleChannelSettings):
        from retrain_sentinel.delivery.channels.console import ConsoleChannel  # noqa: PLC0415 - see module doc

        return ConsoleChannel(name, link_template=settings.link_template)
    raise ConfigError([(where, f"unknown channel kind {type(settings).__name__}")])


def build_channels(
    settings: Mapping[str, ChannelSettings], *, clock: Clock = system_clock
) -> dict[str, Channel]:
    """Every configured channel by name; all problems (unreadable secret files) in one ``ConfigError``."""
    channels: dict[str, Channel] = {}
    problems: list[tuple[str, str]] = []
    for name, item in settings.items():
        try:
            channels[name] = build_channel(name, item, clock=clock)
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return channels
