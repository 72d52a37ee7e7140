"""The store's config sections and its public surface."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ConfigDict, TypeAdapter, ValidationError

import retrain_sentinel.store as store_package
from retrain_sentinel.store import DatabaseUrl, RetentionSettings, mask_url
from retrain_sentinel.store.settings import MAX_NAME_LENGTH, MAX_RETENTION_DAYS, name_problem


def test_retention_defaults_to_90_days() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert RetentionSettings().cutoff(now) == now - timedelta(days=90)


def test_retention_rejects_unknown_keys_and_non_positive_days() -> None:
    with pytest.raises(ValidationError):
        RetentionSettings.model_validate({"days": 0})
    with pytest.raises(ValidationError):
        RetentionSettings.model_validate({"weeks": 3})


def test_a_bad_database_url_is_refused_naming_only_its_scheme() -> None:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(DatabaseUrl, config=ConfigDict(hide_input_in_errors=True)).validate_python("mysql://bot:hunter2@db/x")
    assert "hunter2" not in str(caught.value) and "bot" not in str(caught.value)
    assert "unsupported database scheme 'mysql'" in str(caught.value)


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


def test_retention_is_bounded_so_its_cutoff_is_a_datetime() -> None:
    """``days: 10**19`` was accepted, then the retention job failed every run with OverflowError."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert RetentionSettings(days=MAX_RETENTION_DAYS).cutoff(now).year == 1926
    with pytest.raises(ValidationError):
        RetentionSettings.model_validate({"days": 10**19})


def test_the_name_rule_is_the_schema_s_name_columns() -> None:
    from retrain_sentinel.store import schema

    columns = {
        (table.name, column.name): column.type.length  # type: ignore[attr-defined]
        for table in schema.metadata.sorted_tables
        for column in table.columns
        if column.name in ("model", "channel")
    }
    assert columns and set(columns.values()) == {MAX_NAME_LENGTH}, columns


@pytest.mark.parametrize("name", ["fraud", "team/churn-v2.1", "Churn model (EU)", "模型", "x" * 200])
def test_real_world_names_pass(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize("name", ["", "q9z" * 67, "q9z\x00", "q9z\t", "q9z\n", "q9z\x1b", "q9z\u202e", "q9z\ud800", " q9z", "q9z "])
def test_names_the_history_cannot_store_or_a_line_cannot_show_are_refused(name: str) -> None:
    problem = name_problem(name)
    assert problem is not None and "q9z" not in problem
