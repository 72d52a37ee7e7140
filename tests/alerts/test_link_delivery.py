"""A watch's ``link`` reaches every channel (issue 11, item 13), end to end.

``run_check`` evaluates a real experiment DB (SQLite files), records into a real SQLite history,
queues the notifications in the outbox and delivers them from it — so each notification makes the
round trip through its stored form — to a real webhook receiver and a Slack-shaped one
(pytest-httpserver on 127.0.0.1), a real SMTP server (aiosmtpd on 127.0.0.1) and the console.

``linked`` has ``link: https://runbooks.example/{model}/v{version}?on={kind}``; ``plain`` has none.
The webhook channel has a ``link_template`` of its own, the others none: a watch's link wins over a
channel's template, a channel's template covers watches without one, and without either there is
no link at all (no empty one).
"""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from pytest_httpserver import HTTPServer

from retrain_sentinel.service.check import run_check
from retrain_sentinel.settings import load_settings
from service.daemon_process import Lab, ago

METRIC = "val_accuracy"
WATCH_LINK = "https://runbooks.example/{model}/v{version}?on={kind}"
LINKED_URL = "https://runbooks.example/linked/v7?on=firing"
TEMPLATE = "https://mlflow.example/models/{model}"


class _Mailbox:
    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.mails.append(email.message_from_bytes(raw, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Mailbox]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


def _watch(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "source": "lab",
        "current_run": {"name": f"eval-{name}-*"},
        "performance": {"metric": METRIC, "mode": "max"},
        "policy": {"performance": {"threshold": 0.05}},
        **extra,
    }


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """Two degraded models (0.93 → 0.80): both fire at the first evaluation."""
    lab = Lab.in_directory(tmp_path)
    for name in ("linked", "plain"):
        lab.register(name, METRIC, 0.93, ago(days=2), version="7")
        lab.evaluate(name, METRIC, 0.80, ago(hours=1))
    yield lab
    lab.dispose()


def _bodies(server: HTTPServer, path: str) -> list[Any]:
    return [request.get_json() for request, _ in server.log if request.path == path]


def test_the_watch_link_reaches_webhook_slack_email_and_console(
    tmp_path: Path,
    lab: Lab,
    httpserver: HTTPServer,
    smtp: tuple[int, _Mailbox],
    capsys: pytest.CaptureFixture[str],
) -> None:
    httpserver.expect_request("/hook").respond_with_data("")
    httpserver.expect_request("/slack").respond_with_data("ok")
    port, mailbox = smtp
    channels = {
        "hook": {"kind": "webhook", "url": httpserver.url_for("/hook"), "link_template": TEMPLATE},
        "chat": {"kind": "slack", "webhook_url": httpserver.url_for("/slack")},
        "mail": {
            "kind": "email",
            "smtp": {"host": "127.0.0.1", "port": port, "security": "none"},
            "from": "sentinel@example.com",
            "to": ["ml@example.com"],
        },
        "log": {"kind": "console"},
    }
    document = {
        "database": f"sqlite:///{tmp_path / 'history.db'}",
        "sources": {
            "lab": {
                "kind": "sql",
                "layout": "experiment_db",
                "experiments_url": lab.experiments_url,
                "registry_url": lab.registry_url,
            }
        },
        "channels": channels,
        "defaults": {"channels": list(channels)},
        "models": [_watch("linked", link=WATCH_LINK), _watch("plain")],
    }
    path = tmp_path / "sentinel.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")

    results, failed = run_check(load_settings(path, {}), [], dry_run=False)

    assert not failed
    assert {r.watch: r.outcome for r in results} == {"linked": "triggered", "plain": "triggered"}
    hooks = {body["model"]: body for body in _bodies(httpserver, "/hook")}
    assert hooks["linked"]["link"] == LINKED_URL  # the watch's link wins over the channel's template
    assert hooks["linked"]["notifications"][0]["link"] == LINKED_URL
    assert hooks["plain"]["link"] == "https://mlflow.example/models/plain"  # the template covers it

    slack = {body["text"].split("]", 1)[1].split()[0]: repr(body) for body in _bodies(httpserver, "/slack")}
    assert f"<{LINKED_URL}|Open>" in slack["linked"]
    assert "|Open>" not in slack["plain"]  # no link, and no empty one

    mails = {str(mail["Subject"]).rsplit(": ", 1)[-1].split()[0]: mail for mail in mailbox.mails}
    for name, mail in mails.items():
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
        if name == "linked":
            assert f"Link: {LINKED_URL}" in text and f'<a href="{LINKED_URL}">' in html
        else:
            assert "Link:" not in text and "<a href" not in html
    assert set(mails) == {"linked", "plain"}

    console = capsys.readouterr().err
    assert console.count("Link: ") == 1 and f"Link: {LINKED_URL}" in console
