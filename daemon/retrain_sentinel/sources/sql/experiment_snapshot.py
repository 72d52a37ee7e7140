"""One watch's ``Snapshot`` from the rows chosen for it (``layout: experiment_db``), in steps:
the baseline version's metrics JSON, the current run's latest metric values, the counts
(metrics, or the run's ``config`` / the version's ``metadata`` JSON), the provenance.

Pure: the rows come from ``experiment_db``'s statements, the choice from ``selection``. Anything
unreadable fails only this watch (``WatchFailure``), and the checks run in a fixed order, so the
error a watch reports does not depend on the backend.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from retrain_sentinel.snapshot import Provenance, Snapshot
from retrain_sentinel.sources.base import WatchFailure, WatchQuery, source_name_of, split_metrics, to_number
from retrain_sentinel.sources.settings import CountSpec, MetricCount
from retrain_sentinel.sources.sql.selection import Baseline, Run, Version
from retrain_sentinel.sources.sql.times import to_utc

__all__ = ["RunReadings", "build_snapshot"]



@dataclass
class RunReadings:
    """Per run: the latest value of each metric, the time of its latest metric row, and why its
    metrics cannot be used (a row without a name), if so — naming the row."""

    metrics: dict[str, Any] = field(default_factory=dict)
    last_at: Any = None
    problem: str | None = None


def build_snapshot(
    source: str,
    watch: WatchQuery,
    baseline: Baseline,
    run: Run | str | None,
    *,
    readings: Mapping[int, RunReadings],
    configs: Mapping[int, Any],
    aliases: Mapping[str, str],
    zone: tzinfo,
) -> Snapshot:
    """``run`` is the chosen current run, the reason there is none, or ``None`` when the watch
    names no ``current_run``; ``configs`` holds the runs' ``config`` JSON where a count needs it."""
    version = baseline.version
    baseline_raw = _version_metrics(version)
    if isinstance(run, str):
        raise WatchFailure(run)
    current_raw, observed_at = _run_metrics(run, readings, zone) if run is not None else (None, None)
    current_metrics, drift_metrics = (
        split_metrics(current_raw, aliases) if current_raw is not None else (None, None)
    )
    last_trained_at = to_utc(version.created_at, zone, f"created_at of {version.row}")
    baseline_count, current_count, new_count, window_count = _counts(
        watch,
        version,
        baseline_metrics=baseline_raw,
        run=run,
        run_metrics=current_raw,
        configs=configs,
        aliases=aliases,
    )
    return Snapshot(
        current_metrics=current_metrics,
        baseline_metrics=split_metrics(baseline_raw, aliases)[0],
        drift_metrics=drift_metrics or None,
        last_trained_at=last_trained_at,
        baseline_count=baseline_count,
        current_count=current_count,
        new_count=new_count,
        window_count=window_count,
        observed_at=observed_at,
        provenance=_provenance(source, watch, baseline, run),
    )


# --- metrics -----------------------------------------------------------------------------------------


def _version_metrics(version: Version) -> dict[str, float]:
    """The numbers of the baseline version's ``metrics`` JSON (nested values and nulls skipped)."""
    what = f"metrics of {version.row}"
    metrics: dict[str, float] = {}
    for key, value in _json_object(version.metrics, what).items():
        if value is None or isinstance(value, dict | list):
            continue
        try:
            metrics[str(key)] = to_number(value, f"{what}[{key!r}]")
        except ValueError as exc:
            raise WatchFailure(str(exc)) from None
    return metrics


def _run_metrics(run: Run, readings: Mapping[int, RunReadings], zone: tzinfo) -> tuple[dict[str, float], Any]:
    """The run's latest metric values as numbers (nulls skipped), and when it logged the last one."""
    found = readings.get(run.run_id) or RunReadings()
    if found.problem is not None:
        raise WatchFailure(found.problem)
    metrics: dict[str, float] = {}
    for name, value in found.metrics.items():
        if value is None:
            continue
        try:
            metrics[name] = to_number(value, f"metric {name!r} of run {run.run_id}")
        except ValueError as exc:
            raise WatchFailure(str(exc)) from None
    return metrics, to_utc(found.last_at, zone, f"metric timestamp of run {run.run_id}")


# --- counts ------------------------------------------------------------------------------------------


def _counts(
    watch: WatchQuery,
    version: Version,
    *,
    baseline_metrics: Mapping[str, float],
    run: Run | None,
    run_metrics: Mapping[str, float] | None,
    configs: Mapping[int, Any],
    aliases: Mapping[str, str],
) -> tuple[float | None, float | None, float | None, float | None]:
    """The ``baseline``, ``current``, ``new`` and ``window`` counts the watch asks for, read in that order."""
    counts = watch.counts
    if counts is None:
        return None, None, None, None
    config = configs.get(run.run_id) if run is not None else None
    return (
        _baseline_count(counts.baseline, watch, version, baseline_metrics, aliases),
        _run_count(counts.current, run, run_metrics, config, aliases),
        _run_count(counts.new, run, run_metrics, config, aliases),
        _run_count(counts.window, run, run_metrics, config, aliases),
    )


def _run_count(
    spec: CountSpec | None,
    run: Run | None,
    metrics: Mapping[str, float] | None,
    config: Any,
    aliases: Mapping[str, str],
) -> float | None:
    """A count of the current run: a metric it logged, or a key of its ``config`` JSON."""
    if spec is None or run is None:
        return None
    if isinstance(spec, MetricCount):
        return (metrics or {}).get(source_name_of(spec.metric, aliases))
    what = f"config of run {run.run_id}"
    return _metadata_count(_json_object(config, what), spec.metadata, what)


def _baseline_count(
    spec: CountSpec | None,
    watch: WatchQuery,
    version: Version,
    metrics: Mapping[str, float],
    aliases: Mapping[str, str],
) -> float | None:
    """The baseline's count: a number in the version's ``metrics`` or its ``metadata`` JSON."""
    if spec is None:
        return None
    if isinstance(spec, MetricCount):
        return metrics.get(source_name_of(spec.metric, aliases))
    what = f"metadata of {version.row}"
    return _metadata_count(_json_object(version.metadata, what), spec.metadata, what)


def _metadata_count(data: Mapping[str, Any], path: str, what: str) -> float | None:
    value = _dig(data, path)
    if value is None:
        return None
    try:
        return to_number(value, f"{what}[{path!r}]")
    except ValueError as exc:
        raise WatchFailure(str(exc)) from None


def _dig(data: Mapping[str, Any], path: str) -> Any:
    """``data[path]``, else follow a dotted path through nested objects."""
    if path in data:
        return data[path]
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _json_object(raw: Any, what: str) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw)
    except RecursionError:
        raise WatchFailure(f"{what} is nested too deeply") from None
    except (TypeError, ValueError) as exc:
        raise WatchFailure(f"{what} is not valid JSON") from exc
    if not isinstance(value, dict):
        raise WatchFailure(f"{what} is not a JSON object")
    return value


# --- provenance --------------------------------------------------------------------------------------


def _provenance(source: str, watch: WatchQuery, baseline: Baseline, run: Run | None) -> Provenance:
    version = baseline.version
    return Provenance(
        source=source,
        registry_model=watch.registry_model,
        model_version=version.version,
        baseline_rule=baseline.rule,
        baseline_run_id=str(version.training_run_id) if version.training_run_id is not None else None,
        current_run_id=str(run.run_id) if run is not None else None,
        extra={"baseline_model_id": version.model_id}
        | ({"current_run_name": run.name} if run is not None and run.name else {}),
    )
