"""Organizations (fleet, OEM, coordinator) and the users who act for them."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace.extensions import db
from marketplace.models.types import UTCDateTime, enum_column
from marketplace.services.clock import now


class OrganizationKind(enum.Enum):
    FLEET = "fleet"
    OEM = "oem"
    COORDINATOR = "coordinator"

    @property
    def label(self) -> str:
        return {"fleet": "Fleet", "oem": "OEM", "coordinator": "Coordinator"}[self.value]


class Approval(enum.Enum):
    """A self-registered fleet or OEM waits for a coordinator before it can act."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {"pending": "awaiting approval", "approved": "approved", "rejected": "not approved"}[self.value]


class Organization(db.Model):
    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[OrganizationKind] = enum_column(OrganizationKind, index=True)
    country: Mapped[str] = mapped_column(sa.String(2))  # ISO 3166-1 alpha-2
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    # How its people type numbers: "point" (1,234.56) or "comma" (1.234,56); None follows the country.
    number_format: Mapped[str | None] = mapped_column(sa.String(8), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    # Organizations a coordinator or the demo creates are approved; self-registration sets PENDING.
    approval: Mapped[Approval] = enum_column(Approval, default=Approval.APPROVED, server_default="approved", index=True)

    users: Mapped[list[User]] = relationship(back_populates="organization", order_by="User.email")

    @property
    def approved(self) -> bool:
        return self.approval is Approval.APPROVED

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.kind.value} {self.name!r}>"


class User(UserMixin, db.Model):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    time_zone: Mapped[str] = mapped_column(sa.String(64), default="UTC")  # IANA name, for showing deadlines
    # Part of every session's id (get_id): raised at logout and password change, so a session cookie
    # (or remember cookie) issued before then no longer logs anyone in, even if it was copied.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # How notices reach this user by mail (models.notification.NotifyMode): immediately, digest or off.
    notify_mode: Mapped[str] = mapped_column(sa.String(16), default="immediately", server_default="immediately")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    organization: Mapped[Organization] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"

    def end_sessions(self) -> None:
        """Every session of this user (on every device) ends: the server no longer accepts their id."""
        self.session_version += 1

    @property
    def kind(self) -> OrganizationKind:
        return self.organization.kind

    @property
    def is_coordinator(self) -> bool:
        return self.organization.kind is OrganizationKind.COORDINATOR

    def set_password(self, password: str) -> None:
        # Tests set a cheap method (PASSWORD_HASH_METHOD); everything else uses werkzeug's default (scrypt).
        method = current_app.config.get("PASSWORD_HASH_METHOD") if has_app_context() else None
        self.password_hash = (
            generate_password_hash(password, method=method) if method else generate_password_hash(password)
        )

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"
