"""One rule: a URL keeps what names the place (database URLs their path, others scheme and host),
and every known secret becomes ***."""

from __future__ import annotations

import pytest

from retrain_sentinel.redaction import Redactor, database_url_secrets, redact, redact_url


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


def test_errors_keep_only_scheme_and_host_of_urls() -> None:
    text = "failed: https://user:pw@hooks.example.com:8443/services/T/B/X?token=y and http://[::1]:9/z"
    assert redact(text) == "failed: https://hooks.example.com and http://[::1]"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://bot:hunter2@db:5432/x", "postgresql+psycopg://bot:***@db:5432/x"),
        ("postgresql://bot@db/x?password=hunter2&sslmode=require", "postgresql://bot@db/x?password=***&sslmode=require"),
        ("sqlite:///sentinel.db", "sqlite:///sentinel.db"),
        ("mysql+pymysql://u:p%40ss@h/d", "mysql+pymysql://u:***@h/d"),
    ],
)
def test_database_urls_keep_the_database_and_hide_the_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact(f"cannot connect to {url}: refused") == f"cannot connect to {shown}: refused"


def test_known_secrets_are_replaced_wherever_they_appear() -> None:
    secrets = database_url_secrets("postgresql://bot:hunter2@db/x?password=s3cret")
    assert secrets == ["hunter2", "s3cret"]
    redactor = Redactor.of([*secrets, "tok-123", None])
    assert redactor("auth failed for hunter2 with tok-123 (s3cret)") == "auth failed for *** with *** (***)"
