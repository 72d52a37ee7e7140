"""The verdict for one model at one time, and how it reads as JSON and Markdown.

Recommendations name the numbers that caused them (``js_divergence 0.18 > 0.15``): an alert that
only says "retrain" gets ignored; one that says why gets acted on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from retrain_sentinel.jsonsafe import dumps, jsonable
from retrain_sentinel.verdict import TriggerDetail, finite_number

__all__ = [
    "Figures",
    "RetrainingReport",
    "build_report",
    "decision_notes",
    "figures",
    "recommendations_for",
    "round_for_display",
    "skip_reason",
]

_SEVERITY_ICONS = {"info": "ℹ️", "warning": "⚠️", "critical": "🚨"}

#: What a trigger of each built-in kind reads, for "skipped: no input" lines. A preset names its
#: leaves after their kind unless an override renames them; a renamed one gets the general line.
_INPUTS = {
    "drift": "no drift score in drift_metrics",
    "performance": "no current and baseline value of the performance metric",
    "time": "no last training time",
    "data_volume": "no new_count, nor current_count and baseline_count",
}
_NO_REASON = "no reason given"


def _num(value: Any) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return f"{value:.4g}"
    return str(value)


def round_for_display(value: Any) -> Any:
    """``value`` with every float cut to 4 significant digits (``0.024999999999999883`` → ``0.025``).

    For what a person reads (Markdown's metrics line); the report's JSON keeps the exact numbers.
    """
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.4g}")
    if isinstance(value, Mapping):
        return {k: round_for_display(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [round_for_display(v) for v in value]
    return value


@dataclass(frozen=True)
class Figures:
    """A trigger's value and threshold as a person reads them: same unit on both sides, rounded,
    and the comparison that decided (``20.0% > 5.0%``). ``None`` where the detail has no number."""

    value: str | None
    threshold: str | None
    comparison: str | None


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _percent(share: float) -> str:
    """``0.2`` → ``20.0%``: one decimal, as the triggers' own reasons write shares."""
    return f"{share:,.1%}"


def _duration(hours: float, unit_hours: float) -> str:
    """Hours in days when the threshold is a day or more (``7.0 days``), else in hours."""
    if unit_hours >= 24:
        return f"{hours / 24:,.1f} days"
    return f"{hours:,.1f} h"


def _compare(value: str, threshold: str, passed: bool, strict: bool) -> str:
    sign = (">" if strict else "≥") if passed else ("≤" if strict else "<")
    return f"{value} {sign} {threshold}"


def _volume_figures(detail: TriggerDetail) -> Figures:
    """Data volume: a count against a count, or a share of the baseline against a share.

    The trigger's ``threshold`` is the sample count when it has one, else the share; the metrics say
    which when they carry ``threshold_samples`` / ``threshold_share``. Without them a whole number
    of 1 or more is read as a sample count (a share rule of 100 % or more is unusual), anything
    else as a share.
    """
    metrics = detail.metrics
    new = finite_number(metrics.get("new_samples", detail.actual_value))
    share = metrics.get("new_share")
    share = float(share) if isinstance(share, int | float) and not isinstance(share, bool) else None
    threshold = detail.threshold
    by_samples = finite_number(metrics.get("threshold_samples"))
    by_share = finite_number(metrics.get("threshold_share"))
    if by_samples is None and by_share is None and threshold is not None:
        if threshold >= 1 and float(threshold).is_integer():
            by_samples = threshold
        else:
            by_share = threshold
    value = None
    if new is not None:
        value = f"{_count(new)} new samples" + (
            f" ({_percent(share)} of baseline)" if share is not None else ""
        )
    parts: list[str] = []
    comparisons: list[str] = []
    if by_samples is not None:
        parts.append(f"{_count(by_samples)} samples")
        if new is not None:
            comparisons.append(_compare(f"{_count(new)} samples", parts[-1], new >= by_samples, strict=False))
    if by_share is not None:
        parts.append(f"{_percent(by_share)} of baseline")
        if share is not None:
            comparisons.append(
                _compare(
                    f"{_percent(share)} of baseline", _percent(by_share), share >= by_share, strict=False
                )
            )
    return Figures(value, " or ".join(parts) or None, "; ".join(comparisons) or None)


def figures(detail: TriggerDetail) -> Figures:
    """The one place a trigger's numbers become text, per kind; every renderer reads it.

    Drift scores are unitless (3 significant digits), performance degradation and data volume are
    shares (%), time is an age (days, or hours under a day). An unknown kind gets its numbers
    rounded to 4 significant digits.
    """
    kind = detail.kind or detail.trigger_name
    if kind == "data_volume":
        return _volume_figures(detail)
    value, threshold = detail.actual_value, detail.threshold
    show = _unit(kind, threshold)
    comparison = None
    strict = _STRICT.get(kind)
    if strict is not None and value is not None and threshold is not None:
        passed = value > threshold if strict else value >= threshold
        # A performance trigger can fire on an absolute bound while its relative change passed:
        # a comparison that contradicts the verdict is left out; the reason names the bound.
        if passed == detail.triggered or detail.undecided:
            comparison = _compare(show(value), show(threshold), passed, strict)
    return Figures(
        show(value) if value is not None else None,
        show(threshold) if threshold is not None else None,
        comparison,
    )


#: Per kind: whether the trigger fires strictly above its threshold (``>``) or at it (``≥``).
_STRICT = {"drift": True, "performance": True, "time": False}


def _unit(kind: str, threshold: float | None) -> Callable[[float], str]:
    """How a number of this kind reads: a share, a unitless score, an age, or 4 significant digits."""
    if kind == "performance":
        return _percent
    if kind == "drift":
        return lambda score: f"{score:.3g}"
    if kind == "time":
        scale = threshold if threshold is not None else 0.0
        return lambda hours: _duration(hours, scale)
    return _num


def skip_reason(name: str) -> str:
    """Why a trigger the policy asked for was skipped: the snapshot had none of its input."""
    return f"no input: {_INPUTS.get(name, 'the snapshot has none of its inputs')}"


def decision_notes(details: Sequence[TriggerDetail], not_applicable: Sequence[str] = ()) -> list[str]:
    """The triggers that did not decide, each with why in words: ``performance could not decide:
    Missing current or baseline metrics`` and ``drift skipped (no input: no drift score …)``.

    What ``check`` prints next to a verdict and what an undecided alert says, so an undecided or
    half-judged watch never reads as a clean OK.
    """
    notes = [
        f"{d.trigger_name} could not decide: {d.reason.strip() or _NO_REASON}" for d in details if d.undecided
    ]
    notes += [f"{name} skipped ({skip_reason(name)})" for name in not_applicable]
    return notes


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
                    f"degradation {figures(d).comparison}"
                )
            else:
                parts.append(d.reason.removeprefix("Performance degradation: "))
        return f"Performance degraded ({'; '.join(parts)}): retrain, or roll back to the previous version."
    if kind == "time":
        ages = ", ".join(f"{figures(d).comparison} since training" for d in details)
        return f"Model is due for its scheduled retraining ({ages})."
    if kind == "data_volume":
        volumes = ", ".join(figures(d).comparison or d.reason for d in details)
        return f"Enough new data has arrived ({volumes}): retrain to include it."
    return "; ".join(f"{d.trigger_name}: {d.reason}" for d in details)


def recommendations_for(
    details: Sequence[TriggerDetail],
    triggered: bool,
    *,
    decision: str | None = None,
    not_applicable: Sequence[str] = (),
) -> list[str]:
    """One recommendation per fired trigger kind; when nothing fired, one line that says whether
    that is a clean bill (``No action needed``) or an undecided verdict, naming what could not decide.

    ``decision`` is the policy's verdict; without it a report with an undecided trigger and nothing
    fired counts as undecided, so "No action needed" is never said of a verdict nobody reached.
    """
    if not triggered:
        notes = decision_notes(details, not_applicable)
        undecided = decision == "undecided" or (decision is None and any(d.undecided for d in details))
        if undecided:
            if not notes:
                notes = ["no trigger gave a verdict"]
            return [f"Undecided, no verdict: {'; '.join(notes)}."]
        if any(d.undecided for d in details):
            return [f"No action needed: no trigger fired ({'; '.join(notes)})."]
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
        """``fired`` / ``not_fired`` / ``undecided`` (from the metadata when the policy set it).

        Without one (a report built by hand, the original API's way), nothing fired and a trigger
        that could not decide is ``undecided``, as the original manager's OR would have it: such a
        report must not read as a clean OK.
        """
        meta = self.metadata or {}
        if "decision" in meta:
            return str(meta["decision"])
        if self.triggered:
            return "fired"
        return "undecided" if any(d.undecided for d in self.trigger_details) else "not_fired"

    @property
    def fired_triggers(self) -> list[str]:
        return [d.trigger_name for d in self.trigger_details if d.triggered]

    @property
    def not_applicable(self) -> list[str]:
        """The triggers the policy asked for that were skipped: the snapshot had none of their input."""
        names = (self.metadata or {}).get("not_applicable") or []
        return [str(n) for n in names] if isinstance(names, list | tuple) else []

    @property
    def notes(self) -> list[str]:
        """What did not decide and why (``decision_notes``): shown beside the verdict everywhere."""
        return decision_notes(self.trigger_details, self.not_applicable)

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
        decision = self.decision
        status = {"fired": "🔴 TRIGGERED", "undecided": "⚪ UNDECIDED"}.get(decision, "🟢 OK")
        icon = _SEVERITY_ICONS.get(self.severity, "")
        lines = ["# Retraining Trigger Report", ""]
        model = (self.metadata or {}).get("model")
        if model:
            lines.append(f"**Model:** {model}")
        lines.append(f"**Status:** {status}")
        notes = self.notes
        if notes:
            lines.append(f"**Not judged:** {'; '.join(notes)}")
        lines += [
            f"**Severity:** {icon} {self.severity.upper()}",
            f"**Timestamp:** {self.timestamp_iso}",
            "",
            "## Trigger Details",
            "",
        ]
        for detail in self.trigger_details:
            lines += _markdown_detail(detail)
        lines += ["## Recommendations", ""]
        lines += [f"{i}. {text}" for i, text in enumerate(self.recommendations, 1)]
        if self.metadata:
            lines += ["", "## Metadata", "", "```json", dumps(self.metadata, indent=2), "```"]
        return "\n".join(lines) + "\n"


def _markdown_detail(detail: TriggerDetail) -> list[str]:
    """One trigger's section: its state, a severity only when it fired (a trigger that did not
    fire has none), the reason, and its numbers with units (``figures``)."""
    mark = "🔴" if detail.triggered else ("⚪" if detail.undecided else "🟢")
    state = "FIRED" if detail.triggered else ("UNDECIDED" if detail.undecided else "not fired")
    lines = [f"### {mark} {detail.trigger_name}", "", f"- **Status:** {state}"]
    if detail.triggered:
        lines.append(f"- **Severity:** {_SEVERITY_ICONS.get(detail.severity, '')} {detail.severity}")
    lines.append(f"- **Reason:** {detail.reason.strip() or _NO_REASON}")
    shown = figures(detail)
    if shown.threshold is not None:
        lines.append(f"- **Threshold:** {shown.threshold}")
    if shown.value is not None:
        lines.append(f"- **Actual value:** {shown.value}")
    if shown.comparison is not None:
        lines.append(f"- **Comparison:** {shown.comparison}")
    if detail.metrics:
        metrics = json.dumps(jsonable(round_for_display(detail.metrics)), ensure_ascii=False)
        lines.append(f"- **Metrics:** `{metrics}`")
    lines.append("")
    return lines


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
    recommendations = recommendations_for(leaves, triggered, decision=decision, not_applicable=not_applicable)
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
