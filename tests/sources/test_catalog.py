"""``build_sources``: every configured source by name, each a ``Source``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from retrain_sentinel.errors import ConfigError
from retrain_sentinel.sources import Source, SourceSettings, build_sources

ADAPTER = TypeAdapter(dict[str, SourceSettings])


def test_every_kind_is_built_as_a_source(tmp_path: Path) -> None:
    settings: Any = ADAPTER.validate_python(
        {
            "lab": {
                "kind": "sql",
                "layout": "experiment_db",
                "experiments_url": f"sqlite:///{tmp_path}/e.db",
                "registry_url": f"sqlite:///{tmp_path}/r.db",
            },
            "wh": {"kind": "sql", "url": "sqlite://", "queries": {"snapshot": "SELECT 1 AS model"}},
            "mlflow": {"kind": "mlflow", "tracking_uri": "http://127.0.0.1:5000"},
            "shop": {"kind": "files", "reference": "r.parquet", "current": "*.parquet"},
        }
    )
    built = build_sources(settings)
    assert list(built) == ["lab", "wh", "mlflow", "shop"]
    assert all(isinstance(source, Source) and source.name == name for name, source in built.items())
    for source in built.values():
        source.close()


def test_an_unusable_url_is_a_config_error_without_its_password() -> None:
    settings: Any = ADAPTER.validate_python(
        {
            "lab": {
                "kind": "sql",
                "url": "nosuchdb://user:pw-secret@host/db",
                "queries": {"snapshot": "SELECT 1"},
            }
        }
    )
    with pytest.raises(ConfigError) as raised:
        build_sources(settings)
    assert "sources.lab.url" in str(raised.value) and "pw-secret" not in str(raised.value)
