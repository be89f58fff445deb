"""Sending mail with Flask-Mailman: to the SMTP server of MAIL_SERVER / MAIL_PORT (TLS or SSL, credentials),
or, with no MAIL_SERVER (`make run`, tests), into the local outbox table that /dev/outbox shows:
kept, never lost, never sent."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from flask_mailman import EmailMessage, Mail
from flask_mailman.backends.base import BaseEmailBackend

from marketplace.extensions import db

mailman = Mail()


def init_app(app: Flask) -> None:
    mailman.init_app(app)


def smtp_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


class OutboxBackend(BaseEmailBackend):
    """Keeps each message as an OutboxMail row in the caller's transaction (committed with the notice
    it mails, so a mail is in the outbox exactly when its notice says it was mailed)."""

    def send_messages(self, messages: list[EmailMessage]) -> int:
        from marketplace.models import OutboxMail

        for message in messages:
            message.message()  # validates the headers as a real send would
            db.session.add(
                OutboxMail(
                    message_id=str(message.extra_headers.get("Message-ID", ""))[:300],
                    sender=str(message.from_email)[:300],
                    recipients=", ".join(message.recipients())[:2000],
                    subject=str(message.subject)[:500],
                    body=str(message.body),
                )
            )
        return len(messages)


def _connection() -> Any:
    config = current_app.config
    if not smtp_configured():
        return mailman.get_connection(backend=OutboxBackend)
    # Read the settings at each send (not only at start), so the test's SMTP server and a changed
    # configuration are used as they are.
    return mailman.get_connection(
        backend="smtp",
        host=config["MAIL_SERVER"],
        port=int(config.get("MAIL_PORT") or 25),
        username=config.get("MAIL_USERNAME") or None,
        password=config.get("MAIL_PASSWORD") or None,
        use_tls=bool(config.get("MAIL_USE_TLS")),
        use_ssl=bool(config.get("MAIL_USE_SSL")),
        timeout=config.get("MAIL_TIMEOUT") or 10,
    )


def message_id(local: str) -> str:
    """A Message-ID fixed by what is mailed, so a mail server or reader sees a repeat as the same mail."""
    domain = current_app.config.get("MAIL_MESSAGE_ID_DOMAIN", "marketplace.invalid")
    return f"<{local}@{domain}>"


def send(*, to: str, subject: str, body: str, message_id: str) -> None:
    """Send one plain-text mail; raises if the SMTP server refuses it."""
    message = EmailMessage(
        subject=subject.replace("\n", " "),
        body=body,
        from_email=current_app.config.get("MAIL_DEFAULT_SENDER"),
        to=[to],
        headers={"Message-ID": message_id},
        connection=_connection(),
    )
    message.send(fail_silently=False)
