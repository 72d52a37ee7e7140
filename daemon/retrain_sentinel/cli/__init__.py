"""The ``retrain-sentinel`` command (DESIGN §11), one module per command group::

    app.py      the Typer app, exit codes, ``main``/``run``, the ``-c`` option, the output consoles
    check.py    check, and its output formats (text, json, markdown)
    history.py  history, report
    drift.py    drift REFERENCE CURRENT
    silence.py  silence, silence list, unsilence
    admin.py    run, db upgrade|current, test-alert, demo
    config.py   validate, config schema, presets

Each module holds its commands on a Typer of its own; they are added to ``app`` here, in the order
``--help`` lists them. Commands import what they need when they run (see ``app``).
"""

from retrain_sentinel.cli import admin, check, config, drift, history, silence
from retrain_sentinel.cli.app import ExitCode, app, main, run

__all__ = ["ExitCode", "app", "main", "run"]

for _group in (check, history, drift, silence, admin, config):
    app.add_typer(_group.commands)
