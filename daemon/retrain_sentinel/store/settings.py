"""The store's config sections: ``database`` (a URL) and ``retention: {days: 90}``.

``settings.py`` assembles them into the whole config; they live here, beside the code that gives
them meaning.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from retrain_sentinel.redaction import redact_url

__all__ = ["DEFAULT_DATABASE_URL", "DatabaseUrl", "RetentionSettings", "validate_database_url"]

DEFAULT_DATABASE_URL = "sqlite:///sentinel.db"
_SCHEMES = ("sqlite://", "postgresql://", "postgresql+psycopg://")


def validate_database_url(value: str) -> str:
    """Accept ``sqlite:///…`` and ``postgresql[+psycopg]://…``; errors show the URL masked."""
    if not value.startswith(_SCHEMES):
        raise ValueError(
            f"unsupported database URL {redact_url(value)!r}: use sqlite:///path.db or postgresql+psycopg://user@host/db"
        )
    return value


DatabaseUrl = Annotated[str, AfterValidator(validate_database_url)]
"""The ``database`` key: a SQLAlchemy URL (default ``sqlite:///sentinel.db``)."""


class RetentionSettings(BaseModel):
    """``retention``: how long evaluations and finished notifications are kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: int = Field(default=90, ge=1, description="Delete history older than this many days.")

    def cutoff(self, now: datetime) -> datetime:
        """The oldest time still kept at ``now``."""
        return now - timedelta(days=self.days)
