"""evaluate_watches: a source that breaks its contract fails only its own watches, without secrets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from retrain_sentinel.errors import LeaseLost, StoreError
from retrain_sentinel.service.batch import evaluate_batch, evaluate_watches
from retrain_sentinel.service.health import HealthState
from retrain_sentinel.service.metrics import SentinelMetrics
from retrain_sentinel.service.runtime import Runtime
from retrain_sentinel.settings import parse_settings
from retrain_sentinel.snapshot import Provenance, Snapshot
from retrain_sentinel.sources.base import SourceResult, WatchQuery
from retrain_sentinel.store import HistoryStore, upgrade

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


class RaisingSource:
    """A third-party source that raises instead of answering per watch."""

    name = "broken"

    def read(self, watches: Sequence[WatchQuery], now: datetime) -> dict[str, SourceResult]:
        raise RuntimeError("cannot reach postgresql://bot:hunter2@db.internal/x via https://h.example/t/SECRETTOKEN")

    def check(self) -> None: ...

    def close(self) -> None: ...


class GoodSource:
    name = "good"

    def read(self, watches: Sequence[WatchQuery], now: datetime) -> dict[str, SourceResult]:
        return {w.watch: Snapshot(drift_metrics={"js_divergence": 0.5}) for w in watches}

    def check(self) -> None: ...

    def close(self) -> None: ...


def test_a_raising_source_fails_its_watches_only_and_hides_credentials() -> None:
    settings = parse_settings(
        {
            "sources": {
                "broken": {"kind": "sql", "url": "sqlite://", "queries": {"current_metrics": "SELECT 1"}},
                "good": {"kind": "sql", "url": "sqlite://", "queries": {"current_metrics": "SELECT 1"}},
            },
            "models": [{"name": "a", "source": "broken"}, {"name": "b", "source": "good"}],
        },
        environ={},
    )
    runtime = Runtime.build(settings, with_channels=False)
    runtime.close()  # keep the watches, swap in the two sources under test
    runtime.sources = {"broken": RaisingSource(), "good": GoodSource()}

    results = {r.watch: r for r in evaluate_watches(runtime, list(runtime.watches.values()), NOW)}

    assert results["a"].outcome == "error" and results["a"].source == "broken"
    assert "RuntimeError" in (results["a"].error or "")
    assert "hunter2" not in (results["a"].error or "") and "SECRETTOKEN" not in (results["a"].error or "")
    assert results["b"].outcome == "triggered"


class DriftFiles:
    """A drift source whose window held no data: counts, but no drift score."""

    name = "files"

    def read(self, watches: Sequence[WatchQuery], now: datetime) -> dict[str, SourceResult]:
        return {w.watch: Snapshot(new_count=0, baseline_count=1000, window_count=0) for w in watches}

    def check(self) -> None: ...

    def close(self) -> None: ...


def test_drift_comes_only_from_the_drift_source() -> None:
    settings = parse_settings(
        {
            "sources": {
                "lab": {"kind": "sql", "url": "sqlite://", "queries": {"current_metrics": "SELECT 1"}},
                "files": {"kind": "files", "reference": "r.parquet", "current": "c/*.parquet"},
            },
            "models": [{"name": "a", "source": "lab", "drift_source": "files", "policy": {"drift": {}}}],
        },
        environ={},
    )
    runtime = Runtime.build(settings, with_channels=False)
    runtime.close()
    runtime.sources = {"lab": GoodSource(), "files": DriftFiles()}  # lab logged js_divergence 0.5

    (result,) = evaluate_watches(runtime, list(runtime.watches.values()), NOW)

    assert result.outcome == "undecided"
    assert result.snapshot is not None and result.snapshot.provenance.drift_source == "files"
    assert result.snapshot.new_count == 0 and result.snapshot.baseline_count == 1000
    assert result.snapshot.window_count == 0  # the drift window's rows are what min_samples reads


# --- what the history refuses (issue 11, item 5) ----------------------------------------------------


class DeepProvenance:
    """Reads every watch; ``deep``'s provenance is nested past the recursion limit, so the history
    cannot serialise it — on any backend — while the others are fine."""

    name = "good"

    def read(self, watches: Sequence[WatchQuery], now: datetime) -> dict[str, SourceResult]:
        nested: dict[str, object] = {}
        for _ in range(5000):
            nested = {"x": nested}
        return {
            w.watch: Snapshot(
                drift_metrics={"js_divergence": 0.5},
                provenance=Provenance(source="good", extra={"nested": nested} if w.watch == "deep" else {}),
            )
            for w in watches
        }

    def check(self) -> None: ...

    def close(self) -> None: ...


def _two_watches() -> Runtime:
    settings = parse_settings(
        {
            "sources": {"good": {"kind": "sql", "url": "sqlite://", "queries": {"current_metrics": "SELECT 1"}}},
            "models": [{"name": n, "source": "good", "policy": {"drift": {}}} for n in ("deep", "fine")],
        },
        environ={},
    )
    runtime = Runtime.build(settings, with_channels=False)
    runtime.close()
    runtime.sources = {"good": DeepProvenance()}
    return runtime


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[HistoryStore]:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    upgrade(url)
    with HistoryStore(url) as store:
        yield store


def test_a_watch_the_history_refuses_is_an_error_logged_and_counted_and_the_others_are_recorded(
    sqlite_store: HistoryStore,
) -> None:
    runtime = _two_watches()
    metrics, health = SentinelMetrics(), HealthState(60)
    with capture_logs() as logs:
        batch = evaluate_batch(
            runtime, list(runtime.watches.values()), NOW, store=sqlite_store, metrics=metrics, health=health
        )
    results = {r.watch: r for r in batch.results}
    assert results["fine"].outcome == "triggered"
    assert results["deep"].outcome == "error" and results["deep"].source is None
    assert (results["deep"].error or "").startswith("evaluated triggered, but not recorded in the history: ")
    assert [e.watch for e in sqlite_store.history()] == ["fine"]
    (event,) = [e for e in logs if e["event"] == "evaluation.not_recorded"]
    assert event["model"] == "deep" and event["outcome"] == "triggered" and "Recursion" in event["reason"]
    assert [e["model"] for e in logs if e["event"] == "evaluation"] == ["fine"]  # one event per recorded one
    assert metrics.registry.get_sample_value("retrain_sentinel_record_failures_total") == 1
    assert metrics.registry.get_sample_value(
        "retrain_sentinel_evaluations_total", {"model": "deep", "outcome": "error"}
    ) is None


def test_a_write_refused_as_a_whole_raises_after_telling_readiness_and_the_metric(
    sqlite_store: HistoryStore,
) -> None:
    runtime = _two_watches()
    metrics, health = SentinelMetrics(), HealthState(60)
    health.config_loaded, health.leader = True, True
    health.set_database(True)
    with sqlite_store._engine.begin() as connection:  # the history as a broken database leaves it
        connection.exec_driver_sql("DROP TABLE evaluations")
    with pytest.raises(StoreError):
        evaluate_batch(runtime, list(runtime.watches.values()), NOW, store=sqlite_store, metrics=metrics, health=health)
    readiness = health.readiness()
    assert not readiness.ready and readiness.reason.startswith("recording failing: ")
    assert "no such table" in readiness.reason
    assert metrics.registry.get_sample_value("retrain_sentinel_record_failures_total") == 2


def test_a_fenced_write_is_not_a_recording_failure(sqlite_store: HistoryStore) -> None:
    runtime = _two_watches()
    health = HealthState(60)
    health.config_loaded, health.leader = True, True
    health.set_database(True)
    old = sqlite_store.acquire_or_renew_lease("scheduler", "a", timedelta(seconds=30))
    assert old is not None and sqlite_store.release_lease(old)
    assert sqlite_store.acquire_or_renew_lease("scheduler", "b", timedelta(seconds=30)) is not None
    with pytest.raises(LeaseLost):
        evaluate_batch(runtime, list(runtime.watches.values()), NOW, store=sqlite_store, lease=old, health=health)
    assert health.readiness().ready
