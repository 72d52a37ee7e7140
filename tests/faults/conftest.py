"""The fault suite reuses the daemon tests' fixtures: a watched lab, history readers, daemon children."""

from __future__ import annotations

from service.conftest import (  # noqa: F401 - fixtures, found by pytest through this module
    lab,
    postgres_history,
    postgres_lab,
    sqlite_history,
    start_daemon,
)
