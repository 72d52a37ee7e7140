"""One rule: a URL keeps what names the place (database URLs their path, others scheme and host),
and every known secret becomes ***."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- linear time (issue 11, item 8) ---------------------------------------------------------------

#: Texts of 100,000 characters that made a pattern try again at every position (a scheme tried from
#: every letter of ``a.a.a…``: 13 s; a password from every ``://`` with no ``@`` after: 1 s).
HOSTILE = {
    "dotted-word": "a." * 50_000,
    "plus-word": "a+" * 50_000,
    "dashed-word": "a-" * 50_000,
    "schemes-without-at": "://:" * 25_000,
    "bad-schemes": "1x://" * 20_000,
    "empty-urls": "a:// " * 20_000,
    "user-infos": "postgresql://a:" * 6_700,
    "database-with-dotted-path": "postgresql://bot:pw@db/" + "a." * 50_000,
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_redaction_is_linear_in_the_text(text: str) -> None:
    for redaction in (redact, redact_url, database_url_secrets):
        started = time.perf_counter()
        redaction(text)
        assert time.perf_counter() - started < 0.5, redaction.__name__  # quadratic: 1 to 13 s


def _reference_redact(text: str) -> str:
    """What ``redact`` did with the pattern it had before it was made linear (quadratic on a.a.a…)."""
    return re.sub(r"\b[a-zA-Z][\w+.-]*://[^\s\"'<>]+", lambda m: redact_url(m[0]), text)


def _reference_secrets(url: str) -> list[str]:
    found = [m[0].split(":", 1)[1][:-1] for m in re.finditer(r"(?<=://)[^:/@]*:[^@]*@", url)]
    found += [m[1] for m in re.finditer(r"(?i)[?&]password=([^&#]*)", url)]
    return [s for s in found if s]


TEXT = st.text(alphabet="ab1_+.-:/@? \"'<>=&#xé", max_size=60)


@settings(max_examples=500, deadline=None)
@given(text=TEXT)
def test_linear_redaction_finds_what_the_old_pattern_found(text: str) -> None:
    assert redact(text) == _reference_redact(text)
    assert database_url_secrets(text) == _reference_secrets(text)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.sampled_from(["https://", "postgresql://", "u:p@", "h", "/x", " ", "a.", "1", "?password=s&"]), max_size=12))
def test_linear_redaction_agrees_on_url_like_text(parts: list[str]) -> None:
    text = "".join(parts)
    assert redact(text) == _reference_redact(text)
    assert database_url_secrets(text) == _reference_secrets(text)
