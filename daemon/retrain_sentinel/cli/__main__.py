"""``python -m retrain_sentinel.cli``: the same as the ``retrain-sentinel`` command."""

from retrain_sentinel.cli import run

run()
