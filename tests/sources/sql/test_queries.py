"""``kind: sql`` with ``queries:``: a schema of the user's own, mapped by named parameterised SQL."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from retrain_sentinel.errors import ConfigError, SourceError
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.sources import Source, SourceSettings, WatchQuery, build_source

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

CURRENT = (
    "SELECT model, metric AS name, val AS value FROM evals "
    "WHERE model IN :models AND logged_at >= :since AND logged_at < :until ORDER BY logged_at"
)
BASELINE = "SELECT accuracy, auc FROM baselines WHERE model = :model"
SNAPSHOT = (
    "SELECT model, version AS model_version, deployed_at AS last_trained_at, samples AS current_count, "
    "run AS current_run_id FROM deployments WHERE model IN :models"
)

ONLY_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def custom(database_url: str) -> Iterator[str]:
    real = "REAL" if database_url.startswith("sqlite") else "DOUBLE PRECISION"
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text(f"CREATE TABLE evals (model TEXT, metric TEXT, val {real}, logged_at TIMESTAMP)")
        )
        connection.execute(text(f"CREATE TABLE baselines (model TEXT, accuracy {real}, auc TEXT)"))
        connection.execute(
            text(
                "CREATE TABLE deployments (model TEXT, version TEXT, deployed_at TIMESTAMP, samples INTEGER, run TEXT)"
            )
        )
        connection.execute(
            text("INSERT INTO evals VALUES (:m, :n, :v, :at)"),
            [
                {"m": "churn", "n": "accuracy", "v": 0.70, "at": "2024-05-31 09:00:00"},
                {"m": "churn", "n": "accuracy", "v": 0.81, "at": "2024-06-01 09:00:00"},
                {"m": "churn", "n": "drift/js_divergence", "v": 0.2, "at": "2024-06-01 09:00:00"},
                {"m": "churn", "n": "accuracy", "v": 0.99, "at": "2024-05-20 09:00:00"},  # outside the window
                {"m": "fraud", "n": "auc", "v": 0.9, "at": "2024-06-01 10:00:00"},
            ],
        )
        connection.execute(
            text("INSERT INTO baselines VALUES (:m, :a, :auc)"),
            [{"m": "churn", "a": 0.85, "auc": "0.9"}, {"m": "fraud", "a": 0.5, "auc": "excellent"}],
        )
        connection.execute(
            text("INSERT INTO deployments VALUES (:m, :v, :at, :n, :r)"),
            [{"m": "churn", "v": "7", "at": "2024-05-01 08:00:00", "n": 1234, "r": "r-1"}],
        )
    engine.dispose()
    yield database_url


def make(url: str, **queries: str | None) -> Source:
    settings: Any = TypeAdapter(SourceSettings).validate_python(
        {"kind": "sql", "url": url, "queries": {k: v for k, v in queries.items() if v}, "window": "2d"}
    )
    return build_source("wh", settings)


def test_a_window_count_column_is_the_samples_behind_the_current_metrics(custom: str) -> None:
    # issue 12, item 3: a documented alias of its own, apart from the cumulative current_count
    snapshot = (
        "SELECT model, samples AS window_count, 100000 AS baseline_count FROM deployments WHERE model IN :models"
    )
    result = make(custom, snapshot=snapshot).read([WatchQuery("churn", "churn")], NOW)["churn"]
    assert isinstance(result, Snapshot), result
    assert (result.window_count, result.baseline_count, result.current_count) == (1234, 100000, None)


def test_metrics_from_name_value_rows_and_from_typed_columns(custom: str) -> None:
    source = make(
        custom,
        current_metrics=CURRENT,
        baseline_metrics="SELECT accuracy FROM baselines WHERE model = :model",
        snapshot=SNAPSHOT,
    )
    result = source.read([WatchQuery("churn", "churn")], NOW)["churn"]
    assert isinstance(result, Snapshot), result
    assert result.current_metrics == {"accuracy": 0.81}
    assert result.drift_metrics == {"js_divergence": 0.2}
    assert result.baseline_metrics == {"accuracy": 0.85}
    assert result.last_trained_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert result.current_count == 1234
    assert (result.provenance.model_version, result.provenance.current_run_id) == ("7", "r-1")
    assert (
        result.provenance.data_window
        == f"{datetime(2024, 5, 30, 12, tzinfo=UTC).isoformat()}/{NOW.isoformat()}"
    )


def test_metric_columns_keep_the_case_the_query_gives_them(custom: str) -> None:
    source = make(
        custom,
        baseline_metrics='SELECT model, accuracy AS "valAccuracy" FROM baselines WHERE model IN :models',
        snapshot='SELECT model, samples AS "Current_Count" FROM deployments WHERE model IN :models',
    )
    result = source.read([WatchQuery("churn", "churn")], NOW)["churn"]
    assert isinstance(result, Snapshot), result
    assert result.baseline_metrics == {"valAccuracy": 0.85}
    assert result.current_count == 1234  # snapshot columns are still matched whatever their case


def test_since_and_until_are_bound_in_the_source_timezone(custom: str) -> None:
    def read(timezone: str) -> dict[str, Any]:
        settings: Any = TypeAdapter(SourceSettings).validate_python(
            {
                "kind": "sql",
                "url": custom,
                "timezone": timezone,
                "window": "3h",
                "queries": {"current_metrics": CURRENT},
            }
        )
        results = build_source("wh", settings).read(
            [WatchQuery("churn", "churn"), WatchQuery("fraud", "fraud")], NOW
        )
        return {name: r.current_metrics if isinstance(r, Snapshot) else r for name, r in results.items()}

    # Read in UTC the window is 09:00–12:00 and holds the 06-01 rows; in New York it is 05:00–08:00
    # local time, before them.
    assert read("UTC") == {"churn": {"accuracy": 0.81}, "fraud": {"auc": 0.9}}
    assert read("America/New_York") == {"churn": None, "fraud": None}


def test_a_model_without_rows_has_no_metrics(custom: str) -> None:
    result = make(custom, current_metrics=CURRENT).read([WatchQuery("x", "unknown")], NOW)["x"]
    assert isinstance(result, Snapshot)
    assert result.current_metrics is None and result.baseline_metrics is None


def test_a_non_numeric_value_fails_only_that_watch(custom: str) -> None:
    source = make(custom, baseline_metrics=BASELINE)
    results = source.read([WatchQuery("churn", "churn"), WatchQuery("fraud", "fraud")], NOW)
    assert isinstance(results["churn"], Snapshot)
    assert results["churn"].baseline_metrics == {"accuracy": 0.85, "auc": 0.9}
    assert isinstance(results["fraud"], SourceError)
    assert "'auc' is not a number: 'excellent'" in results["fraud"].cause


def test_an_unreadable_training_time_fails_only_that_watch(custom: str) -> None:
    query = (
        "SELECT model, CASE WHEN model = 'churn' THEN 'yesterday' ELSE '2024-05-01 08:00:00' END AS last_trained_at "
        "FROM baselines WHERE model IN :models"
    )
    results = make(custom, snapshot=query).read([WatchQuery("churn", "churn"), WatchQuery("fraud", "fraud")], NOW)
    assert isinstance(results["churn"], SourceError)
    assert "last_trained_at is not a time: 'yesterday'" in results["churn"].cause
    assert isinstance(results["fraud"], Snapshot)
    assert results["fraud"].last_trained_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def test_batch_queries_use_the_same_number_of_statements_for_any_batch(custom: str) -> None:
    def statements(size: int) -> int:
        source = make(custom, current_metrics=CURRENT, snapshot=SNAPSHOT)
        source.check()
        counted = 0

        def count(*_: object) -> None:
            nonlocal counted
            counted += 1

        event.listen(source._engine, "before_cursor_execute", count)  # type: ignore[attr-defined]
        source.read([WatchQuery(f"w{i}", f"m{i}") for i in range(size)], NOW)
        return counted

    assert statements(10) == statements(1000) == 2


def test_a_missing_table_fails_the_batch_clearly(custom: str) -> None:
    source = make(custom, current_metrics="SELECT model, name, value FROM nope WHERE model IN :models")
    results = source.read([WatchQuery("a", "a"), WatchQuery("b", "b")], NOW)
    for result in results.values():
        assert isinstance(result, SourceError)
        assert "query 'current_metrics'" in result.cause and "nope" in result.cause


@ONLY_POSTGRES  # SQLite casts any text to a number without failing
def test_a_failing_per_model_query_fails_only_that_watch(custom: str) -> None:
    # A cast that fails only for fraud's text: the other watch still reads.
    query = "SELECT accuracy FROM baselines WHERE model = :model AND CAST(auc AS DOUBLE PRECISION) > 0"
    results = make(custom, baseline_metrics=query).read(
        [WatchQuery("churn", "churn"), WatchQuery("fraud", "fraud")], NOW
    )
    assert isinstance(results["churn"], Snapshot)
    assert isinstance(results["fraud"], SourceError)


def test_rows_of_a_batch_query_need_a_model_column(custom: str) -> None:
    result = make(custom, current_metrics="SELECT 'a' AS name, 1 AS value").read([WatchQuery("a", "a")], NOW)[
        "a"
    ]
    assert isinstance(result, SourceError) and "'model' column" in result.cause


def test_unknown_snapshot_columns_are_named(custom: str) -> None:
    result = make(
        custom, snapshot="SELECT model, samples AS sample_count FROM deployments WHERE model IN :models"
    ).read([WatchQuery("churn", "churn")], NOW)["churn"]
    assert isinstance(result, SourceError) and "sample_count" in result.cause


def test_only_select_statements_are_accepted() -> None:
    with pytest.raises(ValidationError, match="SELECT"):
        TypeAdapter(SourceSettings).validate_python(
            {"kind": "sql", "url": "sqlite://", "queries": {"current_metrics": "DELETE FROM evals"}}
        )


def test_unknown_parameters_and_both_model_forms_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=":tenant"):
        make("sqlite://", current_metrics="SELECT name, value FROM m WHERE tenant = :tenant")
    with pytest.raises(ConfigError, match="not both"):
        make(
            "sqlite://", current_metrics="SELECT name, value FROM m WHERE model = :model OR model IN :models"
        )


@ONLY_POSTGRES  # SQLite has no writing CTEs
def test_a_query_cannot_write_even_through_a_cte(custom: str) -> None:
    query = "WITH gone AS (DELETE FROM evals RETURNING model) SELECT model, 'n' AS name, 1 AS value FROM gone"
    result = make(custom, current_metrics=query).read([WatchQuery("churn", "churn")], NOW)["churn"]
    assert isinstance(result, SourceError) and "read-only" in result.cause
    engine = create_engine(custom)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM evals")).scalar_one() == 5
    engine.dispose()


class LateProxy:
    """A TCP proxy to the database that starts listening only after ``delay`` seconds: connects
    before then are refused, as while a database restarts."""

    def __init__(self, host: str, port: int, delay: float) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.target = (host, port)
        self.server: socket.socket | None = None
        self.timer = threading.Timer(delay, self._start)
        self.timer.start()

    def _start(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._serve, args=(self.server,), daemon=True).start()

    def _serve(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for one in (source, sink):
                with contextlib.suppress(OSError):
                    one.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.timer.cancel()
        if self.server is not None:
            self.server.close()


@ONLY_POSTGRES
def test_a_connection_refused_for_a_moment_is_retried(custom: str) -> None:
    url = make_url(custom)
    proxy = LateProxy(url.host or "127.0.0.1", url.port or 5432, delay=0.4)
    try:
        settings: Any = TypeAdapter(SourceSettings).validate_python(
            {
                "kind": "sql",
                "url": url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
                "queries": {"baseline_metrics": BASELINE},
                "retries": 3,
                "retry_delay": "300ms",
            }
        )
        source = build_source("wh", settings)
        result = source.read([WatchQuery("churn", "churn")], NOW)["churn"]
        assert isinstance(result, Snapshot), result
        assert result.baseline_metrics == {"accuracy": 0.85, "auc": 0.9}
        source.close()
    finally:
        proxy.close()


# --- one bad row among healthy ones (issue 11, item 6) ---------------------------------------------


def test_a_bad_row_fails_only_the_watch_it_belongs_to_and_names_the_row(custom: str) -> None:
    engine = create_engine(custom)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE scores (model TEXT, metric TEXT, val REAL, trained TIMESTAMP)"))
        connection.execute(
            text("INSERT INTO scores VALUES (:m, :n, :v, :at)"),
            [
                {"m": "churn", "n": "accuracy", "v": 0.8, "at": "2024-05-01 08:00:00"},
                {"m": None, "n": "accuracy", "v": 0.1, "at": "2024-05-01 08:00:00"},  # belongs to no watch
                {"m": "nullname", "n": None, "v": 0.5, "at": "2024-05-01 08:00:00"},
                {"m": "ancient", "n": "accuracy", "v": 0.5, "at": "0001-01-01 00:00:00"},
            ],
        )
    engine.dispose()
    settings: Any = TypeAdapter(SourceSettings).validate_python(
        {
            "kind": "sql",
            "url": custom,
            "timezone": "Asia/Tokyo",  # east of UTC: year 1 at midnight is before the first UTC instant
            "queries": {
                "current_metrics": "SELECT model, metric AS name, val AS value FROM scores WHERE model IN :models OR model IS NULL",
                "snapshot": "SELECT model, trained AS last_trained_at FROM scores WHERE model IN :models",
            },
        }
    )
    source = build_source("wh", settings)
    names = ("churn", "nullname", "ancient")
    results = source.read([WatchQuery(n, n) for n in names], NOW)
    source.close()
    assert isinstance(results["churn"], Snapshot), results["churn"]
    assert results["churn"].current_metrics == {"accuracy": 0.8}
    nullname, ancient = results["nullname"], results["ancient"]
    assert isinstance(nullname, SourceError) and isinstance(ancient, SourceError)
    assert "query 'current_metrics' returned a row of model 'nullname' without a name" in nullname.cause
    assert "last_trained_at is out of range: '0001-01-01 00:00:00'" in ancient.cause
