"""``check``: evaluate the watches now, record them, and try their notifications once (DESIGN §11).

The command-line twin of one daemon cycle, without a slot and without a lease: what it cannot
deliver at once stays queued for the daemon.
"""

from __future__ import annotations

from datetime import UTC, datetime

from retrain_sentinel.delivery.dispatcher import Dispatcher
from retrain_sentinel.evaluation import Evaluation
from retrain_sentinel.service.batch import evaluate_batch
from retrain_sentinel.service.runtime import Runtime
from retrain_sentinel.settings import Settings
from retrain_sentinel.store import open_store

__all__ = ["run_check"]


def run_check(
    settings: Settings, models: list[str], *, dry_run: bool
) -> tuple[list[Evaluation], bool]:
    """Evaluate now; unless ``dry_run``, record and try delivery once. Returns results and whether a
    delivery failed (it stays queued for the daemon)."""
    runtime = Runtime.build(settings, with_channels=not dry_run)
    try:
        watches = runtime.select(models)
        now = datetime.now(UTC)
        if dry_run:
            return list(evaluate_batch(runtime, watches, now).results), False
        with open_store(settings.database, migrate=settings.service.auto_migrate) as store:
            batch = evaluate_batch(runtime, watches, now, store=store)
            failed = False
            if batch.recorded is not None and batch.recorded.notifications:
                own = [n.id for n in batch.recorded.notifications]  # never the daemon's queue
                stats = Dispatcher(store, runtime.channels, settings.delivery).run_once(now, only=own)
                failed = stats.retried + stats.dead > 0
            return list(batch.results), failed
    finally:
        runtime.close()
