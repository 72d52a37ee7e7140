"""Reading the files an operator points us at: the config file and the ``*_file`` secrets.

Both are paths someone typed, so both may name anything: ``/dev/zero`` (endless: reading it whole
ends in ``MemoryError``), a FIFO (opening it waits for a writer that may never come), a directory,
or a file far larger than any config or secret. So each is read here and nowhere else: opened
without blocking, refused unless it is a regular file, read up to the caller's limit and no further,
and decoded as UTF-8. Every refusal is a ``ConfigError`` naming the config key and the file, never
what the file holds (it is a secret, or a config holding secrets).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from retrain_sentinel.errors import ConfigError

__all__ = ["MAX_SECRET_FILE_BYTES", "read_secret_file", "read_text_file"]

MAX_SECRET_FILE_BYTES = 64 * 1024
"""A URL, a password, a token, or a few HMAC keys: a secret file is a few hundred bytes."""

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def _size(limit: int) -> str:
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


def read_text_file(path: str | Path, *, limit: int, where: str, what: str | None = None) -> str:
    """The UTF-8 text of the regular file ``path`` if it holds at most ``limit`` bytes.

    Anything else raises ``ConfigError`` at ``where`` saying "cannot read <what>: <why>" (``what``
    defaults to the path). ``O_NONBLOCK`` makes opening a FIFO return at once, so it is refused as
    not regular rather than waited on; the size is checked twice, by ``fstat`` and by reading one
    byte past the limit, because files under ``/proc`` report a size of 0.
    """
    what = what or str(path)

    def refuse(why: str) -> ConfigError:
        return ConfigError([(where, f"cannot read {what}: {why}")])

    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise refuse(exc.strerror or type(exc).__name__) from None
    except ValueError:  # a NUL in the path
        raise refuse("not a valid path") from None
    try:
        with os.fdopen(descriptor, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise refuse("not a regular file")
            if info.st_size > limit:
                raise refuse(f"larger than {_size(limit)}")
            data = file.read(limit + 1)
    except OSError as exc:
        raise refuse(exc.strerror or type(exc).__name__) from None
    if len(data) > limit:
        raise refuse(f"larger than {_size(limit)}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse("not UTF-8 text") from None


def read_secret_file(path: str | Path, where: str) -> str:
    """A ``*_file`` secret: the file's text without surrounding whitespace, at most 64 KiB.

    Read when channels and sources are built (and again on reload), so a rotated file is picked up;
    an empty file is refused, as a secret that is empty is a mount that went wrong.
    """
    text = read_text_file(path, limit=MAX_SECRET_FILE_BYTES, where=where).strip()
    if not text:
        raise ConfigError([(where, f"cannot read {path}: the file is empty")])
    return text
