"""systemd's notify protocol (``READY=1``, ``WATCHDOG=1``, ``STOPPING=1``) without libsystemd.

The protocol is one datagram to the socket named by ``NOTIFY_SOCKET``; without it every call is a
no-op, so the daemon behaves the same outside systemd.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

__all__ = ["notify"]


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` to systemd; ``False`` when not under systemd or the socket is gone."""
    address = (environ if environ is not None else os.environ).get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError:
        return False
    return True
