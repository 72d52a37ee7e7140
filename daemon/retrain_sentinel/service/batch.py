"""``evaluate_batch``: read each source once, run the policies, record — shared by ``check`` and ``run``.

Reading is grouped by source so a batch of a thousand watches costs a source a handful of queries;
one watch's failure is that watch's ``error`` outcome, and the others go on. Writing too: a watch
whose data the history refuses (``RecordResult.failed``) becomes an ``error`` "not recorded",
logged (``evaluation.not_recorded``) and counted (``record_failures_total``), while the others are
recorded; readiness hears of every batch's write (``HealthState.recorded``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import structlog

from retrain_sentinel.errors import LeaseLost, SourceError, StoreError
from retrain_sentinel.evaluation import Evaluation, outcome_of
from retrain_sentinel.redaction import redact
from retrain_sentinel.service.health import HealthState
from retrain_sentinel.service.metrics import SentinelMetrics
from retrain_sentinel.service.runtime import Runtime, Watch
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.sources.base import SourceResult, WatchQuery
from retrain_sentinel.store import HistoryStore, LeaseToken, RecordResult

__all__ = ["BatchResult", "evaluate_batch", "evaluate_watches"]

log = structlog.get_logger("retrain_sentinel.evaluation")

@dataclass(frozen=True)
class BatchResult:
    results: tuple[Evaluation, ...]
    recorded: RecordResult | None = None


def _read_all(
    runtime: Runtime, watches: Sequence[Watch], now: datetime, key: str
) -> tuple[dict[str, SourceResult], float]:
    """One ``read`` per source for the batch; ``key`` picks ``source`` or ``drift_source``."""
    by_source: dict[str, list[WatchQuery]] = defaultdict(list)
    for watch in watches:
        name = getattr(watch.settings, key)
        if name is not None:
            by_source[name].append(watch.query)
    started = time.perf_counter()
    results: dict[str, SourceResult] = {}
    for name, queries in by_source.items():
        try:
            results.update(runtime.sources[name].read(queries, now))
        except Exception as exc:  # a source must answer per watch; if it raises, all its watches fail
            cause = redact(f"unexpected {type(exc).__name__}: {exc}")
            for query in queries:
                results[query.watch] = SourceError(name, query.registry_model, cause)
    return results, time.perf_counter() - started


def _merge_drift(main: Snapshot, drift: Snapshot, drift_source: str) -> Snapshot:
    """The drift source gives the drift metrics, and its counts only when the main source has none.

    Only the drift source: a window without data must leave drift undecided, not quietly fall back
    to a score the main source logged for some other data.
    """
    has_counts = any(c is not None for c in (main.current_count, main.baseline_count, main.new_count))
    changes: dict[str, object] = {
        "drift_metrics": drift.drift_metrics,
        "provenance": replace(main.provenance, drift_source=drift_source),
    }
    if not has_counts:
        changes.update(new_count=drift.new_count, baseline_count=drift.baseline_count)
    if main.window_count is None:  # the rows behind the drift window are the samples min_samples reads
        changes["window_count"] = drift.window_count
    return main.replace(**changes)


def evaluate_watches(runtime: Runtime, watches: Sequence[Watch], now: datetime) -> list[Evaluation]:
    """Read and judge; nothing is written. Pure but for the sources' reads."""
    main, main_seconds = _read_all(runtime, watches, now, "source")
    drift, drift_seconds = _read_all(runtime, watches, now, "drift_source")
    share = (main_seconds + drift_seconds) / max(len(watches), 1)  # reads are batched: spread evenly
    results: list[Evaluation] = []
    for watch in watches:
        started = time.perf_counter()
        snapshot = main.get(watch.name)
        source_name = watch.settings.source
        drift_name = watch.settings.drift_source
        if drift_name is not None and isinstance(snapshot, Snapshot):
            extra = drift.get(watch.name)
            if isinstance(extra, SourceError):
                snapshot, source_name = extra, drift_name
            elif isinstance(extra, Snapshot):
                snapshot = _merge_drift(snapshot, extra, drift_name)
        if not isinstance(snapshot, Snapshot):
            error = snapshot or SourceError(source_name, watch.query.registry_model, "the source returned nothing")
            results.append(
                Evaluation(
                    watch=watch.name,
                    outcome="error",
                    evaluated_at=now,
                    error=str(error),
                    source=source_name,
                    duration=share,
                )
            )
            continue
        report = watch.policy.evaluate(snapshot, now, model=watch.name)
        duration = share + time.perf_counter() - started
        results.append(
            Evaluation(
                watch=watch.name,
                outcome=outcome_of(report),
                evaluated_at=now,
                report=report,
                snapshot=snapshot,
                duration=duration,
                baseline_version=snapshot.provenance.model_version,
            )
        )
    return results


def _observe(
    results: Sequence[Evaluation], metrics: SentinelMetrics | None, slot_at: datetime | None = None
) -> None:
    """One log event per recorded evaluation; ``slot`` ties it to its history row (model, slot_at)."""
    slot = slot_at.isoformat() if slot_at is not None else None
    for result in results:
        fired = result.report.fired_triggers if result.report is not None else []
        log.info(
            "evaluation",
            model=result.watch,
            slot=slot,
            outcome=result.outcome,
            severity=result.report.severity if result.report is not None else None,
            duration=round(result.duration or 0.0, 4),
            fired=fired,
            error=result.error,
        )
        if metrics is None:
            continue
        metrics.evaluations.labels(result.watch, result.outcome).inc()
        metrics.model_triggered.labels(result.watch).set(1 if result.outcome == "triggered" else 0)
        metrics.last_evaluation.labels(result.watch).set(result.evaluated_at.timestamp())
        metrics.evaluation_duration.observe(result.duration or 0.0)
        if result.outcome == "error" and result.source is not None:
            metrics.source_errors.labels(result.source).inc()


def _not_recorded(
    results: Sequence[Evaluation], failed: Mapping[str, str], metrics: SentinelMetrics | None
) -> list[Evaluation]:
    """The results with each watch the history refused turned into an ``error`` saying so, logged
    and counted (by reason only: a name the database refused may not fit a metric label either)."""
    marked: list[Evaluation] = []
    for result in results:
        reason = failed.get(result.watch)
        if reason is None:
            marked.append(result)
            continue
        log.error("evaluation.not_recorded", model=result.watch, outcome=result.outcome, reason=reason)
        error = f"evaluated {result.outcome}, but not recorded in the history: {reason}"
        marked.append(replace(result, outcome="error", error=error, source=None))
    if metrics is not None and failed:
        metrics.record_failures.inc(len(failed))
    return marked


def evaluate_batch(
    runtime: Runtime,
    watches: Sequence[Watch],
    now: datetime,
    *,
    store: HistoryStore | None = None,
    slot_at: datetime | None = None,
    lease: LeaseToken | None = None,
    metrics: SentinelMetrics | None = None,
    health: HealthState | None = None,
) -> BatchResult:
    """Evaluate ``watches`` at ``now`` and, given a store, record them in one transaction.

    ``slot_at`` marks a scheduled run: a (model, slot) already in the history is skipped by the
    store, so a takeover never evaluates one slot twice into history. ``lease`` fences the write.
    Watches the store refuses come back as ``error`` "not recorded"; ``health`` hears how the write
    went (a write refused as a whole raises, as before, after telling it).
    """
    results = evaluate_watches(runtime, watches, now)
    recorded: RecordResult | None = None
    if store is not None:
        try:
            recorded = store.record(
                [replace(r, slot_at=slot_at) for r in results],
                now=now,
                rules={w.name: w.rules for w in watches},
                routes={w.name: w.routes for w in watches},
                lease=lease,
                group_threshold=runtime.settings.delivery.group_threshold,
            )
        except LeaseLost:  # another replica leads: not a recording failure
            raise
        except StoreError as exc:
            if metrics is not None:
                metrics.record_failures.inc(len(results))
            if health is not None:
                health.recorded((), {r.watch: str(exc) for r in results})
            raise
        results = _not_recorded(results, recorded.failed, metrics)
        if health is not None:
            health.recorded([r.watch for r in results if r.watch not in recorded.failed], recorded.failed)
    skipped = {model for model, _ in (recorded.skipped if recorded is not None else ())}
    failed = recorded.failed if recorded is not None else {}
    _observe([r for r in results if r.watch not in skipped and r.watch not in failed], metrics, slot_at)
    return BatchResult(tuple(results), recorded)
