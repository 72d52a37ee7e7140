"""Alert states: one row per model, written with optimistic concurrency (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from retrain_sentinel.alerts.rules import AlertRuleSettings, AlertState
from retrain_sentinel.store import HistoryStore, alert_states
from retrain_sentinel.store.engine import make_engine
from retrain_sentinel.store.testing import T0, evaluation, routes

H = timedelta(hours=1)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    yield made
    made.dispose()


def test_a_model_has_no_state_before_its_first_evaluation(store: HistoryStore) -> None:
    assert store.alert_state("churn") is None
    assert store.alert_states() == []


def test_alert_states_lists_every_model_by_name(store: HistoryStore) -> None:
    store.record([evaluation("triggered", T0, model=m) for m in ("b", "a")], now=T0)
    assert [(s.watch, s.alert_state, s.version) for s in store.alert_states()] == [
        ("a", "firing", 1),
        ("b", "firing", 1),
    ]


def test_a_state_round_trips_with_its_routes_and_episodes(store: HistoryStore) -> None:
    rules = {"churn": AlertRuleSettings.model_validate({"error_after": 1})}
    slack = {"churn": routes("ml-team")}
    store.record([evaluation("triggered", T0)], now=T0, rules=rules, routes=slack)
    result = store.record([evaluation("error", T0 + H)], now=T0 + H, rules=rules, routes=slack)
    written = result.states["churn"]
    assert written.notified == {"ml-team": T0} and written.broken_routes == {"ml-team"}
    assert written.episode is not None and written.broken_episode is not None
    assert written.fired_triggers == ("drift",) and written.fingerprint == "churn|drift"
    assert store.alert_state("churn") == written


def test_each_write_bumps_the_version(engine: Engine) -> None:
    with engine.begin() as connection:
        first = alert_states.write(connection, AlertState(watch="churn"), None, T0)
    with engine.begin() as connection:
        second = alert_states.write(connection, replace(first, consecutive_ok=1), first, T0 + H)
    assert (first.version, second.version) == (1, 2)
    with engine.connect() as connection:
        assert alert_states.read(connection, "churn") == second


def test_a_write_over_a_version_no_longer_current_is_a_conflict(engine: Engine) -> None:
    with engine.begin() as connection:
        first = alert_states.write(connection, AlertState(watch="churn"), None, T0)
    with engine.begin() as connection:
        alert_states.write(connection, replace(first, consecutive_ok=1), first, T0 + H)
    with pytest.raises(alert_states.StateConflict), engine.begin() as connection:
        alert_states.write(connection, replace(first, consecutive_ok=5), first, T0 + 2 * H)
    with engine.connect() as connection:
        kept = alert_states.read(connection, "churn")
    assert kept is not None and kept.version == 2 and kept.consecutive_ok == 1
