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
"""

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
