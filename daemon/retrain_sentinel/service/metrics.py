"""The daemon's Prometheus metrics, in a registry of their own (no process-global state in tests)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["SentinelMetrics"]

_PREFIX = "retrain_sentinel_"


class SentinelMetrics:
    """Every metric DESIGN §9 names; ``registry`` is what ``/metrics`` renders."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.evaluations = Counter(
            _PREFIX + "evaluations", "Evaluations recorded, by model and outcome.", ["model", "outcome"], registry=r
        )
        self.model_triggered = Gauge(
            _PREFIX + "model_triggered", "1 when the model's latest evaluation fired.", ["model"], registry=r
        )
        self.last_evaluation = Gauge(
            _PREFIX + "last_evaluation_timestamp_seconds",
            "Unix time of the model's latest evaluation.",
            ["model"],
            registry=r,
        )
        self.evaluation_duration = Histogram(
            _PREFIX + "evaluation_duration_seconds", "Time to evaluate one watch (source read included).", registry=r
        )
        self.notifications = Counter(
            _PREFIX + "notifications", "Delivery attempts, by channel and outcome.", ["channel", "outcome"], registry=r
        )
        self.outbox_pending = Gauge(_PREFIX + "outbox_pending", "Notifications waiting for delivery.", registry=r)
        self.outbox_oldest_age = Gauge(
            _PREFIX + "outbox_oldest_pending_age_seconds", "Age of the oldest undelivered notification.", registry=r
        )
        self.dead_letters = Counter(
            _PREFIX + "dead_letters", "Notifications given up on (permanent error or max_age).", registry=r
        )
        self.leader = Gauge(_PREFIX + "leader", "1 while this process holds the scheduler lease.", registry=r)
        self.source_errors = Counter(
            _PREFIX + "source_errors", "Source reads that failed, by source.", ["source"], registry=r
        )
        self.record_failures = Counter(
            _PREFIX + "record_failures",
            "Evaluations the history database did not record (each is logged with its model).",
            registry=r,
        )
        self.config_reload_ok = Gauge(
            _PREFIX + "config_last_reload_successful", "1 when the last config (re)load succeeded.", registry=r
        )
