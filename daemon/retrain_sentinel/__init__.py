"""Retrain Sentinel: does this model need retraining, and who must know?

The public library surface is the original API (DESIGN §5) plus ``Snapshot``; the daemon, sources,
store and channels are reached through the CLI and the service package.
"""

from importlib.metadata import PackageNotFoundError, version

from retrain_sentinel.report import RetrainingReport
from retrain_sentinel.snapshot import Provenance, Snapshot
from retrain_sentinel.triggers.base import RetrainingTrigger, TriggerDetail
from retrain_sentinel.triggers.composite import CompositeTrigger
from retrain_sentinel.triggers.config import (
    DataVolumeTriggerConfig,
    DriftTriggerConfig,
    PerformanceTriggerConfig,
    TimeTriggerConfig,
    TriggerConfig,
    get_aggressive_config,
    get_balanced_config,
    get_conservative_config,
)
from retrain_sentinel.triggers.drift import DriftTrigger
from retrain_sentinel.triggers.manager import RetrainingTriggerManager
from retrain_sentinel.triggers.performance import PerformanceTrigger
from retrain_sentinel.triggers.policy import Policy, build_policy
from retrain_sentinel.triggers.time import TimeTrigger
from retrain_sentinel.triggers.volume import DataVolumeTrigger

try:
    __version__ = version("retrain-sentinel")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

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
