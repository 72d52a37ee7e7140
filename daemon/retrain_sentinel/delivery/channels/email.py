"""E-mail through SMTP: one ``multipart/alternative`` mail (plain text + HTML) per message.

Header injection: every header value is built from single-line text (``render.one_line``) and the
``EmailMessage`` uses ``email.policy.SMTP``, which refuses a CR or LF in a header value, so a model
named ``x\\r\\nBcc: evil@x`` stays inside the Subject. The HTML part escapes every piece of data.

Idempotency: the ``Message-ID`` is derived from the message id, so a mail re-sent after a crash
carries the same id and mail clients and archives can drop the duplicate.

SMTP answers are classified like HTTP ones: 4xx retryable, 5xx permanent, connection errors and
timeouts retryable. Errors name the server (host and port, never a password).
"""

from __future__ import annotations

import hashlib
import html
import re
import smtplib
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from pydantic import SecretStr

from retrain_sentinel.alerts.notification import Message
from retrain_sentinel.alerts.render import (
    AlertView,
    describe_message,
    feature_text,
    group_title,
    one_line,
    render_text,
    summary_line,
)
from retrain_sentinel.clock import Clock, system_clock
from retrain_sentinel.delivery.settings import EmailChannelSettings
from retrain_sentinel.errors import DeliveryError

__all__ = ["EmailChannel", "compose_email", "message_id_header", "subject_for"]

MAX_SUBJECT = 200
#: RFC 5322 allows lines of 998 characters; folding at 78 makes some parsers read a leading space.
_POLICY = policy.SMTP.clone(max_line_length=998)
_MSGID_SAFE = re.compile(r"^[A-Za-z0-9._+=-]{1,128}$")


def message_id_header(message_id: str, sender: str) -> str:
    """``<id@sender-domain>``; an id with characters a Message-ID cannot hold is hashed instead."""
    local = (
        message_id if _MSGID_SAFE.match(message_id) else hashlib.sha256(message_id.encode()).hexdigest()[:40]
    )
    domain = sender.rpartition("@")[2] or "retrain-sentinel.invalid"
    return f"<{local}@{domain}>"


def subject_for(message: Message, views: Sequence[AlertView], prefix: str) -> str:
    """``[prefix] [CRITICAL] Retraining recommended: churn`` or ``… 5 alerts: a, b, c and 2 more``."""
    severity = one_line(message.severity).upper()
    if message.is_group:
        names = [v.watch for v in views]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        text = f"{prefix} [{severity}] {len(names)} alerts: {shown}"
    else:
        view = views[0]
        text = f"{prefix} [{severity}] {view.headline}: {view.watch_and_version}"
    return one_line(text, MAX_SUBJECT)


def _html_view(view: AlertView) -> str:
    esc = html.escape
    parts = [
        f"<h2>{esc(summary_line(view))}</h2>",
        f"<p><strong>{esc(view.headline)}</strong>: {esc(view.why)}</p>",
    ]
    if view.error:
        parts.append(f"<p>Error: {esc(view.error)}</p>")
    for title, items in (
        ("Reasons", view.reasons),
        ("Not judged", view.not_judged),
        ("Top drifted features", [feature_text(f) for f in view.features]),
        ("Recommendations", view.recommendations),
    ):
        if items:
            parts.append(
                f"<h3>{esc(title)}</h3><ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"
            )
    if view.link:
        parts.append(f'<p><a href="{esc(view.link, quote=True)}">Open</a></p>')
    parts.append(f"<p><small>id {esc(view.id)} at {esc(view.created_at.isoformat())}</small></p>")
    return "\n".join(parts)


def _html(message: Message, views: Sequence[AlertView]) -> str:
    body = "\n<hr>\n".join(_html_view(v) for v in views)
    if message.is_group:
        body = f"<h1>Retrain Sentinel: {html.escape(group_title(message))}</h1>\n{body}"
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n{body}\n</body></html>\n'


def compose_email(
    message: Message,
    *,
    sender: str,
    recipients: Sequence[str],
    subject_prefix: str,
    now: datetime,
    link_template: str | None = None,
) -> EmailMessage:
    """The mail for ``message`` (pure). Raises ``ValueError`` if a header would hold a line break."""
    views = describe_message(message, link_template=link_template)
    mail = EmailMessage(policy=_POLICY)
    mail["Subject"] = subject_for(message, views, subject_prefix)
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id_header(message.id, sender)
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Retrain-Sentinel-Id"] = message_id_header(message.id, sender).strip("<>").partition("@")[0]
    mail.set_content(render_text(message, link_template=link_template))
    mail.add_alternative(_html(message, views), subtype="html")
    return mail


def _smtp_error(exc: Exception, where: str) -> DeliveryError:
    """Classify an smtplib/socket failure: 4xx, disconnects and network errors retryable; 5xx not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        retryable = all(400 <= c < 500 for c in codes)
        return DeliveryError(f"{where}: all recipients refused (SMTP {codes})", retryable=retryable)
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        return DeliveryError(f"{where}: SMTP {code}", retryable=not 500 <= code < 600)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(f"{where}: the server does not support it", retryable=False)
    if isinstance(exc, TimeoutError):
        return DeliveryError(f"{where}: timed out", retryable=True)
    return DeliveryError(f"{where}: {type(exc).__name__}", retryable=True)


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye; a failing QUIT after a sent mail must not turn into a retry (a duplicate)."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


class EmailChannel:
    """Sends each message as one mail to the configured recipients."""

    kind = "email"

    def __init__(
        self,
        name: str,
        settings: EmailChannelSettings,
        *,
        password: SecretStr | None = None,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.name = name
        self._settings = settings
        self._smtp = settings.smtp
        self._password = password
        self._clock = clock
        ca_file = str(self._smtp.ca_file) if self._smtp.ca_file else None
        self._ssl_context = ssl_context or ssl.create_default_context(cafile=ca_file)
        self._where = f"email channel {name!r}: smtp://{self._smtp.host}:{self._smtp.effective_port}"

    def __repr__(self) -> str:
        return f"EmailChannel(name={self.name!r}, server={self._smtp.host!r}:{self._smtp.effective_port})"

    @property
    def destination(self) -> str:
        """Where this channel delivers: ``smtp://host:port`` of its server.

        The key under which a rate limit (HTTP 429 ``Retry-After``) holds every message to the same
        place, whichever channel or notification met it. A secret, like the other channels' destinations:
        never logged, never rendered, never in an error or the repr.
        """
        return f"smtp://{self._smtp.host}:{self._smtp.effective_port}"

    @contextmanager
    def _session(self) -> Iterator[smtplib.SMTP]:
        """Connected, TLS as configured, logged in; QUIT (or close) on the way out."""
        stage = "connect"
        smtp: smtplib.SMTP | None = None
        timeout = self._smtp.timeout.total_seconds()
        host, port = self._smtp.host, self._smtp.effective_port
        try:
            if self._smtp.security == "tls":
                smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=self._ssl_context)
            else:
                smtp = smtplib.SMTP(host, port, timeout=timeout)
            stage = "EHLO"
            smtp.ehlo()
            if self._smtp.security == "starttls":
                stage = "STARTTLS"
                smtp.starttls(context=self._ssl_context)
                smtp.ehlo()
            if self._smtp.username is not None and self._password is not None:
                stage = "login"
                smtp.login(self._smtp.username, self._password.get_secret_value())
            stage = "send"
            yield smtp
        except (smtplib.SMTPException, OSError) as exc:
            raise _smtp_error(exc, f"{self._where} {stage} failed") from exc
        finally:
            if smtp is not None:
                _quit(smtp)

    def send(self, message: Message) -> None:
        settings = self._settings
        try:
            mail = compose_email(
                message,
                sender=settings.from_,
                recipients=settings.to,
                subject_prefix=settings.subject_prefix,
                now=self._clock(),
                link_template=settings.link_template,
            )
        except ValueError as exc:
            raise DeliveryError(
                f"{self._where}: the mail could not be composed ({exc})", retryable=False
            ) from exc
        with self._session() as smtp:
            smtp.send_message(mail, from_addr=settings.from_, to_addrs=list(settings.to))

    def check(self) -> None:
        """Connect, EHLO, STARTTLS and log in as configured, then QUIT: nothing is sent."""
        with self._session():
            pass
