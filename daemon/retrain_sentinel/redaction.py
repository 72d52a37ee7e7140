"""Cutting secrets out of everything we say: logs, errors, reports, the history database.

One rule, applied everywhere: **a URL keeps only what names the place, and a secret we know is
replaced by ``***``.** What names the place depends on the kind of URL:

- a database URL (``postgresql+psycopg://bot:pw@db:5432/x``, ``sqlite:///h.db``) keeps its
  scheme, user, host, port and database — which database failed matters, and none of them is a
  credential — with the password (and any ``password=`` query value) shown as ``***``;
- any other URL (webhooks, Slack, MLflow) keeps scheme and host only: Slack webhook URLs carry their
  credential in the path, webhook URLs often carry a token in the query, either may hold
  ``user:password@``.

``redact`` applies the rule to free text (an exception's message); ``redact_url`` to one URL, and
gives ``"<invalid url>"`` rather than an echo of input that does not parse (the input may be the
secret). No SQLAlchemy here: loading a config must stay light.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Redactor", "database_url_secrets", "redact", "redact_url"]

_DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")
_URL = re.compile(r"\b[a-zA-Z][\w+.-]*://[^\s\"'<>]+")
_PASSWORD = re.compile(r"^(?P<head>[^:/]+://[^:/@]*):[^@]*@")
_PASSWORD_QUERY = re.compile(r"(?i)([?&]password=)[^&#]*")
_MASK = "***"


def _is_database(url: str) -> bool:
    scheme = url.split("://", 1)[0].lower()
    return scheme.split("+", 1)[0] in _DATABASE_SCHEMES


def _host_only(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return "<invalid url>"
    if not parts.scheme or not host or not parts.scheme.isascii() or not parts.scheme.isalpha():
        return "<invalid url>"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}"


def redact_url(url: str) -> str:
    """``https://user:pw@hooks.slack.com/services/T/B/X`` → ``https://hooks.slack.com``;
    ``postgresql://bot:pw@db/x`` → ``postgresql://bot:***@db/x``."""
    url = url.strip()
    if _is_database(url) and "://" in url:
        return _PASSWORD_QUERY.sub(rf"\1{_MASK}", _PASSWORD.sub(rf"\g<head>:{_MASK}@", url))
    return _host_only(url)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret replaced by ``***`` and every URL in it redacted."""
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, _MASK)  # longest first: a secret containing another goes whole
    return _URL.sub(lambda m: redact_url(m[0]), text)


@dataclass(frozen=True)
class Redactor:
    """``redact`` with the secrets one source or channel knows, built once from its settings."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str | None]) -> Redactor:
        return cls(tuple(v for v in values if v))

    def __call__(self, text: str) -> str:
        return redact(text, self.secrets)


def database_url_secrets(url: str) -> list[str]:
    """The credentials inside a database URL (its password, ``password=`` query values), so that
    a driver's message quoting one of them alone is redacted too."""
    found = [m[0].split(":", 1)[1][:-1] for m in re.finditer(r"(?<=://)[^:/@]*:[^@]*@", url)]
    found += [m[1] for m in re.finditer(r"(?i)[?&]password=([^&#]*)", url)]
    return [s for s in found if s]
