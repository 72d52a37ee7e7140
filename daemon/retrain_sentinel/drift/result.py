"""What a comparison found: one verdict per feature, and the dataset's verdict built from them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .columns import Kind

#: The metric the original system logged: the largest per-feature Jensen–Shannon distance.
JS_METRIC = "js_divergence"


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's comparison. Undecided (``reason`` set) when there was nothing to compare."""

    feature: str
    kind: Kind
    method: str
    score: float
    p_value: float | None
    threshold: float
    drifted: bool
    approximate: bool
    reference_size: int
    current_size: int
    reference_missing: int = 0
    current_missing: int = 0
    #: Jensen–Shannon distance on the shared bins, whatever the method (feeds ``js_divergence``).
    js_distance: float | None = None
    #: The p-value after the dataset's multiple-testing correction, when one was asked for.
    adjusted_p_value: float | None = None
    reason: str | None = None

    @property
    def undecided(self) -> bool:
        return self.reason is not None

    @property
    def missing_share_change(self) -> float:
        """Share of missing values in the current data minus that in the reference."""
        return _share(self.current_missing, self.current_size) - _share(
            self.reference_missing, self.reference_size
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "method": self.method,
            "score": json_number(self.score),
            "p_value": json_number(self.p_value),
            "adjusted_p_value": json_number(self.adjusted_p_value),
            "threshold": json_number(self.threshold),
            "drifted": self.drifted,
            "undecided": self.undecided,
            "approximate": self.approximate,
            "reference_size": self.reference_size,
            "current_size": self.current_size,
            "reference_missing": self.reference_missing,
            "current_missing": self.current_missing,
            "missing_share_change": json_number(self.missing_share_change),
            "js_distance": json_number(self.js_distance),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DriftResult:
    """All features' verdicts; the dataset drifted when the share of drifted features reaches
    ``share_threshold`` (undecided features count in neither the share nor its denominator)."""

    features: tuple[FeatureDrift, ...]
    share_threshold: float = 0.5
    correction: str | None = None

    def __getitem__(self, feature: str) -> FeatureDrift:
        for result in self.features:
            if result.feature == feature:
                return result
        raise KeyError(feature)

    @property
    def decided(self) -> tuple[FeatureDrift, ...]:
        return tuple(f for f in self.features if not f.undecided)

    @property
    def drifted_features(self) -> tuple[FeatureDrift, ...]:
        return tuple(f for f in self.features if f.drifted)

    @property
    def share_drifted(self) -> float | None:
        """Drifted among decided features; ``None`` when no feature could be decided."""
        decided = self.decided
        if not decided:
            return None
        return len(self.drifted_features) / len(decided)

    @property
    def dataset_drifted(self) -> bool:
        share = self.share_drifted
        return share is not None and share >= self.share_threshold

    @property
    def js_divergence(self) -> float | None:
        """The largest per-feature Jensen–Shannon distance (the original system's metric)."""
        values = [
            f.js_distance for f in self.decided if f.js_distance is not None and math.isfinite(f.js_distance)
        ]
        return max(values) if values else None

    def as_metrics(self) -> dict[str, float]:
        """The ``drift_metrics`` a drift trigger reads; what could not be computed is left out."""
        metrics: dict[str, float] = {}
        js = self.js_divergence
        if js is not None:
            metrics[JS_METRIC] = js
        share = self.share_drifted
        if share is not None:
            metrics["share_drifted"] = share
        for f in self.decided:
            metrics[f"{f.feature}/{f.method}"] = f.score
            if f.p_value is not None:
                metrics[f"{f.feature}/{f.method}_p_value"] = f.p_value
        return metrics

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset_drifted": self.dataset_drifted,
            "share_drifted": json_number(self.share_drifted),
            "share_threshold": self.share_threshold,
            "correction": self.correction,
            JS_METRIC: json_number(self.js_divergence),
            "features": [f.to_dict() for f in self.features],
        }


def json_number(value: float | None) -> float | str | None:
    """Non-finite numbers as the strings "nan", "inf", "-inf" (JSON has no literal for them)."""
    if value is None or math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _share(part: int, counted: int) -> float:
    total = part + counted
    return part / total if total else math.nan
