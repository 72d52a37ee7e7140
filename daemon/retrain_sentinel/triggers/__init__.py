"""Pure decision logic: each trigger is ``check(snapshot, now) -> TriggerDetail``.

``policy`` (building trees from config) and ``manager`` (the original API's manager) sit above the
report module, so they are imported from their own modules, not from here.
"""

from retrain_sentinel.triggers.base import RetrainingTrigger, Trigger, TriggerDetail
from retrain_sentinel.triggers.composite import CompositeTrigger
from retrain_sentinel.triggers.drift import DriftTrigger
from retrain_sentinel.triggers.performance import PerformanceTrigger
from retrain_sentinel.triggers.time import TimeTrigger
from retrain_sentinel.triggers.volume import DataVolumeTrigger

__all__ = [
    "CompositeTrigger",
    "DataVolumeTrigger",
    "DriftTrigger",
    "PerformanceTrigger",
    "RetrainingTrigger",
    "TimeTrigger",
    "Trigger",
    "TriggerDetail",
]
