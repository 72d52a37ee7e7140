"""The store's config sections: ``database`` (a URL) and ``retention: {days: 90}``, and the rule for
the names the history keeps (watch and channel names).

``settings.py`` assembles them into the whole config; they live here, beside the code that gives
them meaning.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "DEFAULT_DATABASE_URL",
    "MAX_NAME_LENGTH",
    "MAX_RETENTION_DAYS",
    "DatabaseUrl",
    "RetentionSettings",
    "StoredName",
    "control_characters",
    "name_problem",
    "validate_database_url",
]

DEFAULT_DATABASE_URL = "sqlite:///sentinel.db"
_SCHEMES = ("sqlite://", "postgresql://", "postgresql+psycopg://")
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]{0,30}(?=://)")

MAX_NAME_LENGTH = 200
"""The history's name columns (``evaluations.model``, ``alert_states.model``, ``outbox.channel``, …)
are ``VARCHAR(200)``: PostgreSQL refuses a longer value, and with it the whole batch's write."""

#: Unicode categories a name may not contain: control characters (NUL, which PostgreSQL cannot store
#: in text at all, tabs, line breaks, escapes that repaint a terminal), format characters (bidi
#: overrides that reorder what a log line shows), surrogates (not encodable in UTF-8), and line and
#: paragraph separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

MAX_RETENTION_DAYS = 36500
"""100 years: "keep everything" in practice, while ``now - days`` stays a valid ``datetime``."""


def name_problem(value: str) -> str | None:
    """Why ``value`` cannot be a watch's or channel's name, or ``None`` when it can (never quotes it).

    A name must be storable by every supported database (at most ``MAX_NAME_LENGTH`` characters,
    valid UTF-8 without NUL) and print as what it is on one line of a log, a table or an error: no
    control or format characters, no leading or trailing whitespace. Everything else is allowed, so
    real names read as written: ``fraud-v2.1``, ``team/churn``, ``Churn model (EU)``, ``模型``.
    """
    if not value:
        return "must not be empty"
    if len(value) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters (the history's name columns)"
    if control_characters(value):
        return "must not contain control or format characters (NUL, tab, line break, escape)"
    if value != value.strip():
        return "must not start or end with whitespace"
    return None


def control_characters(text: str) -> bool:
    """Whether ``text`` holds a character that would not print as itself on one line."""
    return not text.isprintable() and any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in text)


def _check_name(value: str) -> str:
    problem = name_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


StoredName = Annotated[str, AfterValidator(_check_name)]
"""A watch's or channel's name, as ``name_problem`` allows it."""


def validate_database_url(value: str) -> str:
    """Accept ``sqlite:///…`` and ``postgresql[+psycopg]://…``; errors name at most the scheme.

    Not the URL, not even masked: a value that is not a supported URL may not be a URL at all (a
    password pasted in the wrong place), so masking cannot know what to hide.
    """
    if not value.startswith(_SCHEMES):
        scheme = _SCHEME.match(value)
        given = f"database scheme {scheme[0]!r}" if scheme else "database URL"
        raise ValueError(
            f"unsupported {given}: use sqlite:///path.db or postgresql+psycopg://user@host/db"
        )
    return value


DatabaseUrl = Annotated[str, AfterValidator(validate_database_url)]
"""The ``database`` key: a SQLAlchemy URL (default ``sqlite:///sentinel.db``)."""


class RetentionSettings(BaseModel):
    """``retention``: how long evaluations and finished notifications are kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: int = Field(
        default=90, ge=1, le=MAX_RETENTION_DAYS, description="Delete history older than this many days."
    )

    def cutoff(self, now: datetime) -> datetime:
        """The oldest time still kept at ``now``."""
        return now - timedelta(days=self.days)
