"""Pure decision logic: each trigger is ``check(snapshot, now) -> TriggerDetail``.

``policy`` builds trees from config and sits above the report module, so it is imported from its own
module. The original API's keyword triggers, which hold a clock, live in ``legacy/``.
"""

from retrain_sentinel.triggers.base import LeafTrigger, Trigger
from retrain_sentinel.triggers.composite import CompositeTrigger
from retrain_sentinel.triggers.drift import DriftTrigger
from retrain_sentinel.triggers.performance import PerformanceTrigger
from retrain_sentinel.triggers.time import TimeTrigger
from retrain_sentinel.triggers.volume import DataVolumeTrigger

__all__ = [
    "CompositeTrigger",
    "DataVolumeTrigger",
    "DriftTrigger",
    "LeafTrigger",
    "PerformanceTrigger",
    "TimeTrigger",
    "Trigger",
]
