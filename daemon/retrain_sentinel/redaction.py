"""Cutting secrets out of what we say about a destination.

Slack webhook URLs carry their credential in the path, webhook URLs often carry a token in the
query, and either may hold ``user:password@``. What a log line, an exception or the outbox's
``last_error`` may say about a URL is therefore only its scheme and host: enough to tell which
receiver failed, nothing that lets anyone post to it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["redact_url"]


def redact_url(url: str) -> str:
    """``https://user:pw@hooks.slack.com:443/services/T/B/X?token=y`` → ``https://hooks.slack.com``.

    Anything that does not parse as ``scheme://host`` gives ``"<invalid url>"`` rather than an echo
    of the input (the input is the secret).
    """
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
