"""Writing the audit log. Callers add the entry in the same transaction as the change it records."""

from __future__ import annotations

from typing import Any

from marketplace.extensions import db
from marketplace.models import AuditEntry
from marketplace.services.access import Actor


def record(
    actor: Actor | None,
    action: str,
    obj: Any,
    *,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    round_id: int | None = None,
) -> AuditEntry:
    """Add an audit entry for `obj` to the session (no commit: the caller's transaction owns it)."""
    db.session.flush()  # so a new object has its id
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        organization_id=actor.organization_id if actor else None,
        action=action,
        object_type=type(obj).__name__,
        object_id=str(obj.id),
        round_id=round_id,
        summary=summary,
        before=before,
        after=after,
    )
    db.session.add(entry)
    return entry
