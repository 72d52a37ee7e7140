"""Which version is the baseline and which run is current (``layout: experiment_db``), from plain
rows: the rules of ``selection`` without a database."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from retrain_sentinel.sources import (
    AliasBaseline,
    ExperimentRun,
    NamedRun,
    RunId,
    TagBaseline,
    TaskRun,
    VersionBaseline,
)
from retrain_sentinel.sources.base import WatchFailure
from retrain_sentinel.sources.sql.selection import (
    Run,
    Version,
    choose_baseline,
    choose_runs,
    run_number,
    tag_of,
)

T0 = datetime(2024, 5, 1, 10, 0)
DAY = timedelta(days=1)


def version(
    model_id: int,
    at: datetime | None,
    *,
    tags: set[str] | None = None,
    status: str | None = "active",
    number: str | None = None,
) -> Version:
    return Version(
        model_id=model_id,
        name="churn",
        version=number or str(model_id),
        created_at=at,
        status=status,
        training_run_id=None,
        metrics=None,
        metadata=None,
        tags=tags or set(),
    )


# --- the baseline ------------------------------------------------------------------------------------


def test_the_baseline_is_the_newest_version_carrying_the_default_tag() -> None:
    versions = [
        version(1, T0, tags={"production"}),
        version(2, T0 + 2 * DAY, tags={"production"}),
        version(3, T0 + 3 * DAY),
    ]
    baseline = choose_baseline("churn", None, "production", versions)
    assert (baseline.version.model_id, baseline.rule) == (2, "tag:production")


def test_a_watch_tag_or_alias_replaces_the_default_and_is_named_in_the_rule() -> None:
    versions = [version(1, T0, tags={"staging"}), version(2, T0 + DAY, tags={"champion", "production"})]
    by_tag = choose_baseline("churn", TagBaseline(tag="staging"), "production", versions)
    by_alias = choose_baseline("churn", AliasBaseline(alias="champion"), "production", versions)
    assert (by_tag.version.model_id, by_tag.rule) == (1, "tag:staging")
    assert (by_alias.version.model_id, by_alias.rule) == (2, "alias:champion")


def test_versions_created_at_the_same_time_go_to_the_higher_model_id() -> None:
    versions = [version(7, T0, tags={"production"}), version(9, T0, tags={"production"})]
    assert choose_baseline("churn", None, "production", versions).version.model_id == 9


def test_a_version_without_created_at_is_the_oldest() -> None:
    versions = [version(9, None, tags={"production"}), version(1, T0, tags={"production"})]
    assert choose_baseline("churn", None, "production", versions).version.model_id == 1


def test_without_the_tag_the_newest_active_version_is_the_baseline_whatever_the_case_of_its_status() -> None:
    versions = [
        version(1, T0, status="Active"),
        version(2, T0 + DAY, status="ACTIVE"),
        version(3, T0 + 2 * DAY, status="archived"),
        version(4, T0 + 3 * DAY, status=None),
    ]
    baseline = choose_baseline("churn", None, "production", versions)
    assert (baseline.version.model_id, baseline.rule) == (2, "newest_active")


def test_a_tagged_version_wins_over_a_newer_active_one_even_when_archived() -> None:
    versions = [version(1, T0, tags={"production"}, status="archived"), version(2, T0 + DAY)]
    assert choose_baseline("churn", None, "production", versions).version.model_id == 1


def test_a_fixed_version_ignores_tags_and_status() -> None:
    versions = [version(1, T0, status="archived"), version(2, T0 + DAY, tags={"production"})]
    baseline = choose_baseline("churn", VersionBaseline(version="1"), "production", versions)
    assert (baseline.version.model_id, baseline.rule) == (1, "version:1")


@pytest.mark.parametrize(
    ("selector", "versions", "message"),
    [
        (None, [], "model 'churn' not found in the registry"),
        (
            VersionBaseline(version="3"),
            [version(1, T0)],
            "version '3' of model 'churn' not found in the registry",
        ),
        (
            None,
            [version(1, T0, status="archived")],
            "no version of model 'churn' has tag 'production' and none is active",
        ),
        (
            AliasBaseline(alias="champion"),
            [version(1, T0, status="archived")],
            "no version of model 'churn' has alias 'champion' and none is active",
        ),
    ],
)
def test_a_baseline_that_cannot_be_chosen_says_why(
    selector: TagBaseline | VersionBaseline | AliasBaseline | None, versions: list[Version], message: str
) -> None:
    with pytest.raises(WatchFailure) as caught:
        choose_baseline("churn", selector, "production", versions)
    assert str(caught.value) == message


def test_the_tag_asked_for_is_the_default_the_watch_tag_or_alias_and_none_for_a_fixed_version() -> None:
    assert tag_of(None, "production") == "production"
    assert tag_of(TagBaseline(tag="staging"), "production") == "staging"
    assert tag_of(AliasBaseline(alias="champion"), "production") == "champion"
    assert tag_of(VersionBaseline(version="2"), "production") is None


# --- the current run -----------------------------------------------------------------------------


RUNS = [
    Run(1, "eval-churn-2024-05-01", "churn-eval", T0),
    Run(2, "eval-churn-2024-05-06", "churn-eval", T0 + 5 * DAY),
    Run(3, "Eval-churn-2024-05-07", None, T0 + 6 * DAY),
    Run(4, "eval-fraud-2024-05-06", "fraud-monitoring", T0 + 5 * DAY),
    Run(5, "eval-fraud-2024-05-07", "fraud-monitoring", T0 + 5 * DAY),
    Run(6, "eval-churn-undated", "churn-eval", None),
    Run(7, None, "churn-eval", T0 - DAY),
]


def test_the_current_run_is_the_newest_whose_name_matches_the_glob_case_sensitively() -> None:
    chosen = choose_runs({"churn": NamedRun(name="eval-churn-*")}, RUNS)
    assert chosen["churn"] == RUNS[1]


def test_runs_created_at_the_same_time_go_to_the_higher_run_id() -> None:
    chosen = choose_runs(
        {"fraud": NamedRun(name="eval-fraud-*"), "task": TaskRun(task="fraud-monitoring")}, RUNS
    )
    assert chosen["fraud"] == chosen["task"] == RUNS[4]


def test_a_run_without_created_at_is_the_oldest() -> None:
    chosen = choose_runs(
        {"undated": NamedRun(name="eval-churn-[u]*"), "task": TaskRun(task="churn-eval")}, RUNS
    )
    assert chosen["task"] == RUNS[1]  # not the undated run 6, though its id is higher
    assert chosen["undated"] == RUNS[5]  # alone, it is still the newest


def test_watches_sharing_a_glob_get_the_same_run() -> None:
    chosen = choose_runs({"a": NamedRun(name="eval-churn-*"), "b": NamedRun(name="eval-churn-*")}, RUNS)
    assert chosen["a"] == chosen["b"] == RUNS[1]


def test_a_run_id_names_one_run_whatever_its_age() -> None:
    assert choose_runs({"churn": RunId(run_id="1")}, RUNS)["churn"] == RUNS[0]


@pytest.mark.parametrize(
    ("selector", "reason"),
    [
        (NamedRun(name="EVAL-*"), "no run name matches 'EVAL-*'"),
        (TaskRun(task="ranking"), "no run has task 'ranking'"),
        (RunId(run_id="99"), "run 99 not found"),
        (RunId(run_id="abc"), "run_id 'abc' is not an integer (runs.run_id)"),
        (
            ExperimentRun(experiment="monitoring"),
            "current_run {experiment, filter} is for mlflow sources; use {name}, {task} or {run_id}",
        ),
    ],
)
def test_a_run_that_cannot_be_chosen_is_the_reason_instead(
    selector: NamedRun | TaskRun | RunId | ExperimentRun, reason: str
) -> None:
    assert choose_runs({"churn": selector}, RUNS) == {"churn": reason}


def test_only_watches_with_a_selector_get_an_answer() -> None:
    assert choose_runs({}, RUNS) == {}


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("42", 42),
        ("-3", -3),
        (" 7 ", 7),
        ("4.2", None),
        ("abc", None),
        ("--5", None),  # passes a digit check after lstrip("-"), then int() raises
        ("-", None),
        ("1_000", None),
        ("٣", None),  # an Arabic-Indic digit: isdigit() says yes, runs.run_id has no such number
        ("9" * 30, None),  # beyond any integer column
    ],
)
def test_a_run_id_is_read_as_an_integer_or_not_at_all(text: str, number: int | None) -> None:
    assert run_number(RunId(run_id=text)) == number


# --- rows that cannot be compared ----------------------------------------------------------------


def test_a_run_whose_created_at_could_not_be_read_fails_only_the_watches_that_choose_among_it() -> None:
    runs = [
        *RUNS,
        Run(8, "eval-bad-1", "bad-eval", T0),
        Run(9, "eval-bad-2", "bad-eval", None, problem="runs row 9: created_at is not a time: '1717000000'"),
    ]
    chosen = choose_runs(
        {
            "by-glob": NamedRun(name="eval-bad-*"),
            "by-task": TaskRun(task="bad-eval"),
            "by-id": RunId(run_id="9"),  # one run named: nothing to compare
            "healthy": NamedRun(name="eval-churn-*"),
            "healthy-task": TaskRun(task="fraud-monitoring"),
        },
        runs,
    )
    assert chosen["by-glob"] == chosen["by-task"] == "runs row 9: created_at is not a time: '1717000000'"
    assert chosen["by-id"] == runs[-1]
    assert chosen["healthy"] == RUNS[1] and chosen["healthy-task"] == RUNS[4]


def test_created_at_values_of_different_types_are_a_reason_not_an_exception() -> None:
    # What a source that did not read its times would pass: the choice must not raise TypeError.
    runs = [Run(1, "eval-a", "t", "2024-05-01 10:00:00"), Run(2, "eval-b", "t", 1717000000)]
    chosen = choose_runs({"mixed": TaskRun(task="t"), "one": RunId(run_id="1")}, runs)
    assert chosen["one"] == runs[0]
    assert isinstance(chosen["mixed"], str)
    assert "runs rows 1, 2" in chosen["mixed"] and "created_at" in chosen["mixed"]


def test_a_version_whose_created_at_could_not_be_read_fails_that_baseline_with_the_row_named() -> None:
    bad = Version(
        model_id=5,
        name="churn",
        version="2",
        created_at=None,
        status="active",
        training_run_id=None,
        metrics=None,
        metadata=None,
        problem="models row 5 ('churn' version 2): created_at is out of range: '0001-01-01 00:00:00'",
    )
    with pytest.raises(WatchFailure, match=r"models row 5 \('churn' version 2\): created_at is out of range"):
        choose_baseline("churn", None, "production", [version(1, T0), bad])
    mixed = [version(1, T0), version(2, "2024-05-02 10:00:00")]  # type: ignore[arg-type]
    with pytest.raises(WatchFailure, match=r"models rows 1, 2: created_at values of different types"):
        choose_baseline("churn", None, "production", mixed)
