"""evaluate_watches: a source that breaks its contract fails only its own watches, without secrets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from retrain_sentinel.service.batch import evaluate_watches
from retrain_sentinel.service.runtime import Runtime
from retrain_sentinel.settings import parse_settings
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.sources.base import SourceResult, WatchQuery

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
        return {w.watch: Snapshot(new_count=0, baseline_count=1000) for w in watches}

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
