"""An MLflow tracking server and model registry, read over its REST API with ``requests``.

No ``mlflow`` import at run time: the REST API is stable across server versions and keeps the
daemon small. Per watch:

- baseline: the registered version the alias points to (default ``champion``); a fixed
  ``version``; or — for registries from before aliases — the newest version in
  ``fallback_stage`` (found through the paginated model-version search);
- baseline metrics: the version's run's metrics; last trained: that run's ``end_time``, else the
  version's ``creation_timestamp``;
- current: the newest run (``start_time DESC``) of ``current_run.experiment`` matching
  ``current_run.filter``, or a fixed ``run_id``; ``observed_at`` = its latest metric timestamp.

Watches of a batch are read concurrently by at most ``max_workers`` threads.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from retrain_sentinel.errors import SourceError
from retrain_sentinel.redaction import Redactor
from retrain_sentinel.snapshot import Provenance, Snapshot
from retrain_sentinel.sources.base import (
    SourceResult,
    WatchQuery,
    merged_aliases,
    source_name_of,
    split_metrics,
    to_number,
    unexpected,
)
from retrain_sentinel.sources.mlflow_api import PAGE_SIZE, Client, Failure, NotFound, Transient, millis
from retrain_sentinel.sources.settings import (
    AliasBaseline,
    CountSpec,
    ExperimentRun,
    MetricCount,
    MlflowSourceSettings,
    RunId,
    TagBaseline,
    VersionBaseline,
)

__all__ = ["MlflowSource"]

@dataclass(frozen=True)
class _Run:
    run_id: str
    metrics: dict[str, float]
    metric_times: dict[str, int]
    params: dict[str, str]
    tags: dict[str, str]
    start_time: int | None
    end_time: int | None



class MlflowSource:
    """``kind: mlflow``."""

    def __init__(self, name: str, settings: MlflowSourceSettings) -> None:
        self.name = name
        self.settings = settings
        secrets = [
            settings.password.get_secret_value() if settings.password else None,
            settings.token.get_secret_value() if settings.token else None,
        ]
        self._client = Client(settings, Redactor.of(secrets))
        self._experiments: dict[str, str] = {}
        self._lock = threading.Lock()

    # --- the Source protocol -------------------------------------------------------------------

    def read(self, watches: Sequence[WatchQuery], now: datetime) -> dict[str, SourceResult]:
        del now  # MLflow answers "newest"; there is no window to compute
        if not watches:
            return {}
        try:
            self._client.authorize()
        except Failure as exc:
            return {w.watch: SourceError(self.name, w.registry_model, str(exc)) for w in watches}
        with self._lock:
            self._experiments = {}
        workers = min(self.settings.max_workers, len(watches))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"source-{self.name}") as pool:
            results = list(pool.map(self._read_one, watches))
        return {w.watch: result for w, result in zip(watches, results, strict=True)}

    def check(self) -> None:
        try:
            self._client.authorize()
            self._client.call("GET", "experiments/search", params={"max_results": 1})
        except (Failure, Transient, NotFound) as exc:
            raise SourceError(self.name, None, self._client.redact(str(exc))) from exc

    def close(self) -> None:
        self._client.session.close()

    # --- one watch -----------------------------------------------------------------------------

    def _read_one(self, watch: WatchQuery) -> SourceResult:
        try:
            return self._snapshot(watch)
        except (Failure, Transient) as exc:
            return SourceError(self.name, watch.registry_model, self._client.redact(str(exc)))
        except NotFound as exc:
            return SourceError(self.name, watch.registry_model, self._client.redact(f"not found: {exc}"))
        except Exception as exc:  # an answer nobody foresaw fails its watch, not the batch's pool.map
            return SourceError(self.name, watch.registry_model, self._client.redact(unexpected(exc)))

    def _snapshot(self, watch: WatchQuery) -> Snapshot:
        aliases = merged_aliases(self.settings.aliases, watch)
        version, rule = self._baseline_version(watch)
        baseline_run = self._run(str(version["run_id"])) if version.get("run_id") else None
        current_run = self._current_run(watch)
        baseline_metrics = split_metrics(baseline_run.metrics, aliases)[0] if baseline_run else None
        current_metrics, drift = split_metrics(current_run.metrics, aliases) if current_run else (None, {})
        last_trained = (millis(baseline_run.end_time) if baseline_run else None) or millis(
            version.get("creation_timestamp")
        )
        observed = None
        if current_run is not None:
            observed = millis(max(current_run.metric_times.values(), default=None)) or millis(
                current_run.end_time
            )
        counts = watch.counts

        def count(spec: CountSpec | None, run: _Run | None) -> float | None:
            if spec is None or run is None:
                return None
            if isinstance(spec, MetricCount):
                return run.metrics.get(source_name_of(spec.metric, aliases))
            raw = run.params.get(spec.metadata, run.tags.get(spec.metadata))
            if raw is None:
                return None
            try:
                return to_number(raw, f"param {spec.metadata!r} of run {run.run_id}")
            except ValueError as exc:
                raise Failure(str(exc)) from None

        return Snapshot(
            current_metrics=current_metrics,
            baseline_metrics=baseline_metrics,
            drift_metrics=drift or None,
            last_trained_at=last_trained,
            baseline_count=count(counts.baseline, baseline_run) if counts else None,
            current_count=count(counts.current, current_run) if counts else None,
            new_count=count(counts.new, current_run) if counts else None,
            window_count=count(counts.window, current_run) if counts else None,
            observed_at=observed,
            provenance=Provenance(
                source=self.name,
                registry_model=watch.registry_model,
                model_version=str(version.get("version")),
                baseline_rule=rule,
                baseline_run_id=baseline_run.run_id if baseline_run else None,
                current_run_id=current_run.run_id if current_run else None,
            ),
        )

    def _baseline_version(self, watch: WatchQuery) -> tuple[dict[str, Any], str]:
        selector = watch.baseline
        if isinstance(selector, TagBaseline):
            raise Failure("baseline {tag: ...} is for sql sources; use {alias: ...} or {version: ...}")
        if isinstance(selector, VersionBaseline):
            try:
                found = self._client.call(
                    "GET", "model-versions/get", params={"name": watch.registry_model, "version": selector.version}
                )
            except NotFound:
                self._require_model(watch.registry_model)
                raise Failure(f"version {selector.version!r} of model {watch.registry_model!r} not found") from None
            return dict(found.get("model_version") or {}), f"version:{selector.version}"
        alias = selector.alias if isinstance(selector, AliasBaseline) else self.settings.default_alias
        try:
            found = self._client.call(
                "GET", "registered-models/alias", params={"name": watch.registry_model, "alias": alias}
            )
            return dict(found.get("model_version") or {}), f"alias:{alias}"
        except NotFound:
            self._require_model(watch.registry_model)
        stage = self.settings.fallback_stage
        if stage:
            version = self._newest_in_stage(watch.registry_model, stage)
            if version is not None:
                return version, f"stage:{stage}"
        tail = f" and no version is in stage {stage!r}" if stage else ""
        raise Failure(f"model {watch.registry_model!r} has no alias {alias!r}{tail}")

    def _require_model(self, model: str) -> None:
        try:
            self._client.call("GET", "registered-models/get", params={"name": model})
        except NotFound:
            raise Failure(f"model {model!r} not found in the registry") from None

    def _newest_in_stage(self, model: str, stage: str) -> dict[str, Any] | None:
        """Page through the model's versions (an old registry has no aliases to ask)."""
        newest: dict[str, Any] | None = None
        token: str | None = None
        escaped = model.replace("'", "\\'")
        while True:
            params: dict[str, Any] = {"filter": f"name='{escaped}'", "max_results": PAGE_SIZE}
            if token:
                params["page_token"] = token
            page = self._client.call("GET", "model-versions/search", params=params)
            for version in page.get("model_versions") or ():
                if str(version.get("current_stage", "")).lower() == stage.lower() and (
                    newest is None or _version_number(version) > _version_number(newest)
                ):
                    newest = version
            token = page.get("next_page_token")
            if not token:
                return newest

    def _current_run(self, watch: WatchQuery) -> _Run | None:
        selector = watch.current_run
        if selector is None:
            return None
        if isinstance(selector, RunId):
            try:
                return self._run(selector.run_id)
            except NotFound:
                raise Failure(f"run {selector.run_id!r} not found") from None
        if not isinstance(selector, ExperimentRun):
            raise Failure(
                "current_run {name}/{task} is for sql sources; use {experiment, filter} or {run_id}"
            )
        experiment_id = self._experiment_id(selector.experiment)
        found = self._client.call(
            "POST",
            "runs/search",
            body={
                "experiment_ids": [experiment_id],
                "filter": selector.filter,
                "order_by": ["attributes.start_time DESC"],
                "max_results": 1,
                "run_view_type": "ACTIVE_ONLY",
            },
        )
        runs = found.get("runs") or []
        if not runs:
            where = f" matching {selector.filter!r}" if selector.filter else ""
            raise Failure(f"no run in experiment {selector.experiment!r}{where}")
        return _parse_run(runs[0])

    def _experiment_id(self, name: str) -> str:
        with self._lock:
            known = self._experiments.get(name)
        if known is not None:
            return known
        try:
            found = self._client.call("GET", "experiments/get-by-name", params={"experiment_name": name})
        except NotFound:
            raise Failure(f"experiment {name!r} not found") from None
        experiment_id = str((found.get("experiment") or {}).get("experiment_id"))
        with self._lock:
            self._experiments[name] = experiment_id
        return experiment_id

    def _run(self, run_id: str) -> _Run:
        return _parse_run(self._client.call("GET", "runs/get", params={"run_id": run_id}).get("run") or {})


def _version_number(version: Mapping[str, Any]) -> tuple[int, str]:
    raw = str(version.get("version", ""))
    return (int(raw), raw) if raw.isdigit() else (-1, raw)


def _parse_run(run: Mapping[str, Any]) -> _Run:
    info = run.get("info") or {}
    data = run.get("data") or {}
    run_id = str(info.get("run_id") or info.get("run_uuid") or "")
    metrics: dict[str, float] = {}
    times: dict[str, int] = {}
    for metric in data.get("metrics") or ():
        key = str(metric.get("key"))
        try:
            metrics[key] = to_number(metric.get("value"), f"metric {key!r} of run {run_id}")
        except ValueError as exc:
            raise Failure(str(exc)) from None
        if metric.get("timestamp") is not None:
            try:
                times[key] = int(metric["timestamp"])
            except (TypeError, ValueError):
                raise Failure(f"metric {key!r} of run {run_id} has a timestamp that is not a number") from None

    def pairs(kind: str) -> dict[str, str]:
        return {str(p.get("key")): str(p.get("value")) for p in data.get(kind) or ()}

    return _Run(
        run_id, metrics, times, pairs("params"), pairs("tags"), info.get("start_time"), info.get("end_time")
    )
