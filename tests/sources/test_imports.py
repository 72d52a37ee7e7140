"""What loading a part of ``sources`` costs: the settings (read by every config load) and the pure
run selection load without the clients of the outside world."""

from __future__ import annotations

import subprocess
import sys

import pytest

from retrain_sentinel import sources
from retrain_sentinel.sources.catalog import build_source

HEAVY = ("sqlalchemy", "requests", "numpy", "pyarrow")


def imported_by(module: str) -> list[str]:
    """The heavy packages a fresh interpreter holds after importing ``module``."""
    code = f"import sys, {module}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_the_source_settings_load_without_sqlalchemy_or_requests() -> None:
    assert imported_by("retrain_sentinel.sources.settings") == []


@pytest.mark.parametrize(
    "module", ["retrain_sentinel.sources.sql.selection", "retrain_sentinel.sources.sql.experiment_snapshot"]
)
def test_choosing_rows_and_building_a_snapshot_need_no_database_client(module: str) -> None:
    assert imported_by(module) == []


def test_the_catalog_is_still_reached_from_the_package() -> None:
    assert sources.build_source is build_source
    assert "build_sources" in dir(sources)
