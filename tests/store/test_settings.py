"""The store's config sections and its public surface."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ConfigDict, TypeAdapter, ValidationError

import retrain_sentinel.store as store_package
from retrain_sentinel.store import DatabaseUrl, RetentionSettings, mask_url


def test_retention_defaults_to_90_days() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert RetentionSettings().cutoff(now) == now - timedelta(days=90)


def test_retention_rejects_unknown_keys_and_non_positive_days() -> None:
    with pytest.raises(ValidationError):
        RetentionSettings.model_validate({"days": 0})
    with pytest.raises(ValidationError):
        RetentionSettings.model_validate({"weeks": 3})


def test_a_bad_database_url_is_refused_without_showing_its_password() -> None:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(DatabaseUrl, config=ConfigDict(hide_input_in_errors=True)).validate_python("mysql://bot:hunter2@db/x")
    assert "hunter2" not in str(caught.value)
    assert "mysql://bot:***@db/x" in str(caught.value)


def test_database_urls_are_masked() -> None:
    assert mask_url("postgresql+psycopg://bot:hunter2@db:5432/x") == "postgresql+psycopg://bot:***@db:5432/x"
    assert mask_url("sqlite:///sentinel.db") == "sqlite:///sentinel.db"


def test_the_public_surface_is_explicit() -> None:
    assert set(store_package.__all__) == {
        "DEFAULT_DATABASE_URL", "ClaimResult", "DatabaseNewerThanCode", "DatabaseUrl",
        "HistoryStore", "LeaseInfo", "LeaseToken", "OutboxRow", "PurgeResult", "RecordResult",
        "RetentionSettings", "SchemaOutdated", "Silence", "current", "head", "mask_url",
        "open_store", "require_current", "upgrade",
    }  # fmt: skip
