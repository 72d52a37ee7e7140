"""URLs cut to scheme and host."""

from __future__ import annotations

import pytest

from retrain_sentinel.redaction import redact_url


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://hooks.slack.com/services/T/B/X", "https://hooks.slack.com"),
        ("HTTPS://user:pw@Example.COM:8443/p?token=t#f", "https://example.com"),
        ("http://[::1]:8080/x", "http://[::1]"),
        ("not a url secret", "<invalid url>"),
        ("https://[bad/secret", "<invalid url>"),
        ("", "<invalid url>"),
    ],
)
def test_only_scheme_and_host_remain(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted
