"""The application every command hangs on: the Typer app, the exit codes, the ``-c`` option, the
output consoles, and ``main``, which turns every failure into its exit code (DESIGN §11).

Exit codes: 0 success; 1 retraining recommended (``--exit-code``); 2 usage or config error; 3 a
source, the store or a delivery failed; 4 internal error; 130 interrupted. Errors are one line on
stderr (a traceback only with ``--debug``); logs go to stderr so stdout stays parseable.

Whatever comes from data — a model name, a column name, an error message — may hold ``[`` or
``:name:``, which rich would read as markup or an emoji code (``[/x]`` even raises). So the consoles
replace no emoji, every table cell from data is a ``literal`` (a rich ``Text``, never parsed), and a
line mixing data into a string is printed with ``markup=False``.

Only Typer and rich are imported at the top of the ``cli`` modules: a command imports the config
models, the store, the sources and numpy when it runs, so ``--version`` and ``--help`` start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from typer.exceptions import TyperException

from retrain_sentinel.errors import ConfigError, SentinelError

if TYPE_CHECKING:
    from retrain_sentinel.settings import Settings
    from retrain_sentinel.store import HistoryStore

__all__ = [
    "ConfigOption",
    "ExitCode",
    "app",
    "choice",
    "fail",
    "literal",
    "load",
    "main",
    "opened_store",
    "run",
    "stderr",
    "stdout",
]


class ExitCode(IntEnum):
    OK = 0
    RETRAIN = 1
    USAGE = 2
    FAILURE = 3
    INTERNAL = 4
    INTERRUPTED = 130


app = typer.Typer(
    name="retrain-sentinel",
    help="Decide when models need retraining, record why, and tell the people who must know.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

stdout = Console(highlight=False, soft_wrap=True, emoji=False)
stderr = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def literal(value: object, style: str = "") -> Text:
    """``value`` as a table cell shown exactly as written: rich parses no markup in a ``Text``."""
    return Text("" if value is None else str(value), style=style)


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "-c",
        "--config",
        help="Config file (default: $RETRAIN_SENTINEL_CONFIG, else ./sentinel.yaml).",
        show_default=False,
    ),
]

_state: dict[str, Any] = {"debug": False, "command": None}


def _version(value: bool) -> None:
    if value:
        import retrain_sentinel  # the version is read from the installed metadata only when asked

        print(f"retrain-sentinel {retrain_sentinel.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    context: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    _state["debug"] = debug
    _state["command"] = context.invoked_subcommand  # `opened_store` asks whether it only reads


def load(config: Path | None) -> Settings:
    """The validated config, or a ``ConfigError`` that ``main`` turns into exit code 2."""
    from retrain_sentinel.service.logs import configure_logging
    from retrain_sentinel.settings import load_settings

    configure_logging()
    return load_settings(config)


def choice(value: str, allowed: Sequence[str], option: str) -> str:
    """``value`` if it is one of ``allowed``, else a ``ConfigError`` naming ``option``."""
    if value not in allowed:
        raise ConfigError([(option, f"must be one of {', '.join(allowed)}, not {value!r}")])
    return value


#: Commands that only show the history: on a SQLite database that does not exist yet they say so
#: (exit 2) rather than create an empty one, which would hide a wrong path behind "no rows".
_READERS = frozenset({"history"})


@contextmanager
def opened_store(
    settings: Settings, *, migrate: bool | None = None, create: bool | None = None
) -> Iterator[HistoryStore]:
    """The history store through ``store.open_store`` — migrated first when ``service.auto_migrate``
    (or ``migrate``) says so, else refused unless current — and closed after the command.

    ``create=False`` refuses a SQLite file that does not exist yet; by default only the commands
    in ``_READERS`` refuse it."""
    from retrain_sentinel.store import open_store
    from retrain_sentinel.store.engine import missing_sqlite_file

    if create is None:
        create = _state.get("command") not in _READERS
    if not create and (missing := missing_sqlite_file(settings.database)) is not None:
        raise ConfigError(
            [("database", f"the history database {missing} does not exist yet: `check` or `run` creates it")]
        )
    store = open_store(settings.database, migrate=settings.service.auto_migrate if migrate is None else migrate)
    try:
        yield store
    finally:
        store.close()


def fail(code: ExitCode, message: str) -> int:
    """Print ``error: message`` on stderr and return ``code``."""
    stderr.print(f"error: {message}", markup=False)
    return int(code)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map every failure to its exit code (DESIGN §11)."""
    try:
        result = app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except TyperException as exc:  # usage errors: wrong option, missing argument
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            stderr.print(f"error: {exc.format_message()}", markup=False)
        return int(ExitCode.USAGE)
    except (typer.Abort, KeyboardInterrupt):
        return fail(ExitCode.INTERRUPTED, "interrupted")
    except ConfigError as exc:
        if _state["debug"]:
            raise
        for path, message in exc.problems:  # one line per problem, each naming its path
            fail(ExitCode.USAGE, f"{path}: {message}" if path else message)
        return int(ExitCode.USAGE)
    except SentinelError as exc:
        if _state["debug"]:
            raise
        return fail(ExitCode.FAILURE, str(exc))
    except Exception as exc:  # the last line of defence: one clear line, never a traceback by default
        if _state["debug"]:
            raise
        return fail(ExitCode.INTERNAL, f"internal error: {type(exc).__name__}: {exc}")
    return int(result) if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
