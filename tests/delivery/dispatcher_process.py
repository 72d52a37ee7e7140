"""A dispatcher in a process of its own, for the crash-safety tests (run by them, not by pytest).

It delivers the outbox of ``--database`` to one real webhook channel at ``--url`` until nothing is
pending. With ``--pause-file`` it stops after claiming, writes that file and waits to be killed.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr

from retrain_sentinel.delivery.channels.webhook import WebhookChannel
from retrain_sentinel.delivery.dispatcher import Dispatcher
from retrain_sentinel.delivery.settings import DeliverySettings
from retrain_sentinel.store import HistoryStore, OutboxRow


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--claim-timeout", type=float, default=1.0)
    parser.add_argument("--pause-file")
    args = parser.parse_args()

    def pause(rows: Sequence[OutboxRow]) -> None:
        Path(args.pause_file).write_text(",".join(r.id for r in rows))
        time.sleep(3600)

    settings = DeliverySettings(
        base_delay=timedelta(milliseconds=50), claim_timeout=timedelta(seconds=args.claim_timeout)
    )
    with HistoryStore(args.database) as store:
        channel = WebhookChannel("hook", SecretStr(args.url), timeout=10)
        dispatcher = Dispatcher(
            store, {"hook": channel}, settings, pause_hook=pause if args.pause_file else None
        )
        deadline = time.monotonic() + 30
        while store.outbox(status="pending") and time.monotonic() < deadline:
            dispatcher.run_once()
            time.sleep(0.05)


if __name__ == "__main__":
    main()
