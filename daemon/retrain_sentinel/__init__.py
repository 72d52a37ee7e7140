"""Retrain Sentinel: does this model need retraining, and who must know?

The public library surface is the original API (DESIGN §5) plus ``Snapshot``; the daemon, sources,
store and channels are reached through the CLI and the service package.

Exports resolve on first use (PEP 562), so ``import retrain_sentinel`` — and every command line
start — costs only what it touches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from retrain_sentinel.exports import lazy_exports

if TYPE_CHECKING:
    from retrain_sentinel.legacy.config import (
        DataVolumeTriggerConfig,
        DriftTriggerConfig,
        PerformanceTriggerConfig,
        TimeTriggerConfig,
        TriggerConfig,
        get_aggressive_config,
        get_balanced_config,
        get_conservative_config,
    )
    from retrain_sentinel.legacy.manager import RetrainingTriggerManager
    from retrain_sentinel.legacy.triggers import (
        CompositeTrigger,
        DataVolumeTrigger,
        DriftTrigger,
        PerformanceTrigger,
        RetrainingTrigger,
        TimeTrigger,
    )
    from retrain_sentinel.report import RetrainingReport
    from retrain_sentinel.snapshot import Provenance, Snapshot
    from retrain_sentinel.triggers.policy import Policy, build_policy
    from retrain_sentinel.verdict import TriggerDetail

    __version__: str

_EXPORTS = {
    "CompositeTrigger": "retrain_sentinel.legacy.triggers",
    "DataVolumeTrigger": "retrain_sentinel.legacy.triggers",
    "DataVolumeTriggerConfig": "retrain_sentinel.legacy.config",
    "DriftTrigger": "retrain_sentinel.legacy.triggers",
    "DriftTriggerConfig": "retrain_sentinel.legacy.config",
    "PerformanceTrigger": "retrain_sentinel.legacy.triggers",
    "PerformanceTriggerConfig": "retrain_sentinel.legacy.config",
    "Policy": "retrain_sentinel.triggers.policy",
    "Provenance": "retrain_sentinel.snapshot",
    "RetrainingReport": "retrain_sentinel.report",
    "RetrainingTrigger": "retrain_sentinel.legacy.triggers",
    "RetrainingTriggerManager": "retrain_sentinel.legacy.manager",
    "Snapshot": "retrain_sentinel.snapshot",
    "TimeTrigger": "retrain_sentinel.legacy.triggers",
    "TimeTriggerConfig": "retrain_sentinel.legacy.config",
    "TriggerConfig": "retrain_sentinel.legacy.config",
    "TriggerDetail": "retrain_sentinel.verdict",
    "build_policy": "retrain_sentinel.triggers.policy",
    "get_aggressive_config": "retrain_sentinel.legacy.config",
    "get_balanced_config": "retrain_sentinel.legacy.config",
    "get_conservative_config": "retrain_sentinel.legacy.config",
}

__all__ = [
    "CompositeTrigger",
    "DataVolumeTrigger",
    "DataVolumeTriggerConfig",
    "DriftTrigger",
    "DriftTriggerConfig",
    "PerformanceTrigger",
    "PerformanceTriggerConfig",
    "Policy",
    "Provenance",
    "RetrainingReport",
    "RetrainingTrigger",
    "RetrainingTriggerManager",
    "Snapshot",
    "TimeTrigger",
    "TimeTriggerConfig",
    "TriggerConfig",
    "TriggerDetail",
    "__version__",
    "build_policy",
    "get_aggressive_config",
    "get_balanced_config",
    "get_conservative_config",
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415 - scans site-packages

    try:
        return version("retrain-sentinel")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


_exported, _listed = lazy_exports(__name__, _EXPORTS)


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()[name] = _version()
        return globals()[name]
    return _exported(name)


def __dir__() -> list[str]:
    return sorted({*_listed(), "__version__"})
