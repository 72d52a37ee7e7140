"""Data files as a source: drift computed from a reference and the current window (``kind: files``).

Per watch (``{model}`` in the paths is the watch's model name):

- reference: a Parquet/CSV file, or a saved drift profile (``.json``); a data reference is
  profiled once and kept while the file is unchanged;
- current: the files matching the ``current`` glob whose modification time — or the date in their
  path (``YYYY-MM-DD`` or ``YYYYMMDD``, a UTC day overlapping the window) — falls in
  ``[now - window, now]``;
- drift: ``drift.compare`` (exact on the data for ``auto`` / ``ks`` / ``wasserstein`` with a data
  reference, else on profiles), as ``drift_metrics`` (``js_divergence``, ``share_drifted``, per
  feature); ``new_count`` and ``window_count`` = rows in the window (the new data, and the samples
  behind the drift scores), ``baseline_count`` = reference rows.

Reading uses ``datafiles.py``; this module only chooses the files and translates errors.
"""

from __future__ import annotations

import glob as globbing
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from retrain_sentinel.datafiles import (
    DataFileError,
    is_profile_file,
    load_profile,
    profile_file,
    read_table,
)
from retrain_sentinel.drift import DriftError, Profile, compare
from retrain_sentinel.errors import SourceError
from retrain_sentinel.snapshot import Provenance, Snapshot
from retrain_sentinel.sources.base import SourceResult, WatchFailure, WatchQuery, unexpected
from retrain_sentinel.sources.settings import FilesSourceSettings

__all__ = ["FilesSource", "date_in_path"]

_EXACT = ("auto", "ks", "wasserstein")
_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")


def date_in_path(path: str) -> date | None:
    """The last date written in a path (``2024-06-01`` or ``20240601``), if any."""
    for year, month, day in reversed(_DATE.findall(path)):
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class _Window:
    since: datetime
    until: datetime

    def holds_time(self, moment: datetime) -> bool:
        return self.since <= moment <= self.until

    def holds_day(self, day: date) -> bool:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start <= self.until and start + timedelta(days=1) > self.since

    def __str__(self) -> str:
        return f"{self.since.isoformat()}/{self.until.isoformat()}"


class FilesSource:
    """``kind: files``."""

    def __init__(self, name: str, settings: FilesSourceSettings) -> None:
        self.name = name
        self.settings = settings
        self._base = Path(settings.base_dir) if settings.base_dir else None
        self._profiles: dict[tuple[str, int, int], Profile] = {}

    # --- the Source protocol -------------------------------------------------------------------

    def read(self, watches: Sequence[WatchQuery], now: datetime) -> dict[str, SourceResult]:
        window = _Window(now - self.settings.window, now)
        results: dict[str, SourceResult] = {}
        for watch in watches:
            try:
                results[watch.watch] = self._snapshot(watch, window)
            except WatchFailure as exc:
                results[watch.watch] = SourceError(self.name, watch.registry_model, str(exc))
            except (DataFileError, DriftError) as exc:
                results[watch.watch] = SourceError(self.name, watch.registry_model, str(exc))
            except Exception as exc:  # a file nobody foresaw (vanished mid-read, unreadable) fails its watch only
                results[watch.watch] = SourceError(self.name, watch.registry_model, unexpected(exc))
        return results

    def check(self) -> None:
        for key in ("reference", "current"):
            pattern = getattr(self.settings, key)
            fixed = re.split(r"[{*?\[]", pattern, maxsplit=1)[0]
            folder = self._path(fixed if fixed.endswith("/") else str(Path(fixed).parent) or ".")
            if not folder.is_dir():
                raise SourceError(self.name, None, f"{key}: folder {folder} does not exist")

    def close(self) -> None:
        self._profiles.clear()

    # --- one watch -----------------------------------------------------------------------------

    def _path(self, text: str) -> Path:
        path = Path(text)
        return path if path.is_absolute() or self._base is None else self._base / path

    def _current_files(self, model: str, window: _Window) -> list[Path]:
        pattern = str(self._path(self.settings.current.replace("{model}", model)))
        chosen: list[Path] = []
        for found in sorted(globbing.glob(pattern, recursive=True)):
            path = Path(found)
            if not path.is_file():
                continue
            if self.settings.window_by == "path_date":
                day = date_in_path(found)
                if day is not None and window.holds_day(day):
                    chosen.append(path)
            elif window.holds_time(datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)):
                chosen.append(path)
        return chosen

    def _reference_profile(self, path: Path) -> Profile:
        """A data reference's profile, kept while the file is unchanged (profiling is the costly part)."""
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key not in self._profiles:
            self._profiles = {k: v for k, v in self._profiles.items() if k[0] != str(path)}
            self._profiles[key] = profile_file(path, columns=self.settings.columns)
        return self._profiles[key]

    def _snapshot(self, watch: WatchQuery, window: _Window) -> Snapshot:
        reference = self._path(self.settings.reference.replace("{model}", watch.registry_model))
        if not reference.is_file():
            raise WatchFailure(f"reference {reference} does not exist")
        current = self._current_files(watch.registry_model, window)
        method, columns = self.settings.method, self.settings.columns
        drift: dict[str, float] | None = None
        if is_profile_file(reference) or method not in _EXACT:
            profile = (
                load_profile(reference) if is_profile_file(reference) else self._reference_profile(reference)
            )
            baseline_rows: float = profile.rows
            merged: Profile | None = None
            for path in current:
                part = profile_file(path, columns=columns, like=profile)
                merged = part if merged is None else merged.merge(part)
            new_rows = merged.rows if merged is not None else 0
            if merged is not None and merged.rows > 0:
                drift = compare(profile, merged, method, columns=columns).as_metrics()
        else:
            table = read_table(reference, columns=columns)
            baseline_rows = table.num_rows
            tables = [read_table(path, columns=columns) for path in current]
            new_rows = sum(t.num_rows for t in tables)
            if new_rows > 0:
                import pyarrow as pa  # noqa: PLC0415 - datafiles already needed it; typed lazily

                # A CSV day of whole numbers is read as int64 next to double days: widen, don't fail.
                try:
                    combined = pa.concat_tables(tables, promote_options="permissive")
                except pa.ArrowException as exc:
                    raise WatchFailure(
                        f"current files of {watch.registry_model!r} do not share a schema: {exc}"
                    ) from exc
                drift = compare(table, combined, method, columns=columns).as_metrics()
        observed = max((datetime.fromtimestamp(p.stat().st_mtime, tz=UTC) for p in current), default=None)
        extra: dict[str, Any] = {"reference": str(reference), "current_files": len(current)}
        return Snapshot(
            drift_metrics=drift,
            baseline_count=float(baseline_rows),
            new_count=float(new_rows),
            window_count=float(new_rows),
            observed_at=observed,
            provenance=Provenance(
                source=self.name,
                registry_model=watch.registry_model,
                data_window=str(window),
                drift_source=self.name,
                extra=extra,
            ),
        )
