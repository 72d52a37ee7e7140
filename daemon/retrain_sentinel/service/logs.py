"""Logging: structlog to stderr, JSON lines when not on a TTY (for journald and log shippers)."""

from __future__ import annotations

import logging
import sys

import structlog

__all__ = ["configure_logging"]


class _StderrPrinter:
    """Writes each event to whatever ``sys.stderr`` is at that moment.

    Binding the stream at configuration time would keep writing to a stream that was since
    replaced and closed (a test's capture, a reopened log file).
    """

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _stderr_printer(*_args: object) -> _StderrPrinter:
    return _StderrPrinter()


def configure_logging(level: str = "INFO", *, json_lines: bool | None = None) -> None:
    """Route structlog and the standard library's loggers to stderr; stdout stays for results."""
    json_lines = not sys.stderr.isatty() if json_lines is None else json_lines
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=_stderr_printer,
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
