"""Fault suite, issue 11 item 5: a value PostgreSQL refuses for one watch does not stop the others.

Before the fix, one watch name over 200 characters or containing NUL made every batch fail on a
PostgreSQL history (``StringDataRightTruncation`` / ``DataError``): nothing was recorded for any
watch and ``/readyz`` stayed ready. Validation now refuses such names (``settings``), so these
tests make the write side robust on its own: the names are put past validation on purpose, and
the daemon tests use values no validation can see — a registry version longer than the history's
200-character column, coming from the source's rows.

- ``HistoryStore.record`` / ``evaluate_batch`` on PostgreSQL: the refused watches are reported
  (their outcome, a log event, a metric), everything else is recorded with its notifications;
- a real ``retrain-sentinel run`` on a PostgreSQL history: the other watches are recorded; and when
  nothing at all can be recorded, ``/readyz`` says so.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from structlog.testing import capture_logs

from retrain_sentinel.evaluation import Evaluation
from retrain_sentinel.service.batch import evaluate_batch
from retrain_sentinel.service.health import HealthState, Readiness
from retrain_sentinel.service.metrics import SentinelMetrics
from retrain_sentinel.service.runtime import Runtime, Watch
from retrain_sentinel.settings import parse_settings
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.sources.base import SourceResult, WatchQuery
from retrain_sentinel.store import HistoryStore, upgrade
from retrain_sentinel.store.testing import T0, evaluation, postgres_database, routes
from service.conftest import config, postgres_server_url, write_config
from service.daemon_process import DaemonProcess, Lab, ago, wait_until

pytestmark = [pytest.mark.fault, pytest.mark.postgres]

LONG = "m" * 201
NUL = "churn\x00eu"
METRIC = "val_accuracy"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own (a daemon needs a plain URL), dropped afterwards."""
    with postgres_database(postgres_server_url()) as url:
        yield url


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[HistoryStore]:
    upgrade(pg_url)
    with HistoryStore(pg_url) as store:
        yield store


# --- the store, on PostgreSQL ----------------------------------------------------------------------------


def _nul_metric(model: str) -> Evaluation:
    """A fine name whose snapshot holds a metric name with NUL: JSONB refuses ``\\u0000``."""
    return replace(evaluation("ok", T0, model=model), snapshot=Snapshot(current_metrics={"acc\x00": 0.9}))


def test_postgres_records_the_other_watches_beside_long_and_nul_names(pg_store: HistoryStore) -> None:
    good = ["a-churn", "b-fraud", "c-ranker", "d-search"]
    batch = [
        *(evaluation("triggered", T0, model=m) for m in good),
        evaluation("triggered", T0, model=LONG),
        evaluation("triggered", T0, model=NUL),
        _nul_metric("e-jsonb"),
    ]
    every = [*good, LONG, NUL, "e-jsonb"]
    result = pg_store.record(batch, now=T0, routes={m: routes("ml-team") for m in every}, group_threshold=3)

    assert sorted(result.failed) == sorted([LONG, NUL, "e-jsonb"])
    assert "value too long" in result.failed[LONG]
    assert "NUL" in result.failed[NUL]
    assert "\\u0000" in result.failed["e-jsonb"] or "Unicode" in result.failed["e-jsonb"]
    assert sorted(e.watch for e in pg_store.history()) == good
    assert sorted(s.watch for s in pg_store.alert_states()) == good
    rows = pg_store.outbox()
    assert sorted(r.watch for r in rows) == good  # each good watch's firing, queued with its evaluation
    assert len({r.group_id for r in rows}) == 1 and rows[0].group_id is not None  # still one message


def test_postgres_reports_a_batch_of_only_refused_watches_without_raising(pg_store: HistoryStore) -> None:
    result = pg_store.record([evaluation("ok", T0, model=LONG)], now=T0)
    assert list(result.failed) == [LONG] and result.evaluation_ids == ()
    assert pg_store.history() == []


# --- evaluate_batch, on PostgreSQL ---------------------------------------------------------------------


class Good:
    """Every watch read: a drift score well over the policy's threshold (triggered)."""

    name = "good"

    def read(self, watches: Sequence[WatchQuery], now: datetime) -> dict[str, SourceResult]:
        return {w.watch: Snapshot(drift_metrics={"js_divergence": 0.5}) for w in watches}

    def check(self) -> None: ...

    def close(self) -> None: ...


def _runtime(names: Sequence[str]) -> Runtime:
    """Watches named ``names`` as if validation had let them through."""
    valid = [f"w{i}" for i in range(len(names))]
    settings = parse_settings(
        {
            "sources": {"good": {"kind": "sql", "url": "sqlite://", "queries": {"current_metrics": "SELECT 1"}}},
            "channels": {"log": {"kind": "console"}},
            "defaults": {"channels": ["log"]},
            "models": [{"name": v, "source": "good", "policy": {"drift": {}}} for v in valid],
        },
        environ={},
    )
    runtime = Runtime.build(settings, with_channels=False)
    runtime.close()
    runtime.sources = {"good": Good()}
    watches = {}
    for name, old in zip(names, valid, strict=True):
        watch = runtime.watches[old]
        watches[name] = Watch(
            watch.settings.model_copy(update={"name": name}), watch.policy, replace(watch.query, watch=name), watch.routes
        )
    runtime.watches = watches
    return runtime


def _value(metrics: SentinelMetrics, name: str) -> float:
    registry: CollectorRegistry = metrics.registry
    return registry.get_sample_value(name) or 0.0


def test_evaluate_batch_reports_what_postgres_refuses_and_readiness_follows(pg_store: HistoryStore) -> None:
    runtime = _runtime(["churn", LONG, NUL])
    metrics, health = SentinelMetrics(), HealthState(60)
    health.config_loaded = True
    health.set_database(True)
    now = datetime.now(UTC)

    with capture_logs() as logs:
        batch = evaluate_batch(
            runtime, list(runtime.watches.values()), now, store=pg_store, metrics=metrics, health=health
        )

    outcomes = {r.watch: r for r in batch.results}
    assert outcomes["churn"].outcome == "triggered"
    for name in (LONG, NUL):
        assert outcomes[name].outcome == "error"
        assert "not recorded" in (outcomes[name].error or "")
    assert [e.watch for e in pg_store.history()] == ["churn"]
    assert batch.recorded is not None and [n.watch for n in batch.recorded.notifications] == ["churn"]
    unrecorded = [e for e in logs if e["event"] == "evaluation.not_recorded"]
    assert sorted(e["model"] for e in unrecorded) == sorted([LONG, NUL])
    assert all(e["log_level"] == "error" and e["reason"] for e in unrecorded)
    assert _value(metrics, "retrain_sentinel_record_failures_total") == 2
    assert _value(metrics, "retrain_sentinel_evaluations_total") == 0  # labelled: no unlabelled sample
    assert metrics.registry.get_sample_value(
        "retrain_sentinel_evaluations_total", {"model": "churn", "outcome": "triggered"}
    ) == 1
    assert health.readiness().ready  # the database records: one watch's data is not the service


def test_readiness_fails_while_nothing_at_all_can_be_recorded(pg_store: HistoryStore) -> None:
    health = HealthState(60)
    health.config_loaded, health.leader = True, True
    health.set_database(True)
    now = datetime.now(UTC)
    only_bad = _runtime([LONG, NUL])
    evaluate_batch(only_bad, list(only_bad.watches.values()), now, store=pg_store, health=health)
    readiness = health.readiness()
    assert not readiness.ready and readiness.reason.startswith("recording failing")
    assert "2 watch(es)" in readiness.reason

    fine = _runtime(["churn"])
    evaluate_batch(fine, list(fine.watches.values()), now, store=pg_store, health=health)
    assert health.readiness().ready  # something is recorded again
    health.leader = False
    assert health.readiness() == Readiness(True, "standby", "ready")


# --- a running daemon with a PostgreSQL history ----------------------------------------------------------


def _lab(directory: Path) -> Lab:
    """healthy (ok), degraded (fires) and long (its registry version is 300 characters)."""
    lab = Lab.in_directory(directory)
    trained = ago(days=2)
    for name, baseline, current, version in (
        ("healthy", 0.90, 0.895, "v1"),
        ("degraded", 0.93, 0.80, "v1"),
        ("long", 0.90, 0.80, "v" * 300),
    ):
        lab.register(name, METRIC, baseline, trained, version=version)
        lab.evaluate(name, METRIC, current, ago(hours=1))
    return lab


def _config(directory: Path, lab: Lab, database: str, names: Sequence[str]) -> Path:
    return write_config(directory / "sentinel.yaml", config(database, lab, models=tuple(names)))


def _recorded(url: str) -> dict[str, int]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT model, count(*) FROM evaluations GROUP BY model")).all()
    except Exception:  # not migrated yet
        return {}
    finally:
        engine.dispose()
    return {str(model): int(n) for model, n in rows}


@pytest.fixture
def daemon_in(tmp_path: Path, pg_url: str) -> Iterator[Any]:
    lab = _lab(tmp_path)
    started: list[DaemonProcess] = []

    def start(names: Sequence[str]) -> DaemonProcess:
        process = DaemonProcess(_config(tmp_path, lab, pg_url, names), tmp_path / "daemon.log").start()
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.kill()
        lab.dispose()


@pytest.mark.slow
def test_a_value_postgres_refuses_for_one_watch_does_not_stop_the_daemon_recording_the_others(
    daemon_in: Any, pg_url: str
) -> None:
    daemon: DaemonProcess = daemon_in(["healthy", "degraded", "long"])

    def recorded() -> dict[str, int] | None:
        daemon.check_alive()
        found = _recorded(pg_url)
        return found if found.get("healthy", 0) >= 2 and found.get("degraded", 0) >= 2 else None

    found = wait_until(recorded, 25, "two recorded evaluations of healthy and degraded", interval=0.2)
    assert "long" not in found
    events = [e for e in daemon.events("evaluation.not_recorded") if e.get("model") == "long"]
    assert events and "value too long" in events[0]["reason"]
    assert (daemon.metric("retrain_sentinel_record_failures_total") or 0) >= 1
    assert daemon.get("/readyz").status == 200


@pytest.mark.slow
def test_readyz_says_so_when_nothing_can_be_recorded(daemon_in: Any, pg_url: str) -> None:
    daemon: DaemonProcess = daemon_in(["long"])

    def not_ready() -> Any:  # the database is reachable, leads, evaluates: only the writes fail
        daemon.check_alive()
        answer = daemon.get("/readyz")
        return answer if answer.status == 503 and answer.json()["reason"].startswith("recording") else None

    answer = wait_until(not_ready, 25, f"/readyz never said recording fails; log:\n{daemon.log_text()[-2000:]}", interval=0.2)
    body = answer.json()
    assert body["status"] == "not ready" and body["role"] == "leader"
    assert body["reason"].startswith("recording failing") and "value too long" in body["reason"]
    assert _recorded(pg_url) == {}
