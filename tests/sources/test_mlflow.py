"""The ``mlflow`` source against a real ``mlflow server`` (SQLite backend) filled by the official
client, both from the virtualenv named by ``RS_TEST_MLFLOW_PYTHON`` (``.ci/mlflow-venv.sh``);
and against small real HTTP servers for what a live server cannot show (old registries without
aliases, pagination, credentials).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from pydantic import TypeAdapter
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from retrain_sentinel.errors import SourceError
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.sources import (
    AliasBaseline,
    CountsSelector,
    ExperimentRun,
    MetadataCount,
    MetricCount,
    RunId,
    Source,
    SourceSettings,
    VersionBaseline,
    WatchQuery,
    build_source,
)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

# Runs with the official client inside the mlflow virtualenv; prints what it created as JSON.
LOG_SCRIPT = r"""
import json, sys, time
import mlflow
from mlflow import MlflowClient

uri, action = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri(uri)
client = MlflowClient(uri)
out = {}
if action == "setup":
    mlflow.set_experiment("fraud-training")
    versions = []
    client.create_registered_model("fraud-detector")
    for auc in (0.90, 0.93):
        with mlflow.start_run() as run:
            mlflow.log_metric("auc", auc)
            mlflow.log_metric("val/loss", 1 - auc)
            mlflow.log_param("num_samples", 5000)
        version = client.create_model_version("fraud-detector", f"runs:/{run.info.run_id}/model", run.info.run_id)
        versions.append({"version": version.version, "run_id": run.info.run_id,
                         "end_time": client.get_run(run.info.run_id).info.end_time})
    client.set_registered_model_alias("fraud-detector", "champion", versions[0]["version"])
    client.create_registered_model("no-alias-model")
    mlflow.set_experiment("fraud-monitoring")
    monitoring = []
    for index, (auc, js) in enumerate(((0.88, 0.05), (0.81, 0.22))):
        with mlflow.start_run(tags={"model": "fraud"}) as run:
            for step in range(3):
                mlflow.log_metric("auc", auc + 0.01 * (2 - step), step=step)
            mlflow.log_metric("drift/js_divergence", js)
            mlflow.log_metric("data/num_samples", 1000 * (index + 1))
            mlflow.log_param("new_rows", 300 * (index + 1))
        monitoring.append(run.info.run_id)
        time.sleep(0.05)
    with mlflow.start_run(tags={"model": "other"}) as run:
        mlflow.log_metric("auc", 0.1)
    out = {"versions": versions, "monitoring": monitoring}
elif action == "move-alias":
    client.set_registered_model_alias("fraud-detector", "champion", sys.argv[3])
print(json.dumps(out))
"""


def mlflow_python() -> str:
    python = os.environ.get("RS_TEST_MLFLOW_PYTHON")
    if not python:
        if os.environ.get("CI"):
            pytest.fail("RS_TEST_MLFLOW_PYTHON is not set but CI is: build it with .ci/mlflow-venv.sh")
        pytest.skip("RS_TEST_MLFLOW_PYTHON not set (see .ci/mlflow-venv.sh)")
    return python


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MlflowServer:
    def __init__(self, python: str, workdir: Path) -> None:
        self.python = python
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log = (workdir / "server.log").open("wb")
        self.process = subprocess.Popen(
            [
                python,
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--backend-store-uri",
                f"sqlite:///{workdir / 'mlflow.db'}",
                "--default-artifact-root",
                str(workdir / "artifacts"),
                "--workers",
                "1",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {(workdir / 'server.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{self.uri}/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.3)
        raise RuntimeError("mlflow server did not become healthy in 120 s")

    def client(self, *args: str) -> dict[str, Any]:
        done = subprocess.run(
            [self.python, "-c", LOG_SCRIPT, self.uri, *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MlflowServer, dict[str, Any]]]:
    running = MlflowServer(mlflow_python(), tmp_path_factory.mktemp("mlflow"))
    try:
        yield running, running.client("setup")
    finally:
        running.stop()


def mlflow_source(uri: str, **extra: Any) -> Source:
    settings: Any = TypeAdapter(SourceSettings).validate_python(
        {"kind": "mlflow", "tracking_uri": uri, **extra}
    )
    return build_source("mlflow", settings)


FRAUD = WatchQuery(
    "fraud",
    "fraud-detector",
    current_run=ExperimentRun(experiment="fraud-monitoring", filter="tags.model = 'fraud'"),
    counts=CountsSelector(
        current=MetricCount(metric="data/num_samples"),
        new=MetadataCount(metadata="new_rows"),
        baseline=MetadataCount(metadata="num_samples"),
        window=MetricCount(metric="data/num_samples"),
    ),
    metric_aliases={"val_loss": "val/loss"},
)


def read(source: Source, *watches: WatchQuery) -> dict[str, Snapshot | SourceError]:
    return source.read(list(watches), NOW)


@pytest.mark.slow
@pytest.mark.mlflow
class TestRealServer:
    def test_baseline_is_the_version_the_alias_points_to(
        self, server: tuple[MlflowServer, dict[str, Any]]
    ) -> None:
        running, created = server
        snapshot = read(mlflow_source(running.uri), FRAUD)["fraud"]
        assert isinstance(snapshot, Snapshot), snapshot
        first = created["versions"][0]
        assert snapshot.provenance.model_version == first["version"]
        assert snapshot.provenance.baseline_rule == "alias:champion"
        assert snapshot.provenance.baseline_run_id == first["run_id"]
        assert snapshot.baseline_metrics == {
            "auc": 0.90,
            "val/loss": pytest.approx(0.10),
            "val_loss": pytest.approx(0.10),
        }
        assert snapshot.last_trained_at == datetime.fromtimestamp(first["end_time"] / 1000, tz=UTC)
        assert snapshot.baseline_count == 5000

    def test_current_is_the_newest_run_matching_the_filter(
        self, server: tuple[MlflowServer, dict[str, Any]]
    ) -> None:
        running, created = server
        snapshot = read(mlflow_source(running.uri), FRAUD)["fraud"]
        assert isinstance(snapshot, Snapshot), snapshot
        assert snapshot.provenance.current_run_id == created["monitoring"][-1]
        assert snapshot.current_metrics is not None
        assert snapshot.current_metrics["auc"] == pytest.approx(0.81)  # the value at the last step
        assert snapshot.drift_metrics == {"js_divergence": 0.22}
        assert (snapshot.current_count, snapshot.new_count) == (2000, 600)
        assert snapshot.window_count == 2000  # issue 12, item 3: mapped on its own
        assert snapshot.observed_at is not None and snapshot.observed_at <= datetime.now(UTC)

    def test_a_fixed_version_and_a_fixed_run(self, server: tuple[MlflowServer, dict[str, Any]]) -> None:
        running, created = server
        watch = WatchQuery(
            "v2",
            "fraud-detector",
            baseline=VersionBaseline(version=created["versions"][1]["version"]),
            current_run=RunId(run_id=created["monitoring"][0]),
        )
        snapshot = read(mlflow_source(running.uri), watch)["v2"]
        assert isinstance(snapshot, Snapshot), snapshot
        assert snapshot.baseline_metrics is not None and snapshot.baseline_metrics["auc"] == 0.93
        assert snapshot.drift_metrics == {"js_divergence": 0.05}

    def test_unknown_model_alias_and_experiment_fail_only_their_watch(
        self, server: tuple[MlflowServer, dict[str, Any]]
    ) -> None:
        running, _ = server
        results = read(
            mlflow_source(running.uri),
            FRAUD,
            WatchQuery("ghost", "no-such-model"),
            WatchQuery("noalias", "no-alias-model", baseline=AliasBaseline(alias="champion")),
            WatchQuery("noexp", "fraud-detector", current_run=ExperimentRun(experiment="nope")),
            WatchQuery(
                "nomatch",
                "fraud-detector",
                current_run=ExperimentRun(experiment="fraud-monitoring", filter="tags.model = 'zzz'"),
            ),
        )
        assert isinstance(results["fraud"], Snapshot)
        assert "model 'no-such-model' not found" in str(results["ghost"])
        assert "has no alias 'champion'" in str(results["noalias"])
        assert "experiment 'nope' not found" in str(results["noexp"])
        assert "no run in experiment 'fraud-monitoring'" in str(results["nomatch"])

    def test_check_reaches_the_server(self, server: tuple[MlflowServer, dict[str, Any]]) -> None:
        mlflow_source(server[0].uri).check()

    def test_moving_the_alias_moves_the_baseline(self, server: tuple[MlflowServer, dict[str, Any]]) -> None:
        running, created = server
        second = created["versions"][1]
        running.client("move-alias", second["version"])
        try:
            snapshot = read(mlflow_source(running.uri), FRAUD)["fraud"]
            assert isinstance(snapshot, Snapshot), snapshot
            assert snapshot.provenance.model_version == second["version"]
            assert snapshot.baseline_metrics is not None and snapshot.baseline_metrics["auc"] == 0.93
        finally:
            running.client("move-alias", created["versions"][0]["version"])


# --- small real servers for what a live MLflow cannot show ------------------------------------


def test_an_old_registry_without_aliases_falls_back_to_the_newest_version_in_stage_across_pages(
    httpserver: HTTPServer,
) -> None:
    api = "/api/2.0/mlflow"
    httpserver.expect_request(f"{api}/registered-models/alias").respond_with_json(
        {"error_code": "ENDPOINT_NOT_FOUND", "message": "no such endpoint"}, status=404
    )
    httpserver.expect_request(f"{api}/registered-models/get").respond_with_json(
        {"registered_model": {"name": "m"}}
    )
    pages = {
        None: {
            "model_versions": [{"version": "1", "current_stage": "Production", "creation_timestamp": 1}],
            "next_page_token": "p2",
        },
        "p2": {
            "model_versions": [
                {"version": "3", "current_stage": "Production", "creation_timestamp": 1717236000000},
                {"version": "4", "current_stage": "Staging"},
            ]
        },
    }

    def search(request: Request) -> Response:
        return Response(json.dumps(pages[request.args.get("page_token")]), content_type="application/json")

    httpserver.expect_request(f"{api}/model-versions/search").respond_with_handler(search)
    snapshot = read(mlflow_source(httpserver.url_for("/")), WatchQuery("m", "m"))["m"]
    assert isinstance(snapshot, Snapshot), snapshot
    assert snapshot.provenance.model_version == "3"
    assert snapshot.provenance.baseline_rule == "stage:Production"
    assert snapshot.baseline_metrics is None  # the version has no run
    assert snapshot.last_trained_at == datetime(2024, 6, 1, 10, 0, tzinfo=UTC)


def test_a_bearer_token_is_sent_and_never_shown(httpserver: HTTPServer, tmp_path: Path) -> None:
    seen: list[str | None] = []

    def refuse(request: Request) -> Response:
        seen.append(request.headers.get("Authorization"))
        return Response(
            json.dumps({"error_code": "UNAUTHENTICATED", "message": "bad token s3cr3t-token"}), status=401
        )

    httpserver.expect_request("/api/2.0/mlflow/registered-models/alias").respond_with_handler(refuse)
    token_file = tmp_path / "token"
    token_file.write_text("s3cr3t-token\n")
    for source in (
        mlflow_source(httpserver.url_for("/"), token="s3cr3t-token"),
        mlflow_source(httpserver.url_for("/"), token_file=str(token_file)),
    ):
        result = read(source, WatchQuery("m", "m"))["m"]
        assert isinstance(result, SourceError)
        assert "refused the credentials (HTTP 401)" in result.cause
        assert "s3cr3t" not in str(result)
    assert seen == ["Bearer s3cr3t-token", "Bearer s3cr3t-token"]


def test_basic_auth_is_sent(httpserver: HTTPServer) -> None:
    seen: list[Any] = []

    def record(request: Request) -> Response:
        seen.append(
            request.authorization and (request.authorization.username, request.authorization.password)
        )
        return Response(json.dumps({"experiments": []}), content_type="application/json")

    httpserver.expect_request("/api/2.0/mlflow/experiments/search").respond_with_handler(record)
    mlflow_source(httpserver.url_for("/"), username="bot", password="pa55word").check()
    assert seen == [("bot", "pa55word")]


def test_transient_errors_are_retried_then_reported(httpserver: HTTPServer) -> None:
    calls: list[int] = []

    def flaky(request: Request) -> Response:
        calls.append(1)
        if len(calls) < 3:
            return Response("busy", status=503)
        return Response(json.dumps({"experiments": []}), content_type="application/json")

    httpserver.expect_request("/api/2.0/mlflow/experiments/search").respond_with_handler(flaky)
    mlflow_source(httpserver.url_for("/"), retries=2, retry_delay="1ms").check()
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(SourceError, match="HTTP 503"):
        mlflow_source(httpserver.url_for("/"), retries=1, retry_delay="1ms").check()


def test_an_unreachable_server_fails_every_watch() -> None:
    source = mlflow_source(
        f"http://127.0.0.1:{free_port()}/private/path?key=abc",
        retries=1,
        retry_delay="1ms",
        timeout="2s",
        token="tok-123456",
    )
    results = read(source, WatchQuery("a", "a"), WatchQuery("b", "b"))
    for result in results.values():
        assert isinstance(result, SourceError)
        assert "unreachable" in result.cause
        assert (
            "private" not in result.cause and "abc" not in result.cause and "tok-123456" not in result.cause
        )


def test_a_non_numeric_count_param_fails_that_watch(httpserver: HTTPServer) -> None:
    api = "/api/2.0/mlflow"
    httpserver.expect_request(f"{api}/registered-models/alias").respond_with_json(
        {"model_version": {"version": "1", "run_id": "r1", "creation_timestamp": 1}}
    )
    httpserver.expect_request(f"{api}/runs/get").respond_with_json(
        {
            "run": {
                "info": {"run_id": "r1", "end_time": 1},
                "data": {
                    "metrics": [{"key": "auc", "value": 0.9}],
                    "params": [{"key": "rows", "value": "many"}],
                },
            }
        }
    )
    watch = WatchQuery("m", "m", counts=CountsSelector(baseline=MetadataCount(metadata="rows")))
    result = read(mlflow_source(httpserver.url_for("/")), watch)["m"]
    assert isinstance(result, SourceError)
    assert "param 'rows' of run r1 is not a number: 'many'" in result.cause


def test_the_source_never_imports_mlflow() -> None:
    code = "import sys, retrain_sentinel.sources.mlflow; sys.exit('mlflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_an_answer_nobody_foresaw_fails_only_that_watch(httpserver: HTTPServer) -> None:
    api = "/api/2.0/mlflow"
    runs = {
        "good": {"info": {"run_id": "good", "end_time": 1}, "data": {"metrics": [{"key": "auc", "value": 0.9}]}},
        # a metric timestamp that is no number, and a metric that is no object
        "stamp": {"info": {"run_id": "stamp"}, "data": {"metrics": [{"key": "auc", "value": 0.9, "timestamp": "x"}]}},
        "shape": {"info": {"run_id": "shape"}, "data": {"metrics": ["auc"]}},
    }

    def alias(request: Request) -> Response:
        name = request.args["name"]
        return Response(
            json.dumps({"model_version": {"version": "1", "run_id": name, "creation_timestamp": 1}}),
            content_type="application/json",
        )

    def run(request: Request) -> Response:
        return Response(json.dumps({"run": runs[request.args["run_id"]]}), content_type="application/json")

    httpserver.expect_request(f"{api}/registered-models/alias").respond_with_handler(alias)
    httpserver.expect_request(f"{api}/runs/get").respond_with_handler(run)
    results = read(mlflow_source(httpserver.url_for("/")), *(WatchQuery(n, n) for n in runs))
    assert isinstance(results["good"], Snapshot), results["good"]
    stamp, shape = results["stamp"], results["shape"]
    assert isinstance(stamp, SourceError) and isinstance(shape, SourceError)
    assert "metric 'auc' of run stamp has a timestamp that is not a number" in stamp.cause
    assert "unexpected AttributeError" in shape.cause
