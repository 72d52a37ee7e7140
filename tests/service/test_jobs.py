"""The leader's jobs, in-process: a real SQLite history and lab, the scheduler's jobs called directly.

Calling a job is what APScheduler does when it fires; the jobs' contract is what they write, with
which lease, and what they leave for shutdown and reloads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import update
from structlog.testing import capture_logs

from retrain_sentinel.alerts.notification import Message
from retrain_sentinel.delivery.sample import sample_message
from retrain_sentinel.errors import DeliveryError, StoreError
from retrain_sentinel.service.jobs import CountingChannel, Jobs
from retrain_sentinel.service.lease_loop import LEASE_NAME
from retrain_sentinel.service.metrics import SentinelMetrics
from retrain_sentinel.service.runtime import Runtime
from retrain_sentinel.service.schedule import current_slot
from retrain_sentinel.settings import parse_settings
from retrain_sentinel.sources.base import Source, SourceResult, WatchQuery
from retrain_sentinel.store import HistoryStore, LeaseToken, open_store
from retrain_sentinel.store.schema import notifications
from retrain_sentinel.store.testing import evaluation

from .conftest import DEGRADED, HEALTHY, SPARE, History, config
from .daemon_process import Lab, utcnow

TTL = timedelta(seconds=30)


@pytest.fixture
def now() -> datetime:
    return utcnow()


@pytest.fixture
def runtime(lab: Lab, sqlite_history: History) -> Iterator[Runtime]:
    """``degraded`` and ``healthy`` every second, ``spare`` on a cron schedule; the console channel."""
    document = config(sqlite_history.url, lab, models=(DEGRADED, HEALTHY, SPARE))
    document["models"][2]["schedule"] = {"cron": "*/5 * * * *"}
    runtime = Runtime.build(parse_settings(document, environ={}))
    yield runtime
    runtime.close()


@pytest.fixture
def store(runtime: Runtime) -> Iterator[HistoryStore]:
    with open_store(runtime.settings.database, migrate=True) as store:
        yield store


@pytest.fixture
def lease(store: HistoryStore) -> LeaseToken:
    token = store.acquire_or_renew_lease(LEASE_NAME, "me", TTL)
    assert token is not None
    return token


def every_second(runtime: Runtime) -> str:
    return runtime.watches[DEGRADED].settings.schedule.key


def leading(runtime: Runtime, store: HistoryStore, lease: LeaseToken | None, now: datetime) -> Jobs:
    jobs = Jobs(runtime, lease=lambda: lease, metrics=SentinelMetrics(), clock=lambda: now)
    jobs.connected(store)
    return jobs


@pytest.fixture
def jobs(runtime: Runtime, store: HistoryStore, lease: LeaseToken, now: datetime) -> Jobs:
    """The jobs of the replica holding ``lease``."""
    return leading(runtime, store, lease, now)


def sample(jobs: Jobs, name: str, **labels: str) -> float | None:
    return jobs.metrics.registry.get_sample_value(f"retrain_sentinel_{name}", labels)


# --- scheduling -------------------------------------------------------------------------------------


def test_one_job_per_distinct_schedule_plus_dispatch_and_retention(runtime: Runtime, now: datetime) -> None:
    jobs = Jobs(runtime, lease=lambda: None, metrics=SentinelMetrics(), clock=lambda: now)
    jobs.scheduler.start(paused=True)
    try:
        jobs.schedule()
        jobs.schedule()  # a reload schedules again: the same jobs, not twice as many
        found = {job.id: job for job in jobs.scheduler.get_jobs()}
        jobs.step_down()
        left = jobs.scheduler.get_jobs()
    finally:
        jobs.scheduler.shutdown(wait=False)
    keys = {watch.settings.schedule.key for watch in runtime.watches.values()}
    assert len(keys) == 2
    dispatch = {"dispatch"} | {f"dispatch:{channel}" for channel in runtime.channels}
    assert runtime.channels and set(found) == {f"schedule:{key}" for key in keys} | dispatch | {"retention"}
    assert {found[job_id].executor for job_id in dispatch} == {"delivery"}  # beside, not among, schedules
    overdue = {job_id: job.next_run_time for job_id, job in found.items() if job_id not in dispatch}
    assert overdue == {job_id: now for job_id in overdue}  # a new leader runs them at once
    assert left == []


# --- the schedule job -------------------------------------------------------------------------------


def test_a_schedule_job_records_its_watches_for_the_current_slot_once(
    runtime: Runtime, jobs: Jobs, sqlite_history: History, now: datetime
) -> None:
    jobs.run_schedule(every_second(runtime))
    jobs.run_schedule(every_second(runtime))  # the same slot again: skipped by the store
    slot = current_slot(runtime.watches[DEGRADED].settings.schedule, now)
    rows = sqlite_history.rows()
    assert sorted((r.model, r.slot_at, r.outcome) for r in rows) == [
        (DEGRADED, slot, "triggered"),
        (HEALTHY, slot, "ok"),
    ]
    assert sample(jobs, "evaluations_total", model=DEGRADED, outcome="triggered") == 1


def test_jobs_whose_lease_was_taken_over_are_fenced_and_write_nothing(
    runtime: Runtime, store: HistoryStore, lease: LeaseToken, sqlite_history: History, now: datetime
) -> None:
    store.release_lease(lease)
    taken = store.acquire_or_renew_lease(LEASE_NAME, "other", TTL)
    assert taken is not None and taken.token == lease.token + 1
    store.record([evaluation("ok", now - timedelta(days=400), model="old")], now=now)
    jobs = leading(runtime, store, lease, now)
    with capture_logs() as logs:
        jobs.run_schedule(every_second(runtime))
        jobs.dispatch()
        jobs.purge()
    fenced = [e for e in logs if e["event"] == "daemon.write_fenced"]
    assert [e["job"] for e in fenced] == [f"schedule:{every_second(runtime)}", "dispatch", "retention"]
    for event in fenced:
        assert f"token {taken.token}" in event["error"] and f"ours {lease.token}" in event["error"]
    assert [r.model for r in sqlite_history.rows()] == ["old"]  # nothing recorded, nothing purged


def test_a_standby_runs_no_job(
    runtime: Runtime, store: HistoryStore, sqlite_history: History, now: datetime
) -> None:
    jobs = leading(runtime, store, None, now)
    with capture_logs() as logs:
        jobs.run_schedule(every_second(runtime))
        jobs.dispatch()
        jobs.purge()
    assert logs == []
    assert sqlite_history.rows() == []
    assert jobs.wait(1)


class Failing:
    """A store whose every write raises ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def record(self, *_args: object, **_kwargs: object) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "event"),
    [
        (StoreError("the database went away"), "daemon.job_failed"),
        (ValueError("a bug"), "daemon.job_crashed"),
    ],
)
def test_a_failing_job_is_logged_and_leaves_the_scheduler_running(
    runtime: Runtime, lease: LeaseToken, now: datetime, error: Exception, event: str
) -> None:
    jobs = leading(runtime, cast(HistoryStore, Failing(error)), lease, now)
    with capture_logs() as logs:
        jobs.run_schedule(every_second(runtime))  # returns: a job never kills the scheduler's thread
    assert [(e["event"], e["job"]) for e in logs] == [(event, f"schedule:{every_second(runtime)}")]
    assert str(error) in logs[0]["error"]
    assert jobs.wait(1)  # no longer counted as running


# --- dispatch and retention -------------------------------------------------------------------------


def test_the_dispatch_job_delivers_and_counts_by_channel(
    runtime: Runtime, jobs: Jobs, sqlite_history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs.run_schedule(every_second(runtime))
    jobs.dispatch()  # the job for channels no longer configured leaves the configured ones alone
    assert sqlite_history.sent("log") == 0
    jobs.dispatch("log")
    assert sqlite_history.sent("log") == 1
    assert sample(jobs, "notifications_total", channel="log", outcome="sent") == 1
    assert DEGRADED in capsys.readouterr().err  # the console channel writes to stderr


def test_the_dispatch_job_without_a_channel_gives_up_rows_of_channels_no_longer_configured(
    runtime: Runtime, jobs: Jobs, store: HistoryStore, now: datetime
) -> None:
    jobs.run_schedule(every_second(runtime))
    (queued,) = store.outbox(status="pending")
    with store._engine.begin() as connection:  # the config lost the channel since the row was queued
        connection.execute(update(notifications).values(channel="removed"))
    jobs.dispatch("log")
    assert store.outbox(status="pending")[0].id == queued.id
    jobs.dispatch()
    (dead,) = store.outbox(status="dead")
    assert dead.id == queued.id and "no channel named 'removed'" in (dead.last_error or "")


def test_the_retention_job_purges_what_is_older_than_the_retention(
    runtime: Runtime, store: HistoryStore, lease: LeaseToken, sqlite_history: History, now: datetime
) -> None:
    days = runtime.settings.retention.days
    store.record(
        [
            evaluation("ok", now - timedelta(days=days + 1), model="old"),
            evaluation("ok", now - timedelta(days=days - 1), model="kept"),
        ],
        now=now,
    )
    jobs = leading(runtime, store, lease, now)
    with capture_logs() as logs:
        jobs.purge()
    assert [r.model for r in sqlite_history.rows()] == ["kept"]
    assert [e["event"] for e in logs] == ["daemon.retention"]


# --- reload and shutdown ----------------------------------------------------------------------------


class HeldSource:
    """Wraps a source: ``read`` waits until ``release`` is set; ``close`` is counted."""

    def __init__(self, inner: Source) -> None:
        self.inner = inner
        self.name = inner.name
        self.reading = threading.Event()
        self.release = threading.Event()
        self.closed = 0

    def read(self, watches: Sequence[WatchQuery], now: datetime) -> dict[str, SourceResult]:
        self.reading.set()
        self.release.wait(30)
        return self.inner.read(watches, now)

    def check(self) -> None:
        self.inner.check()

    def close(self) -> None:
        self.closed += 1
        self.inner.close()


def test_a_replaced_runtime_is_closed_only_once_no_job_uses_it(
    runtime: Runtime, store: HistoryStore, lease: LeaseToken, sqlite_history: History, now: datetime
) -> None:
    held = HeldSource(runtime.sources["lab"])
    runtime.sources = {"lab": held}
    jobs = leading(runtime, store, lease, now)
    worker = threading.Thread(target=jobs.run_schedule, args=[every_second(runtime)])
    worker.start()
    try:
        assert held.reading.wait(10)
        before = jobs.dispatcher
        reloaded = Runtime.build(runtime.settings)
        jobs.replace_runtime(reloaded)
        jobs.close_retired()
        assert held.closed == 0  # the running batch still reads through it
        assert not jobs.wait(0.2)  # shutdown would wait for it
        assert jobs.runtime is reloaded and jobs.dispatcher is not before
    finally:
        held.release.set()
        worker.join(30)
    assert jobs.wait(10)
    jobs.close_retired()
    assert held.closed == 1
    assert {r.model for r in sqlite_history.rows()} == {DEGRADED, HEALTHY}  # the batch finished
    reloaded.close()


def test_stop_taking_work_removes_every_job(runtime: Runtime, store: HistoryStore, now: datetime) -> None:
    jobs = leading(runtime, store, None, now)
    jobs.scheduler.start(paused=True)
    try:
        jobs.schedule()
        jobs.stop_taking_work()
        assert jobs.scheduler.get_jobs() == []
    finally:
        jobs.stop_scheduler()


# --- counting deliveries ----------------------------------------------------------------------------


class Scripted:
    """A channel that fails as scripted: ``None`` sends, an error is raised."""

    name = "ops"
    kind = "webhook"

    def __init__(self, *outcomes: DeliveryError | None) -> None:
        self.outcomes = list(outcomes)

    def send(self, message: Message) -> None:
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome

    def check(self) -> None: ...


def test_a_counting_channel_counts_each_notification_by_outcome(now: datetime) -> None:
    metrics = SentinelMetrics()
    channel = CountingChannel(
        Scripted(None, DeliveryError("busy"), DeliveryError("gone", retryable=False)), metrics
    )
    message = sample_message("ops", now)
    channel.send(message)
    for _ in range(2):
        with pytest.raises(DeliveryError):
            channel.send(message)
    size = len(message.notifications)
    for outcome in ("sent", "retry", "failed"):
        labels = {"channel": "ops", "outcome": outcome}
        assert metrics.registry.get_sample_value("retrain_sentinel_notifications_total", labels) == size
    assert (channel.name, channel.kind) == ("ops", "webhook")
