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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from retrain_sentinel.errors import SourceError
from retrain_sentinel.redaction import Redactor, redact_url
from retrain_sentinel.snapshot import Provenance, Snapshot
from retrain_sentinel.sources.base import (
    SourceResult,
    WatchQuery,
    first_line,
    merged_aliases,
    source_name_of,
    split_metrics,
    to_number,
)
from retrain_sentinel.sources.failures import retry
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

_API = "/api/2.0/mlflow"
_TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
_PAGE_SIZE = 200


class _Transient(Exception):
    """A failure worth one more try (connection, timeout, 429, 5xx)."""


class _NotFound(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Failure(Exception):
    """Why one watch (or, raised from shared calls, the whole source) cannot be read."""


@dataclass(frozen=True)
class _Run:
    run_id: str
    metrics: dict[str, float]
    metric_times: dict[str, int]
    params: dict[str, str]
    tags: dict[str, str]
    start_time: int | None
    end_time: int | None


def _millis(value: Any) -> datetime | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


class _Client:
    """The REST calls we make, with auth, timeouts, retry and error classification in one place."""

    def __init__(self, settings: MlflowSourceSettings, redact: Redactor) -> None:
        self.settings = settings
        self.base = settings.tracking_uri.rstrip("/")
        self.where = redact_url(settings.tracking_uri)
        self.redact = redact
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=settings.max_workers)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.verify = settings.verify_tls
        self.session.headers["User-Agent"] = "retrain-sentinel"

    def authorize(self) -> None:
        """Set the credentials; ``*_file`` secrets are read again each batch so rotation works."""
        s = self.settings
        self.session.auth = None
        self.session.headers.pop("Authorization", None)
        if s.token is not None or s.token_file is not None:
            token = (
                s.token.get_secret_value()
                if s.token is not None
                else _read_secret(s.token_file, "token_file")
            )
            self.redact = Redactor.of([*self.redact.secrets, token])
            self.session.headers["Authorization"] = f"Bearer {token}"
        elif s.username is not None:
            password = (
                s.password.get_secret_value()
                if s.password is not None
                else _read_secret(s.password_file, "password_file")
                if s.password_file is not None
                else ""
            )
            self.redact = Redactor.of([*self.redact.secrets, password])
            self.session.auth = (s.username, password)

    def call(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        s = self.settings
        return retry(
            lambda: self._once(method, endpoint, params, body),
            attempts=s.retries,
            delay=s.retry_delay.total_seconds(),
            transient=lambda exc: isinstance(exc, _Transient),
        )

    def _once(
        self, method: str, endpoint: str, params: Mapping[str, Any] | None, body: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        try:
            response = self.session.request(
                method,
                f"{self.base}{_API}/{endpoint}",
                params=params,
                json=body,
                timeout=self.settings.timeout.total_seconds(),
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Transient(f"{self.where} unreachable ({type(exc).__name__})") from exc
        except requests.RequestException as exc:
            raise _Failure(f"{self.where}: {type(exc).__name__}") from exc
        if response.status_code in _TRANSIENT_STATUS:
            raise _Transient(f"{self.where} answered HTTP {response.status_code} to {endpoint}")
        try:
            payload = response.json() if response.content else {}
        except ValueError:
            payload = None
        if response.status_code in (401, 403):
            raise _Failure(f"{self.where} refused the credentials (HTTP {response.status_code})")
        if not isinstance(payload, dict):
            raise _Failure(f"{self.where} answered {endpoint} with HTTP {response.status_code}, not JSON")
        code = payload.get("error_code")
        # A missing alias is "400 INVALID_PARAMETER_VALUE … not found" on current servers.
        missing = code == "INVALID_PARAMETER_VALUE" and "not found" in str(payload.get("message", "")).lower()
        if (
            response.status_code == 404
            or missing
            or code in ("RESOURCE_DOES_NOT_EXIST", "ENDPOINT_NOT_FOUND")
        ):
            raise _NotFound(
                str(payload.get("error_code", "NOT_FOUND")),
                self.redact(first_line(str(payload.get("message", "")))),
            )
        if response.status_code >= 400:
            message = self.redact(first_line(str(payload.get("message", ""))))
            raise _Failure(f"{self.where} answered {endpoint} with HTTP {response.status_code}: {message}")
        return payload


def _read_secret(path: str | None, what: str) -> str:
    try:
        return Path(str(path)).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise _Failure(f"cannot read {what} ({exc.strerror})") from exc


class MlflowSource:
    """``kind: mlflow``."""

    def __init__(self, name: str, settings: MlflowSourceSettings) -> None:
        self.name = name
        self.settings = settings
        secrets = [
            settings.password.get_secret_value() if settings.password else None,
            settings.token.get_secret_value() if settings.token else None,
        ]
        self._client = _Client(settings, Redactor.of(secrets))
        self._experiments: dict[str, str] = {}
        self._lock = threading.Lock()

    # --- the Source protocol -------------------------------------------------------------------

    def read(self, watches: Sequence[WatchQuery], now: datetime) -> dict[str, SourceResult]:
        del now  # MLflow answers "newest"; there is no window to compute
        if not watches:
            return {}
        try:
            self._client.authorize()
        except _Failure as exc:
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
        except (_Failure, _Transient, _NotFound) as exc:
            raise SourceError(self.name, None, self._client.redact(str(exc))) from exc

    def close(self) -> None:
        self._client.session.close()

    # --- one watch -----------------------------------------------------------------------------

    def _read_one(self, watch: WatchQuery) -> SourceResult:
        try:
            return self._snapshot(watch)
        except (_Failure, _Transient) as exc:
            return SourceError(self.name, watch.registry_model, self._client.redact(str(exc)))
        except _NotFound as exc:
            return SourceError(self.name, watch.registry_model, self._client.redact(f"not found: {exc}"))

    def _snapshot(self, watch: WatchQuery) -> Snapshot:
        aliases = merged_aliases(self.settings.aliases, watch)
        version, rule = self._baseline_version(watch)
        baseline_run = self._run(str(version["run_id"])) if version.get("run_id") else None
        current_run = self._current_run(watch)
        baseline_metrics = split_metrics(baseline_run.metrics, aliases)[0] if baseline_run else None
        current_metrics, drift = split_metrics(current_run.metrics, aliases) if current_run else (None, {})
        last_trained = (_millis(baseline_run.end_time) if baseline_run else None) or _millis(
            version.get("creation_timestamp")
        )
        observed = None
        if current_run is not None:
            observed = _millis(max(current_run.metric_times.values(), default=None)) or _millis(
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
                raise _Failure(str(exc)) from None

        return Snapshot(
            current_metrics=current_metrics,
            baseline_metrics=baseline_metrics,
            drift_metrics=drift or None,
            last_trained_at=last_trained,
            baseline_count=count(counts.baseline, baseline_run) if counts else None,
            current_count=count(counts.current, current_run) if counts else None,
            new_count=count(counts.new, current_run) if counts else None,
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
            raise _Failure("baseline {tag: ...} is for sql sources; use {alias: ...} or {version: ...}")
        if isinstance(selector, VersionBaseline):
            try:
                found = self._client.call(
                    "GET", "model-versions/get", params={"name": watch.registry_model, "version": selector.version}
                )
            except _NotFound:
                self._require_model(watch.registry_model)
                raise _Failure(f"version {selector.version!r} of model {watch.registry_model!r} not found") from None
            return dict(found.get("model_version") or {}), f"version:{selector.version}"
        alias = selector.alias if isinstance(selector, AliasBaseline) else self.settings.default_alias
        try:
            found = self._client.call(
                "GET", "registered-models/alias", params={"name": watch.registry_model, "alias": alias}
            )
            return dict(found.get("model_version") or {}), f"alias:{alias}"
        except _NotFound:
            self._require_model(watch.registry_model)
        stage = self.settings.fallback_stage
        if stage:
            version = self._newest_in_stage(watch.registry_model, stage)
            if version is not None:
                return version, f"stage:{stage}"
        tail = f" and no version is in stage {stage!r}" if stage else ""
        raise _Failure(f"model {watch.registry_model!r} has no alias {alias!r}{tail}")

    def _require_model(self, model: str) -> None:
        try:
            self._client.call("GET", "registered-models/get", params={"name": model})
        except _NotFound:
            raise _Failure(f"model {model!r} not found in the registry") from None

    def _newest_in_stage(self, model: str, stage: str) -> dict[str, Any] | None:
        """Page through the model's versions (an old registry has no aliases to ask)."""
        newest: dict[str, Any] | None = None
        token: str | None = None
        escaped = model.replace("'", "\\'")
        while True:
            params: dict[str, Any] = {"filter": f"name='{escaped}'", "max_results": _PAGE_SIZE}
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
            except _NotFound:
                raise _Failure(f"run {selector.run_id!r} not found") from None
        if not isinstance(selector, ExperimentRun):
            raise _Failure(
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
            raise _Failure(f"no run in experiment {selector.experiment!r}{where}")
        return _parse_run(runs[0])

    def _experiment_id(self, name: str) -> str:
        with self._lock:
            known = self._experiments.get(name)
        if known is not None:
            return known
        try:
            found = self._client.call("GET", "experiments/get-by-name", params={"experiment_name": name})
        except _NotFound:
            raise _Failure(f"experiment {name!r} not found") from None
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
            raise _Failure(str(exc)) from None
        if metric.get("timestamp") is not None:
            times[key] = int(metric["timestamp"])

    def pairs(kind: str) -> dict[str, str]:
        return {str(p.get("key")): str(p.get("value")) for p in data.get(kind) or ()}

    return _Run(
        run_id, metrics, times, pairs("params"), pairs("tags"), info.get("start_time"), info.get("end_time")
    )
