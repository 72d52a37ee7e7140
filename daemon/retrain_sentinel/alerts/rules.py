"""The alert rules (DESIGN §8): a pure ``transition(state, evaluation, now, …)``.

Like Prometheus Alertmanager, a model's alert has *state* (``ok`` / ``firing``) and, kept apart,
*health* (``healthy`` / ``broken``), each with counters for hysteresis:

- ``firing`` after ``for`` consecutive triggered evaluations; ``changed`` when a new trigger joins
  or the severity rises while firing; ``repeat`` every route's ``repeat_interval`` while firing;
- ``resolved`` after ``resolve_after`` consecutive ok evaluations, or when a decided evaluation
  carries a baseline version other than the one it fired on ("retrained"); sent only to routes
  that were notified of this firing and have ``send_resolved``;
- ``broken`` after ``error_after`` consecutive error/undecided evaluations, ``recovered`` at the
  next decided one (sent to the routes told it broke, when they ``send_resolved``);
- error and undecided evaluations neither resolve nor count toward or reset ``for`` /
  ``resolve_after``;
- a route's ``min_severity`` filters notifications, never state; a silence suppresses
  notifications, never state or history. A route that has not yet heard of a firing alert (it was
  silenced, below its ``min_severity`` or newly configured) gets a ``firing`` at the next evaluation
  where it may, so no one learns of an alert from its ``resolved`` first.

Every change carries the rule that produced it (``Change.rule`` and ``reason``), as Alertmanager's
``needsUpdate`` says why it notifies. Resolution by the *outbox* — "only to routes whose firing was
delivered" — is finished at dispatch time: here a route counts as notified once its notification is
queued; the dispatcher supersedes a ``resolved`` whose episode was never delivered on that route.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from retrain_sentinel.alerts.notification import Notification, TransitionKind
from retrain_sentinel.alerts.routes import ResolvedRoute
from retrain_sentinel.alerts.superseding import track_of
from retrain_sentinel.durations import format_duration
from retrain_sentinel.evaluation import Evaluation
from retrain_sentinel.verdict import severity_rank

__all__ = [
    "BROKEN_SEVERITY",
    "AlertRuleSettings",
    "AlertState",
    "Change",
    "Transition",
    "fingerprint",
    "transition",
]

BROKEN_SEVERITY = "warning"
"""A watch that cannot be judged is worth a warning: below it, nobody would learn it went blind."""


class AlertRuleSettings(BaseModel):
    """Per-watch hysteresis knobs (``for``, ``resolve_after``, ``error_after``); the config assembles it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    for_: int = Field(
        default=1, ge=1, alias="for", description="Consecutive triggered evaluations before firing."
    )
    resolve_after: int = Field(default=1, ge=1, description="Consecutive ok evaluations before resolving.")
    error_after: int = Field(default=3, ge=1, description="Consecutive failed evaluations before `broken`.")


@dataclass(frozen=True)
class AlertState:
    """One model's alert state; ``version`` is the store's optimistic-concurrency counter.

    ``notified`` maps each route's channel to when it was last told of the current firing (its
    firing, changed or repeat was queued); ``broken_routes`` are the routes told that the watch broke.
    ``episode`` / ``broken_episode`` identify the current firing and breakage, so the dispatcher can
    tell whether a ``resolved`` belongs to a firing that was really delivered.
    """

    watch: str
    alert_state: Literal["ok", "firing"] = "ok"
    health: Literal["healthy", "broken"] = "healthy"
    consecutive_triggered: int = 0
    consecutive_ok: int = 0
    consecutive_failures: int = 0
    fired_version: str | None = None
    fired_severity: str | None = None
    fired_triggers: tuple[str, ...] = ()
    fingerprint: str | None = None
    episode: str | None = None
    broken_episode: str | None = None
    notified: Mapping[str, datetime] = field(default_factory=dict)
    broken_routes: frozenset[str] = frozenset()
    version: int = 0


@dataclass(frozen=True)
class Change:
    """A change of state or health, with the rule that made it and why, in words."""

    kind: TransitionKind
    rule: str
    reason: str


@dataclass(frozen=True)
class Transition:
    """The rules' answer: the new state, the changes, and the notifications to queue."""

    state: AlertState
    changes: tuple[Change, ...]
    notifications: tuple[Notification, ...]


def fingerprint(model: str, triggers: Sequence[str]) -> str:
    """Model + sorted fired trigger names: detects ``changed``, never used as an idempotency key."""
    return f"{model}|{'+'.join(sorted(set(triggers)))}"


def _new_id() -> str:
    return uuid.uuid4().hex


def _plural(n: int, word: str) -> str:
    return f"{n} consecutive {word}" + ("" if n == 1 else "s")


# --- state ----------------------------------------------------------------------------------------


def _health(
    state: AlertState, evaluation: Evaluation, rule: AlertRuleSettings, new_id: Callable[[], str]
) -> tuple[AlertState, list[Change]]:
    if evaluation.outcome in ("error", "undecided"):
        failures = state.consecutive_failures + 1
        state = replace(state, consecutive_failures=failures)
        if state.health == "healthy" and failures >= rule.error_after:
            why = evaluation.error or f"the last evaluation was {evaluation.outcome}"
            reason = f"{_plural(failures, 'failed evaluation')} (error_after: {rule.error_after}): {why}"
            state = replace(state, health="broken", broken_episode=new_id(), broken_routes=frozenset())
            return state, [Change("broken", "error_after", reason)]
        return state, []
    failures = state.consecutive_failures
    state = replace(state, consecutive_failures=0)
    if state.health == "broken":
        reason = f"decided ({evaluation.outcome}) again after {_plural(failures, 'failed evaluation')}"
        return replace(state, health="healthy"), [Change("recovered", "decided", reason)]
    return state, []


def _resolve(state: AlertState, rule_name: str, reason: str) -> tuple[AlertState, list[Change]]:
    state = replace(
        state,
        alert_state="ok",
        consecutive_triggered=0,
        fired_version=None,
        fired_severity=None,
        fired_triggers=(),
        fingerprint=None,
    )
    return state, [Change("resolved", rule_name, reason)]


def _alert(
    state: AlertState, evaluation: Evaluation, rule: AlertRuleSettings, new_id: Callable[[], str]
) -> tuple[AlertState, list[Change]]:
    if evaluation.outcome not in ("ok", "triggered"):
        return state, []
    version = evaluation.baseline_version
    if state.alert_state == "firing" and version is not None and state.fired_version not in (None, version):
        reason = f"retrained: baseline version {state.fired_version} → {version}"
        return _resolve(replace(state, consecutive_ok=0), "retrained", reason)
    if evaluation.outcome == "ok":
        count = state.consecutive_ok + 1
        state = replace(state, consecutive_ok=count, consecutive_triggered=0)
        if state.alert_state == "firing" and count >= rule.resolve_after:
            reason = f"ok for {_plural(count, 'evaluation')} (resolve_after: {rule.resolve_after})"
            return _resolve(state, "resolve_after", reason)
        return state, []
    report = evaluation.report
    severity = report.severity if report is not None else "warning"
    triggers = tuple(report.fired_triggers) if report is not None else ()
    count = state.consecutive_triggered + 1
    state = replace(state, consecutive_triggered=count, consecutive_ok=0)
    if state.alert_state == "ok":
        if count < rule.for_:
            return state, []
        names = ", ".join(triggers) or "the policy"
        reason = f"triggered for {_plural(count, 'evaluation')} (for: {rule.for_}): {names}, {severity}"
        state = replace(
            state,
            alert_state="firing",
            fired_version=version,
            fired_severity=severity,
            fired_triggers=tuple(sorted(set(triggers))),
            fingerprint=fingerprint(state.watch, triggers),
            episode=new_id(),
            notified={},
        )
        return state, [Change("firing", "for", reason)]
    return _escalate(state, severity, triggers)


def _escalate(state: AlertState, severity: str, triggers: tuple[str, ...]) -> tuple[AlertState, list[Change]]:
    joined = sorted(set(triggers) - set(state.fired_triggers))
    previous = state.fired_severity or "info"
    rose = severity_rank(severity) > severity_rank(previous)
    if not joined and not rose:
        return state, []
    parts = []
    if joined:
        parts.append(f"{', '.join(joined)} joined")
    if rose:
        parts.append(f"severity rose {previous} → {severity}")
    union = tuple(sorted(set(state.fired_triggers) | set(triggers)))
    state = replace(
        state,
        fired_triggers=union,
        fired_severity=severity if rose else previous,
        fingerprint=fingerprint(state.watch, union),
    )
    return state, [Change("changed", "changed", "; ".join(parts))]


# --- notifications --------------------------------------------------------------------------------


@dataclass
class _Outbox:
    """Collects one evaluation's notifications (the only mutable thing here, local to a call)."""

    evaluation: Evaluation
    now: datetime
    new_id: Callable[[], str]
    items: list[Notification] = field(default_factory=list)

    def add(self, route: ResolvedRoute, change: Change, severity: str, episode: str | None) -> None:
        metadata: dict[str, Any] = {"rule": change.rule, "track": track_of(change.kind), "episode": episode}
        self.items.append(
            Notification(
                id=self.new_id(),
                watch=self.evaluation.watch,
                channel=route.channel,
                kind=change.kind,
                severity=severity,
                created_at=self.now,
                reason=change.reason,
                report=self.evaluation.report,
                model_version=self.evaluation.baseline_version,
                error=self.evaluation.error,
                link=route.link,
                metadata=metadata,
            )
        )


def _route_change(
    state: AlertState, route: ResolvedRoute, change: Change | None, now: datetime
) -> Change | None:
    """What this route hears while the alert fires: the change, a late firing, a repeat, or nothing."""
    if change is not None:
        return change
    last = state.notified.get(route.channel)
    if last is None:
        names = ", ".join(state.fired_triggers) or "the policy"
        return Change("firing", "unnotified_route", f"firing, not yet notified on this route: {names}")
    if route.repeat_interval is not None and now - last >= route.repeat_interval:
        every = format_duration(route.repeat_interval)
        return Change(
            "repeat",
            "repeat_interval",
            f"still firing; repeat_interval {every} elapsed since the last notification",
        )
    return None


def _alert_notifications(
    before: AlertState,
    state: AlertState,
    change: Change | None,
    routes: Sequence[ResolvedRoute],
    out: _Outbox,
) -> AlertState:
    if change is not None and change.kind == "resolved":
        for route in routes:
            if route.channel in before.notified and route.send_resolved:
                out.add(route, change, before.fired_severity or "info", before.episode)
        return replace(state, notified={})
    if state.alert_state != "firing":
        return state
    severity = state.fired_severity or "warning"
    notified = dict(state.notified)
    for route in routes:
        heard = _route_change(state, route, change, out.now) if route.accepts(severity) else None
        if heard is not None:
            out.add(route, heard, severity, state.episode)
            notified[route.channel] = out.now
    return replace(state, notified=notified)


def _health_notifications(
    before: AlertState,
    state: AlertState,
    change: Change | None,
    routes: Sequence[ResolvedRoute],
    out: _Outbox,
) -> AlertState:
    if change is None:
        return state
    if change.kind == "broken":
        told = [r for r in routes if r.accepts(BROKEN_SEVERITY)]
        for route in told:
            out.add(route, change, BROKEN_SEVERITY, state.broken_episode)
        return replace(state, broken_routes=frozenset(r.channel for r in told))
    for route in routes:
        if route.channel in before.broken_routes and route.send_resolved:
            out.add(route, change, BROKEN_SEVERITY, before.broken_episode)
    return replace(state, broken_routes=frozenset(), broken_episode=None)


def transition(
    state: AlertState,
    evaluation: Evaluation,
    now: datetime,
    rule: AlertRuleSettings,
    routes: Sequence[ResolvedRoute],
    *,
    silenced: bool = False,
    new_id: Callable[[], str] = _new_id,
) -> Transition:
    """Apply one evaluation to ``state``: the new state, what changed and why, what to send where.

    Pure but for ``new_id`` (notification ids are uuid4 hex, the idempotency keys); pass a
    deterministic one in tests. ``now`` is the time of the batch, stamped on every notification.
    """
    before = state
    state, health_changes = _health(state, evaluation, rule, new_id)
    state, alert_changes = _alert(state, evaluation, rule, new_id)
    out = _Outbox(evaluation, now, new_id)
    heard = () if silenced else routes  # a silence mutes the routes; the state moves on regardless
    state = _health_notifications(before, state, next(iter(health_changes), None), heard, out)
    state = _alert_notifications(before, state, next(iter(alert_changes), None), heard, out)
    if state.alert_state == "ok" and before.alert_state == "firing":
        state = replace(state, episode=None)
    return Transition(state=state, changes=(*health_changes, *alert_changes), notifications=tuple(out.items))
