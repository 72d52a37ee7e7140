"""The dispatcher against a real local HTTP receiver (pytest-httpserver) and a real database."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from retrain_sentinel.alerts.notification import Message
from retrain_sentinel.alerts.routes import ResolvedRoute
from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.delivery.channels.slack import SlackChannel
from retrain_sentinel.delivery.channels.webhook import WebhookChannel
from retrain_sentinel.delivery.dispatcher import Dispatcher, backoff_delay
from retrain_sentinel.delivery.settings import DeliverySettings
from retrain_sentinel.errors import StoreError
from retrain_sentinel.evaluation import Outcome
from retrain_sentinel.store import HistoryStore, LeaseToken, RecordResult, upgrade
from retrain_sentinel.store.testing import evaluation, routes

FAST = DeliverySettings(base_delay=timedelta(milliseconds=50), max_delay=timedelta(milliseconds=200))
HOOK = routes("hook", kinds={"hook": "webhook"})
TEAM = routes("team")  # a Slack channel


@dataclass
class Receiver:
    """Answers each POST with the next scripted status (the last one repeats) and records it."""

    statuses: list[int | tuple[int, dict[str, str], str]]
    requests: list[tuple[float, dict[str, str], dict[str, object]]] = field(default_factory=list)

    def __call__(self, request: Request) -> Response:
        self.requests.append(
            (time.monotonic(), dict(request.headers), json.loads(request.get_data() or b"{}"))
        )
        answer = self.statuses[min(len(self.requests) - 1, len(self.statuses) - 1)]
        status, headers, body = answer if isinstance(answer, tuple) else (answer, {}, "")
        return Response(body, status=status, headers=headers)

    @property
    def keys(self) -> list[str]:
        return [headers["Idempotency-Key"] for _, headers, _ in self.requests]


@pytest.fixture
def receive(httpserver: HTTPServer) -> Callable[..., Receiver]:
    def make(*statuses: int | tuple[int, dict[str, str], str], path: str = "/hook") -> Receiver:
        receiver = Receiver(list(statuses))
        httpserver.expect_request(path, method="POST").respond_with_handler(receiver)
        return receiver

    return make


def _now() -> datetime:
    return datetime.now(UTC)


def _queue(
    store: HistoryStore, *models: str, outcome: Outcome = "triggered", route: list[ResolvedRoute] = HOOK
) -> RecordResult:
    """Record one ``outcome`` evaluation per model (default: churn) now, each routed to ``route``."""
    watches = models or ("churn",)
    now = _now()
    return store.record(
        [evaluation(outcome, now, model=m) for m in watches], now=now, routes=dict.fromkeys(watches, route)
    )


def _webhook(httpserver: HTTPServer, name: str = "hook", path: str = "/hook") -> Channel:
    return WebhookChannel(name, SecretStr(httpserver.url_for(path)), secrets=[SecretStr("k")], timeout=5)


def _drain(dispatcher: Dispatcher, until: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not until():
        assert time.monotonic() < deadline, "the dispatcher did not finish in time"
        dispatcher.run_once(_now())
        time.sleep(0.02)


@pytest.fixture
def fired(store: HistoryStore) -> Iterator[HistoryStore]:
    _queue(store)
    yield store


def test_500_500_200_is_delivered_once_after_two_retries(
    fired: HistoryStore, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    receiver = receive(500, 500, 200)
    dispatcher = Dispatcher(fired, {"hook": _webhook(httpserver)}, FAST)
    _drain(dispatcher, lambda: fired.outbox(status="sent") != [])
    (row,) = fired.outbox()
    assert len(receiver.requests) == 3 and row.attempts == 2
    assert receiver.keys == [row.id] * 3  # one idempotency key across retries
    time.sleep(0.3)
    dispatcher.run_once(_now())
    assert len(receiver.requests) == 3


def test_429_retry_after_is_honoured(
    fired: HistoryStore, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    receiver = receive((429, {"Retry-After": "2"}, "slow down"), 200)
    dispatcher = Dispatcher(fired, {"hook": _webhook(httpserver)}, FAST)
    dispatcher.run_once(_now())
    (row,) = fired.outbox()
    assert row.next_attempt_at - row.created_at >= timedelta(seconds=2)
    _drain(dispatcher, lambda: fired.outbox(status="sent") != [], seconds=6)
    first, second = receiver.requests[0][0], receiver.requests[1][0]
    assert second - first >= 1.9
    assert len(receiver.requests) == 2


def test_400_is_dead_at_once_and_goes_to_the_dead_letter_channel(
    fired: HistoryStore, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    receiver = receive((400, {}, "invalid_payload"))
    dead_letters = receive(200, path="/dead")
    settings = FAST.model_copy(update={"dead_letter_channel": "dead"})
    channels = {"hook": _webhook(httpserver), "dead": _webhook(httpserver, "dead", "/dead")}
    stats = Dispatcher(fired, channels, settings).run_once(_now())
    assert (stats.dead, stats.dead_lettered) == (1, 1)
    time.sleep(0.3)
    Dispatcher(fired, channels, settings).run_once(_now())
    assert len(receiver.requests) == 1
    (row,) = fired.outbox()
    assert row.status == "dead" and "400" in (row.last_error or "")
    assert httpserver.url_for("/hook") not in (row.last_error or "")
    (_, _, body) = dead_letters.requests[0]
    assert "churn" in json.dumps(body)


def test_firing_then_resolved_while_the_receiver_is_down_are_not_sent_late(
    fired: HistoryStore, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    receiver = receive(503, 200)
    dispatcher = Dispatcher(fired, {"hook": _webhook(httpserver)}, FAST)
    dispatcher.run_once(_now())  # 503: the firing waits for a retry
    _queue(fired, outcome="ok")
    time.sleep(0.3)
    stats = dispatcher.run_once(_now())
    assert stats.superseded == 2 and stats.sent == 0
    assert len(receiver.requests) == 1
    assert sorted(r.status for r in fired.outbox()) == ["superseded", "superseded"]
    _queue(fired)  # the next firing goes out
    dispatcher.run_once(_now())
    assert [body["notifications"][0]["transition"] for _, _, body in receiver.requests[1:]] == ["firing"]  # type: ignore[index]


def test_too_old_notifications_are_dead_without_an_attempt(
    fired: HistoryStore, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    receiver = receive(200)
    stats = Dispatcher(fired, {"hook": _webhook(httpserver)}, FAST).run_once(_now() + timedelta(hours=25))
    assert stats.dead == 1 and receiver.requests == []
    assert fired.outbox()[0].status == "dead"


def test_a_group_is_delivered_as_one_message(
    store: HistoryStore, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    _queue(store, *[f"m{i}" for i in range(5)], route=TEAM)
    receiver = receive((200, {}, "ok"), path="/slack")
    slack = SlackChannel("team", SecretStr(httpserver.url_for("/slack")))
    stats = Dispatcher(store, {"team": slack}, FAST).run_once(_now())
    assert stats.sent == 5 and len(receiver.requests) == 1
    assert {r.status for r in store.outbox()} == {"sent"}


def test_slack_is_paced_to_one_message_per_second(
    store: HistoryStore, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    _queue(store, "a", "b", route=TEAM)
    receiver = receive((200, {}, "ok"), path="/slack")
    slack = SlackChannel("team", SecretStr(httpserver.url_for("/slack")))
    Dispatcher(store, {"team": slack}, FAST).run_once(_now())
    (first, _, _), (second, _, _) = receiver.requests
    assert second - first >= 0.95


def test_retry_after_counts_from_the_rate_limited_answer_not_the_start_of_the_run(
    store: HistoryStore, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    _queue(store, "a", "b", route=TEAM)
    receiver = receive((200, {}, "ok"), (429, {"Retry-After": "2"}, "rate_limited"), path="/slack")
    slack = SlackChannel("team", SecretStr(httpserver.url_for("/slack")))
    start, start_clock = _now(), time.monotonic()
    Dispatcher(store, {"team": slack}, FAST).run_once(start)
    (_, (answered, _, _)) = receiver.requests  # the second was paced a second after the first
    (waiting,) = store.outbox(status="pending")
    answered_at = start + timedelta(seconds=answered - start_clock)
    assert waiting.next_attempt_at - answered_at >= timedelta(seconds=1.9)


def test_dead_letters_to_slack_are_paced_too(
    store: HistoryStore, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    _queue(store, "a", "b")
    receive((400, {}, "invalid_payload"))
    dead_letters = receive((200, {}, "ok"), path="/slack")
    settings = FAST.model_copy(update={"dead_letter_channel": "ops"})
    channels = {
        "hook": _webhook(httpserver),
        "ops": SlackChannel("ops", SecretStr(httpserver.url_for("/slack"))),
    }
    stats = Dispatcher(store, channels, settings).run_once(_now())
    assert stats.dead_lettered == 2
    (first, _, _), (second, _, _) = dead_letters.requests
    assert second - first >= 0.95


def test_a_stopped_dispatcher_hands_its_claims_back(
    store: HistoryStore, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    _queue(store, "a", "b")
    receiver = receive(200)
    dispatcher = Dispatcher(
        store, {"hook": _webhook(httpserver)}, FAST, pause_hook=lambda rows: dispatcher.stop()
    )
    stats = dispatcher.run_once(_now())
    assert stats.released == 2 and receiver.requests == []
    assert all(r.claimed_by is None and r.status == "pending" for r in store.outbox())


def test_without_the_lease_nothing_is_sent(
    fired: HistoryStore, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    receiver = receive(200)
    stats = Dispatcher(fired, {"hook": _webhook(httpserver)}, FAST, lease_provider=lambda: None).run_once(
        _now()
    )
    assert stats.claimed == 0 and receiver.requests == []


def test_only_the_given_notifications_are_claimed(
    store: HistoryStore, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    queued_earlier = _queue(store, "churn")
    mine = _queue(store, "fraud")
    receiver = receive(200)
    stats = Dispatcher(store, {"hook": _webhook(httpserver)}, FAST).run_once(
        _now(), only=[n.id for n in mine.notifications]
    )
    assert stats.sent == 1 and receiver.keys == [mine.notifications[0].id]
    (other,) = store.outbox(model="churn")
    assert (
        other.id == queued_earlier.notifications[0].id and other.status == "pending" and other.attempts == 0
    )


class Watching:
    """A real channel that notes the outbox's statuses right after its receiver accepted a message."""

    def __init__(self, inner: Channel, store: HistoryStore) -> None:
        self.inner, self.store = inner, store
        self.name, self.kind = inner.name, inner.kind
        self.seen: list[list[str]] = []

    def send(self, message: Message) -> None:
        self.inner.send(message)
        self.seen.append([r.status for r in self.store.outbox()])

    def check(self) -> None:
        self.inner.check()


def test_a_row_is_marked_sent_only_after_its_channel_accepted_it(
    fired: HistoryStore, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    receive(200)
    channel = Watching(_webhook(httpserver), fired)
    Dispatcher(fired, {"hook": channel}, FAST).run_once(_now())
    assert channel.seen == [["pending"]]
    assert [r.status for r in fired.outbox()] == ["sent"]


class Broken:
    """A channel with a bug: it raises something other than ``DeliveryError``."""

    name, kind = "broken", "webhook"

    def send(self, message: Message) -> None:
        raise KeyError("blocks")

    def check(self) -> None: ...


def test_a_channel_bug_is_retried_and_does_not_stop_the_other_messages(
    store: HistoryStore, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    _queue(store, "a", route=routes("broken", kinds={"broken": "webhook"}))
    _queue(store, "b")
    receiver = receive(200)
    stats = Dispatcher(store, {"broken": Broken(), "hook": _webhook(httpserver)}, FAST).run_once(_now())
    assert (stats.retried, stats.sent, len(receiver.requests)) == (1, 1, 1)
    (broken,) = store.outbox(model="a")
    assert broken.last_error == "webhook channel 'broken' failed: KeyError"


def test_backoff_is_full_jitter_capped_and_floored_by_retry_after() -> None:
    base, cap = timedelta(seconds=2), timedelta(minutes=10)
    assert backoff_delay(0, base=base, cap=cap, jitter=0.5) == timedelta(seconds=1)
    assert backoff_delay(3, base=base, cap=cap, jitter=0.999) < timedelta(seconds=16)
    assert backoff_delay(30, base=base, cap=cap, jitter=1.0) == cap
    assert backoff_delay(0, base=base, cap=cap, jitter=0.0, retry_after=2) == timedelta(seconds=2)


def test_no_byte_of_a_secret_reaches_the_database_or_the_logs(
    tmp_path: Path,
    httpserver: HTTPServer,
    receive: Callable[..., Receiver],
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret_path = "/services/T000/B000/s3cr3t-t0ken"
    receive(500, path=secret_path)
    url = f"sqlite:///{tmp_path / 'history.db'}"
    upgrade(url)
    with HistoryStore(url) as history:
        _queue(history)
        channel = WebhookChannel(
            "hook", SecretStr(httpserver.url_for(secret_path)), secrets=[SecretStr("hmac-k3y")]
        )
        Dispatcher(history, {"hook": channel}, FAST).run_once(_now())
        assert history.outbox()[0].attempts == 1
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    captured = capsys.readouterr()
    for secret in ("s3cr3t-t0ken", "hmac-k3y"):
        assert secret.encode() not in stored
        assert secret not in captured.out + captured.err


# --- issue 11: store failures after a send, down receivers, absurd Retry-After ----------------------


class MarkSentFailsOnce(HistoryStore):
    """A real store whose first ``mark_sent`` fails, as when PostgreSQL terminates the backend."""

    failed = False

    def mark_sent(self, ids: Iterable[str], now: datetime, *, lease: LeaseToken | None = None) -> int:
        if not self.failed:
            self.failed = True
            raise StoreError("marking notifications sent failed: the connection was terminated")
        return super().mark_sent(ids, now, lease=lease)


def test_rows_whose_marking_failed_are_sent_again_by_the_next_run_not_after_claim_timeout(
    database_url: str, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    receiver = receive(200)
    with MarkSentFailsOnce(database_url) as store:
        _queue(store, "a", "b")
        dispatcher = Dispatcher(store, {"hook": _webhook(httpserver)}, FAST)  # claim_timeout: 2 min
        first = dispatcher.run_once(_now())
        assert (first.sent, first.unrecorded) == (0, 2)  # the store failed after the first send
        second = dispatcher.run_once(_now())
        assert second.sent == 2
        assert [r.status for r in store.outbox()] == ["sent", "sent"]
    first_key = receiver.keys[0]
    assert receiver.keys.count(first_key) == 2 and len(receiver.keys) == 3  # one duplicate, same key


def test_after_a_retryable_failure_the_rest_of_the_run_is_not_tried_on_that_channel(
    store: HistoryStore, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    receiver = receive(503)
    _queue(store, "a", "b", "c")
    stats = Dispatcher(store, {"hook": _webhook(httpserver)}, FAST).run_once(_now())
    assert len(receiver.requests) == 1 and (stats.retried, stats.released) == (1, 2)
    assert [r.attempts for r in store.outbox()] == [1, 0, 0]  # the others were not counted


def test_an_absurd_retry_after_is_capped_not_a_crash(
    fired: HistoryStore, httpserver: HTTPServer, receive: Callable[..., Receiver]
) -> None:
    receive((429, {"Retry-After": "1e300"}, "slow down"))
    stats = Dispatcher(fired, {"hook": _webhook(httpserver)}, FAST).run_once(_now())
    (row,) = fired.outbox()
    assert stats.retried == 1 and row.next_attempt_at - _now() <= timedelta(days=1)
