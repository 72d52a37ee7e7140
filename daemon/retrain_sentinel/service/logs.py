"""Logging: structlog to stderr, JSON lines when not on a TTY (for journald and log shippers).

A log shipper reads one event per line, so under JSON logging every line on stderr is one JSON
object, whoever logs:

- our events (structlog) and the standard library's records (APScheduler, SQLAlchemy, urllib3) are
  rendered by the same processors — the stdlib ones through structlog's ``ProcessorFormatter`` —
  and ``warnings.warn`` is routed into the ``py.warnings`` logger, so nothing writes plain text;
- each event is written as one whole line in one ``write`` under one process-wide lock shared by
  both paths. Python's stderr is write-through: ``print(message)`` makes two writes (the message,
  then the newline), and another thread's event could land between them — two events on one line.
"""

from __future__ import annotations

import logging
import sys
import threading
import warnings
from typing import TextIO

import structlog

__all__ = ["configure_logging"]

_WRITE_LOCK = threading.RLock()
"""Serialises whole lines from every thread and both logging paths (structlog, stdlib).

Reentrant because a signal handler runs in the main thread, possibly while that thread holds the
lock, and logs (``daemon.stopping``): a plain lock would deadlock the daemon there."""

_writing = threading.local()
_deferred: list[str] = []
"""Lines a signal handler logged while its thread was inside ``write``: written right after, since
writing to a buffered stream from inside its own ``write`` raises ``RuntimeError: reentrant call``."""


def _write_line(line: str) -> None:
    """Write ``line`` and its newline at once to whatever ``sys.stderr`` is at that moment.

    Binding the stream at configuration time would keep writing to a stream that was since
    replaced and closed (a test's capture, a reopened log file).
    """
    if getattr(_writing, "active", False):  # a signal handler interrupted this thread's write
        _deferred.append(line)
        return
    with _WRITE_LOCK:
        _writing.active = True
        try:
            stream = sys.stderr
            stream.write(line + "\n")
            stream.flush()
            while _deferred:
                stream.write(_deferred.pop(0) + "\n")
                stream.flush()
        finally:
            _writing.active = False


class _StderrPrinter:
    """structlog's logger: each rendered event becomes one line on the stderr of the moment."""

    def msg(self, message: str) -> None:
        _write_line(message)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _stderr_printer(*_args: object) -> _StderrPrinter:
    return _StderrPrinter()


class _LineHandler(logging.Handler):
    """The standard library's records, formatted by structlog, written as one line each."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _write_line(self.format(record))
        except Exception:  # logging's contract: a failed emit reports (handleError), never raises
            self.handleError(record)


def _show_warning(  # noqa: PLR0917 - the signature of warnings.showwarning
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.warn`` as a ``py.warnings`` record, like ``logging.captureWarnings`` — set again at
    every configuration, where ``captureWarnings`` would not notice that someone restored the old
    hook; and on one line (``path:line: Category: message``, without the source line). ``file`` is
    ignored: a warning is an event like any other, and events go to the log."""
    text = warnings.formatwarning(message, category, filename, lineno, line="").rstrip()
    logging.getLogger("py.warnings").warning("%s", text)


def configure_logging(level: str = "INFO", *, json_lines: bool | None = None) -> None:
    """Route structlog, the standard library's loggers and ``warnings`` to stderr; stdout stays for
    results. Idempotent: ``run`` configures once to load the config and again to run."""
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
    third_party = max(logging.WARNING, logging.getLevelName(level))
    handler = _LineHandler(third_party)  # also for loggers that set a lower level of their own
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _LineHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(third_party)  # the standard library's loggers are third parties: warnings and up
    warnings.showwarning = _show_warning
