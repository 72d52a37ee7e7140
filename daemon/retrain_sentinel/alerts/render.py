"""What an alert says, before any medium shapes it.

``describe`` turns a ``Notification`` into an ``AlertView``: watch, version, transition, verdict,
severity, the fired triggers' reasons with their numbers, the most drifted features and a link. The
channels only lay that out (Slack blocks, HTML, plain text), so every medium says the same thing.
The verdict is the report's own ``decision``; it is not worked out again here.

User-provided text (model names, reasons, feature names) is made single-line and printable here:
a name cannot move a terminal's cursor, add an e-mail header line or fake a second alert. Each
medium then escapes it for its own markup (Slack ``&<>``, HTML entities).
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from retrain_sentinel.alerts.notification import Message, Notification
from retrain_sentinel.report import RetrainingReport
from retrain_sentinel.verdict import finite_number

__all__ = [
    "KIND_LABELS",
    "AlertView",
    "FeatureScore",
    "build_link",
    "describe",
    "describe_message",
    "feature_text",
    "format_number",
    "group_title",
    "one_line",
    "render_text",
    "summary_line",
    "top_features",
    "view_lines",
]

#: Per transition: (emoji, short label, headline).
KIND_LABELS: Mapping[str, tuple[str, str, str]] = {
    "firing": ("🔴", "FIRING", "Retraining recommended"),
    "changed": ("🟠", "CHANGED", "Retraining alert changed"),
    "repeat": ("🔁", "STILL FIRING", "Retraining still recommended"),
    "resolved": ("✅", "RESOLVED", "Resolved"),
    "broken": ("⚠️", "BROKEN", "Evaluations failing"),
    "recovered": ("🟢", "RECOVERED", "Evaluations recovered"),
}
_VERDICTS = {
    "fired": "retraining recommended",
    "not_fired": "no action needed",
    "undecided": "undecided: the triggers could not decide",
}
MAX_FEATURES = 5


@dataclass(frozen=True)
class FeatureScore:
    """One feature's drift score as the report carried it."""

    name: str
    score: float
    method: str | None = None


@dataclass(frozen=True)
class AlertView:
    """One notification as every medium shows it; all text is single-line and printable."""

    id: str
    watch: str
    version: str | None
    kind: str
    severity: str
    headline: str
    verdict: str
    why: str
    reasons: tuple[str, ...]
    features: tuple[FeatureScore, ...]
    recommendations: tuple[str, ...]
    error: str | None
    link: str | None
    created_at: datetime
    not_judged: tuple[str, ...] = ()

    @property
    def emoji(self) -> str:
        return KIND_LABELS.get(self.kind, ("•", self.kind.upper(), self.kind))[0]

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, ("•", self.kind.upper(), self.kind))[1]

    @property
    def watch_and_version(self) -> str:
        return f"{self.watch} (version {self.version})" if self.version else self.watch


def one_line(text: Any, limit: int | None = None) -> str:
    """``text`` with every control or line-break character turned into a space, optionally cut."""
    cleaned = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch != "\u200d" else ch
        for ch in str(text)
    )
    cleaned = " ".join(cleaned.split())
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[: max(limit - 1, 0)] + "…"
    return cleaned


def format_number(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return f"{value:.4g}"
    return one_line(value)


def _features_from_result(drift: Mapping[str, Any]) -> list[FeatureScore]:
    """A ``DriftResult.to_dict()``: drifted features first, by score."""
    found = []
    for item in drift.get("features") or []:
        if not isinstance(item, Mapping) or not item.get("drifted"):
            continue
        score = finite_number(item.get("score"))
        if score is not None:
            found.append(FeatureScore(one_line(item.get("feature", "?")), score, item.get("method")))
    return found


def _features_from_metrics(metrics: Mapping[str, Any]) -> list[FeatureScore]:
    """Drift metrics named ``feature/method`` (as ``DriftResult.as_metrics`` writes them)."""
    found = []
    for key, value in metrics.items():
        if not isinstance(key, str) or "/" not in key or key.endswith("_p_value"):
            continue
        score = finite_number(value)
        if score is not None:
            feature, _, method = key.rpartition("/")
            found.append(FeatureScore(one_line(feature), score, method or None))
    return found


def top_features(
    report: RetrainingReport | None, extra: Mapping[str, Any], limit: int = MAX_FEATURES
) -> list[FeatureScore]:
    """The most drifted features the report (or the notification's metadata) tells of, highest first."""
    if report is None and not extra:
        return []
    metadata = (report.metadata if report is not None else None) or {}
    candidates: list[FeatureScore] = []
    for source in (metadata, extra):
        drift = source.get("drift")
        if isinstance(drift, Mapping):
            candidates += _features_from_result(drift)
        metrics = source.get("drift_metrics")
        if isinstance(metrics, Mapping):
            candidates += _features_from_metrics(metrics)
    for detail in report.trigger_details if report is not None else []:
        candidates += _features_from_metrics(detail.metrics)
    best: dict[str, FeatureScore] = {}
    for item in candidates:
        if item.name not in best or item.score > best[item.name].score:
            best[item.name] = item
    return sorted(best.values(), key=lambda f: (-f.score, f.name))[:limit]


def _fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with its placeholders filled with URL-quoted ``values``.

    A channel's ``link_template`` was checked when the config was read; a watch's ``link`` is taken
    as written, so a link whose braces are not (only) these placeholders is used unfilled rather
    than failing the delivery.
    """
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
        if not fields <= values.keys():
            return template
        return template.format(**{k: quote(v, safe="") for k, v in values.items() if k in fields})
    except (ValueError, IndexError, KeyError, AttributeError):
        return template


def build_link(template: str | None, notification: Notification, version: str | None = None) -> str | None:
    """The alert's link: the watch's own (``models[].link``) if it has one, else the channel's
    ``template``; either filled with the URL-quoted model, version (``version``, else the one the
    notification or its report names — as every medium shows it), kind, severity and id.

    The watch's link wins: it was written for this model (its runbook, its dashboard), a channel's
    template for every model the channel hears of. Without either there is no link (``None``).
    """
    chosen = notification.link or template
    if not chosen:
        return None
    values = {
        "model": notification.watch,
        "version": version or _version(notification) or "",
        "kind": notification.kind,
        "severity": notification.severity,
        "id": notification.id,
    }
    return one_line(_fill(chosen, values)) or None


def _version(notification: Notification) -> str | None:
    if notification.model_version:
        return str(notification.model_version)
    report = notification.report
    metadata = (report.metadata if report is not None else None) or {}
    for source in (metadata, metadata.get("provenance") or {}):
        value = source.get("model_version") if isinstance(source, Mapping) else None
        if value:
            return str(value)
    return None


def _verdict(notification: Notification) -> str:
    report = notification.report
    if notification.kind == "broken":
        if report is not None and report.decision == "undecided":
            return "evaluations are undecided"
        return "evaluations are failing"
    if notification.kind == "recovered":
        return "evaluations work again"
    if report is None:
        return "no report"
    return _VERDICTS.get(report.decision, one_line(report.decision))


def _reasons(report: RetrainingReport | None) -> tuple[str, ...]:
    details = report.trigger_details if report is not None else []
    return tuple(one_line(f"{d.trigger_name}: {d.reason}") for d in details if d.triggered)


def describe(notification: Notification, *, link_template: str | None = None) -> AlertView:
    """Everything a medium needs to show about one notification."""
    version = _version(notification)
    headline = KIND_LABELS.get(notification.kind, ("", "", notification.kind))[2]
    return AlertView(
        id=one_line(notification.id),
        watch=one_line(notification.watch),
        version=one_line(version) if version else None,
        kind=notification.kind,
        severity=one_line(notification.severity),
        headline=headline,
        verdict=_verdict(notification),
        why=one_line(notification.reason),
        reasons=_reasons(notification.report),
        features=tuple(top_features(notification.report, notification.metadata)),
        recommendations=tuple(one_line(r) for r in notification.recommendations),
        error=one_line(notification.error) if notification.error else None,
        link=build_link(link_template, notification, version),
        created_at=notification.created_at,
        not_judged=_not_judged(notification.report),
    )


def _not_judged(report: RetrainingReport | None) -> tuple[str, ...]:
    """The triggers that could not decide or were skipped, each saying why (``report.notes``)."""
    return tuple(one_line(note) for note in report.notes) if report is not None else ()


def describe_message(message: Message, *, link_template: str | None = None) -> list[AlertView]:
    return [describe(n, link_template=link_template) for n in message.notifications]


def _counted(kinds: Iterable[str]) -> str:
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{count} {kind}" for kind, count in counts.items())


def group_title(message: Message) -> str:
    """``12 alerts (9 firing, 3 resolved), highest severity critical`` — no user text in it."""
    kinds = [n.kind for n in message.notifications]
    return f"{len(kinds)} alerts ({_counted(kinds)}), highest severity {one_line(message.severity)}"


def summary_line(view: AlertView) -> str:
    """``🔴 FIRING [critical] churn (version 3): retraining recommended``."""
    return f"{view.emoji} {view.label} [{view.severity}] {view.watch_and_version}: {view.verdict}"


def feature_text(feature: FeatureScore) -> str:
    method = f" ({one_line(feature.method)})" if feature.method else ""
    return f"{feature.name}{method} {format_number(feature.score)}"


def view_lines(view: AlertView) -> list[str]:
    """The plain-text body for one alert (console, e-mail text part)."""
    lines = [summary_line(view), f"{view.headline}: {view.why}" if view.why else view.headline]
    if view.error:
        lines.append(f"Error: {view.error}")
    sections: Sequence[tuple[str, Sequence[str]]] = (
        ("Reasons", view.reasons),
        ("Not judged", view.not_judged),
        ("Top drifted features", [feature_text(f) for f in view.features]),
        ("Recommendations", view.recommendations),
    )
    for title, items in sections:
        if items:
            lines.append(f"{title}:")
            lines += [f"  - {item}" for item in items]
    if view.link:
        lines.append(f"Link: {view.link}")
    lines.append(f"id {view.id} at {view.created_at.isoformat()}")
    return lines


def render_text(message: Message, *, link_template: str | None = None) -> str:
    """The whole message as plain text: one alert, or a group with a title line first."""
    blocks = ["\n".join(view_lines(v)) for v in describe_message(message, link_template=link_template)]
    if message.is_group:
        blocks.insert(0, f"Retrain Sentinel: {group_title(message)}")
    return "\n\n".join(blocks) + "\n"
