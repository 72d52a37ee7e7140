"""An evaluation: one watch judged once — the report and the snapshot it read, or why there is none.

One value from the batch that makes it to the store that records it and the alert rules that read
it; a ``StoredEvaluation`` is the same value read back from the history, with its row id and what
the store derived. ``outcome`` is the report's decision in one word, or ``error`` when there is no
report (DESIGN §3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from retrain_sentinel.report import RetrainingReport
from retrain_sentinel.snapshot import Snapshot

__all__ = ["OUTCOMES", "Evaluation", "Outcome", "StoredEvaluation", "outcome_of"]

Outcome = Literal["ok", "triggered", "undecided", "error"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "triggered", "undecided", "error")


def outcome_of(report: RetrainingReport) -> Outcome:
    """The report's three-valued decision as an outcome (``fired`` is ``triggered``)."""
    decision = report.decision
    if decision == "fired":
        return "triggered"
    return "undecided" if decision == "undecided" else "ok"


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """One watch at one time.

    ``slot_at`` is the schedule slot of the daemon's runs (``None`` for ``check``): a slot already
    recorded is skipped, so a takeover or a retry never evaluates one slot twice into history.
    ``baseline_version`` is the registry version the report judged against; a new one resolves a
    firing alert ("retrained"). ``source`` names the source that failed, for an ``error``.
    """

    watch: str
    outcome: Outcome
    evaluated_at: datetime
    report: RetrainingReport | None = None
    snapshot: Snapshot | None = None
    error: str | None = None
    duration: float | None = None
    slot_at: datetime | None = None
    baseline_version: str | None = None
    source: str | None = None


@dataclass(frozen=True, kw_only=True)
class StoredEvaluation(Evaluation):
    """An evaluation read back from the history: its row ``id``, its severity and fingerprint."""

    id: int
    severity: str | None = None
    fingerprint: str | None = None
