"""The stages a claimed message goes through, each small and testable alone (DESIGN §8)::

    Delivery ─► Expire ─► Hold ─► Pace ─► Send          the chain: the first stage to rule ends it
                  │         │               │
                  └── TOO_OLD └── HELD       └── SENT | RETRY | REJECTED | NO_CHANNEL

    Ruling.reason ── SENT ─────────────► MarkSent    (only after the channel accepted)
                  ── RETRY ────────────► Retry       (backoff, Retry-After as a floor and a hold
                                                      on the destination)
                  ── HELD ─────────────► deferred to the hold's end, no attempt counted
                  ── TOO_OLD, NO_CHANNEL,
                     REJECTED ─────────► Dead        (mark dead, log, forward to the dead letter)

A chain stage takes a ``Delivery`` and hands it on (``None``) or ends it with a ``Ruling`` whose
``Reason`` the outcome stages act on, as in Alertmanager's notify pipeline; the ``Dispatcher``
claims the rows, runs the chain and counts what happened.
"""

from retrain_sentinel.delivery.stages.base import Delivery, Reason, Ruling, Stage
from retrain_sentinel.delivery.stages.dead import Dead, Forwarding
from retrain_sentinel.delivery.stages.expire import Expire
from retrain_sentinel.delivery.stages.hold import Hold, destination_of
from retrain_sentinel.delivery.stages.mark_sent import MarkSent
from retrain_sentinel.delivery.stages.pace import SLACK_INTERVAL, Pace
from retrain_sentinel.delivery.stages.retry import Retry, backoff_delay
from retrain_sentinel.delivery.stages.send import Send

__all__ = [
    "SLACK_INTERVAL",
    "Dead",
    "Delivery",
    "Expire",
    "Forwarding",
    "Hold",
    "MarkSent",
    "Pace",
    "Reason",
    "Retry",
    "Ruling",
    "Send",
    "Stage",
    "backoff_delay",
    "destination_of",
]
