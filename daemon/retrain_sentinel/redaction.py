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

Every pattern here runs in time linear in the text, whatever the text: a URL is found from its
``://`` (a pattern that tried a scheme at every letter of ``a.a.a.a…`` took 13 s for 100,000
characters), and a database URL's password from its ``:`` and the ``@`` after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Redactor", "database_url_secrets", "redact", "redact_url"]

_DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")
#: A scheme's characters, possessively and only from the start of a run of them: each is read once.
_SCHEME_RUN = re.compile(r"(?<![\w+.-])[\w+.-]++(?=://)")
_SCHEME_START = re.compile(r"(?<!\w)[a-zA-Z]")  # where a URL may begin inside that run: a letter at \b
_URL_REST = re.compile(r"[^\s\"'<>]++")
#: The user-info of a database URL: ``[user]:`` right after ``://`` (the password runs to the next ``@``).
_USER = re.compile(r"(?<=://)[^:/@]*+:")
_PASSWORD = re.compile(r"^(?P<head>[^:/]+://[^:/@]*):[^@]*@")
_PASSWORD_QUERY = re.compile(r"(?i)([?&]password=)([^&#]*+)")
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
    return _redact_urls(text)


def _redact_urls(text: str) -> str:
    """Every ``scheme://rest`` in ``text`` through ``redact_url``, where the scheme starts with a
    letter at a word boundary and goes on with letters, digits, ``+``, ``.``, ``-`` and ``_``, and the
    rest runs to whitespace, a quote or an angle bracket."""
    parts: list[str] = []
    done = position = 0
    while run := _SCHEME_RUN.search(text, position):
        start = _SCHEME_START.search(text, run.start(), run.end())
        rest = _URL_REST.match(text, run.end() + 3) if start is not None else None
        if start is None or rest is None:  # `1x://`, `x:// `: not a URL; look on after its `://`
            position = run.end() + 1
            continue
        parts += [text[done : start.start()], redact_url(text[start.start() : rest.end()])]
        done = position = rest.end()
    return "".join([*parts, text[done:]])


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
    found: list[str] = []
    position = 0
    while (user := _USER.search(url, position)) and (at := url.find("@", user.end())) >= 0:
        found.append(url[user.end() : at])
        position = at + 1
    found += [m[2] for m in _PASSWORD_QUERY.finditer(url)]
    return [s for s in found if s]
