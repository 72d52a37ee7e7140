"""The ``experiment_db`` layout read from real databases filled as the original training code did.

The story (same on SQLite and PostgreSQL): churn v1 promoted to production; fraud v1 promoted
(churn loses the tag: promotion removes it from every other model of ANY name); churn v2 promoted;
fraud v2 registered but never promoted; churn v1 re-promoted (a rollback). ranker has two active
versions registered in the same second, and an archived one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text

from retrain_sentinel.errors import SourceError
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.sources import (
    AliasBaseline,
    CountsSelector,
    MetadataCount,
    MetricCount,
    NamedRun,
    RunId,
    Source,
    SqlLayoutSettings,
    TagBaseline,
    TaskRun,
    VersionBaseline,
    WatchQuery,
    build_source,
)

from .conftest import Databases
from .experiment_db_fixture import Lab, create_schemas

T0 = datetime(2024, 5, 1, 10, 0)


class Story:
    """Ids of what the story created, for the assertions."""

    def __init__(self, lab: Lab) -> None:
        day = timedelta(days=1)
        self.churn_run1 = lab.train(
            "eval-churn-2024-05-01",
            T0,
            epochs=3,
            task="churn-eval",
            final={"accuracy": 0.91, "val/loss": 0.30, "drift/js_divergence": 0.05, "data/num_samples": 1000},
            config={"data": {"num_samples": 1000}},
        )
        self.churn_v1 = lab.register(
            "churn",
            "1",
            T0,
            run_id=self.churn_run1,
            metrics={"accuracy": 0.90, "val/loss": 0.31},
            metadata={"num_samples": 800},
        )
        lab.promote(self.churn_v1, "production", T0)
        self.fraud_v1 = lab.register("fraud", "1", T0 + day, metrics={"auc": 0.80})
        lab.promote(self.fraud_v1, "production", T0 + day)
        self.churn_v2 = lab.register("churn", "2", T0 + 2 * day, metrics={"accuracy": 0.93})
        lab.promote(self.churn_v2, "production", T0 + 2 * day)
        lab.promote(self.churn_v2, "staging", T0 + 2 * day)
        self.fraud_v2 = lab.register("fraud", "2", T0 + 3 * day, metrics={"auc": 0.85})
        lab.promote(self.churn_v1, "production", T0 + 4 * day)  # rollback: v1 again
        self.ranker_v1 = lab.register("ranker", "1", T0, metrics={"ndcg": 0.5})
        self.ranker_v2 = lab.register("ranker", "2", T0 + day, metrics={"ndcg": 0.6})
        self.ranker_v3 = lab.register("ranker", "3", T0 + day, metrics={"ndcg": 0.7})
        self.ranker_v4 = lab.register("ranker", "4", T0 + 2 * day, metrics={"ndcg": 0.8}, status="archived")
        # Monitoring runs for churn: the newest lower-case match is the 05-06 one.
        self.churn_run2 = lab.train(
            "eval-churn-2024-05-06",
            T0 + 5 * day,
            epochs=4,
            task="churn-eval",
            final={
                "accuracy": 0.84,
                "val/loss": 0.42,
                "drift/js_divergence": 0.21,
                "drift/seq_length_js": 0.07,
                "data/num_samples": 1500,
            },
            config={"data": {"num_samples": 1500}},
        )
        self.churn_upper = lab.train("Eval-churn-2024-05-07", T0 + 6 * day, epochs=1, final={"accuracy": 0.1})
        self.fraud_run = lab.train(
            "eval-fraud-2024-05-06", T0 + 5 * day, epochs=2, task="fraud-monitoring", final={"auc": 0.79}
        )


@pytest.fixture
def story(databases: Databases) -> Story:
    return Story(databases.lab)


def source_for(databases: Databases, **settings: Any) -> Source:
    return build_source(
        "lab",
        SqlLayoutSettings(
            kind="sql",
            layout="experiment_db",
            experiments_url=databases.experiments_url,
            registry_url=databases.registry_url,
            **settings,
        ),
    )


@pytest.fixture
def source(databases: Databases) -> Iterator[Source]:
    built = source_for(databases)
    yield built
    built.close()


def read_one(source: Source, watch: WatchQuery, now: datetime) -> Snapshot:
    result = source.read([watch], now)[watch.watch]
    assert isinstance(result, Snapshot), result
    return result


def test_baseline_is_the_newest_tagged_version_after_a_re_promotion(
    source: Source, story: Story, now: datetime
) -> None:
    snapshot = read_one(source, WatchQuery("churn", "churn"), now)
    assert snapshot.provenance.model_version == "1"
    assert snapshot.provenance.baseline_rule == "tag:production"
    assert snapshot.baseline_metrics == {"accuracy": 0.90, "val/loss": 0.31}
    assert snapshot.provenance.baseline_run_id == str(story.churn_run1)


def test_baseline_falls_back_to_the_newest_active_version_when_another_name_took_the_tag(
    source: Source, story: Story, now: datetime
) -> None:
    snapshot = read_one(source, WatchQuery("fraud", "fraud"), now)
    assert snapshot.provenance.model_version == "2"
    assert snapshot.provenance.baseline_rule == "newest_active"
    assert snapshot.baseline_metrics == {"auc": 0.85}


def test_baseline_can_be_a_fixed_version(source: Source, story: Story, now: datetime) -> None:
    snapshot = read_one(source, WatchQuery("fraud", "fraud", baseline=VersionBaseline(version="1")), now)
    assert snapshot.provenance.model_version == "1"
    assert snapshot.provenance.baseline_rule == "version:1"


def test_newest_ties_on_created_at_go_to_the_higher_model_id(
    source: Source, story: Story, now: datetime
) -> None:
    snapshot = read_one(source, WatchQuery("ranker", "ranker"), now)
    assert snapshot.provenance.model_version == "3"
    assert snapshot.provenance.extra["baseline_model_id"] == story.ranker_v3


def test_a_watch_may_name_its_own_tag_or_alias(source: Source, story: Story, now: datetime) -> None:
    by_tag = read_one(source, WatchQuery("churn", "churn", baseline=TagBaseline(tag="staging")), now)
    by_alias = read_one(source, WatchQuery("churn", "churn", baseline=AliasBaseline(alias="staging")), now)
    assert (by_tag.provenance.model_version, by_tag.provenance.baseline_rule) == ("2", "tag:staging")
    assert (by_alias.provenance.model_version, by_alias.provenance.baseline_rule) == ("2", "alias:staging")


def test_last_trained_at_is_created_at_read_in_the_source_timezone(
    databases: Databases, story: Story, now: datetime
) -> None:
    utc = source_for(databases)
    berlin = source_for(databases, timezone="Europe/Berlin")
    assert read_one(utc, WatchQuery("churn", "churn"), now).last_trained_at == T0.replace(tzinfo=UTC)
    assert read_one(berlin, WatchQuery("churn", "churn"), now).last_trained_at == datetime(
        2024, 5, 1, 8, 0, tzinfo=UTC
    )


def test_current_metrics_come_from_the_newest_run_matching_the_glob(
    source: Source, story: Story, now: datetime
) -> None:
    snapshot = read_one(source, WatchQuery("churn", "churn", current_run=NamedRun(name="eval-churn-*")), now)
    assert snapshot.current_metrics == {"accuracy": 0.84, "val/loss": 0.42, "data/num_samples": 1500}
    assert snapshot.provenance.current_run_id == str(story.churn_run2)
    # 4 epochs, one step each, a minute apart: the last metric was logged 4 minutes after start.
    assert snapshot.observed_at == datetime(2024, 5, 6, 10, 4, tzinfo=UTC)


def test_run_name_globs_are_case_sensitive(source: Source, story: Story, now: datetime) -> None:
    lower = read_one(source, WatchQuery("churn", "churn", current_run=NamedRun(name="eval-churn-*")), now)
    upper = read_one(source, WatchQuery("churn", "churn", current_run=NamedRun(name="Eval-*")), now)
    assert lower.provenance.current_run_id == str(story.churn_run2)
    assert upper.provenance.current_run_id == str(story.churn_upper)


def test_globs_support_sqlite_classes_and_single_characters(
    source: Source, story: Story, now: datetime
) -> None:
    snapshot = read_one(
        source, WatchQuery("churn", "churn", current_run=NamedRun(name="[a-z]val-churn-2024-05-0?")), now
    )
    assert snapshot.provenance.current_run_id == str(story.churn_run2)


def test_current_run_by_task_or_by_run_id(source: Source, story: Story, now: datetime) -> None:
    by_task = read_one(
        source, WatchQuery("fraud", "fraud", current_run=TaskRun(task="fraud-monitoring")), now
    )
    by_id = read_one(
        source, WatchQuery("churn", "churn", current_run=RunId(run_id=str(story.churn_run1))), now
    )
    assert by_task.current_metrics == {"auc": 0.79}
    assert by_id.current_metrics == {"accuracy": 0.91, "val/loss": 0.30, "data/num_samples": 1000}


def test_drift_metrics_are_the_drift_prefixed_metrics(source: Source, story: Story, now: datetime) -> None:
    snapshot = read_one(source, WatchQuery("churn", "churn", current_run=NamedRun(name="eval-churn-*")), now)
    assert snapshot.drift_metrics == {"js_divergence": 0.21, "seq_length_js": 0.07}


def test_aliases_add_the_names_users_write(databases: Databases, story: Story, now: datetime) -> None:
    source = source_for(databases, aliases={"val_loss": "val/loss"})
    watch = WatchQuery(
        "churn",
        "churn",
        current_run=NamedRun(name="eval-churn-*"),
        metric_aliases={"js": "drift/js_divergence"},
    )
    snapshot = read_one(source, watch, now)
    assert snapshot.current_metrics is not None and snapshot.baseline_metrics is not None
    assert snapshot.current_metrics["val_loss"] == 0.42
    assert snapshot.baseline_metrics["val_loss"] == 0.31
    assert snapshot.drift_metrics is not None and snapshot.drift_metrics["js"] == 0.21


def test_counts_from_current_metrics_and_baseline_metadata(
    source: Source, story: Story, now: datetime
) -> None:
    counts = CountsSelector(
        current=MetricCount(metric="data/num_samples"), baseline=MetadataCount(metadata="num_samples")
    )
    snapshot = read_one(
        source, WatchQuery("churn", "churn", current_run=NamedRun(name="eval-churn-*"), counts=counts), now
    )
    assert (snapshot.current_count, snapshot.baseline_count, snapshot.new_count) == (1500, 800, None)


def test_new_count_from_run_config_metadata(source: Source, story: Story, now: datetime) -> None:
    counts = CountsSelector(new=MetadataCount(metadata="data.num_samples"))
    snapshot = read_one(
        source, WatchQuery("churn", "churn", current_run=NamedRun(name="eval-churn-*"), counts=counts), now
    )
    assert snapshot.new_count == 1500


def test_window_count_is_its_own_count_of_the_current_run(
    source: Source, story: Story, now: datetime
) -> None:
    # issue 12, item 3: the samples behind the current metrics, not a cumulative count
    by_metric = CountsSelector(
        window=MetricCount(metric="data/num_samples"), baseline=MetadataCount(metadata="num_samples")
    )
    by_config = CountsSelector(window=MetadataCount(metadata="data.num_samples"))
    run = NamedRun(name="eval-churn-*")
    metric = read_one(source, WatchQuery("churn", "churn", current_run=run, counts=by_metric), now)
    config = read_one(source, WatchQuery("churn", "churn", current_run=run, counts=by_config), now)
    assert (metric.window_count, metric.baseline_count, metric.current_count, metric.new_count) == (
        1500,
        800,
        None,
        None,
    )
    assert (config.window_count, config.current_count) == (1500, None)


def test_latest_value_is_at_the_highest_epoch_then_step_then_timestamp(
    databases: Databases, now: datetime
) -> None:
    lab = databases.lab
    model = lab.register("m", "1", T0)
    lab.promote(model, "production", T0)
    run = lab.start_run("eval-m", T0)
    t = T0 + timedelta(hours=1)
    lab.log_metrics(
        run,
        [
            ("a", 1.0, 10, 2, t),  # epoch 2 wins over a later, lower epoch
            ("a", 2.0, 99, 1, t + timedelta(hours=5)),
            ("b", 1.0, 3, 2, t),  # same epoch: the higher step wins
            ("b", 2.0, 4, 2, t - timedelta(minutes=1)),
            ("c", 1.0, 5, 2, t),  # same epoch and step: the later timestamp wins
            ("c", 2.0, 5, 2, t + timedelta(minutes=1)),
            ("d", 3.0, None, None, t),  # no epoch at all still counts
        ],
    )
    source = source_for(databases)
    snapshot = read_one(source, WatchQuery("m", "m", current_run=NamedRun(name="eval-m")), now)
    assert snapshot.current_metrics == {"a": 1.0, "b": 2.0, "c": 2.0, "d": 3.0}
    assert snapshot.observed_at == (t + timedelta(hours=5)).replace(tzinfo=UTC)


def test_unknown_model_fails_only_that_watch(source: Source, story: Story, now: datetime) -> None:
    results = source.read([WatchQuery("churn", "churn"), WatchQuery("ghost", "no-such-model")], now)
    assert isinstance(results["churn"], Snapshot)
    error = results["ghost"]
    assert isinstance(error, SourceError)
    assert error.model == "no-such-model" and "not found in the registry" in error.cause


def test_unknown_version_and_unmatched_run_are_errors_for_that_watch(
    source: Source, story: Story, now: datetime
) -> None:
    results = source.read(
        [
            WatchQuery("v9", "churn", baseline=VersionBaseline(version="9")),
            WatchQuery("norun", "churn", current_run=NamedRun(name="nothing-*")),
            WatchQuery("badid", "churn", current_run=RunId(run_id="abc")),
            WatchQuery("ok", "fraud"),
        ],
        now,
    )
    assert "version '9'" in str(results["v9"])
    assert "no run name matches 'nothing-*'" in str(results["norun"])
    assert "not an integer" in str(results["badid"])
    assert isinstance(results["ok"], Snapshot)


def test_no_tagged_and_no_active_version_is_an_error(databases: Databases, now: datetime) -> None:
    databases.lab.register("old", "1", T0, status="archived")
    result = source_for(databases).read([WatchQuery("old", "old")], now)["old"]
    assert isinstance(result, SourceError)
    assert "has tag 'production' and none is active" in result.cause


def test_non_numeric_values_fail_that_watch(databases: Databases, story: Story, now: datetime) -> None:
    lab = databases.lab
    lab.promote(
        lab.register("texty", "1", T0 + timedelta(days=9), metrics='{"accuracy": "high"}'), "texty-tag", T0
    )
    results = source_for(databases).read(
        [WatchQuery("texty", "texty", baseline=TagBaseline(tag="texty-tag")), WatchQuery("churn", "churn")],
        now,
    )
    assert isinstance(results["texty"], SourceError)
    assert "is not a number: 'high'" in results["texty"].cause
    assert isinstance(results["churn"], Snapshot)


def test_non_numeric_metric_row_fails_that_watch(tmp_path: Path, now: datetime) -> None:
    # SQLite stores text in a REAL column; PostgreSQL cannot, so this case is SQLite's.
    experiments_url, registry_url = f"sqlite:///{tmp_path}/e.db", f"sqlite:///{tmp_path}/r.db"
    lab = Lab(create_engine(experiments_url), create_engine(registry_url))
    create_schemas(lab.experiments, lab.registry)
    lab.register("m", "1", T0)
    run = lab.start_run("eval-m", T0)
    lab.log_metrics(run, [("accuracy", "n/a", 1, 1, T0)])
    source = build_source(
        "lab",
        SqlLayoutSettings(
            kind="sql", layout="experiment_db", experiments_url=experiments_url, registry_url=registry_url
        ),
    )
    result = source.read([WatchQuery("m", "m", current_run=NamedRun(name="eval-m"))], now)["m"]
    assert isinstance(result, SourceError)
    assert "metric 'accuracy'" in result.cause and "not a number" in result.cause


def test_a_missing_table_is_a_clear_error_for_every_watch(
    databases: Databases, story: Story, now: datetime
) -> None:
    with databases.lab.registry.begin() as connection:
        connection.execute(text("DROP TABLE model_tags"))
    source = source_for(databases, retries=0)
    results = source.read([WatchQuery("churn", "churn"), WatchQuery("fraud", "fraud")], now)
    for result in results.values():
        assert isinstance(result, SourceError)
        assert "registry database" in result.cause and "model_tags" in result.cause
    with pytest.raises(SourceError, match="model_tags"):
        source.check()


def test_check_passes_on_a_healthy_source(source: Source, story: Story) -> None:
    source.check()


def test_an_unreachable_database_fails_every_watch_without_showing_the_password(now: datetime) -> None:
    url = "postgresql+psycopg://sentinel:hunter2-secret@127.0.0.1:1/experiments"
    source = build_source(
        "lab",
        SqlLayoutSettings(
            kind="sql",
            layout="experiment_db",
            experiments_url=url,
            registry_url=url,
            retries=1,
            retry_delay="10ms",
            timeout="2s",
        ),
    )
    results = source.read([WatchQuery("a", "a"), WatchQuery("b", "b")], now)
    for result in results.values():
        assert isinstance(result, SourceError)
        assert "hunter2" not in str(result)
        assert "127.0.0.1" in result.cause
    with pytest.raises(SourceError) as raised:
        source.check()
    assert "hunter2" not in str(raised.value)


def test_a_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path: Path, now: datetime) -> None:
    missing = tmp_path / "nope.db"
    source = build_source(
        "lab",
        SqlLayoutSettings(
            kind="sql",
            layout="experiment_db",
            experiments_url=f"sqlite:///{missing}",
            registry_url=f"sqlite:///{missing}",
            retries=0,
        ),
    )
    result = source.read([WatchQuery("a", "a")], now)["a"]
    assert isinstance(result, SourceError)
    assert not missing.exists()


def test_the_source_cannot_write(databases: Databases, story: Story) -> None:
    source = source_for(databases)
    engine = source._registry  # type: ignore[attr-defined]
    with pytest.raises(Exception, match=r"(?i)read.only|readonly"), engine.connect() as connection:
        connection.execute(text("DELETE FROM models"))
    source.close()


def test_a_batch_uses_the_same_number_of_statements_for_10_and_1000_watches(
    databases: Databases, now: datetime
) -> None:
    lab = databases.lab
    for i in range(1000):
        lab.register(f"model-{i}", "1", T0, metrics={"accuracy": 0.5})
    for i in range(0, 1000, 7):
        lab.train(
            f"eval-model-{i}",
            T0,
            epochs=2,
            task=f"task-{i}",
            final={"accuracy": 0.6, "n": 10},
            config={"n": 10},
        )

    def statements_for(size: int) -> int:
        source = source_for(databases)
        source.check()  # first connects initialise the dialect; not part of a batch
        counted = 0

        def count(*_: object) -> None:
            nonlocal counted
            counted += 1

        for engine in (source._registry, source._experiments):  # type: ignore[attr-defined]
            event.listen(engine, "before_cursor_execute", count)
        selectors = [NamedRun(name=f"eval-model-{i}*"), TaskRun(task=f"task-{i}"), None]
        watches = [
            WatchQuery(
                f"w{i}",
                f"model-{i}",
                current_run=selectors[i % 3] if i % 7 == 0 else None,
                counts=CountsSelector(
                    current=MetadataCount(metadata="n"), baseline=MetricCount(metric="accuracy")
                ),
            )
            for i in range(size)
        ]
        results = source.read(watches, now)
        assert all(isinstance(r, Snapshot) for r in results.values()), results
        source.close()
        return counted

    small, large = statements_for(10), statements_for(1000)
    assert small == large
    # registry, runs, latest metrics, last metric time, configs, and one look at the runs table's
    # columns because some watches select their run by task (issue 12, item 7: older databases
    # have no task_name column)
    assert large <= 6


# --- one bad row among healthy ones (issue 11, item 6) ---------------------------------------------


def _poison(databases: Databases) -> tuple[list[WatchQuery], dict[str, str]]:
    """A healthy model beside one watch per kind of bad row; returns the watches and, per bad
    watch, the text its error must hold (the row it names)."""
    lab = databases.lab
    day = timedelta(days=1)
    watches, expected = [], {}

    lab.register("good", "1", T0, metrics={"accuracy": 0.9})
    lab.train("eval-good-1", T0 + day, epochs=1, task="good", final={"accuracy": 0.88})
    watches += [
        WatchQuery("good", "good", current_run=NamedRun(name="eval-good-*")),
        WatchQuery("good-task", "good", current_run=TaskRun(task="good")),
    ]

    # A deeply nested metrics JSON: json.loads raises RecursionError, not ValueError.
    deep = lab.register("deep", "1", T0, metrics="[" * 100_000 + "]" * 100_000)
    watches.append(WatchQuery("deep", "deep"))
    expected["deep"] = f"metrics of 'deep' version 1 (models row {deep}) is nested too deeply"

    # A NULL metric_name among the current run's rows.
    lab.register("nullname", "1", T0, metrics={"accuracy": 0.9})
    run = lab.train("eval-nullname-1", T0 + day, epochs=1, task="nullname", final={"accuracy": 0.8})
    with lab.experiments.begin() as connection:
        connection.execute(
            text("INSERT INTO metrics (run_id, metric_name, value, epoch, step) VALUES (:run, NULL, 1.0, 9, 9)"),
            {"run": run},
        )
        metric_id = connection.execute(text("SELECT MAX(metric_id) FROM metrics")).scalar_one()
    watches.append(WatchQuery("nullname", "nullname", current_run=NamedRun(name="eval-nullname-*")))
    expected["nullname"] = f"metrics row {metric_id} of run {run} has no metric_name"

    # A training time that a timezone east of UTC pushes before year 1 (OverflowError).
    ancient = lab.register("ancient", "1", T0, metrics={"accuracy": 0.9})
    with lab.registry.begin() as connection:
        connection.execute(
            text("UPDATE models SET created_at = '0001-01-01 00:00:00' WHERE model_id = :id"), {"id": ancient}
        )
    watches.append(WatchQuery("ancient", "ancient"))
    expected["ancient"] = f"created_at of 'ancient' version 1 (models row {ancient}) is out of range"

    # A run_id selector that passes a digit check once its dashes are stripped, then int() raises.
    watches.append(WatchQuery("dashes", "good", current_run=RunId(run_id="--5")))
    expected["dashes"] = "run_id '--5' is not an integer (runs.run_id)"

    if databases.dialect == "sqlite":  # PostgreSQL's TIMESTAMP column holds one type only
        lab.register("mixed", "1", T0, metrics={"accuracy": 0.9})
        lab.train("eval-mixed-1", T0, epochs=1, task="mixed", final={"accuracy": 0.8})
        late = lab.train("eval-mixed-2", T0 + day, epochs=1, task="mixed", final={"accuracy": 0.7})
        with lab.experiments.begin() as connection:
            connection.execute(text("UPDATE runs SET created_at = 1717000000 WHERE run_id = :id"), {"id": late})
        watches += [
            WatchQuery("mixed", "mixed", current_run=NamedRun(name="eval-mixed-*")),
            WatchQuery("mixed-task", "mixed", current_run=TaskRun(task="mixed")),
        ]
        expected["mixed"] = expected["mixed-task"] = f"created_at of run {late} is not a time: '1717000000'"
    return watches, expected


def test_a_bad_row_fails_only_the_watch_it_belongs_to_and_names_the_row(
    databases: Databases, now: datetime
) -> None:
    watches, expected = _poison(databases)
    source = source_for(databases, timezone="Asia/Tokyo")
    results = source.read(watches, now)
    source.close()
    for name in ("good", "good-task"):
        assert isinstance(results[name], Snapshot), results[name]
        assert results[name].current_metrics == {"accuracy": 0.88}  # type: ignore[union-attr]
    for name, text_ in expected.items():
        result = results[name]
        assert isinstance(result, SourceError), (name, result)
        assert text_ in result.cause, (name, result.cause)
        assert "unexpected" not in result.cause, (name, result.cause)
