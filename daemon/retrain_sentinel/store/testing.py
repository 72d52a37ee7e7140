"""Test helpers: throw-away PostgreSQL databases and schemas, and evaluations as a policy makes them.

The contract tests run every store test on SQLite and on PostgreSQL. Each test session gets its own
database (``rs_test_<random>``, dropped at the end) and each test its own schema in it, selected
through the connection's ``search_path`` — fresh tables per test at the price of one ``CREATE
SCHEMA``. Shipped in the package (like ``structlog.testing``) so every suite can use the same ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from retrain_sentinel.alerts.routes import ResolvedRoute, RouteSettings
from retrain_sentinel.evaluation import OUTCOMES, Evaluation, Outcome
from retrain_sentinel.report import RetrainingReport
from retrain_sentinel.verdict import TriggerDetail

__all__ = ["T0", "evaluation", "postgres_database", "postgres_schema_url", "report", "routes"]


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """Create a uniquely named database on ``server_url``'s server; yield its URL; drop it after."""
    name = _unique("rs_test")
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def postgres_schema_url(database_url: str) -> str:
    """Create a fresh schema in the database; return a URL whose connections use only it."""
    schema = _unique("t")
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    finally:
        engine.dispose()
    url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


T0 = datetime(2026, 3, 1, tzinfo=UTC)


def report(
    triggers: Sequence[str] = (), severity: str = "warning", *, model: str = "churn"
) -> RetrainingReport:
    fired = set(triggers)
    names = sorted(fired | {"drift", "performance"})
    details = [
        TriggerDetail(
            trigger_name=name,
            triggered=name in fired,
            severity=severity if name in fired else "info",
            reason=f"{name} {'fired' if name in fired else 'within threshold'}",
            metrics={"js_divergence": 0.31} if name == "drift" else {},
            threshold=0.15,
            actual_value=0.31 if name in fired else 0.05,
        )
        for name in names
    ]
    return RetrainingReport(
        triggered=bool(fired),
        trigger_details=details,
        recommendations=["retrain"] if fired else ["No action needed"],
        severity=severity if fired else "info",
        timestamp=T0,
        metadata={"model": model, "decision": "fired" if fired else "not_fired"},
    )


def evaluation(
    outcome: Outcome,
    at: datetime,
    *,
    model: str = "churn",
    triggers: Sequence[str] = ("drift",),
    severity: str = "warning",
    version: str | None = "3",
    slot_at: datetime | None = None,
    error: str | None = None,
) -> Evaluation:
    """An evaluation with outcome ``ok`` / ``triggered`` / ``undecided`` / ``error``."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    rep: RetrainingReport | None
    if outcome == "triggered":
        rep = report(triggers, severity, model=model)
    elif outcome in ("ok", "undecided"):
        rep = report((), model=model)
    else:
        rep = None
    return Evaluation(
        watch=model,
        evaluated_at=at,
        outcome=outcome,
        slot_at=slot_at,
        report=rep,
        error=error or ("source 'lab' for model 'churn': timed out" if outcome == "error" else None),
        duration=0.01,
        baseline_version=version,
    )


def routes(*entries: str | dict[str, object], kinds: dict[str, str] | None = None) -> list[ResolvedRoute]:
    """Resolved routes; the channel kind is looked up in ``kinds`` (default slack)."""
    kinds = kinds or {}
    resolved = []
    for entry in entries:
        settings = RouteSettings.model_validate(entry)
        resolved.append(settings.resolve(kinds.get(settings.channel, "slack")))
    return resolved
