"""The verdict for one model at one time, and how it reads as JSON and Markdown.

Recommendations name the numbers that caused them (``js_divergence 0.18 > 0.15``): an alert that
only says "retrain" gets ignored; one that says why gets acted on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from retrain_sentinel.jsonsafe import dumps, jsonable
from retrain_sentinel.verdict import TriggerDetail

__all__ = ["RetrainingReport", "build_report", "recommendations_for"]

_SEVERITY_ICONS = {"info": "ℹ️", "warning": "⚠️", "critical": "🚨"}


def _num(value: Any) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return f"{value:.4g}"
    return str(value)


def _recommend(kind: str, details: Sequence[TriggerDetail]) -> str:
    if kind == "drift":
        scores = ", ".join(
            f"{name} {_num(d.actual_value)} > {_num(d.threshold)}"
            for d in details
            for name in list(d.metrics)[:1]
        )
        return f"Data drift detected ({scores}): review the drifted features and retrain on recent data."
    if kind == "performance":
        parts = []
        for d in details:
            metric = d.metrics.get("metric", d.trigger_name)
            if d.actual_value is not None and d.threshold is not None and d.actual_value > d.threshold:
                parts.append(
                    f"{metric} {_num(d.metrics.get('baseline'))} → {_num(d.metrics.get('current'))}, "
                    f"degradation {d.actual_value:.1%} > {d.threshold:.1%}"
                )
            else:
                parts.append(d.reason.removeprefix("Performance degradation: "))
        return f"Performance degraded ({'; '.join(parts)}): retrain, or roll back to the previous version."
    if kind == "time":
        ages = ", ".join(f"{_num(d.actual_value)} h since training ≥ {_num(d.threshold)} h" for d in details)
        return f"Model is due for its scheduled retraining ({ages})."
    if kind == "data_volume":
        volumes = ", ".join(d.reason for d in details)
        return f"Enough new data has arrived ({volumes}): retrain to include it."
    return "; ".join(f"{d.trigger_name}: {d.reason}" for d in details)


def recommendations_for(details: Sequence[TriggerDetail], triggered: bool) -> list[str]:
    """One recommendation per fired trigger kind, or the single "No action needed" line."""
    if not triggered:
        undecided = [d.trigger_name for d in details if d.undecided]
        if undecided:
            return [f"No action needed: no trigger fired, but {', '.join(undecided)} could not decide."]
        return ["No action needed: all triggers within acceptable thresholds."]
    by_kind: dict[str, list[TriggerDetail]] = {}
    for detail in details:
        if detail.triggered:
            by_kind.setdefault(detail.kind or detail.trigger_name, []).append(detail)
    return [_recommend(kind, group) for kind, group in by_kind.items()]


@dataclass
class RetrainingReport:
    """The original API's report; ``metadata`` carries model, policy, decision and what was undecided."""

    triggered: bool
    trigger_details: list[TriggerDetail]
    recommendations: list[str]
    severity: str
    timestamp: str | datetime
    metadata: dict[str, Any] | None = field(default=None)

    @property
    def timestamp_iso(self) -> str:
        return self.timestamp.isoformat() if isinstance(self.timestamp, datetime) else self.timestamp

    @property
    def decision(self) -> str:
        """``fired`` / ``not_fired`` / ``undecided`` (from the metadata when the policy set it)."""
        meta = self.metadata or {}
        if "decision" in meta:
            return str(meta["decision"])
        return "fired" if self.triggered else "not_fired"

    @property
    def fired_triggers(self) -> list[str]:
        return [d.trigger_name for d in self.trigger_details if d.triggered]

    def to_dict(self) -> dict[str, Any]:
        return {
            "triggered": self.triggered,
            "trigger_details": [d.to_dict() for d in self.trigger_details],
            "recommendations": list(self.recommendations),
            "severity": self.severity,
            "timestamp": self.timestamp_iso,
            "metadata": jsonable(self.metadata) if self.metadata is not None else None,
        }

    def to_json(self, path: str | Path | None = None, *, indent: int = 2) -> str:
        """Strict JSON (no NaN/Infinity); written to ``path`` when given."""
        text = dumps(self.to_dict(), indent=indent)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RetrainingReport:
        return cls(
            triggered=bool(data["triggered"]),
            trigger_details=[TriggerDetail.from_dict(d) for d in data.get("trigger_details", [])],
            recommendations=list(data.get("recommendations", [])),
            severity=data["severity"],
            timestamp=data["timestamp"],
            metadata=dict(data["metadata"]) if data.get("metadata") is not None else None,
        )

    def to_markdown(self) -> str:
        status = "🔴 TRIGGERED" if self.triggered else "🟢 OK"
        icon = _SEVERITY_ICONS.get(self.severity, "")
        lines = ["# Retraining Trigger Report", ""]
        model = (self.metadata or {}).get("model")
        if model:
            lines.append(f"**Model:** {model}")
        lines += [
            f"**Status:** {status}",
            f"**Severity:** {icon} {self.severity.upper()}",
            f"**Timestamp:** {self.timestamp_iso}",
            "",
            "## Trigger Details",
            "",
        ]
        for detail in self.trigger_details:
            mark = "🔴" if detail.triggered else ("⚪" if detail.undecided else "🟢")
            state = "FIRED" if detail.triggered else ("UNDECIDED" if detail.undecided else "not fired")
            lines += [
                f"### {mark} {detail.trigger_name}",
                "",
                f"- **Status:** {state}",
                f"- **Severity:** {_SEVERITY_ICONS.get(detail.severity, '')} {detail.severity}",
                f"- **Reason:** {detail.reason}",
            ]
            if detail.threshold is not None:
                lines.append(f"- **Threshold:** {_num(detail.threshold)}")
            if detail.actual_value is not None:
                lines.append(f"- **Actual value:** {_num(detail.actual_value)}")
            if detail.metrics:
                lines.append(f"- **Metrics:** `{json.dumps(jsonable(detail.metrics), ensure_ascii=False)}`")
            lines.append("")
        lines += ["## Recommendations", ""]
        lines += [f"{i}. {text}" for i, text in enumerate(self.recommendations, 1)]
        if self.metadata:
            lines += ["", "## Metadata", "", "```json", dumps(self.metadata, indent=2), "```"]
        return "\n".join(lines) + "\n"


def build_report(
    root: TriggerDetail | None,
    leaves: Sequence[TriggerDetail],
    now: datetime,
    *,
    model: str | None = None,
    policy: str | None = None,
    not_applicable: Sequence[str] = (),
) -> RetrainingReport:
    """A report whose verdict and severity are the root's (``info`` when it did not fire)."""
    decision = root.state if root is not None else "undecided"
    triggered = decision == "fired"
    recommendations = recommendations_for(leaves, triggered)
    if root is None:
        recommendations = [
            f"No action needed: no trigger could run ({', '.join(not_applicable)} not applicable: "
            "the snapshot has none of their inputs)."
        ]
    return RetrainingReport(
        triggered=triggered,
        trigger_details=list(leaves),
        recommendations=recommendations,
        severity=root.severity if (root is not None and triggered) else "info",
        timestamp=now,
        metadata={
            "model": model,
            "policy": policy,
            "decision": decision,
            "undecided": [d.trigger_name for d in leaves if d.undecided],
            "not_applicable": list(not_applicable),
        },
    )
