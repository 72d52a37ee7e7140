"""Real receivers for the channel tests: an SMTP server (aiosmtpd) with STARTTLS, implicit TLS and
AUTH, its certificate from a throw-away CA (trustme). HTTP receivers are pytest-httpserver's."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

SMTP_USER = "sentinel-bot"
SMTP_PASSWORD = "smtp-pass-Zq8!x7"


@dataclass
class Mailbox:
    """What the SMTP server received, and what it answers to DATA (``reply`` lets a test fail it)."""

    envelopes: list[Envelope] = field(default_factory=list)
    reply: str = "250 OK"
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.reply.startswith("250"):
            self.envelopes.append(envelope)
        return self.reply


@dataclass
class SmtpServer:
    host: str
    port: int
    mailbox: Mailbox
    ca_file: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_tls(tls_ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


@pytest.fixture(scope="session")
def ca_file(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return path


def _authenticate(mailbox: Mailbox) -> Any:
    def authenticator(
        server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == SMTP_USER
            and data.password.decode() == SMTP_PASSWORD
        )
        if ok:
            mailbox.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)

    return authenticator


def _serve(controller: Controller, mailbox: Mailbox, port: int, ca_file: Path) -> Iterator[SmtpServer]:
    controller.start()
    try:
        yield SmtpServer("localhost", port, mailbox, ca_file)
    finally:
        controller.stop()


@pytest.fixture
def starttls_server(server_tls: ssl.SSLContext, ca_file: Path) -> Iterator[SmtpServer]:
    """STARTTLS required, AUTH required (only over TLS)."""
    mailbox, port = Mailbox(), _free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=_authenticate(mailbox),
    )
    yield from _serve(controller, mailbox, port, ca_file)


@pytest.fixture
def tls_server(server_tls: ssl.SSLContext, ca_file: Path) -> Iterator[SmtpServer]:
    """Implicit TLS (SMTPS) with AUTH."""
    mailbox, port = Mailbox(), _free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        ssl_context=server_tls,
        auth_required=True,
        auth_require_tls=False,  # aiosmtpd only knows of STARTTLS; this connection is TLS from the start
        authenticator=_authenticate(mailbox),
    )
    yield from _serve(controller, mailbox, port, ca_file)


@pytest.fixture
def plain_server(ca_file: Path) -> Iterator[SmtpServer]:
    """No TLS, no AUTH: a local relay."""
    mailbox, port = Mailbox(), _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    yield from _serve(controller, mailbox, port, ca_file)


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: connection refused."""
    return _free_port()
