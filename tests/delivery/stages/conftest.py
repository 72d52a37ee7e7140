"""What the stage tests hand a stage: deliveries of rows claimed from a real store, or of plain rows
where the stage is pure, and real channels pointed at a pytest-httpserver receiver."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from pydantic import SecretStr
from pytest_httpserver import HTTPServer

from retrain_sentinel.alerts.notification import Notification
from retrain_sentinel.alerts.routes import ResolvedRoute
from retrain_sentinel.delivery.channels.base import Channel
from retrain_sentinel.delivery.channels.webhook import WebhookChannel
from retrain_sentinel.store import HistoryStore, LeaseToken, OutboxRow
from retrain_sentinel.store.testing import T0, evaluation, routes

HOLDER = "dispatcher-test"
HOOK = routes("hook", kinds={"hook": "webhook"})


def outbox_row(
    *, created_at: datetime = T0, attempts: int = 0, last_error: str | None = None, channel: str = "hook"
) -> OutboxRow:
    """A pending, claimed row as plain values, for the pure stages."""
    notification = Notification(
        id="n-1",
        watch="churn",
        channel=channel,
        kind="firing",
        severity="warning",
        created_at=created_at,
        reason="test",
    )
    return OutboxRow(
        id="n-1",
        watch="churn",
        channel=channel,
        kind="firing",
        severity="warning",
        episode=None,
        notification=notification,
        status="pending",
        attempts=attempts,
        next_attempt_at=created_at,
        created_at=created_at,
        position=1,
        sent_at=None,
        last_error=last_error,
        group_id=None,
        claimed_by=HOLDER,
        claimed_until=created_at + timedelta(minutes=1),
    )


@pytest.fixture
def row() -> Callable[..., OutboxRow]:
    return outbox_row


@pytest.fixture
def claim(store: HistoryStore) -> Callable[..., tuple[OutboxRow, ...]]:
    """Record a firing for each model (default: churn) at ``T0``, routed to ``route``, and claim the
    rows it queued for ``HOLDER`` (with ``lease``, when given)."""

    def make(
        *models: str, route: list[ResolvedRoute] = HOOK, lease: LeaseToken | None = None
    ) -> tuple[OutboxRow, ...]:
        watches = models or ("churn",)
        store.record(
            [evaluation("triggered", T0, model=m) for m in watches],
            now=T0,
            routes=dict.fromkeys(watches, route),
        )
        return store.claim_due(T0, HOLDER, claim_for=timedelta(minutes=5), lease=lease).rows

    return make


@pytest.fixture
def webhook(httpserver: HTTPServer) -> Callable[..., Channel]:
    """A real webhook channel named ``name`` posting to ``path`` of the local receiver."""

    def make(name: str = "hook", path: str = "/hook") -> Channel:
        return WebhookChannel(name, SecretStr(httpserver.url_for(path)), timeout=5)

    return make
