"""The append-only audit log: who did what, when, with the state before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.organization import Organization, User
from marketplace.models.round import Round
from marketplace.models.types import UTCDateTime
from marketplace.services.clock import now


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    # None for the system (a deadline passing, a webhook, a job).
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organization.id"))
    action: Mapped[str] = mapped_column(sa.String(64), index=True)  # e.g. "round.transition"
    object_type: Mapped[str] = mapped_column(sa.String(64))
    object_id: Mapped[str] = mapped_column(sa.String(64))
    round_id: Mapped[int | None] = mapped_column(sa.ForeignKey("round.id"), index=True)
    summary: Mapped[str] = mapped_column(sa.String(500), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    actor: Mapped[User | None] = relationship()
    organization: Mapped[Organization | None] = relationship()
    round: Mapped[Round | None] = relationship()

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action} {self.object_type}:{self.object_id}>"


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_changes(mapper: Any, connection: Any, target: AuditEntry) -> None:
    raise PermissionError("the audit log is append-only")
