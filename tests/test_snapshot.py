"""Snapshot: aware UTC times, missing parts stay None, a dict round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from retrain_sentinel import Provenance, Snapshot
from retrain_sentinel.evaluation import Evaluation
from retrain_sentinel.store import HistoryStore
from retrain_sentinel.store.testing import T0, evaluation


def test_missing_parts_are_none() -> None:
    snapshot = Snapshot()
    assert snapshot.current_metrics is None and snapshot.drift_metrics is None
    assert snapshot.last_trained_at is None and snapshot.new_count is None
    assert snapshot.sample_count is None
    assert snapshot.provenance == Provenance()


def test_times_are_converted_to_utc() -> None:
    paris = timezone(timedelta(hours=2))
    snapshot = Snapshot(last_trained_at=datetime(2024, 6, 1, 14, 0, tzinfo=paris))
    assert snapshot.last_trained_at == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert snapshot.last_trained_at is not None and snapshot.last_trained_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("field", ["last_trained_at", "observed_at"])
def test_naive_times_are_rejected(field: str) -> None:
    with pytest.raises(ValueError, match=f"{field} must be timezone-aware"):
        Snapshot(**{field: datetime(2024, 1, 1)})  # type: ignore[arg-type]


def test_sample_count_is_the_window_count_only() -> None:
    # issue 12, item 3: current_count is the volume trigger's cumulative size (100,000 training rows
    # plus new ones), not the samples behind the current metrics; min_samples reads window_count alone.
    assert Snapshot(window_count=5000, current_count=100_000, new_count=3).sample_count == 5000
    assert Snapshot(current_count=10, new_count=3).sample_count is None


def test_replace_returns_a_changed_copy() -> None:
    snapshot = Snapshot(new_count=1)
    changed = snapshot.replace(new_count=2)
    assert (snapshot.new_count, changed.new_count) == (1, 2)


def test_counts_are_kept_as_given() -> None:
    assert Snapshot(current_count=-5).current_count == -5


def test_dict_round_trip() -> None:
    snapshot = Snapshot(
        current_metrics={"val_loss": 0.4},
        baseline_metrics={"val_loss": 0.3},
        drift_metrics={"js_divergence": 0.2},
        last_trained_at=datetime(2024, 5, 1, tzinfo=UTC),
        baseline_count=100,
        current_count=150,
        new_count=50,
        window_count=20,
        observed_at=datetime(2024, 6, 1, tzinfo=UTC),
        provenance=Provenance(source="lab", registry_model="churn", model_version="3", extra={"k": "v"}),
    )
    data = snapshot.to_dict()
    assert data["last_trained_at"] == "2024-05-01T00:00:00+00:00"
    assert data["provenance"]["source"] == "lab" and data["provenance"]["extra"] == {"k": "v"}
    assert Snapshot.from_dict(data) == snapshot
    assert Snapshot.from_dict(Snapshot().to_dict()) == Snapshot()


def test_a_stored_snapshot_without_window_count_still_loads() -> None:
    stored = Snapshot(current_count=150, baseline_count=100).to_dict()
    del stored["window_count"]  # written before the field existed
    loaded = Snapshot.from_dict(stored)
    assert loaded.window_count is None and loaded.current_count == 150


def test_the_history_store_keeps_the_window_count(store: HistoryStore) -> None:
    snapshot = Snapshot(current_count=105_000, baseline_count=100_000, window_count=5000, observed_at=T0)
    store.record([Evaluation(**{**evaluation("ok", T0).__dict__, "snapshot": snapshot})], now=T0)
    (stored,) = store.history()
    assert stored.snapshot == snapshot and stored.snapshot.window_count == 5000
