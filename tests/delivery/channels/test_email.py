"""The e-mail channel against a real SMTP server (aiosmtpd): STARTTLS, implicit TLS, AUTH."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from pydantic import SecretStr

from alerts.factories import NOW, message, notification
from retrain_sentinel.delivery.channels import EmailChannel, build_channels
from retrain_sentinel.delivery.channels.email import compose_email, message_id_header
from retrain_sentinel.delivery.settings import EmailChannelSettings
from retrain_sentinel.errors import DeliveryError
from retrain_sentinel.snapshot import Snapshot
from retrain_sentinel.triggers.policy import build_policy

from .conftest import SMTP_PASSWORD, SMTP_USER, SmtpServer


def settings_for(server: SmtpServer, security: str = "starttls", **smtp: Any) -> EmailChannelSettings:
    smtp_settings = {
        "host": server.host,
        "port": server.port,
        "security": security,
        "timeout": "5s",
        "ca_file": str(server.ca_file),
    }
    if security != "none":
        smtp_settings |= {"username": SMTP_USER, "password": SMTP_PASSWORD}
    smtp_settings |= smtp
    return EmailChannelSettings.model_validate(
        {
            "kind": "email",
            "smtp": smtp_settings,
            "from": "sentinel@example.com",
            "to": ["oncall@example.com", "ml@example.com"],
        }
    )


def channel_for(server: SmtpServer, security: str = "starttls", **smtp: Any) -> EmailChannel:
    channel = build_channels({"oncall": settings_for(server, security, **smtp)}, clock=lambda: NOW)["oncall"]
    assert isinstance(channel, EmailChannel)
    return channel


def received(server: SmtpServer, index: int = 0) -> EmailMessage:
    content = server.mailbox.envelopes[index].content
    assert isinstance(content, bytes)
    parsed = email.message_from_bytes(content, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_starttls_with_login_delivers_a_multipart_mail(starttls_server: SmtpServer) -> None:
    channel_for(starttls_server).send(message(notification("churn", severity="critical"), id="msg-42"))

    envelope = starttls_server.mailbox.envelopes[0]
    assert starttls_server.mailbox.logins == [SMTP_USER]
    assert envelope.mail_from == "sentinel@example.com"
    assert envelope.rcpt_tos == ["oncall@example.com", "ml@example.com"]
    mail = received(starttls_server)
    assert mail.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]
    assert mail["Subject"] == "[retrain-sentinel] [CRITICAL] Retraining recommended: churn (version 3)"
    assert mail["Message-ID"] == "<msg-42@example.com>"
    assert mail["From"] == "sentinel@example.com"
    assert mail["Auto-Submitted"] == "auto-generated"
    text = mail.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert "Drift js_divergence = 0.18 exceeds threshold 0.15" in body
    assert "age (psi) 0.42" in body


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_delivers(tls_server: SmtpServer) -> None:
    channel_for(tls_server, security="tls").send(message())

    assert tls_server.mailbox.logins == [SMTP_USER]
    assert received(tls_server)["Subject"].startswith("[retrain-sentinel] [CRITICAL]")


def test_plain_smtp_without_login_delivers(plain_server: SmtpServer) -> None:
    channel_for(plain_server, security="none").send(message())

    assert len(plain_server.mailbox.envelopes) == 1


def test_crlf_in_a_model_name_cannot_add_a_header(starttls_server: SmtpServer) -> None:
    evil = "x\r\nBcc: evil@x\r\nX-Injected: yes"
    channel_for(starttls_server).send(message(notification(evil)))

    envelope = starttls_server.mailbox.envelopes[0]
    assert envelope.rcpt_tos == ["oncall@example.com", "ml@example.com"]
    mail = received(starttls_server)
    assert mail["Bcc"] is None
    assert mail["X-Injected"] is None
    assert "x Bcc: evil@x X-Injected: yes" in mail["Subject"]
    assert "\n" not in mail["Subject"]


def test_html_part_escapes_model_names(starttls_server: SmtpServer) -> None:
    channel_for(starttls_server).send(message(notification("<script>alert(1)</script>")))

    html_part = received(starttls_server).get_body(("html",))
    assert html_part is not None
    content = html_part.get_content()
    assert "<script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


def test_group_subject_names_severity_and_models(starttls_server: SmtpServer) -> None:
    group = message(
        *(notification(f"model-{i}", severity="warning" if i else "critical", id=f"n{i}") for i in range(5)),
        id="group-1",
    )
    channel_for(starttls_server).send(group)

    mail = received(starttls_server)
    assert mail["Subject"] == "[retrain-sentinel] [CRITICAL] 5 alerts: model-0, model-1, model-2 and 2 more"
    text = mail.get_body(("plain",))
    assert text is not None
    assert all(f"model-{i}" in text.get_content() for i in range(5))


def test_message_id_is_derived_from_the_message_id() -> None:
    first = compose_email(
        message(id="abc"), sender="a@example.com", recipients=["b@example.com"], subject_prefix="[s]", now=NOW
    )
    again = compose_email(
        message(id="abc"), sender="a@example.com", recipients=["b@example.com"], subject_prefix="[s]", now=NOW
    )

    assert first["Message-ID"] == again["Message-ID"] == "<abc@example.com>"
    assert message_id_header("id with spaces\r\n", "a@example.com").startswith("<")
    assert "\n" not in message_id_header("id with spaces\r\n", "a@example.com")


def test_wrong_password_is_permanent(starttls_server: SmtpServer) -> None:
    channel = channel_for(starttls_server, password="not-the-password")

    with pytest.raises(DeliveryError) as caught:
        channel.send(message())

    assert not caught.value.retryable
    assert "535" in str(caught.value)
    assert "not-the-password" not in str(caught.value)
    assert starttls_server.mailbox.envelopes == []


def test_temporary_refusal_is_retryable(starttls_server: SmtpServer) -> None:
    starttls_server.mailbox.reply = "451 4.3.0 try again later"

    with pytest.raises(DeliveryError) as caught:
        channel_for(starttls_server).send(message())

    assert caught.value.retryable
    assert "451" in str(caught.value)


def test_permanent_refusal_is_not_retryable(starttls_server: SmtpServer) -> None:
    starttls_server.mailbox.reply = "554 5.7.1 rejected"

    with pytest.raises(DeliveryError) as caught:
        channel_for(starttls_server).send(message())

    assert not caught.value.retryable


def test_connection_refused_is_retryable(starttls_server: SmtpServer, closed_port: int) -> None:
    channel = channel_for(starttls_server, port=closed_port)

    with pytest.raises(DeliveryError) as caught:
        channel.send(message())

    assert caught.value.retryable
    assert f"smtp://localhost:{closed_port}" in str(caught.value)


def test_untrusted_certificate_fails_starttls(starttls_server: SmtpServer) -> None:
    channel = build_channels(
        {
            "oncall": settings_for(starttls_server).model_copy(
                update={"smtp": settings_for(starttls_server).smtp.model_copy(update={"ca_file": None})}
            )
        }
    )["oncall"]

    with pytest.raises(DeliveryError, match="STARTTLS failed"):
        channel.send(message())


def test_check_logs_in_and_sends_nothing(starttls_server: SmtpServer) -> None:
    channel_for(starttls_server).check()

    assert starttls_server.mailbox.logins == [SMTP_USER]
    assert starttls_server.mailbox.envelopes == []


def test_repr_shows_the_server_not_the_password(starttls_server: SmtpServer) -> None:
    channel = EmailChannel("oncall", settings_for(starttls_server), password=SecretStr(SMTP_PASSWORD))

    assert SMTP_PASSWORD not in repr(channel)
    assert "localhost" in repr(channel)


def test_destination_is_the_smtp_server_and_never_in_repr_or_str(starttls_server: SmtpServer) -> None:
    channel = channel_for(starttls_server)

    assert channel.destination == f"smtp://{starttls_server.host}:{starttls_server.port}"
    assert channel.destination not in repr(channel) and channel.destination not in str(channel)


def test_the_watch_link_is_in_both_parts_and_absent_without_one(plain_server: SmtpServer) -> None:
    channel = channel_for(plain_server, security="none")
    channel.send(message(notification("churn", link="https://runbooks.example/{model}"), id="msg-1"))
    channel.send(message(notification("churn"), id="msg-2"))

    for index, linked in ((0, True), (1, False)):
        mail = received(plain_server, index)
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert ("Link: https://runbooks.example/churn" in text) is linked and ("Link:" in text) is linked
        assert ('<a href="https://runbooks.example/churn">' in html) is linked and ("<a " in html) is linked


def test_a_broken_undecided_watch_says_undecided_in_both_parts() -> None:
    """Issue 12 item 2: the broken mail said "No action needed" for a watch that decided nothing."""
    report = build_policy("balanced").evaluate(Snapshot(), NOW, model="churn")
    broken = notification("churn", kind="broken", severity="warning", report=report)

    mail = compose_email(
        message(broken), sender="a@example.com", recipients=["b@example.com"], subject_prefix="[s]", now=NOW
    )

    for kind in ("plain", "html"):
        part = mail.get_body((kind,))
        assert part is not None
        body = part.get_content()
        assert "evaluations are undecided" in body
        assert "data_volume skipped (no input: no new_count, nor current_count and baseline_count)" in body
        assert "No action needed" not in body
