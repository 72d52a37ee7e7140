"""The ``channels:`` section of the config: one entry per named destination, told apart by ``kind``.

Secrets (webhook URLs, SMTP passwords, HMAC keys, header values) are ``SecretStr``: their ``repr``
is ``'**********'`` and validation errors never quote the input (``hide_input_in_errors``). Each
secret has a ``*_file`` twin for mounted secrets (Kubernetes, systemd credentials); exactly one of
the two is given, and the file is read when the channels are built (``build_channels``), so a
rotated file is picked up by the next reload.

Validators below say what is wrong, never what was given: the value may be the secret.
"""

from __future__ import annotations

import re
import string
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from retrain_sentinel.durations import Duration

__all__ = [
    "LINK_FIELDS",
    "ChannelSettings",
    "ChannelSettingsBase",
    "ConsoleChannelSettings",
    "DeliverySettings",
    "EmailChannelSettings",
    "SlackChannelSettings",
    "SmtpSettings",
    "WebhookChannelSettings",
    "check_http_url",
    "check_link_template",
]

#: Placeholders a ``link_template`` may use; each is URL-quoted when filled in.
LINK_FIELDS = frozenset({"model", "version", "kind", "severity", "id"})

#: Headers the webhook channel sets itself; configuring them would break signing or idempotency.
RESERVED_HEADERS = frozenset(
    {"content-type", "content-length", "idempotency-key", "x-sentinel-signature", "host"}
)

_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_DEFAULT_TIMEOUT = timedelta(seconds=10)


def check_http_url(value: str) -> str | None:
    """Why ``value`` is not an ``http(s)://host/...`` URL, or ``None`` when it is (never quotes it)."""
    if any(ch in value for ch in "\r\n\t ") or not value.isprintable():
        return "must be a URL without whitespace or control characters"
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "must be a valid http(s) URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not host:
        return "must name a host"
    return None


def check_link_template(value: str | None) -> str | None:
    """A link template is an http(s) URL whose placeholders are known ones (never a ``javascript:``
    link in a Slack button or an email)."""
    if value is None:
        return None
    try:
        names = {field for _, field, _, _ in string.Formatter().parse(value) if field is not None}
    except ValueError as exc:
        raise ValueError(f"is not a valid template: {exc}") from None
    if names - LINK_FIELDS:  # not named: what is between the braces may be part of a secret URL
        raise ValueError(f"unknown placeholder: use {', '.join('{' + n + '}' for n in sorted(LINK_FIELDS))}")
    problem = check_http_url(value.replace("{", "").replace("}", ""))
    if problem:
        raise ValueError(problem)
    return value


def _one_of(model: BaseModel, value_field: str, file_field: str, *, required: bool = True) -> None:
    given = [getattr(model, value_field) is not None, getattr(model, file_field) is not None]
    if all(given):
        raise ValueError(f"give either {value_field} or {file_field}, not both")
    if required and not any(given):
        raise ValueError(f"{value_field} or {file_field} is required")


def _secret_url(value: SecretStr | None) -> SecretStr | None:
    if value is not None:
        problem = check_http_url(value.get_secret_value())
        if problem:
            raise ValueError(problem)
    return value


def _listify(value: Any) -> Any:
    """``secret: "${HOOK_SECRET}"`` is read as a one-item list."""
    return [value] if isinstance(value, str | SecretStr) else value


class ChannelSettingsBase(BaseModel):
    """What every channel kind shares: strict keys, inputs kept out of errors, a link template."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    link_template: str | None = Field(
        default=None,
        description="Link added to each alert, e.g. https://mlflow.example.com/#/models/{model}/versions/{version}. "
        "Placeholders: {model}, {version}, {kind}, {severity}, {id}.",
    )

    _link = field_validator("link_template")(check_link_template)


class SlackChannelSettings(ChannelSettingsBase):
    """A Slack incoming webhook; its URL is the credential."""

    kind: Literal["slack"]
    webhook_url: SecretStr | None = None
    webhook_url_file: Path | None = None
    timeout: Duration = _DEFAULT_TIMEOUT

    _url = field_validator("webhook_url")(_secret_url)

    @model_validator(mode="after")
    def _one_url(self) -> SlackChannelSettings:
        _one_of(self, "webhook_url", "webhook_url_file")
        return self


class SmtpSettings(BaseModel):
    """How to reach the mail server. Login is optional; with ``username`` a password is required."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    host: str = Field(min_length=1)
    port: int | None = Field(
        default=None, ge=1, le=65535, description="default: 587 starttls, 465 tls, 25 none"
    )
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    timeout: Duration = _DEFAULT_TIMEOUT
    ca_file: Path | None = Field(default=None, description="CA bundle to trust instead of the system's")

    @field_validator("host", "username")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and (not value.isprintable() or any(ch.isspace() for ch in value)):
            raise ValueError("must not contain whitespace or control characters")
        return value

    @model_validator(mode="after")
    def _login(self) -> SmtpSettings:
        if self.username is None:
            if self.password is not None or self.password_file is not None:
                raise ValueError("password needs a username")
        else:
            _one_of(self, "password", "password_file")
        return self

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"starttls": 587, "tls": 465, "none": 25}[self.security]


def _check_address(value: str) -> str:
    if not value.isprintable() or any(ch in value for ch in '\r\n<>,;"') or value.count("@") != 1:
        raise ValueError("must be one plain address like name@example.com")
    local, domain = value.split("@")
    if not local or not domain or any(ch.isspace() for ch in value):
        raise ValueError("must be one plain address like name@example.com")
    return value


EmailAddress = Annotated[str, BeforeValidator(lambda v: _check_address(v) if isinstance(v, str) else v)]


class EmailChannelSettings(ChannelSettingsBase):
    """Mail through an SMTP server, text and HTML, to a fixed list of recipients."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    kind: Literal["email"]
    smtp: SmtpSettings
    from_: EmailAddress = Field(alias="from")
    to: list[EmailAddress] = Field(min_length=1)
    subject_prefix: str = "[retrain-sentinel]"

    @field_validator("subject_prefix")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("must be one line of printable text")
        return value


def _check_header_name(value: str) -> str:
    if not _HEADER_NAME.match(value):
        raise ValueError("header names are letters, digits and -")
    if value.lower() in RESERVED_HEADERS:
        raise ValueError("is set by the webhook channel itself")
    return value


def _check_header_value(value: SecretStr) -> SecretStr:
    if not value.get_secret_value().isprintable():
        raise ValueError("header values must not contain control characters or line breaks")
    return value


class WebhookChannelSettings(ChannelSettingsBase):
    """A JSON POST to any receiver, signed with HMAC-SHA256 when ``secret`` is set.

    ``url`` is secret because receivers often take a token in it. ``secret`` lists one key, or
    several while rotating (the receiver accepts any); ``secret_file`` holds one key per line.
    """

    kind: Literal["webhook"]
    url: SecretStr | None = None
    url_file: Path | None = None
    secret: Annotated[list[SecretStr], BeforeValidator(_listify)] | None = Field(default=None, min_length=1)
    secret_file: Path | None = None
    headers: dict[Annotated[str, BeforeValidator(_check_header_name)], SecretStr] = Field(
        default_factory=dict
    )
    timeout: Duration = _DEFAULT_TIMEOUT

    _url = field_validator("url")(_secret_url)

    @field_validator("secret")
    @classmethod
    def _non_empty_secrets(cls, value: list[SecretStr] | None) -> list[SecretStr] | None:
        if value is not None and any(not s.get_secret_value() for s in value):
            raise ValueError("a secret must not be empty")
        return value

    @field_validator("headers")
    @classmethod
    def _header_values(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for item in value.values():
            _check_header_value(item)
        return value

    @model_validator(mode="after")
    def _one_each(self) -> WebhookChannelSettings:
        _one_of(self, "url", "url_file")
        _one_of(self, "secret", "secret_file", required=False)
        return self


class ConsoleChannelSettings(ChannelSettingsBase):
    """Human-readable text on stderr: the demo's channel, and a dead-letter channel of last resort."""

    kind: Literal["console"]


ChannelSettings = Annotated[
    SlackChannelSettings | EmailChannelSettings | WebhookChannelSettings | ConsoleChannelSettings,
    Field(discriminator="kind"),
]
"""One entry of ``channels:``; pydantic picks the model by its ``kind``."""


class DeliverySettings(BaseModel):
    """``delivery``: retry, age and grouping limits of the dispatcher."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_delay: Duration = Field(default=timedelta(seconds=2), description="First retry's delay cap.")
    max_delay: Duration = Field(default=timedelta(minutes=10), description="Largest delay between retries.")
    max_age: Duration = Field(default=timedelta(hours=24), description="Give up on a notification this old.")
    group_threshold: int = Field(
        default=3,
        ge=1,
        description="More notifications than this in one batch for one channel go as one message.",
    )
    dead_letter_channel: str | None = Field(
        default=None, description="Channel told of every notification given up."
    )
    claim_timeout: Duration = Field(
        default=timedelta(minutes=2),
        description="How long a claimed row is reserved for the dispatcher sending it.",
    )
    batch_size: int = Field(
        default=100, ge=1, le=10_000, description="Rows claimed per dispatcher run (a SQL LIMIT: bounded)."
    )
