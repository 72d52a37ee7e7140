"""The alert rules (DESIGN §8) over sequences of evaluations: exactly which notification goes where."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import timedelta

import pytest

from retrain_sentinel.alerts.routes import ResolvedRoute, RouteSettings
from retrain_sentinel.alerts.rules import AlertRuleSettings, AlertState, Transition, transition
from retrain_sentinel.evaluation import Evaluation
from retrain_sentinel.report import RetrainingReport
from retrain_sentinel.store.testing import T0, evaluation, routes

H = timedelta(hours=1)
KINDS = {"ml-team": "slack", "retrain": "webhook", "oncall": "email"}
ROUTES = routes(
    "ml-team",
    {"channel": "retrain", "min_severity": "warning"},
    {"channel": "oncall", "min_severity": "critical", "send_resolved": False},
    kinds=KINDS,
)


class Run:
    """Feeds evaluations through ``transition`` like the store does, keeping the state."""

    def __init__(self, rule: AlertRuleSettings, route_list: Sequence[ResolvedRoute] = ROUTES) -> None:
        self.rule = rule
        self.routes = route_list
        self.state = AlertState(watch="churn")
        self.ids = (f"n{i}" for i in itertools.count())

    def step(self, record: Evaluation, *, silenced: bool = False) -> Transition:
        result = transition(
            self.state,
            record,
            record.evaluated_at,
            self.rule,
            self.routes,
            silenced=silenced,
            new_id=lambda: next(self.ids),
        )
        self.state = result.state
        return result

    def sent(self, record: Evaluation, *, silenced: bool = False) -> set[tuple[str, str]]:
        return {(n.channel, n.kind) for n in self.step(record, silenced=silenced).notifications}


def test_documented_sequence_gives_exactly_the_expected_notifications_per_route() -> None:
    run = Run(AlertRuleSettings.model_validate({"for": 2}))
    both = lambda kind: {("ml-team", kind), ("retrain", kind)}  # noqa: E731 - a table reads better so
    expected: list[tuple[Evaluation, set[tuple[str, str]]]] = [
        (evaluation("ok", T0), set()),
        (evaluation("triggered", T0 + H), set()),  # 1 of for: 2
        (evaluation("triggered", T0 + 2 * H), both("firing")),  # oncall wants critical only
        (evaluation("triggered", T0 + 3 * H), set()),
        (evaluation("triggered", T0 + 27 * H), {("ml-team", "repeat")}),  # 25 h later; webhook: never
        (
            evaluation("triggered", T0 + 28 * H, triggers=("drift", "performance"), severity="critical"),
            {*both("changed"), ("oncall", "changed")},
        ),
        (evaluation("undecided", T0 + 29 * H), set()),
        (evaluation("ok", T0 + 30 * H), both("resolved")),  # oncall: send_resolved false
        (evaluation("triggered", T0 + 31 * H), set()),
        (evaluation("triggered", T0 + 32 * H), both("firing")),
        (evaluation("triggered", T0 + 33 * H, version="4"), both("resolved")),  # retrained
        (evaluation("error", T0 + 34 * H), set()),
        (evaluation("error", T0 + 35 * H), set()),
        (evaluation("error", T0 + 36 * H), both("broken")),
        (evaluation("ok", T0 + 37 * H, version="4"), both("recovered")),
        (evaluation("triggered", T0 + 38 * H, version="4"), set()),
    ]
    for record, notifications in expected:
        assert run.sent(record) == notifications, record
    assert run.sent(evaluation("triggered", T0 + 39 * H, version="4"), silenced=True) == set()
    assert run.state.alert_state == "firing"  # the silence muted the routes, not the rules
    assert run.sent(evaluation("triggered", T0 + 40 * H, version="4")) == both("firing")


def test_firing_needs_for_consecutive_triggered_and_failures_do_not_reset_the_count() -> None:
    run = Run(AlertRuleSettings.model_validate({"for": 2}))
    assert run.sent(evaluation("triggered", T0)) == set()
    assert run.sent(evaluation("error", T0 + H)) == set()
    assert run.sent(evaluation("undecided", T0 + 2 * H)) == set()
    assert ("ml-team", "firing") in run.sent(evaluation("triggered", T0 + 3 * H))


def test_an_ok_resets_the_for_count() -> None:
    run = Run(AlertRuleSettings.model_validate({"for": 2}))
    run.step(evaluation("triggered", T0))
    run.step(evaluation("ok", T0 + H))
    assert run.sent(evaluation("triggered", T0 + 2 * H)) == set()


def test_resolve_after_counts_only_decided_ok_evaluations() -> None:
    run = Run(AlertRuleSettings(resolve_after=2))
    run.step(evaluation("triggered", T0))
    assert run.sent(evaluation("ok", T0 + H)) == set()
    assert run.sent(evaluation("undecided", T0 + 2 * H)) == set()
    assert run.sent(evaluation("error", T0 + 3 * H)) == set()
    assert ("ml-team", "resolved") in run.sent(evaluation("ok", T0 + 4 * H))


def test_error_never_resolves_a_firing_alert() -> None:
    run = Run(AlertRuleSettings(error_after=10))
    run.step(evaluation("triggered", T0))
    for hour in range(1, 5):
        assert run.sent(evaluation("error", T0 + hour * H)) == set()
    assert run.state.alert_state == "firing"


def test_each_transition_says_which_rule_made_it() -> None:
    run = Run(AlertRuleSettings.model_validate({"for": 2}))
    run.step(evaluation("triggered", T0))
    fired = run.step(evaluation("triggered", T0 + H))
    assert [(c.kind, c.rule) for c in fired.changes] == [("firing", "for")]
    assert "2 consecutive evaluations (for: 2)" in fired.changes[0].reason
    retrained = run.step(evaluation("triggered", T0 + 2 * H, version="4"))
    assert [(c.kind, c.rule) for c in retrained.changes] == [("resolved", "retrained")]
    assert "3 → 4" in retrained.changes[0].reason
    assert {n.metadata["rule"] for n in retrained.notifications} == {"retrained"}


def test_min_severity_filters_notifications_not_state() -> None:
    run = Run(AlertRuleSettings(), routes("ml-team", {"channel": "oncall", "min_severity": "critical"}))
    assert run.sent(evaluation("triggered", T0, severity="warning")) == {("ml-team", "firing")}
    assert run.state.alert_state == "firing"
    assert run.sent(evaluation("ok", T0 + H)) == {("ml-team", "resolved")}  # oncall never heard of it


def test_a_route_that_was_silenced_hears_firing_before_resolved() -> None:
    run = Run(AlertRuleSettings(), routes("ml-team"))
    assert run.sent(evaluation("triggered", T0), silenced=True) == set()
    assert run.sent(evaluation("ok", T0 + H)) == set()  # it never heard of the firing
    assert run.sent(evaluation("triggered", T0 + 2 * H), silenced=True) == set()
    assert run.sent(evaluation("triggered", T0 + 3 * H)) == {("ml-team", "firing")}


def test_repeat_interval_never_disables_repeats() -> None:
    run = Run(AlertRuleSettings(), routes({"channel": "ml-team", "repeat_interval": "never"}))
    run.step(evaluation("triggered", T0))
    assert run.sent(evaluation("triggered", T0 + 100 * H)) == set()


def test_a_new_trigger_joining_while_firing_is_changed_but_a_trigger_leaving_is_not() -> None:
    run = Run(AlertRuleSettings(), routes("ml-team"))
    run.step(evaluation("triggered", T0, triggers=("drift", "performance")))
    assert run.sent(evaluation("triggered", T0 + H, triggers=("drift",))) == set()
    assert run.sent(evaluation("triggered", T0 + 2 * H, triggers=("drift", "time"))) == {
        ("ml-team", "changed")
    }


def test_notifications_carry_the_report_reason_and_episode() -> None:
    run = Run(AlertRuleSettings(), routes("ml-team"))
    (firing,) = run.step(evaluation("triggered", T0)).notifications
    (resolved,) = run.step(evaluation("ok", T0 + H)).notifications
    assert isinstance(firing.report, RetrainingReport) and firing.report.decision == "fired"
    assert firing.fired_triggers == ["drift"]
    assert firing.model_version == "3" and firing.severity == "warning"
    assert firing.created_at == T0
    assert firing.metadata["episode"] == resolved.metadata["episode"] is not None
    assert resolved.severity == "warning"
    assert firing.id != resolved.id


@pytest.mark.parametrize(
    ("kind", "expected"), [("slack", timedelta(hours=24)), ("email", timedelta(hours=24)), ("webhook", None)]
)
def test_route_repeat_interval_defaults_by_channel_kind(kind: str, expected: timedelta | None) -> None:
    (route,) = routes("x", kinds={"x": kind})
    assert route.repeat_interval == expected


def test_an_explicit_repeat_interval_wins_over_the_kind_default() -> None:
    (route,) = routes({"channel": "x", "repeat_interval": "2h"}, kinds={"x": "webhook"})
    assert route.repeat_interval == timedelta(hours=2)


def test_rule_settings_take_for_by_its_config_name() -> None:
    assert AlertRuleSettings.model_validate({"for": 3}).for_ == 3
    assert AlertRuleSettings().model_dump(by_alias=True) == {"for": 1, "resolve_after": 1, "error_after": 3}
    with pytest.raises(ValueError, match="greater than or equal"):
        AlertRuleSettings.model_validate({"for": 0})


# --- issue 11, item 13: the watch's link reaches every notification --------------------------------


def test_every_notification_carries_the_watch_link_its_route_was_resolved_with() -> None:
    link = "https://runbooks.example/{model}"
    linked = [RouteSettings(channel=r.channel).resolve(r.kind, link=link) for r in ROUTES]
    assert [r.link for r in linked] == [link] * len(ROUTES)
    run = Run(AlertRuleSettings(), linked)
    sent = [
        n
        for record in (
            evaluation("triggered", T0),
            evaluation("ok", T0 + H),
            *(evaluation("error", T0 + (2 + i) * H) for i in range(3)),
            evaluation("ok", T0 + 5 * H),
        )
        for n in run.step(record).notifications
    ]
    assert {n.kind for n in sent} == {"firing", "resolved", "broken", "recovered"}
    assert {n.link for n in sent} == {link}


def test_without_a_watch_link_notifications_carry_none() -> None:
    assert all(r.link is None for r in ROUTES)
    assert {n.link for n in Run(AlertRuleSettings()).step(evaluation("triggered", T0)).notifications} == {
        None
    }
