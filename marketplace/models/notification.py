"""Notices to users (in the app and by mail), the local outbox, and questions about a round."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.organization import Organization, User
from marketplace.models.types import UTCDateTime, enum_column
from marketplace.services.clock import now


class NotifyMode(enum.Enum):
    """How a user wants notices by mail. Notices about the user's own money and obligations are mailed
    at once whatever the choice (a deposit held or failed, an allocation to confirm)."""

    IMMEDIATELY = "immediately"
    DIGEST = "digest"
    OFF = "off"

    @property
    def label(self) -> str:
        return {
            "immediately": "Immediately, one mail per notice",
            "digest": "A daily digest (08:00 in your time zone)",
            "off": "No mail (only notices about your own money and obligations)",
        }[self.value]


class MailState(enum.Enum):
    QUEUED = "queued"  # to be mailed by the mail job
    DIGEST = "digest"  # waits for the user's daily digest
    NONE = "none"  # the user chose no mail
    SENT = "sent"


class Notice(db.Model):
    """One event told to one user. (event_key, user_id) is unique: an event never reaches a user twice,
    however often the job that makes notices runs."""

    __tablename__ = "notice"
    __table_args__ = (sa.UniqueConstraint("event_key", "user_id", name="uq_notice_event_key_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    event_key: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(64))
    round_id: Mapped[int | None] = mapped_column(sa.ForeignKey("round.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    link: Mapped[str] = mapped_column(sa.String(500), default="")  # path of the page to act on
    # About the user's own money or obligations: mailed even when the user chose no mail.
    own_stake: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mail_state: Mapped[MailState] = enum_column(MailState, default=MailState.QUEUED, index=True)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mail_attempts: Mapped[int] = mapped_column(default=0)
    mail_error: Mapped[str] = mapped_column(sa.String(500), default="")

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<Notice {self.id} {self.event_key} -> user {self.user_id}>"


class OutboxMail(db.Model):
    """A mail kept instead of sent, when no SMTP server is configured (`make run`): the developer page shows it."""

    __tablename__ = "outbox_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(sa.String(300), default="")
    sender: Mapped[str] = mapped_column(sa.String(300), default="")
    recipients: Mapped[str] = mapped_column(sa.String(2000))
    subject: Mapped[str] = mapped_column(sa.String(500))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)


class Clarification(db.Model):
    """A member's question about a round. The asker is known to the coordinator only; the answer is
    published to every participant of the round without the asker's name."""

    __tablename__ = "clarification"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("round.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    asked_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    question: Mapped[str] = mapped_column(sa.Text)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    answer: Mapped[str | None] = mapped_column(sa.Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    organization: Mapped[Organization] = relationship()

    @property
    def answered(self) -> bool:
        return self.answer is not None
