"""The history store: evaluations, alert state, the outbox, silences and the leader lease (DESIGN §8, §9).

Public surface (everything else is private to the package)::

    open_store(url, migrate=…)           the store, migrated or checked current; HistoryStore(url)
                                          record, history, latest, silences, purge, lease, outbox
    RecordResult, LeaseToken, LeaseInfo, OutboxRow, ClaimResult,
    Silence, PurgeResult                  the values it takes and returns
    upgrade(url), current(url), head(), require_current(url)
                                          migrations (``retrain-sentinel db upgrade|current``)
    DatabaseNewerThanCode, SchemaOutdated StoreError subclasses for "refuse to start"
    RetentionSettings, DatabaseUrl, DEFAULT_DATABASE_URL, mask_url

The store, the migrations and ``mask_url`` resolve on first use (PEP 562): they import SQLAlchemy
and Alembic, and loading the settings, which imports this package for ``store.settings``, must not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retrain_sentinel.exports import lazy_exports
from retrain_sentinel.store.records import (
    ClaimResult,
    LeaseInfo,
    LeaseToken,
    OutboxRow,
    PurgeResult,
    RecordResult,
    Silence,
)
from retrain_sentinel.store.settings import DEFAULT_DATABASE_URL, DatabaseUrl, RetentionSettings

if TYPE_CHECKING:
    from retrain_sentinel.store.engine import mask_url
    from retrain_sentinel.store.history import HistoryStore
    from retrain_sentinel.store.migrate import (
        DatabaseNewerThanCode,
        SchemaOutdated,
        current,
        head,
        open_store,
        require_current,
        upgrade,
    )

_LAZY = {
    "mask_url": "retrain_sentinel.store.engine",
    "HistoryStore": "retrain_sentinel.store.history",
    **dict.fromkeys(
        ("DatabaseNewerThanCode", "SchemaOutdated", "current", "head", "open_store", "require_current", "upgrade"),
        "retrain_sentinel.store.migrate",
    ),
}

__all__ = [
    "DEFAULT_DATABASE_URL",
    "ClaimResult",
    "DatabaseNewerThanCode",
    "DatabaseUrl",
    "HistoryStore",
    "LeaseInfo",
    "LeaseToken",
    "OutboxRow",
    "PurgeResult",
    "RecordResult",
    "RetentionSettings",
    "SchemaOutdated",
    "Silence",
    "current",
    "head",
    "mask_url",
    "open_store",
    "require_current",
    "upgrade",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
