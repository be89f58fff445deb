"""API tokens of organizations and the stored answers of idempotent API requests."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.organization import Organization, User
from marketplace.models.types import UTCDateTime
from marketplace.services.clock import now


class ApiToken(db.Model):
    """A bearer token an organization's own system uses; only its SHA-256 is kept (it is shown once).

    The token acts as the user who created it (audit entries name them), within its scope:
    "read" tokens only read, "write" tokens also change.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    scope: Mapped[str] = mapped_column(sa.String(8))  # "read" or "write"
    prefix: Mapped[str] = mapped_column(sa.String(16))  # the first characters, so a person can tell tokens apart
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship()
    created_by: Mapped[User] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == "write"


class IdempotentRequest(db.Model):
    """A POST sent with an Idempotency-Key: its fingerprint and the answer it got, replayed on a retry."""

    __tablename__ = "idempotent_request"
    __table_args__ = (sa.UniqueConstraint("organization_id", "key", name="uq_idempotent_request_org_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"))
    key: Mapped[str] = mapped_column(sa.String(200))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))  # SHA-256 of method, path, query and body
    status: Mapped[int | None] = mapped_column()  # None while the first request is being answered
    body: Mapped[str | None] = mapped_column(sa.Text)
    content_type: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
